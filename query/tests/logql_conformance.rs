//! LogQL conformance: runs Loupe's own logqltest scripts (`tests/logql/*.test` at the workspace
//! root) against the LogQL engine, and fails listing every failing case. Cases marked `eval_skip`
//! (known engine gaps, each with a `# KNOWN:` reason) are counted as skipped.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};

use query::logql::logqltest::{Outcome, Report, run_file};

/// The `.test` files of `dir`, sorted by name.
fn scripts(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        panic!("cannot read logqltest directory {}", dir.display());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    files
}

#[test]
fn logql_conformance() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/logql");
    let files = scripts(&dir);
    assert!(!files.is_empty(), "no .test files in {}", dir.display());
    let mut reports: Vec<Report> = Vec::new();
    for file in &files {
        match run_file(file) {
            Ok(r) => reports.push(r),
            Err(e) => panic!("{e}"),
        }
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut failures = String::new();
    for r in &reports {
        println!("{}", r.summary_line());
        for c in &r.cases {
            if let Outcome::Skipped(reason) = &c.outcome {
                println!("  skipped {}:{}: {reason}", r.name, c.line);
            }
        }
        passed += r.passed();
        failed += r.failed();
        skipped += r.skipped();
        failures.push_str(&r.failures());
    }
    println!("total: {passed} passed, {failed} failed, {skipped} skipped");
    assert!(failed == 0, "{failed} LogQL conformance case(s) failed:\n{failures}");
}
