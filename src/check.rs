//! `loupe check rules FILE…`: validates rule files like `promtool check rules`, for CI use.
//!
//! Every problem is printed with its file, line and column; duplicate rules (same name and
//! labels in one group) are warnings, or errors with `--lint-fatal`. The exit code is 1 when any
//! file fails.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use crate::rules::file::{Defaults, parse_file};

/// Checks each file and writes a report to `out`; returns whether all passed.
pub fn check_rules(files: &[PathBuf], lint_fatal: bool, out: &mut dyn Write) -> bool {
    let mut ok = true;
    for file in files {
        let _ = writeln!(out, "Checking {}", file.display());
        let text = match std::fs::read(file) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                let _ = writeln!(out, "  FAILED:\n{}: {e}\n", file.display());
                ok = false;
                continue;
            }
        };
        match parse_file(file, &text, Defaults::default()) {
            Ok(groups) => {
                let rules: usize = groups.iter().map(|g| g.rules.len()).sum();
                let mut duplicates = Vec::new();
                for group in &groups {
                    let mut seen: HashMap<String, usize> = HashMap::new();
                    for rule in &group.rules {
                        let labels: Vec<String> = rule.labels.iter().map(|(k, v, _)| format!("{k}={v:?}")).collect();
                        *seen
                            .entry(format!("{}{{{}}}", rule.name(), labels.join(",")))
                            .or_default() += 1;
                    }
                    let mut repeated: Vec<_> = seen.into_iter().filter(|(_, n)| *n > 1).collect();
                    repeated.sort();
                    for (rule, _) in repeated {
                        duplicates.push(format!("group {:?}: {rule}", group.name));
                    }
                }
                if !duplicates.is_empty() {
                    let _ = writeln!(out, "  [WARNING]: {} duplicate rule(s) found.", duplicates.len());
                    for d in &duplicates {
                        let _ = writeln!(out, "    {d}");
                    }
                    if lint_fatal {
                        let _ = writeln!(out, "  FAILED: duplicate rules\n");
                        ok = false;
                        continue;
                    }
                }
                let _ = writeln!(out, "  SUCCESS: {rules} rules found\n");
            }
            Err(errors) => {
                ok = false;
                let _ = writeln!(out, "  FAILED:");
                for e in &errors.errors {
                    let _ = writeln!(out, "{e}");
                }
                let _ = writeln!(out);
            }
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_like_promtool() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("good.yml");
        std::fs::write(
            &good,
            "groups:\n  - name: g\n    rules:\n      - record: a:b\n        expr: sum(up)\n      - record: a:b\n        expr: sum(up)\n      - alert: X\n        expr: up == 0\n",
        )
        .expect("write");
        let bad = dir.path().join("bad.yml");
        std::fs::write(
            &bad,
            "groups:\n  - name: g\n    rules:\n      - alert: X\n        expr: 'up =='\n",
        )
        .expect("write");
        let mut out = Vec::new();
        assert!(check_rules(std::slice::from_ref(&good), false, &mut out));
        let text = String::from_utf8_lossy(&out).replace(&dir.path().display().to_string(), "D");
        assert_eq!(
            text,
            "Checking D/good.yml\n  [WARNING]: 1 duplicate rule(s) found.\n    group \"g\": a:b{}\n  SUCCESS: 3 rules found\n\n"
        );
        let mut out = Vec::new();
        assert!(!check_rules(&[good, bad], true, &mut out));
        let text = String::from_utf8_lossy(&out).replace(&dir.path().display().to_string(), "D");
        assert!(text.contains("  FAILED: duplicate rules"), "{text}");
        assert!(text.contains("Checking D/bad.yml\n  FAILED:\nD/bad.yml:5:15: group \"g\", rule 1, \"X\": could not parse expression: 1:"), "{text}");
    }
}
