//! PromQL conformance: runs promqltest scripts against the engine.
//!
//! Scripts come from `../shared/promql/*.test` (Prometheus's own, next to the workspace; skipped
//! with a notice when absent), `query/tests/promql/*.test` (ours), and every directory listed in
//! `LOUPE_PROMQL_TESTS` (colon-separated). Known failures are listed in
//! `tests/promql-expected-failures.txt` (`file.test:LINE  reason`); the test fails when a case
//! fails that is not listed, or a listed case passes, is skipped or no longer exists, so the list
//! only shrinks. `LOUPE_PROMQL_BLESS=1` rewrites the list from the current failures, keeping
//! existing reasons.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};

use query::promql::eval::{Engine, EngineOptions};
use query::promql::promqltest::{ExpectedFailures, FileReport, RunOptions, bless, judge, run_file, totals_line};

/// The `.test` files of `dir`, sorted by name.
fn scripts(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        panic!("cannot read promqltest directory {}", dir.display());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    files
}

fn script_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let upstream = root.join("../../shared/promql");
    if upstream.is_dir() {
        dirs.push(upstream);
    } else {
        println!("upstream promqltest scripts skipped: {} not found", upstream.display());
    }
    dirs.push(root.join("tests/promql"));
    if let Ok(extra) = std::env::var("LOUPE_PROMQL_TESTS") {
        dirs.extend(extra.split(':').filter(|d| !d.is_empty()).map(PathBuf::from));
    }
    dirs
}

fn one_line(s: &str, max: usize) -> String {
    let flat = s.replace('\n', " ");
    if flat.chars().count() > max {
        format!("{}...", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

#[test]
fn promql_conformance() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let engine = Engine::new(EngineOptions::default());
    let opts = RunOptions::default();
    let mut reports: Vec<FileReport> = Vec::new();
    for dir in script_dirs(root) {
        println!("== {}", dir.display());
        for file in scripts(&dir) {
            let report = run_file(&file, &engine, &opts);
            println!("{}", report.summary_line());
            reports.push(report);
        }
    }
    println!("{}", totals_line(&reports));

    let list_path = root.join("tests/promql-expected-failures.txt");
    let expected = match std::fs::read_to_string(&list_path) {
        Ok(text) => ExpectedFailures::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", list_path.display())),
        Err(_) => ExpectedFailures::default(),
    };

    if std::env::var("LOUPE_PROMQL_BLESS").is_ok_and(|v| v == "1") {
        let blessed = bless(&reports, &expected);
        std::fs::write(&list_path, blessed.render())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", list_path.display()));
        println!(
            "wrote {} expected failures to {}",
            blessed.entries.len(),
            list_path.display()
        );
        return;
    }

    let verdict = judge(&reports, &expected);
    println!("{} listed failures still fail", verdict.expected_failures);
    if !verdict.unexpected_failures.is_empty() {
        println!(
            "\nFAILED, not in {} ({}):",
            list_path.display(),
            verdict.unexpected_failures.len()
        );
        for (id, expr, why) in &verdict.unexpected_failures {
            println!("  {id}  {}\n      {}", one_line(expr, 120), one_line(why, 400));
        }
    }
    if !verdict.unexpected_passes.is_empty() {
        println!(
            "\nPASSED but listed as failing; remove them ({}):",
            verdict.unexpected_passes.len()
        );
        for (id, expr) in &verdict.unexpected_passes {
            println!("  {id}  {}", one_line(expr, 120));
        }
    }
    if !verdict.stale.is_empty() {
        println!(
            "\nListed but not failing (skipped or gone); remove them ({}):",
            verdict.stale.len()
        );
        for (id, what) in &verdict.stale {
            println!("  {id}  {what}");
        }
    }
    assert!(
        verdict.ok(),
        "promql conformance differs from {}; fix the cases or rerun with LOUPE_PROMQL_BLESS=1",
        list_path.display()
    );
}
