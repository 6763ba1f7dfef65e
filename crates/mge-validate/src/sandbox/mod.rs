//! Running toolchains on generated code: a temporary directory, a cleared environment, a
//! wall-clock timeout that kills the whole process group, CPU / memory / file-size / process
//! rlimits, an unprivileged user and no network where the machine allows it.
//!
//! Isolation is assembled from util-linux tools, so no `unsafe` `pre_exec` hook is needed:
//!
//! ```text
//! unshare --net --pid --fork --kill-child --   # no network, own PID namespace
//!   prlimit --cpu=N:N+1 --data=M --fsize=F --nproc=P --core=0 --   # rlimits
//!   setpriv --reuid=U --regid=U --clear-groups --   # drop to a user of its own
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
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

mod caps;
mod outcome;

pub use caps::{Capabilities, Isolation};
use outcome::classify;
pub use outcome::{Ending, LimitHit, RunOutcome};

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

/// First user id handed to sandboxes. Each sandbox runs under a user id of its own (no account
/// needed), so one sandbox's processes never count against another's `RLIMIT_NPROC` and no
/// sandbox can touch another's files.
const FIRST_UID: u32 = 200_000;

/// A user id for a new sandbox: distinct within this process, and spread by process id across
/// processes.
fn next_uid() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 1000;
    FIRST_UID + (std::process::id() % 10_000) * 1000 + n
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
    /// User id the runs use when privileges are dropped.
    uid: u32,
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
            uid: next_uid(),
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
            // A shell between `unshare` and the command turns a fatal signal of the command into
            // the exit status 128 + N: `unshare` itself cannot always re-raise a child's signal
            // ("sigprocmask unblock failed"), which would hide which limit was hit.
            argv.extend(["sh", "-c", "\"$@\"; exit $?", "mge-sandbox"].map(String::from));
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
        if caps.drop_privileges {
            chown_tree(&self.work, self.uid)?;
            argv.extend([
                "setpriv".to_string(),
                format!("--reuid={}", self.uid),
                format!("--regid={}", self.uid),
                "--clear-groups".to_string(),
                "--".to_string(),
            ]);
            isolation.user = Some(format!("uid {}", self.uid));
        }
        argv.push(program.to_string());
        argv.extend(args.iter().map(|s| s.to_string()));

        let path = sandbox_path(caps.drop_privileges);
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
/// reach (e.g. under `/root` when running as an unprivileged user).
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
