//! The scenario both systems see: a target whose samples follow a fixed pattern of 15-second phases,
//! the rule file both evaluate unchanged, and the configuration both load.
//!
//! Every sample carries an explicit timestamp, the whole second *after* the request
//! ([`stamp_for_request`]), and its value is a function of that timestamp only. So at an evaluation
//! time `T` (any sub-second offset) each system sees exactly the samples stamped `<= floor(T)`, and
//! every rule's value depends on `floor(T)` alone, whatever the two systems' scrape and evaluation
//! offsets are. (With the stamp *before* the request, whether the sample of second `floor(T)` is
//! already stored at `T` would depend on the scrape offset against the evaluation offset, and a
//! 30-second `rate` would extrapolate differently in the two systems.)
//!
//! Before the timeline is armed every series stays in a quiet state (no alert condition holds); from
//! the arming time, a multiple of [`PHASE_MS`], the [`PHASES`]-phase pattern runs and repeats.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};

/// Length of one phase of the pattern.
pub const PHASE_MS: i64 = 15_000;
/// Phases in one cycle of the pattern (150 s).
pub const PHASES: usize = 10;

/// `queue_depth{queue="a"}` per phase: pending at 30 s, firing at 50 s, resolved at 90 s for
/// `QueueBacklog` (`> 10` for 20 s); `QueueDrained` (`== 0` for 5 s) between 90 s and 120 s.
const QUEUE_A: [f64; PHASES] = [3.0, 3.0, 50.0, 50.0, 50.0, 50.0, 0.0, 0.0, 3.0, 3.0];
/// `queue_depth{queue="b"}` per phase: `QueueBacklog` fires at 35 s and resolves at 45 s, is pending
/// from 120 s and cancelled at 135 s; `QueueBKeepFiring` (`> 5`, keep firing 10 s) fires three times.
const QUEUE_B: [f64; PHASES] = [0.0, 12345.0, 12345.0, 0.0, 0.0, 7.0, 0.0, 0.0, 20000.0, 0.0];
/// Phases with many errors and slow requests.
const BAD: [bool; PHASES] = [false, false, false, true, true, true, true, false, false, false];
/// `requests_total{code="200"}` per second, always.
const OK_PER_SECOND: f64 = 10.0;
/// `requests_total{code="500"}` per second in good and bad phases (error ratio 0.048 and 0.444).
const ERRORS_PER_SECOND: (f64, f64) = (0.5, 8.0);
/// Upper bounds of the `request_duration_seconds` histogram.
pub const BUCKETS: [&str; 6] = ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"];
/// Cumulative bucket increments per second in good phases.
const BUCKETS_GOOD: [f64; 6] = [4.0, 7.0, 9.0, 10.0, 10.0, 10.0];
/// Cumulative bucket increments per second in bad phases.
const BUCKETS_BAD: [f64; 6] = [1.0, 2.0, 4.0, 7.0, 9.0, 10.0];
/// `request_duration_seconds_sum` increments per second (good, bad).
const DURATION_SUM_PER_SECOND: (f64, f64) = (1.0, 4.5);
/// Value of every counter at the timeline's origin.
const COUNTER_BASE: f64 = 1000.0;

/// Where the pattern is at a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before arming: queue `a` at 1, queue `b` empty, good traffic.
    Quiet,
    /// Phase `i` (0-based, `< PHASES`) of the pattern.
    Armed(usize),
}

impl Phase {
    /// Depth of queue `a` and `b`.
    fn queues(self) -> (f64, f64) {
        match self {
            Phase::Quiet => (1.0, 0.0),
            Phase::Armed(i) => (QUEUE_A[i], QUEUE_B[i]),
        }
    }

    /// Bad traffic (errors, slow requests).
    fn bad(self) -> bool {
        matches!(self, Phase::Armed(i) if BAD[i])
    }
}

/// The pattern in time: quiet from the origin, the phases from the arming time on.
#[derive(Debug)]
pub struct Timeline {
    origin_ms: i64,
    arm_ms: AtomicI64,
}

impl Timeline {
    /// A quiet timeline whose counters start at `origin_ms` (floored to a whole second).
    pub fn new(origin_ms: i64) -> Timeline {
        Timeline {
            origin_ms: origin_ms - origin_ms.rem_euclid(1000),
            arm_ms: AtomicI64::new(i64::MAX),
        }
    }

