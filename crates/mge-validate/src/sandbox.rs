//! Running toolchains on generated code: a temporary directory, a cleared environment, a
//! wall-clock timeout that kills the whole process group, CPU / memory / file-size / process
//! rlimits, an unprivileged user and no network where the machine allows it.
//!
//! Isolation is assembled from util-linux tools, so no `unsafe` `pre_exec` hook is needed:
//!
//! ```text
//! unshare --net --pid --fork --kill-child --   # no network, own PID namespace
//!   prlimit --cpu=N:N+1 --data=M --fsize=F --nproc=P --core=0 --   # rlimits
//!   setpriv --reuid=65534 --regid=65534 --clear-groups --   # drop to `nobody`
//!   /bin/sh -c COMMAND
//! ```
//!
//! Each layer is probed once per process ([`Capabilities::probe`]); a layer the machine refuses
//! is left out and the run's [`Isolation`] says so (`network_isolated: false` with the reason).
//!
//! The working directory `work/` sits in a root-owned `0711` directory, so `$HOME/..` is not
//! writable by the sandbox user; files appearing next to `work/` after a run are reported as an
//! escape in any case. Memory is limited through `RLIMIT_DATA` (private writable memory), which
//! V8's large address-space reservations do not count against.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

/// Resource limits of one sandboxed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxLimits {
    /// Wall-clock limit; the whole process group is killed when it passes.
    pub timeout: Duration,
    /// `RLIMIT_CPU` per process (soft; the hard limit is one second more).
    pub cpu_seconds: u64,
    /// `RLIMIT_DATA` per process, in bytes.
    pub memory_bytes: u64,
    /// `RLIMIT_FSIZE`: largest file a process may write, in bytes.
    pub file_size_bytes: u64,
    /// `RLIMIT_NPROC` for the sandbox user (processes and threads).
    pub max_processes: u64,
    /// Bytes kept of each of stdout and stderr (the rest is drained and dropped).
    pub max_output_bytes: usize,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            timeout: Duration::from_secs(120),
            cpu_seconds: 60,
            memory_bytes: 2 << 30,
            file_size_bytes: 64 << 20,
            max_processes: 512,
            max_output_bytes: 1 << 20,
        }
    }
}

/// User id and group id of `nobody` / `nogroup` on Debian-like systems.
const NOBODY: u32 = 65534;

/// Which isolation layers this machine permits, probed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// `unshare` arguments that worked (`["--net", "--pid", "--fork", "--kill-child"]`, or fewer).
    pub unshare_args: Option<Vec<&'static str>>,
    /// Why no network namespace could be made, when it could not.
    pub network_note: Option<String>,
    /// `prlimit` is available.
    pub prlimit: bool,
    /// Running as root with `setpriv` available: commands run as `nobody`.
    pub drop_to_nobody: bool,
}

impl Capabilities {
    /// Probes the machine once per process and caches the answer.
    pub fn get() -> &'static Capabilities {
        static CAPS: OnceLock<Capabilities> = OnceLock::new();
        CAPS.get_or_init(Capabilities::probe)
    }

    /// Tries each layer with `true` as the command.
    pub fn probe() -> Capabilities {
        let attempts: [&[&'static str]; 3] = [
            &["--net", "--pid", "--fork", "--kill-child"],
            &["--net"],
            &["--map-root-user", "--net"],
        ];
        let mut unshare_args = None;
        let mut network_note = None;
        for args in attempts {
            match quiet_status("unshare", args.iter().copied().chain(["--", "true"])) {
                Ok(()) => {
                    unshare_args = Some(args.to_vec());
                    network_note = None;
                    break;
                }
                Err(e) => {
                    if network_note.is_none() {
                        network_note = Some(format!("unshare {}: {e}", args.join(" ")));
                    }
                }
            }
        }
        let prlimit = quiet_status("prlimit", ["--cpu=5", "--", "true"]).is_ok();
        let root = nix::unistd::geteuid().is_root();
        let in_user_ns = unshare_args
            .as_ref()
            .is_some_and(|a| a.contains(&"--map-root-user"));
        let drop_to_nobody = root
            && !in_user_ns
            && quiet_status(
                "setpriv",
                [
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    "--",
                    "true",
                ],
            )
            .is_ok();
        Capabilities {
            unshare_args,
            network_note,
            prlimit,
            drop_to_nobody,
        }
    }
}

fn quiet_status<'a>(program: &str, args: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "{} ({})",
            err.trim().lines().last().unwrap_or("failed"),
            out.status
        ))
    }
}

