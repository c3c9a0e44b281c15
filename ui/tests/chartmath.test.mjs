import test from 'node:test';
import assert from 'node:assert/strict';
import {
  niceTicks, unitTicks, timeTicks, formatTime, formatValue, guessUnit, stackSeries,
  valueRange, nearestIndex, segments, seriesColor, seriesName,
} from '../static/js/chartmath.js';

test('niceTicks: ordinary ranges', () => {
  assert.deepEqual(niceTicks(0, 97, 5), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(niceTicks(0, 100, 5), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(3, 47, 4), [0, 20, 40, 60]);
  assert.deepEqual(niceTicks(0, 0.3, 3), [0, 0.1, 0.2, 0.3]);
  assert.deepEqual(niceTicks(0.1, 0.7, 6), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
});

test('niceTicks: negatives, swapped bounds, min == max', () => {
  assert.deepEqual(niceTicks(-3, 7, 5), [-4, -2, 0, 2, 4, 6, 8]);
  assert.deepEqual(niceTicks(-97, 0, 5), [-100, -80, -60, -40, -20, 0]);
  assert.deepEqual(niceTicks(97, 0, 5), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(niceTicks(5, 5, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(-5, -5, 5), [-10, -8, -6, -4, -2, 0]);
  assert.deepEqual(niceTicks(0, 0, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
});

test('niceTicks: tiny and huge ranges', () => {
  assert.deepEqual(niceTicks(1e-9, 3e-9, 4), [1e-9, 1.5e-9, 2e-9, 2.5e-9, 3e-9]);
  assert.deepEqual(niceTicks(0, 4e12, 4), [0, 1e12, 2e12, 3e12, 4e12]);
  assert.deepEqual(niceTicks(0, 1e300, 2), [0, 5e299, 1e300]);
  assert.deepEqual(niceTicks(1000, 1001, 2), [1000, 1000.5, 1001]);
  // Relative range below the float precision: treated as a constant.
  assert.deepEqual(niceTicks(1e9, 1e9 + 1e-7, 2), [0, 1e9, 2e9]);
});

test('niceTicks: non-finite inputs are ignored', () => {
  assert.deepEqual(niceTicks(NaN, NaN, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(-Infinity, Infinity, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(NaN, 10, 2), [0, 10, 20]);
  assert.deepEqual(niceTicks(0, Infinity, 2), [0, 0.5, 1]);
  assert.deepEqual(niceTicks(0, 10, 0), [0, 10]);
});

test('unitTicks: binary steps for bytes, clock steps for long durations', () => {
  const MiB = 1024 * 1024;
  assert.deepEqual(unitTicks(50e6, 250e6, 5, 'bytes'), [0, 50, 100, 150, 200, 250].map((v) => v * MiB));
  assert.deepEqual(unitTicks(0, 900, 5, 'bytes'), [0, 200, 400, 600, 800, 1000]);
  assert.deepEqual(unitTicks(0, 3 * 1024 ** 3, 3, 'bytes'), [0, 1, 2, 3].map((v) => v * 1024 ** 3));
  assert.deepEqual(unitTicks(0, 3000, 5, 'seconds'), [0, 600, 1200, 1800, 2400, 3000]);
  assert.deepEqual(unitTicks(0, 100, 5, 'seconds'), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(unitTicks(0, 97, 5, ''), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(unitTicks(5, 5, 5, 'percent'), [0, 2, 4, 6, 8, 10]);
});

// 2023-11-14T22:13:20Z
const T0 = 1700000000;

test('timeTicks: one hour, 6 ticks → 10-minute steps aligned to :00/:10', () => {
  const ticks = timeTicks(T0, T0 + 3600, 6, 0);
  assert.deepEqual(ticks.map((x) => x.label), ['22:20', '22:30', '22:40', '22:50', '23:00', '23:10']);
  assert.equal(ticks[0].t, Date.UTC(2023, 10, 14, 22, 20) / 1000);
  for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i].t - ticks[i - 1].t, 600);
});

test('timeTicks: fixed offsets shift the labels and the alignment', () => {
  // UTC+1: same instants, labels one hour later.
  assert.deepEqual(timeTicks(T0, T0 + 3600, 6, 60).map((x) => x.label),
    ['23:20', '23:30', '23:40', '23:50', '11-15', '00:10']);
  // UTC+5:30 aligns to local :00/:30 for 30-minute steps.
  const ticks = timeTicks(T0, T0 + 3 * 3600, 6, 330);
  assert.deepEqual(ticks.map((x) => x.label), ['04:00', '04:30', '05:00', '05:30', '06:00', '06:30']);
  assert.equal(ticks[0].t, Date.UTC(2023, 10, 14, 22, 30) / 1000);
});

test('timeTicks: second, hour and day steps', () => {
  assert.deepEqual(timeTicks(T0, T0 + 60, 4, 0).map((x) => x.label),
    ['22:13:30', '22:13:45', '22:14:00', '22:14:15']);
  assert.equal(timeTicks(T0, T0 + 60, 12, 0).length, 13); // 5s steps, both ends
  // 24 hours in 6 ticks → 6h steps; midnight is labelled with the date.
  assert.deepEqual(timeTicks(T0, T0 + 86400, 6, 0).map((x) => x.label),
    ['11-15', '06:00', '12:00', '18:00']);
  // 7 days in 7 ticks → 1d steps at UTC midnight.
  const days = timeTicks(T0, T0 + 7 * 86400, 7, 0);
  assert.deepEqual(days.map((x) => x.label), ['11-15', '11-16', '11-17', '11-18', '11-19', '11-20', '11-21']);
  assert.equal(days[0].t, Date.UTC(2023, 10, 15) / 1000);
});

test('timeTicks: degenerate input', () => {
  assert.deepEqual(timeTicks(T0, T0, 6, 0), []);
  assert.deepEqual(timeTicks(NaN, T0, 6, 0), []);
  assert.deepEqual(timeTicks(T0 + 3600, T0, 6, 0).length, 6);
});

test('formatTime', () => {
  assert.equal(formatTime(T0, 0), '2023-11-14 22:13:20');
  assert.equal(formatTime(T0 + 0.25, 120), '2023-11-15 00:13:20.250');
});

test('formatValue: SI short', () => {
  assert.equal(formatValue(0), '0');
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(Infinity), '+Inf');
  assert.equal(formatValue(-Infinity), '-Inf');
  assert.equal(formatValue(1), '1');
  assert.equal(formatValue(12.345), '12.3');
  assert.equal(formatValue(999), '999');
  assert.equal(formatValue(1200), '1.2k');
  assert.equal(formatValue(1234), '1.23k');
  assert.equal(formatValue(999999), '1M');
  assert.equal(formatValue(3.4e6), '3.4M');
  assert.equal(formatValue(5e9), '5G');
  assert.equal(formatValue(-2500), '-2.5k');
  assert.equal(formatValue(0.012), '12m');
  assert.equal(formatValue(0.5), '500m');
  assert.equal(formatValue(2.5e-6), '2.5µ');
  assert.equal(formatValue(1e30), '1.00e+30');
  assert.equal(formatValue(1001, '', 4), '1.001k');
});

test('formatValue: bytes', () => {
  assert.equal(formatValue(0, 'bytes'), '0 B');
  assert.equal(formatValue(512, 'bytes'), '512 B');
  assert.equal(formatValue(1536, 'bytes'), '1.5 KiB');
  assert.equal(formatValue(2 * 1024 * 1024, 'bytes'), '2 MiB');
  assert.equal(formatValue(1.25 * 2 ** 30, 'bytes'), '1.25 GiB');
  assert.equal(formatValue(-1024, 'bytes'), '-1 KiB');
  assert.equal(formatValue(1023, 'bytes'), '1023 B');
  assert.equal(formatValue(1024, 'bytes'), '1 KiB');
  assert.equal(formatValue(1023.4 * 1024, 'bytes'), '1023 KiB');
  assert.equal(formatValue(NaN, 'bytes'), 'NaN');
});

test('formatValue: seconds', () => {
  assert.equal(formatValue(0, 'seconds'), '0s');
  assert.equal(formatValue(0.35, 'seconds'), '350ms');
  assert.equal(formatValue(0.0000123, 'seconds'), '12.3µs');
  assert.equal(formatValue(1.5, 'seconds'), '1.5s');
  assert.equal(formatValue(59, 'seconds'), '59s');
  assert.equal(formatValue(125, 'seconds'), '2m 5s');
  assert.equal(formatValue(120, 'seconds'), '2m');
  assert.equal(formatValue(3 * 3600, 'seconds'), '3h');
  assert.equal(formatValue(3 * 3600 + 600, 'seconds'), '3h 10m');
  assert.equal(formatValue(2 * 86400, 'seconds'), '2d');
  assert.equal(formatValue(2 * 86400 + 3 * 3600, 'seconds'), '2d 3h');
  assert.equal(formatValue(-90, 'seconds'), '-1m 30s');
  assert.equal(formatValue(Infinity, 'seconds'), '+Inf');
});

test('formatValue: percentages and other units', () => {
  assert.equal(formatValue(0.452, 'percent'), '45.2%');
  assert.equal(formatValue(1, 'percent'), '100%');
  assert.equal(formatValue(0, 'percent'), '0%');
  assert.equal(formatValue(45.21, 'percent100'), '45.2%');
  assert.equal(formatValue(12.345, 'percent'), '1235%');
  assert.equal(formatValue(1500, 'req/s'), '1.5k req/s');
});

test('guessUnit', () => {
  assert.equal(guessUnit('process_resident_memory_bytes'), 'bytes');
  assert.equal(guessUnit('node_network_receive_bytes_total'), 'bytes');
  assert.equal(guessUnit('http_request_duration_seconds'), 'seconds');
  assert.equal(guessUnit('http_request_duration_seconds_sum'), 'seconds');
  assert.equal(guessUnit('http_request_duration_seconds_count'), '');
  assert.equal(guessUnit('cache_hit_ratio'), 'percent');
  assert.equal(guessUnit('up'), '');
  assert.equal(guessUnit(undefined), '');
});

test('stackSeries: missing points and NaN', () => {
  const out = stackSeries([
    { points: [[1, 1], [2, 2], [3, 3]] },
    { points: [[1, 10], [3, NaN]] }, // missing at t=2, NaN at t=3
    { points: [[1, 100], [2, 100], [3, 100]] },
  ]);
  assert.deepEqual(out[0], [[1, 0, 1], [2, 0, 2], [3, 0, 3]]);
  assert.deepEqual(out[1], [[1, 1, 11], [3, 3, NaN]]);
  assert.deepEqual(out[2], [[1, 11, 111], [2, 2, 102], [3, 3, 103]]);
  assert.deepEqual(stackSeries([]), []);
});

test('valueRange', () => {
  const s = [{ points: [[1, 5], [2, NaN], [3, -2]] }, { points: [[1, 3], [3, 4]] }];
  assert.deepEqual(valueRange(s, false), { min: -2, max: 5 });
  assert.deepEqual(valueRange(s, true), { min: -2, max: 8 });
  assert.deepEqual(valueRange([{ points: [[1, 2]] }, { points: [[1, 3]] }], true), { min: 0, max: 5 });
  assert.deepEqual(valueRange([{ points: [[1, 5], [2, 7]] }], true), { min: 0, max: 7 });
  assert.deepEqual(valueRange([{ points: [[1, 5], [2, 7]] }], false), { min: 5, max: 7 });
  assert.deepEqual(valueRange([], false), { min: 0, max: 1 });
  assert.deepEqual(valueRange([{ points: [[1, NaN], [2, Infinity]] }], false), { min: 0, max: 1 });
});

test('nearestIndex', () => {
  const pts = [[10, 0], [20, 0], [30, 0], [40, 0]];
  assert.equal(nearestIndex([], 5), -1);
  assert.equal(nearestIndex(undefined, 5), -1);
  assert.equal(nearestIndex([[7, 1]], 100), 0);
  assert.equal(nearestIndex(pts, 0), 0);
  assert.equal(nearestIndex(pts, 10), 0);
  assert.equal(nearestIndex(pts, 99), 3);
  assert.equal(nearestIndex(pts, 24), 1);
  assert.equal(nearestIndex(pts, 26), 2);
  assert.equal(nearestIndex(pts, 25), 1); // tie → earlier
  assert.equal(nearestIndex(pts, 30), 2);
  assert.equal(nearestIndex(pts, 39.9), 3);
  assert.equal(nearestIndex(pts, NaN), 0);
});

test('segments: gaps and NaN', () => {
  const pts = [[0, 1], [15, 1], [30, NaN], [45, 1], [60, 1], [120, 1], [135, 1]];
  assert.deepEqual(segments(pts, 15), [[0, 2], [3, 5], [5, 7]]);
  assert.deepEqual(segments(pts), [[0, 2], [3, 7]]);
  assert.deepEqual(segments([], 15), []);
  assert.deepEqual(segments([[0, 0, NaN], [1, 0, 2]], 1, 2), [[1, 2]]);
});

test('seriesColor cycles through 12 distinct colours', () => {
  const colours = Array.from({ length: 12 }, (_, i) => seriesColor(i));
  assert.equal(new Set(colours).size, 12);
  for (const c of colours) assert.match(c, /^#[0-9a-f]{6}$/);
  assert.equal(seriesColor(12), seriesColor(0));
  assert.equal(seriesColor(-1), seriesColor(11));
});

test('seriesName', () => {
  assert.equal(seriesName({}), '{}');
  assert.equal(seriesName(null), '{}');
  assert.equal(seriesName({ __name__: 'up' }), 'up');
  assert.equal(seriesName({ job: 'node', __name__: 'up', instance: 'a:9100' }),
    'up{instance="a:9100", job="node"}');
  assert.equal(seriesName({ b: '2', a: '1' }), '{a="1", b="2"}');
  assert.equal(seriesName({ path: 'C:\\x "y"\n' }), '{path="C:\\\\x \\"y\\"\\n"}');
});