    /// Starts the pattern at `at_ms`, floored to a multiple of [`PHASE_MS`] and kept after the origin;
    /// returns the arming time. Arm at least a second ahead of the next stamp served, or a sample
    /// already served changes its value.
    pub fn arm(&self, at_ms: i64) -> i64 {
        let at = (at_ms - at_ms.rem_euclid(PHASE_MS)).max(self.origin_ms);
        self.arm_ms.store(at, Ordering::SeqCst);
        at
    }

    /// The arming time, once armed.
    pub fn armed_at(&self) -> Option<i64> {
        let at = self.arm_ms.load(Ordering::SeqCst);
        (at != i64::MAX).then_some(at)
    }

    /// The phase at `ts_ms`.
    pub fn phase(&self, ts_ms: i64) -> Phase {
        let arm = self.arm_ms.load(Ordering::SeqCst);
        if ts_ms < arm {
            return Phase::Quiet;
        }
        let index = ((ts_ms - arm) / PHASE_MS) as usize % PHASES;
        Phase::Armed(index)
    }

    /// A counter at `ts_ms` growing by `per_second(phase)` every second since the origin.
    fn counter(&self, ts_ms: i64, per_second: impl Fn(Phase) -> f64) -> f64 {
        let seconds = |from: i64, to: i64| (to - from).max(0) as f64 / 1000.0;
        let arm = self.arm_ms.load(Ordering::SeqCst);
        let ts = ts_ms.max(self.origin_ms);
        if ts <= arm {
            return COUNTER_BASE + per_second(Phase::Quiet) * seconds(self.origin_ms, ts);
        }
        let mut value = COUNTER_BASE + per_second(Phase::Quiet) * seconds(self.origin_ms, arm);
        let cycle_ms = PHASE_MS * PHASES as i64;
        let cycles = (ts - arm) / cycle_ms;
        if cycles > 0 {
            let per_cycle: f64 = (0..PHASES)
                .map(|i| per_second(Phase::Armed(i)) * (PHASE_MS / 1000) as f64)
                .sum();
            value += per_cycle * cycles as f64;
        }
        let mut start = arm + cycles * cycle_ms;
        for i in 0..PHASES {
            if start >= ts {
                break;
            }
            let end = (start + PHASE_MS).min(ts);
            value += per_second(Phase::Armed(i)) * seconds(start, end);
            start = end;
        }
        value
    }

    /// The exposition (text format 0.0.4) served for samples stamped `ts_ms`, every sample stamped.
    pub fn exposition(&self, ts_ms: i64) -> String {
        let phase = self.phase(ts_ms);
        let (a, b) = phase.queues();
        let mut out = String::with_capacity(1500);
        out.push_str("# HELP queue_depth Items waiting in a queue.\n# TYPE queue_depth gauge\n");
        out.push_str(&format!("queue_depth{{queue=\"a\"}} {a} {ts_ms}\n"));
        out.push_str(&format!("queue_depth{{queue=\"b\"}} {b} {ts_ms}\n"));
        out.push_str("# HELP requests_total Requests handled.\n# TYPE requests_total counter\n");
        let ok = self.counter(ts_ms, |_| OK_PER_SECOND);
        let errors = self.counter(ts_ms, |p| {
            if p.bad() {
                ERRORS_PER_SECOND.1
            } else {
                ERRORS_PER_SECOND.0
            }
        });
        out.push_str(&format!("requests_total{{code=\"200\"}} {ok} {ts_ms}\n"));
        out.push_str(&format!("requests_total{{code=\"500\"}} {errors} {ts_ms}\n"));
        out.push_str("# HELP request_duration_seconds Request latency.\n");
        out.push_str("# TYPE request_duration_seconds histogram\n");
        for (i, le) in BUCKETS.iter().enumerate() {
            let value = self.counter(ts_ms, |p| if p.bad() { BUCKETS_BAD[i] } else { BUCKETS_GOOD[i] });
            out.push_str(&format!(
                "request_duration_seconds_bucket{{le=\"{le}\"}} {value} {ts_ms}\n"
            ));
        }
        let sum = self.counter(ts_ms, |p| {
            if p.bad() {
                DURATION_SUM_PER_SECOND.1
            } else {
                DURATION_SUM_PER_SECOND.0
            }
        });
        let count = self.counter(ts_ms, |p| if p.bad() { BUCKETS_BAD[5] } else { BUCKETS_GOOD[5] });
        out.push_str(&format!("request_duration_seconds_sum {sum} {ts_ms}\n"));
        out.push_str(&format!("request_duration_seconds_count {count} {ts_ms}\n"));
        out
    }
}