/// How a run was isolated; stored with the validation result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Isolation {
    pub network_isolated: bool,
    /// Why the network is not isolated, when it is not.
    pub network_note: Option<String>,
    /// Processes ran in their own PID namespace (all of them die with the run).
    pub pid_namespace: bool,
    /// The run had rlimits.
    pub rlimits: bool,
    /// The user the command ran as, when privileges were dropped.
    pub user: Option<String>,
}

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

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("sandbox: {what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("sandbox: cannot start '{command}': {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("sandbox: path '{0}' leaves the working directory")]
    PathEscapes(String),
}

fn io_err<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> SandboxError + 'a {
    move |source| SandboxError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// A temporary working directory and the limits of the runs made in it. Removed on drop.
#[derive(Debug)]
pub struct Sandbox {
    outer: tempfile::TempDir,
    work: PathBuf,
    limits: SandboxLimits,
}

/// Directory names never copied into a sandbox.
const SKIPPED_DIRS: [&str; 5] = ["node_modules", ".git", "dist", "__pycache__", "target"];

impl Sandbox {
    pub fn new(limits: SandboxLimits) -> Result<Sandbox, SandboxError> {
        let outer = tempfile::Builder::new()
            .prefix("mge-sandbox-")
            .tempdir()
            .map_err(io_err(
                "cannot create a temporary directory in",
                &std::env::temp_dir(),
            ))?;
        set_mode(outer.path(), 0o711)?;
        let work = outer.path().join("work");
        fs::create_dir(&work).map_err(io_err("cannot create", &work))?;
        Ok(Sandbox {
            outer,
            work,
            limits,
        })
    }

    /// A sandbox holding a copy of the project at `src`.
    pub fn with_copy_of(src: &Path, limits: SandboxLimits) -> Result<Sandbox, SandboxError> {
        let sb = Sandbox::new(limits)?;
        sb.copy_from(src)?;
        Ok(sb)
    }

    /// The working directory (also `$HOME` of the runs).
    pub fn dir(&self) -> &Path {
        &self.work
    }

    pub fn limits(&self) -> &SandboxLimits {
        &self.limits
    }

    /// Copies the tree at `src` into the working directory (skipping `node_modules`, `.git`,
    /// `dist`, `__pycache__`, `target` and symlinks).
    pub fn copy_from(&self, src: &Path) -> Result<(), SandboxError> {
        copy_tree(src, &self.work)
    }

    /// Writes one file under the working directory, creating its parents.
    pub fn write_file(&self, rel: &str, contents: &str) -> Result<(), SandboxError> {
        let rel_path = Path::new(rel);
        if rel_path.is_absolute()
            || rel_path
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(SandboxError::PathEscapes(rel.to_string()));
        }
        let path = self.work.join(rel_path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_err("cannot create", parent))?;
        }
        fs::write(&path, contents).map_err(io_err("cannot write", &path))
    }

    /// Runs `command` with `/bin/sh -c` in the working directory.
    pub fn run_shell(&self, command: &str) -> Result<RunOutcome, SandboxError> {
        self.run("/bin/sh", &["-c", command])
    }

    /// Runs `program` with `args` in the working directory under every isolation layer the
    /// machine permits. Never hangs past the timeout (plus the time to reap the processes).
    pub fn run(&self, program: &str, args: &[&str]) -> Result<RunOutcome, SandboxError> {
        let caps = Capabilities::get();
        let limits = self.limits;
        let mut argv: Vec<String> = Vec::new();
        let mut isolation = Isolation {
            network_isolated: false,
            network_note: caps.network_note.clone(),
            pid_namespace: false,
            rlimits: caps.prlimit,
            user: None,
        };
        if let Some(u) = &caps.unshare_args {
            argv.push("unshare".into());
            argv.extend(u.iter().map(|s| s.to_string()));
            argv.push("--".into());
            isolation.network_isolated = true;
            isolation.network_note = None;
            isolation.pid_namespace = u.contains(&"--pid");
        }
        if caps.prlimit {
            argv.push("prlimit".into());
            argv.push(format!(
                "--cpu={}:{}",
                limits.cpu_seconds,
                limits.cpu_seconds + 1
            ));
            argv.push(format!("--data={}", limits.memory_bytes));
            argv.push(format!("--fsize={}", limits.file_size_bytes));
            argv.push(format!("--nproc={}", limits.max_processes));
            argv.push("--core=0".into());
            argv.push("--".into());
        }
        if caps.drop_to_nobody {
            chown_tree(&self.work, NOBODY)?;
            argv.extend(
                [
                    "setpriv",
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    "--",
                ]
                .map(String::from),
            );
            isolation.user = Some("nobody".into());
        }
        argv.push(program.to_string());
        argv.extend(args.iter().map(|s| s.to_string()));

        let path = sandbox_path(caps.drop_to_nobody);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(&self.work)
            .env_clear()
            .env("PATH", path)
            .env("HOME", &self.work)
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|source| SandboxError::Spawn {
            command: argv.join(" "),
            source,
        })?;
        let pgid = Pid::from_raw(child.id() as i32);
        let (tx, rx) = mpsc::channel();
        let cap = limits.max_output_bytes;
        if let Some(out) = child.stdout.take() {
            spawn_reader(out, cap, 0, tx.clone());
        }
        if let Some(err) = child.stderr.take() {
            spawn_reader(err, cap, 1, tx.clone());
        }
        drop(tx);
        let deadline = started + limits.timeout;
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) => {}
                Err(_) => break None,
            }
            if Instant::now() >= deadline {
                timed_out = true;
                let _ = killpg(pgid, Signal::SIGKILL);
                break child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // Leftover background processes of the group (without a PID namespace) die too.
        let _ = killpg(pgid, Signal::SIGKILL);
        let duration = started.elapsed();
        let mut streams = [Vec::new(), Vec::new()];
        let reap_deadline = Instant::now() + Duration::from_secs(2);
        for _ in 0..2 {
            let left = reap_deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((i, bytes)) => streams[i] = bytes,
                Err(_) => break,
            }
        }
        let [stdout, stderr] = streams.map(|b| String::from_utf8_lossy(&b).into_owned());
        let ending = if timed_out {
            Ending::TimedOut
        } else {
            match status {
                Some(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
                    (Some(c), _) => Ending::Exited(c),
                    (None, Some(sig)) => Ending::Signaled(sig),
                    (None, None) => Ending::Exited(-1),
                },
                None => Ending::Exited(-1),
            }
        };
        let escaped = self.escaped_entries();
        let (limit, reason) = classify(ending, &stderr, &escaped, &limits);
        Ok(RunOutcome {
            ending,
            stdout,
            stderr,
            duration,
            limit,
            reason,
            isolation,
        })
    }

    /// Entries that appeared next to `work/` (outside the working directory).
    fn escaped_entries(&self) -> Vec<String> {
        let Ok(rd) = fs::read_dir(self.outer.path()) else {
            return Vec::new();
        };
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "work")
            .collect();
        names.sort();
        names
    }
}

