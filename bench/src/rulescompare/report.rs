//! The comparison's outcome: a markdown table per rule, the alert transitions, the `/api/v1/alerts`
//! snapshots and what each system was served, and the same as JSON.

use serde::Serialize;

use super::compare::{AlertResult, BOUNDARY_MARGIN_MS, RecordResult, TRANSITION_SLACK_MS};
use super::snapshot::SnapshotResult;

/// What one scraper (by `User-Agent`) was served.
#[derive(Debug, Clone, Serialize)]
pub struct ClientReport {
    /// Its `User-Agent`.
    pub user_agent: String,
    /// Scrapes answered in the whole run.
    pub requests: u64,
    /// Stamps of the compared window never served to it (0 when both stored the same samples).
    pub missing_stamps: usize,
    /// Offset of its scrapes within their second: minimum, median, maximum (ms).
    pub offset_ms: Option<(i64, i64, i64)>,
}

/// Everything measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `prometheus --version`, first line.
    pub prometheus_version: String,
    /// `loupe --version`, first line.
    pub loupe_version: String,
    /// Start of the compared window (ms since the epoch): the pattern's first phase.
    pub start_ms: i64,
    /// End of the compared window (ms since the epoch).
    pub end_ms: i64,
    /// Offset of the rule group's last evaluation within its second (Prometheus, Loupe), in ms.
    pub eval_offset_ms: (Option<i64>, Option<i64>),
    /// The scrapers.
    pub clients: Vec<ClientReport>,
    /// One entry per recording rule.
    pub records: Vec<RecordResult>,
    /// One entry per alerting rule.
    pub alerts: Vec<AlertResult>,
    /// The `/api/v1/alerts` snapshots.
    pub snapshots: Vec<SnapshotResult>,
    /// Wall time of the whole run, seconds.
    pub runtime_s: f64,
    /// Where the logs and data are.
    pub work_dir: String,
    /// Whether everything agreed.
    pub passed: bool,
}

impl Report {
    /// Whether every rule and snapshot agreed (with at least one snapshot holding a firing alert).
    pub fn compute_passed(&self) -> bool {
        self.records.iter().all(RecordResult::passed)
            && self.alerts.iter().all(AlertResult::passed)
            && !self.snapshots.is_empty()
            && self.snapshots.iter().all(SnapshotResult::passed)
    }

    /// The report as markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str("## rules-compare: Loupe against Prometheus\n\n");
        out.push_str(&format!(
            "Prometheus: {}; Loupe: {}. Compared window: {} s from {} ms, step 1 s; runtime {:.0} s.\n",
            self.prometheus_version,
            self.loupe_version,
            (self.end_ms - self.start_ms) / 1000,
            self.start_ms,
            self.runtime_s
        ));
        let offset = |o: Option<i64>| o.map_or_else(|| "?".to_string(), |o| format!("{o} ms"));
        out.push_str(&format!(
            "Rule group evaluated {} (Prometheus) and {} (Loupe) into each second.\n",
            offset(self.eval_offset_ms.0),
            offset(self.eval_offset_ms.1)
        ));
        for client in &self.clients {
            let offsets = client
                .offset_ms
                .map_or_else(|| "?".to_string(), |(a, m, b)| format!("{a}/{m}/{b} ms"));
            out.push_str(&format!(
                "Scraper `{}`: {} scrapes at min/median/max {offsets} into the second, {} stamps of the window missed.\n",
                client.user_agent, client.requests, client.missing_stamps
            ));
        }
        out.push_str("\n| rule | kind | series compared | points compared | mismatches | transitions matched |\n");
        out.push_str("|---|---|---:|---:|---:|---:|\n");
        for r in &self.records {
            let series = r.series_common + r.only_prometheus.len() + r.only_loupe.len();
            out.push_str(&format!(
                "| `{}` | record | {}/{} | {} | {} | – |\n",
                r.name,
                r.series_common,
                series,
                r.points,
                r.mismatches + r.only_prometheus.len() + r.only_loupe.len()
            ));
        }
        for a in &self.alerts {
            let series = a.series_common + a.only_prometheus.len() + a.only_loupe.len();
            out.push_str(&format!(
                "| `{}` | alert | {}/{} | {} | {} | {}/{} |\n",
                a.name, a.series_common, series, a.points, a.mismatches, a.transitions_matched, a.transitions
            ));
        }
        let (boundary, differing) = self
            .records
            .iter()
            .fold((0, 0), |(n, d), r| (n + r.boundary_points, d + r.boundary_differences));
        let steps_differing: usize = self.alerts.iter().map(|a| a.differing_steps).sum();
        out.push_str(&format!(
            "\nRecording-rule points within {} s of a 15 s phase boundary (not held to equality): {boundary}, \
             of which {differing} differ. Alert steps whose state differs: {steps_differing} (transitions \
             may be {} s apart).\n",
            BOUNDARY_MARGIN_MS / 1000,
            TRANSITION_SLACK_MS / 1000
        ));
        let examples: Vec<String> = self.records.iter().flat_map(|r| r.examples_text()).collect();
        if !examples.is_empty() {
            out.push_str("\n### Recording-rule differences (first of each rule)\n\n");
            for line in examples {
                out.push_str(&format!("- {line}\n"));
            }
        }
        out.push_str("\n### Alert transitions (seconds after the pattern started)\n\n");
        for a in &self.alerts {
            for line in a.details.iter().chain(&a.only_prometheus).chain(&a.only_loupe) {
                out.push_str(&format!("- `{}` {line}\n", a.name));
            }
        }
        out.push_str("\n### `/api/v1/alerts` snapshots\n\n");
        out.push_str("| at | stable | Prometheus alerts | Loupe alerts | firing | identical | differences |\n");
        out.push_str("|---:|---|---:|---:|---:|---:|---:|\n");
        for s in &self.snapshots {
            out.push_str(&format!(
                "| +{:.1} s | {} | {} | {} | {} | {} | {} |\n",
                s.at_s,
                if s.stable { "yes" } else { "no" },
                s.prometheus,
                s.loupe,
                s.firing,
                s.matched,
                s.differences.len()
            ));
        }
        for s in &self.snapshots {
            for line in s.differences.iter().chain(&s.alerts) {
                out.push_str(&format!("- +{:.1} s: {line}\n", s.at_s));
            }
        }
        out.push_str(&format!(
            "\n**Result: {}** (logs and data in {})\n",
            if self.passed { "PASS" } else { "FAIL" },
            self.work_dir
        ));
        out
    }
}