/// The timestamp of the samples served for a request at `now_ms`: the next whole second.
pub fn stamp_for_request(now_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(1000) + 1000
}

/// A recording rule of the rule file and the relative tolerance its values are compared with.
#[derive(Debug, Clone, Copy)]
pub struct Record {
    /// The `record` name.
    pub name: &'static str,
    /// Relative tolerance (rates are computed in different orders by the two systems).
    pub tolerance: f64,
}

/// The recording rules of [`RULE_FILE`], in order.
pub const RECORDS: [Record; 6] = [
    Record {
        name: "queue:depth:sum",
        tolerance: 1e-9,
    },
    Record {
        name: "job:requests:rate30s",
        tolerance: 1e-6,
    },
    Record {
        name: "code:requests:rate30s",
        tolerance: 1e-6,
    },
    Record {
        name: "job:errors:rate30s",
        tolerance: 1e-6,
    },
    Record {
        name: "job:error_ratio:rate30s",
        tolerance: 1e-6,
    },
    Record {
        name: "job:request_duration_seconds:p90",
        tolerance: 1e-6,
    },
];

/// The alerting rules of [`RULE_FILE`], in order.
pub const ALERTS: [&str; 4] = ["QueueBacklog", "HighErrorRatio", "QueueBKeepFiring", "QueueDrained"];

/// Name of the rule group.
pub const GROUP: &str = "rules-compare";

/// The rule file, evaluated unchanged by both systems.
pub const RULE_FILE: &str = r#"groups:
  - name: rules-compare
    interval: 1s
    rules:
      - record: queue:depth:sum
        expr: sum by (queue) (queue_depth)
        labels:
          source: bench
      - record: job:requests:rate30s
        expr: sum(rate(requests_total[30s]))
      - record: code:requests:rate30s
        expr: sum by (code) (rate(requests_total[30s]))
      - record: job:errors:rate30s
        expr: sum(rate(requests_total{code="500"}[30s]))
      - record: job:error_ratio:rate30s
        expr: job:errors:rate30s / job:requests:rate30s
      - record: job:request_duration_seconds:p90
        expr: histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[30s])))
      - alert: QueueBacklog
        expr: queue:depth:sum > 10
        for: 20s
        labels:
          severity: page
          queue_alias: 'q-{{ $labels.queue }}'
        annotations:
          summary: 'Queue {{ $labels.queue }} backlog is {{ $value }}'
          description: '{{ humanize $value }} items waiting in {{ $labels.queue }}'
      - alert: HighErrorRatio
        expr: job:error_ratio:rate30s > 0.2
        labels:
          severity: ticket
        annotations:
          summary: 'Error ratio is {{ humanizePercentage $value }} ({{ printf "%.3f" $value }})'
      - alert: QueueBKeepFiring
        expr: queue:depth:sum{queue="b"} > 5
        keep_firing_for: 10s
        annotations:
          summary: 'queue {{ $labels.queue }} at {{ $value }}'
      - alert: QueueDrained
        expr: queue_depth{queue="a"} == 0
        for: 5s
        annotations:
          summary: '{{ $labels.job }}/{{ $labels.instance }}: queue {{ $labels.queue }} drained'
"#;

