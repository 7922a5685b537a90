//! External programs (ffmpeg, LibreOffice, xmllint, clamscan): the one runner. A program is found on a PATH
//! given by the caller, asked for its version (which goes into provenance as a PREMIS software agent), and
//! run with a time limit; a program that hangs is killed, never waited on for ever.
//!
//! A missing program is not an error here: callers record the step as skipped or not run, with the reason
//! (issue 5; mailbagit's lesson).

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::model::{Agent, AgentKind};

/// How long one external run may take unless the caller says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

/// Why an external program did not do its work.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("{tool}: cannot run: {source}")]
    Start {
        tool: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{tool}: timed out after {secs} s")]
    TimedOut { tool: String, secs: u64 },
    #[error("{tool} failed: {message}")]
    Failed { tool: String, message: String },
    #[error("{tool}: {source}")]
    Io {
        tool: String,
        #[source]
        source: std::io::Error,
    },
}

impl ToolError {
    /// The program's name.
    pub fn tool(&self) -> &str {
        match self {
            ToolError::Start { tool, .. }
            | ToolError::TimedOut { tool, .. }
            | ToolError::Failed { tool, .. }
            | ToolError::Io { tool, .. } => tool,
        }
    }
}

/// A program found on PATH, with the version it reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// The name provenance records ("ffmpeg", "LibreOffice", "xmllint").
    pub name: String,
    pub path: PathBuf,
    pub version: String,
    /// Environment variables set for every run (issue 14: `OMP_THREAD_LIMIT=1` for Tesseract, so that
    /// parallel pages do not oversubscribe the cores).
    pub env: Vec<(String, String)>,
}

/// What a captured run produced.
#[derive(Debug, Clone)]
pub struct Captured {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The first file named `program` in the folders of `path` (a `PATH` value).
pub fn find(program: &str, path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|d| d.join(program))
        .find(|c| c.is_file())
}

/// The first non-empty line a program prints for `arg` (stdout, else stderr: xmllint answers there).
fn version_line(path: &Path, arg: &str) -> Option<String> {
    let out = Command::new(path)
        .arg(arg)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let first = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
    };
    first(&out.stdout).or_else(|| first(&out.stderr))
}

impl Tool {
    /// Find `program` on `path` and ask its version with `version_arg`; `pick` takes the version out of the
    /// first line of the answer ("unknown" when it cannot).
    pub fn probe(
        name: &str,
        program: &str,
        path: &OsStr,
        version_arg: &str,
        pick: fn(&str) -> Option<String>,
    ) -> Option<Tool> {
        let p = find(program, path)?;
        let version = version_line(&p, version_arg)
            .and_then(|l| pick(&l))
            .unwrap_or_else(|| "unknown".into());
        Some(Tool {
            name: name.into(),
            path: p,
            version,
            env: Vec::new(),
        })
    }

    /// [`Tool::probe`] on this process's `PATH`.
    pub fn on_path(
        name: &str,
        program: &str,
        version_arg: &str,
        pick: fn(&str) -> Option<String>,
    ) -> Option<Tool> {
        Tool::probe(
            name,
            program,
            &std::env::var_os("PATH").unwrap_or_default(),
            version_arg,
            pick,
        )
    }

    /// The program as a PREMIS software agent (name and version).
    pub fn agent(&self) -> Agent {
        Agent {
            kind: AgentKind::Software,
            name: self.name.clone(),
            version: Some(self.version.clone()),
        }
    }

