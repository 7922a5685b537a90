//! External programs the policy may need (ffmpeg, LibreOffice): found on a PATH given by the caller,
//! asked for their version (which goes into provenance), run with a time limit. A missing program is not
//! an error: the step is recorded as skipped with the reason (issue 5; mailbagit's lesson).
//!
//! TODO(tool): move to `src/tool.rs` (DESIGN.md) when another module needs it.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::error::ActionError;

/// A program found on PATH, with the version it reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub name: String,
    pub path: PathBuf,
    pub version: String,
}

/// The external programs available to a run.
#[derive(Debug, Clone, Default)]
pub struct Tools {
    pub ffmpeg: Option<Tool>,
    pub soffice: Option<Tool>,
    /// How long one external run may take.
    pub timeout: Option<Duration>,
}

fn find(program: &str, path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|d| d.join(program))
        .find(|c| c.is_file())
}

fn version_line(path: &Path, arg: &str) -> Option<String> {
    let out = Command::new(path)
        .arg(arg)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().next().map(|l| l.trim().to_string())
}

impl Tools {
    /// No external programs at all (every step needing one is recorded as skipped).
    pub fn none() -> Self {
        Tools::default()
    }

    /// Look the programs up on `path` (the value of `PATH`).
    pub fn probe(path: Option<OsString>) -> Self {
        let path = path.unwrap_or_default();
        let ffmpeg = find("ffmpeg", &path).map(|p| {
            // "ffmpeg version 5.1.6-0+deb12u1 Copyright …" → "5.1.6-0+deb12u1"
            let v = version_line(&p, "-version")
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_string))
                .unwrap_or_else(|| "unknown".into());
            Tool {
                name: "ffmpeg".into(),
                path: p,
                version: v,
            }
        });
        let soffice = find("soffice", &path).map(|p| {
            // "LibreOffice 7.4.7.2 40(Build:2)" → "7.4.7.2"
            let v = version_line(&p, "--version")
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
                .unwrap_or_else(|| "unknown".into());
            Tool {
                name: "LibreOffice".into(),
                path: p,
                version: v,
            }
        });
        Tools {
            ffmpeg,
            soffice,
            timeout: Some(Duration::from_secs(3600)),
        }
    }
}

/// Run a tool to completion (stdout/stderr to a log file beside the output), failing after the timeout.
pub(crate) fn run(
    tool: &Tool,
    args: &[&OsStr],
    log: &Path,
    timeout: Option<Duration>,
) -> Result<(), ActionError> {
    let log_file = std::fs::File::create(log)?;
    let mut child = Command::new(&tool.path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()?;
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if timeout.is_some_and(|t| start.elapsed() > t) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ActionError::Tool {
                tool: tool.name.clone(),
                message: format!("timed out after {} s", start.elapsed().as_secs()),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.success() {
        Ok(())
    } else {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        Err(ActionError::Tool {
            tool: tool.name.clone(),
            message: format!(
                "{status}: {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ),
        })
    }
}
