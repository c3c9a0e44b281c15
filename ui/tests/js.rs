//! Runs the dashboard's JavaScript unit tests (`ui/tests/*.test.mjs`, `node:test`) with Node, which
//! loads the same ES modules the browser does. Without `node` on the PATH the test says it
//! skipped, unless `LOUPE_REQUIRE_NODE=1` (CI sets it), when it fails.

use std::path::Path;
use std::process::Command;

#[test]
fn javascript_unit_tests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("ui/tests")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "expected the JavaScript test files in {}",
        dir.display()
    );
    let output = match Command::new("node").arg("--test").args(&files).output() {
        Ok(output) => output,
        Err(e) => {
            assert!(
                std::env::var_os("LOUPE_REQUIRE_NODE").is_none(),
                "LOUPE_REQUIRE_NODE is set but node cannot run: {e}"
            );
            eprintln!("skipped: the JavaScript unit tests need Node.js (node): {e}");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "node --test failed:\n{stdout}\n{stderr}");
    // The TAP summary: every test ran and passed.
    let count = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("# {key} ")))
            .and_then(|n| n.trim().parse::<u32>().ok())
    };
    assert_eq!(count("fail"), Some(0), "{stdout}");
    assert!(
        count("pass").unwrap_or(0) >= 90,
        "too few JavaScript tests passed:\n{stdout}"
    );
}