/// The configuration both systems load: the target scraped every second (its timestamps honoured),
/// rules evaluated every second from `rule_file`.
pub fn config(rule_file: &Path, target: SocketAddr) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - '{}'\n\
         scrape_configs:\n  - job_name: rules-compare\n    honor_timestamps: true\n    static_configs:\n      \
         - targets: ['{target}']\n",
        rule_file.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of(text: &str, series: &str) -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .expect("series present");
        line.split(' ').nth(1).expect("value").parse().expect("number")
    }

    #[test]
    fn stamps_the_next_second() {
        assert_eq!(stamp_for_request(1_700_000_000_000), 1_700_000_001_000);
        assert_eq!(stamp_for_request(1_700_000_000_999), 1_700_000_001_000);
        assert_eq!(stamp_for_request(1_700_000_001_001), 1_700_000_002_000);
    }

    #[test]
    fn quiet_until_armed_then_phases() {
        let t = Timeline::new(1_000_000_500);
        assert_eq!(t.armed_at(), None);
        assert_eq!(t.phase(2_000_000_000), Phase::Quiet);
        let arm = t.arm(1_000_040_000);
        assert_eq!(arm, 1_000_035_000);
        assert_eq!(t.armed_at(), Some(arm));
        assert_eq!(t.phase(arm - 1000), Phase::Quiet);
        assert_eq!(t.phase(arm), Phase::Armed(0));
        assert_eq!(t.phase(arm + 14_999), Phase::Armed(0));
        assert_eq!(t.phase(arm + 30_000), Phase::Armed(2));
        assert_eq!(t.phase(arm + 150_000), Phase::Armed(0));
        assert_eq!(t.phase(arm + 155_000 + 150_000), Phase::Armed(0));
    }

    #[test]
    fn counters_integrate_the_phases() {
        let t = Timeline::new(0);
        let arm = t.arm(60_000);
        // Quiet: 0.5 errors per second for 60 s.
        let text = t.exposition(arm);
        assert_eq!(value_of(&text, "requests_total{code=\"500\"}"), 1030.0);
        assert_eq!(value_of(&text, "requests_total{code=\"200\"}"), 1600.0);
        // Phases 0-2 good (45 s at 0.5), then 10 s of phase 3 at 8.
        let text = t.exposition(arm + 55_000);
        assert_eq!(value_of(&text, "requests_total{code=\"500\"}"), 1030.0 + 22.5 + 80.0);
        // A whole cycle: 6 good phases (45 errors), 4 bad (480), twice, plus 2 s of phase 0.
        let text = t.exposition(arm + 302_000);
        assert_eq!(
            value_of(&text, "requests_total{code=\"500\"}"),
            1030.0 + 2.0 * 525.0 + 1.0
        );
        assert_eq!(value_of(&text, "requests_total{code=\"200\"}"), 1600.0 + 3020.0);
        assert_eq!(value_of(&text, "request_duration_seconds_count"), 1600.0 + 3020.0);
        assert_eq!(
            value_of(&text, "request_duration_seconds_bucket{le=\"0.05\"}"),
            1000.0 + 240.0 + 2.0 * (90.0 * 4.0 + 60.0) + 8.0
        );
    }

    #[test]
    fn exposition_follows_the_pattern() {
        let t = Timeline::new(0);
        let arm = t.arm(150_000);
        let text = t.exposition(arm + 31_000);
        assert_eq!(value_of(&text, "queue_depth{queue=\"a\"}"), 50.0);
        assert_eq!(value_of(&text, "queue_depth{queue=\"b\"}"), 12345.0);
        assert!(text.contains(&format!("queue_depth{{queue=\"a\"}} 50 {}\n", arm + 31_000)));
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 12);
        let quiet = t.exposition(arm - 1000);
        assert_eq!(value_of(&quiet, "queue_depth{queue=\"a\"}"), 1.0);
        // Buckets are cumulative in every phase.
        for offset in (0..150).map(|s| arm + s * 1000) {
            let text = t.exposition(offset);
            let values: Vec<f64> = BUCKETS
                .iter()
                .map(|le| value_of(&text, &format!("request_duration_seconds_bucket{{le=\"{le}\"}}")))
                .collect();
            assert!(values.windows(2).all(|w| w[0] <= w[1]), "{values:?}");
        }
    }

    #[test]
    fn rule_file_and_config_name_everything() {
        for record in RECORDS {
            assert!(RULE_FILE.contains(&format!("record: {}\n", record.name)));
        }
        for alert in ALERTS {
            assert!(RULE_FILE.contains(&format!("alert: {alert}\n")));
        }
        assert!(RULE_FILE.contains(&format!("name: {GROUP}\n")));
        let config = config(Path::new("/tmp/r.yml"), "127.0.0.1:9".parse().expect("addr"));
        assert!(config.contains("rule_files:\n  - '/tmp/r.yml'\n"));
        assert!(config.contains("targets: ['127.0.0.1:9']"));
        assert!(config.contains("evaluation_interval: 1s"));
    }
}