/// `PATH` for the sandbox: the caller's, without the directories the sandbox user cannot
/// reach (e.g. under `/root` when running as `nobody`).
fn sandbox_path(dropped: bool) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    if !dropped {
        return path;
    }
    let reachable = |dir: &str| {
        let p = Path::new(dir);
        p.is_absolute()
            && p.ancestors().all(|a| {
                fs::metadata(a).is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o001 != 0)
            })
    };
    let kept: Vec<&str> = path.split(':').filter(|d| reachable(d)).collect();
    kept.join(":")
}

fn spawn_reader(
    mut stream: impl Read + Send + 'static,
    cap: usize,
    index: usize,
    tx: mpsc::Sender<(usize, Vec<u8>)>,
) {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = cap.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        let _ = tx.send((index, kept));
    });
}

/// Names the limit a run hit and says why it failed.
fn classify(
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

fn set_mode(path: &Path, mode: u32) -> Result<(), SandboxError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(io_err("cannot set the mode of", path))
}

fn chown_tree(dir: &Path, uid: u32) -> Result<(), SandboxError> {
    std::os::unix::fs::chown(dir, Some(uid), Some(uid)).map_err(io_err("cannot chown", dir))?;
    let rd = fs::read_dir(dir).map_err(io_err("cannot list", dir))?;
    for entry in rd {
        let entry = entry.map_err(io_err("cannot list", dir))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(io_err("cannot stat", &path))?;
        if ft.is_symlink() {
            continue;
        }
        if ft.is_dir() {
            chown_tree(&path, uid)?;
        } else {
            std::os::unix::fs::chown(&path, Some(uid), Some(uid))
                .map_err(io_err("cannot chown", &path))?;
        }
    }
    Ok(())
}

/// Copies a directory tree (regular files and directories only).
pub fn copy_tree(src: &Path, dst: &Path) -> Result<(), SandboxError> {
    fs::create_dir_all(dst).map_err(io_err("cannot create", dst))?;
    let rd = fs::read_dir(src).map_err(io_err("cannot list", src))?;
    for entry in rd {
        let entry = entry.map_err(io_err("cannot list", src))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(io_err("cannot stat", &path))?;
        let name = entry.file_name();
        let target = dst.join(&name);
        if ft.is_dir() {
            if SKIPPED_DIRS.iter().any(|s| name == *s) {
                continue;
            }
            copy_tree(&path, &target)?;
        } else if ft.is_file() {
            fs::copy(&path, &target).map_err(io_err("cannot copy", &path))?;
        }
    }
    Ok(())
}