impl RecordResult {
    /// Set differences and value examples, as text lines naming the rule.
    fn examples_text(&self) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        for key in &self.only_prometheus {
            lines.push(format!("`{}` {key} only in Prometheus", self.name));
        }
        for key in &self.only_loupe {
            lines.push(format!("`{}` {key} only in Loupe", self.name));
        }
        lines.extend(self.examples.iter().map(|e| format!("`{}` {e}", self.name)));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_tables_and_verdict() {
        let record = RecordResult {
            name: "queue:depth:sum".into(),
            tolerance: 1e-9,
            series_common: 2,
            points: 250,
            boundary_points: 50,
            ..RecordResult::default()
        };
        let alert = AlertResult {
            name: "QueueBacklog".into(),
            series_common: 2,
            points: 302,
            transitions: 5,
            transitions_matched: 5,
            details: vec!["{alertname=\"QueueBacklog\", queue=\"a\"}: prometheus +31s absent→pending".into()],
            ..AlertResult::default()
        };
        let snapshot = SnapshotResult {
            at_s: 82.5,
            stable: true,
            prometheus: 3,
            loupe: 3,
            firing: 3,
            matched: 3,
            ..SnapshotResult::default()
        };
        let mut report = Report {
            prometheus_version: "prometheus, version 2.42.0".into(),
            loupe_version: "loupe 0.1.0".into(),
            start_ms: 1_700_000_010_000,
            end_ms: 1_700_000_160_000,
            eval_offset_ms: (Some(412), None),
            clients: vec![ClientReport {
                user_agent: "Prometheus/2.42.0".into(),
                requests: 190,
                missing_stamps: 0,
                offset_ms: Some((400, 410, 420)),
            }],
            records: vec![record],
            alerts: vec![alert],
            snapshots: vec![snapshot],
            runtime_s: 200.0,
            work_dir: "/tmp/x".into(),
            passed: false,
        };
        report.passed = report.compute_passed();
        assert!(report.passed);
        let text = report.markdown();
        assert!(
            text.contains("| `queue:depth:sum` | record | 2/2 | 250 | 0 | – |\n"),
            "{text}"
        );
        assert!(
            text.contains("| `QueueBacklog` | alert | 2/2 | 302 | 0 | 5/5 |\n"),
            "{text}"
        );
        assert!(text.contains("| +82.5 s | yes | 3 | 3 | 3 | 3 | 0 |\n"), "{text}");
        assert!(text.contains("412 ms (Prometheus) and ? (Loupe)"), "{text}");
        assert!(text.contains("**Result: PASS**"));
        report.records[0].mismatches = 1;
        report.records[0]
            .examples
            .push("{queue=\"a\"} at 1: prometheus 1, loupe 2".into());
        assert!(!report.compute_passed());
        assert!(
            report
                .markdown()
                .contains("- `queue:depth:sum` {queue=\"a\"} at 1: prometheus 1, loupe 2\n")
        );
    }
}
