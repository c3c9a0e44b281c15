//! Finding the peers' binaries, and installing Debian's packages when one is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Result;

/// A program the benchmark runs and the Debian package that provides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// What it is, for messages.
    pub name: &'static str,
    /// Where the benchmark expects it.
    pub path: PathBuf,
    /// The Debian package that installs it there.
    pub package: &'static str,
}

/// The Debian packages of the tools whose binary is missing, without repeats, in order.
pub fn missing_packages(tools: &[Tool]) -> Vec<&'static str> {
    let mut packages = Vec::new();
    for tool in tools.iter().filter(|t| !t.path.is_file()) {
        if !packages.contains(&tool.package) {
            packages.push(tool.package);
        }
    }
    packages
}

/// True when this process runs as root (`Uid:` of `/proc/self/status`).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|rest| rest.split_whitespace().next().map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

/// True when `program` is on `PATH`.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The command that installs `packages`: `apt-get install` directly as root, else through
/// `sudo -n` (never prompting); `None` without apt-get (or without root and sudo).
fn install_command(packages: &[&str], root: bool, sudo: bool) -> Option<Vec<String>> {
    let mut line: Vec<String> = Vec::new();
    if !root {
        if !sudo {
            return None;
        }
        line.extend(["sudo".into(), "-n".into()]);
    }
    line.extend(["apt-get", "install", "-y", "--no-install-recommends"].map(String::from));
    line.extend(packages.iter().map(|p| p.to_string()));
    Some(line)
}

/// Checks every tool's binary; installs the missing ones' packages with apt-get when `install` is
/// set (as root, or with password-less sudo). Fails naming what is missing and how to install it.
pub fn ensure(tools: &[Tool], install: bool, mut progress: impl FnMut(&str)) -> Result<()> {
    let packages = missing_packages(tools);
    if packages.is_empty() {
        return Ok(());
    }
    let hint = format!("sudo apt-get install -y {}", packages.join(" "));
    let missing: Vec<String> = tools
        .iter()
        .filter(|t| !t.path.is_file())
        .map(|t| format!("{} ({})", t.name, t.path.display()))
        .collect();
    if !install {
        return Err(format!("missing {}; install with: {hint}", missing.join(", ")).into());
    }
    let line = on_path("apt-get")
        .then(|| install_command(&packages, is_root(), on_path("sudo")))
        .flatten()
        .ok_or_else(|| format!("missing {}; install with: {hint}", missing.join(", ")))?;
    progress(&format!("installing {}: {}", packages.join(" "), line.join(" ")));
    // A fresh machine may have no package lists yet: refresh them first, with the same prefix.
    let prefix = line.len() - packages.len() - 4;
    let update: Vec<String> = line[..prefix]
        .iter()
        .cloned()
        .chain(["apt-get".into(), "update".into()])
        .collect();
    for command in [&update, &line] {
        let status = Command::new(&command[0])
            .args(&command[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("running {}: {e}", command.join(" ")))?;
        if !status.success() {
            return Err(format!("{} failed ({status}); install with: {hint}", command.join(" ")).into());
        }
    }
    let still: Vec<String> = tools
        .iter()
        .filter(|t| !t.path.is_file())
        .map(|t| t.path.display().to_string())
        .collect();
    if !still.is_empty() {
        return Err(format!("still missing after installing: {}", still.join(", ")).into());
    }
    Ok(())
}

/// The tool list for the given binaries.
pub fn tools(prometheus: &Path, promtool: &Path, victoria_metrics: &Path, node_exporter: Option<&Path>) -> Vec<Tool> {
    let mut tools = vec![
        Tool {
            name: "Prometheus",
            path: prometheus.to_path_buf(),
            package: "prometheus",
        },
        Tool {
            name: "promtool",
            path: promtool.to_path_buf(),
            package: "prometheus",
        },
        Tool {
            name: "VictoriaMetrics",
            path: victoria_metrics.to_path_buf(),
            package: "victoria-metrics",
        },
    ];
    if let Some(path) = node_exporter {
        tools.push(Tool {
            name: "node exporter",
            path: path.to_path_buf(),
            package: "prometheus-node-exporter",
        });
    }
    tools
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_missing_packages_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let present = dir.path().join("present");
        std::fs::write(&present, "").expect("writes");
        let absent = dir.path().join("absent");
        let tools = tools(&absent, &absent, &present, Some(&absent));
        assert_eq!(missing_packages(&tools), ["prometheus", "prometheus-node-exporter"]);
        assert_eq!(missing_packages(&tools[2..3]), Vec::<&str>::new());
        let error = ensure(&tools, false, |_| {}).expect_err("missing");
        assert!(
            error
                .to_string()
                .ends_with("install with: sudo apt-get install -y prometheus prometheus-node-exporter"),
            "{error}"
        );
        assert!(ensure(&tools[2..3], false, |_| {}).is_ok());
    }

    #[test]
    fn builds_install_commands() {
        assert_eq!(
            install_command(&["prometheus"], true, false),
            Some(
                ["apt-get", "install", "-y", "--no-install-recommends", "prometheus"]
                    .map(String::from)
                    .to_vec()
            )
        );
        assert_eq!(
            install_command(&["a", "b"], false, true).map(|l| l.join(" ")),
            Some("sudo -n apt-get install -y --no-install-recommends a b".into())
        );
        assert_eq!(install_command(&["a"], false, false), None);
    }
}