    /// "name version", for details and logs.
    pub fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }

    /// Wait for `child` until it ends or `timeout` passes (then it is killed).
    fn wait(&self, child: &mut Child, timeout: Option<Duration>) -> Result<ExitStatus, ToolError> {
        let start = Instant::now();
        loop {
            if let Some(s) = child.try_wait().map_err(|e| self.io(e))? {
                return Ok(s);
            }
            if timeout.is_some_and(|t| start.elapsed() > t) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ToolError::TimedOut {
                    tool: self.name.clone(),
                    secs: start.elapsed().as_secs(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn io(&self, source: std::io::Error) -> ToolError {
        ToolError::Io {
            tool: self.name.clone(),
            source,
        }
    }

    /// Run to completion with stdout and stderr going to the file `log`; a failure carries the log's last
    /// lines.
    pub fn run_logged(
        &self,
        args: &[&OsStr],
        log: &Path,
        timeout: Option<Duration>,
    ) -> Result<(), ToolError> {
        let log_file = std::fs::File::create(log).map_err(|e| self.io(e))?;
        let err_file = log_file.try_clone().map_err(|e| self.io(e))?;
        let mut child = Command::new(&self.path)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(err_file)
            .spawn()
            .map_err(|source| ToolError::Start {
                tool: self.name.clone(),
                source,
            })?;
        let status = self.wait(&mut child, timeout)?;
        if status.success() {
            return Ok(());
        }
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        Err(ToolError::Failed {
            tool: self.name.clone(),
            message: format!(
                "{status}: {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ),
        })
    }

    /// Run with `stdin` fed to the program (or none), capturing stdout and stderr; the exit status is the
    /// caller's to judge (clamscan exits 1 for "infected").
    pub fn run_captured(
        &self,
        args: &[&OsStr],
        stdin: Option<&[u8]>,
        timeout: Option<Duration>,
    ) -> Result<Captured, ToolError> {
        let mut child = Command::new(&self.path)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| ToolError::Start {
                tool: self.name.clone(),
                source,
            })?;
        let input = child.stdin.take();
        let mut out = child.stdout.take();
        let mut err = child.stderr.take();
        // Pipes are fed and drained on their own threads, so neither side can block the other.
        std::thread::scope(|s| {
            if let (Some(mut pipe), Some(bytes)) = (input, stdin) {
                s.spawn(move || {
                    // A write error means the program stopped reading; its exit status says why.
                    let _ = pipe.write_all(bytes);
                });
            }
            let o = s.spawn(move || {
                let mut v = Vec::new();
                if let Some(p) = out.as_mut() {
                    let _ = p.read_to_end(&mut v);
                }
                v
            });
            let e = s.spawn(move || {
                let mut v = Vec::new();
                if let Some(p) = err.as_mut() {
                    let _ = p.read_to_end(&mut v);
                }
                v
            });
            let status = self.wait(&mut child, timeout)?;
            Ok(Captured {
                status,
                stdout: o.join().unwrap_or_default(),
                stderr: e.join().unwrap_or_default(),
            })
        })
    }
}

/// [`Tool::run_logged`] as a function, for callers that hold a `&Tool`.
pub fn run(
    tool: &Tool,
    args: &[&OsStr],
    log: &Path,
    timeout: Option<Duration>,
) -> Result<(), ToolError> {
    tool.run_logged(args, log, timeout)
}

/// The external programs the format policy may use.
#[derive(Debug, Clone, Default)]
pub struct Tools {
    pub ffmpeg: Option<Tool>,
    pub soffice: Option<Tool>,
    /// Tesseract, for OCR of scanned pages (issue 14).
    pub tesseract: Option<Tool>,
    /// How long one external run may take.
    pub timeout: Option<Duration>,
}

impl Tools {
    /// No external programs at all (every step needing one is recorded as skipped).
    pub fn none() -> Self {
        Tools::default()
    }

    /// Look the programs up on `path` (the value of `PATH`).
    pub fn probe(path: Option<OsString>) -> Self {
        let path = path.unwrap_or_default();
        Tools {
            // "ffmpeg version 5.1.6-0+deb12u1 Copyright …" → "5.1.6-0+deb12u1"
            ffmpeg: Tool::probe("ffmpeg", "ffmpeg", &path, "-version", |l| {
                l.split_whitespace().nth(2).map(str::to_string)
            }),
            // "LibreOffice 7.4.7.2 40(Build:2)" → "7.4.7.2"
            soffice: Tool::probe("LibreOffice", "soffice", &path, "--version", |l| {
                l.split_whitespace().nth(1).map(str::to_string)
            }),
            tesseract: crate::ocr::Tesseract::probe(&path),
            timeout: Some(DEFAULT_TIMEOUT),
        }
    }
}

/// xmllint on PATH: "xmllint: using libxml version 21004" → "21004".
pub fn xmllint() -> Option<Tool> {
    Tool::on_path("xmllint", "xmllint", "--version", |l| {
        l.split_whitespace().last().map(str::to_string)
    })
}

/// clamscan on PATH: "ClamAV 1.0.7/27000/Mon …" → "1.0.7/27000".
pub fn clamscan() -> Option<Tool> {
    Tool::on_path("clamscan", "clamscan", "--version", |l| {
        l.split_whitespace().nth(1).map(|v| {
            let mut parts = v.split('/');
            match (parts.next(), parts.next()) {
                (Some(a), Some(b)) => format!("{a}/{b}"),
                _ => v.to_string(),
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh() -> Tool {
        Tool::on_path("sh", "sh", "-c", |_| None).expect("sh on PATH")
    }

    #[test]
    fn captured_runs_feed_stdin_and_keep_the_exit_status() {
        let t = sh();
        assert_eq!(t.version, "unknown");
        let args: Vec<&OsStr> = vec!["-c".as_ref(), "cat; echo err >&2; exit 3".as_ref()];
        let big = vec![b'x'; 1 << 20];
        let c = t.run_captured(&args, Some(&big), None).expect("run");
        assert_eq!(c.status.code(), Some(3));
        assert_eq!(c.stdout.len(), big.len());
        assert_eq!(c.stderr, b"err\n");
        assert_eq!(t.agent().kind, AgentKind::Software);
    }

    #[test]
    fn a_hanging_program_is_killed_at_the_timeout() {
        let t = sh();
        let args: Vec<&OsStr> = vec!["-c".as_ref(), "exec sleep 30".as_ref()];
        let start = Instant::now();
        let e = t
            .run_captured(&args, None, Some(Duration::from_millis(200)))
            .expect_err("times out");
        assert!(matches!(e, ToolError::TimedOut { .. }), "{e}");
        assert!(start.elapsed() < Duration::from_secs(10));
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log");
        let args: Vec<&OsStr> = vec!["-c".as_ref(), "echo oops; exit 1".as_ref()];
        let e = t.run_logged(&args, &log, None).expect_err("fails");
        assert!(e.to_string().contains("oops"), "{e}");
    }
}
