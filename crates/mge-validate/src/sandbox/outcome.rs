//! How a sandboxed run ended and which limit, if any, ended it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Isolation, SandboxLimits};

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
pub enum Ending {
    Exited(i32),
    Signaled(i32),
    /// Killed when the wall-clock limit passed.
    TimedOut,
}

/// A limit the run hit (or the sandbox rule it broke).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitHit {
    WallClock,
    CpuTime,
    Memory,
    FileSize,
    Processes,
    /// Files appeared outside the working directory.
    Escape,
}

impl LimitHit {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitHit::WallClock => "wall_clock",
            LimitHit::CpuTime => "cpu_time",
            LimitHit::Memory => "memory",
            LimitHit::FileSize => "file_size",
            LimitHit::Processes => "processes",
            LimitHit::Escape => "escape",
        }
    }
}

/// Everything known about one sandboxed run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    pub ending: Ending,
    pub stdout: String,
    pub stderr: String,
    pub duration: Duration,
    /// The limit that ended (or spoiled) the run, if one did.
    pub limit: Option<LimitHit>,
    /// A sentence saying why the run failed, when it did not exit 0.
    pub reason: Option<String>,
    pub isolation: Isolation,
}

impl RunOutcome {
    /// Exited with status 0, no limit hit.
    pub fn success(&self) -> bool {
        self.ending == Ending::Exited(0) && self.limit.is_none()
    }

    /// stdout followed by stderr.
    pub fn combined_output(&self) -> String {
        let mut s = self.stdout.clone();
        if !s.is_empty() && !s.ends_with('\n') {
            s.push('\n');
        }
        s.push_str(&self.stderr);
        s
    }
}

/// Names the limit a run hit and says why it failed.
pub(super) fn classify(
    ending: Ending,
    stderr: &str,
    escaped: &[String],
    limits: &SandboxLimits,
) -> (Option<LimitHit>, Option<String>) {
    const SIGKILL: i32 = 9;
    const SIGXCPU: i32 = 24;
    const SIGXFSZ: i32 = 25;
    if !escaped.is_empty() {
        return (
            Some(LimitHit::Escape),
            Some(format!(
                "wrote outside the working directory: {}",
                escaped.join(", ")
            )),
        );
    }
    let stderr_says = |needles: &[&str]| needles.iter().any(|n| stderr.contains(n));
    let memory = || {
        stderr_says(&[
            "MemoryError",
            "heap out of memory",
            "Cannot allocate memory",
            "std::bad_alloc",
            "Failed to reserve virtual memory",
        ])
    };
    let processes = || {
        stderr_says(&[
            "BlockingIOError",
            "Cannot fork",
            "fork: retry",
            "fork: Resource temporarily unavailable",
            "EAGAIN",
        ])
    };
    let file_size = || stderr_says(&["File too large", "EFBIG"]);
    // A shell reports a child killed by signal N as status 128 + N.
    let ending = match ending {
        Ending::Exited(c) if (129..160).contains(&c) => Ending::Signaled(c - 128),
        other => other,
    };
    match ending {
        Ending::TimedOut => (
            Some(LimitHit::WallClock),
            Some(format!(
                "killed after the wall-clock limit of {:.1}s",
                limits.timeout.as_secs_f64()
            )),
        ),
        Ending::Exited(0) => (None, None),
        Ending::Signaled(SIGXCPU) => (
            Some(LimitHit::CpuTime),
            Some(format!(
                "CPU time limit of {}s exceeded (SIGXCPU)",
                limits.cpu_seconds
            )),
        ),
        Ending::Signaled(SIGXFSZ) => (
            Some(LimitHit::FileSize),
            Some(format!(
                "file size limit of {} bytes exceeded (SIGXFSZ)",
                limits.file_size_bytes
            )),
        ),
        Ending::Signaled(SIGKILL) if memory() => (
            Some(LimitHit::Memory),
            Some(format!(
                "memory limit of {} bytes exceeded",
                limits.memory_bytes
            )),
        ),
        other => {
            let status = match other {
                Ending::Exited(c) => format!("exited with status {c}"),
                Ending::Signaled(s) => format!("killed by signal {s}"),
                Ending::TimedOut => "timed out".to_string(),
            };
            if memory() {
                (
                    Some(LimitHit::Memory),
                    Some(format!(
                        "{status}: memory limit of {} bytes exceeded",
                        limits.memory_bytes
                    )),
                )
            } else if processes() {
                (
                    Some(LimitHit::Processes),
                    Some(format!(
                        "{status}: process limit of {} reached",
                        limits.max_processes
                    )),
                )
            } else if file_size() {
                (
                    Some(LimitHit::FileSize),
                    Some(format!(
                        "{status}: file size limit of {} bytes exceeded",
                        limits.file_size_bytes
                    )),
                )
            } else {
                (None, Some(status))
            }
        }
    }
}
