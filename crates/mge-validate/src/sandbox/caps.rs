//! Which isolation layers the machine permits, and how a run was isolated.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// Which isolation layers this machine permits, probed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// `unshare` arguments that worked (`["--net", "--pid", "--fork", "--kill-child"]`, or fewer).
    pub unshare_args: Option<Vec<&'static str>>,
    /// Why no network namespace could be made, when it could not.
    pub network_note: Option<String>,
    /// `prlimit` is available.
    pub prlimit: bool,
    /// Running as root with `setpriv` available: commands run under an unprivileged user id
    /// of their own.
    pub drop_privileges: bool,
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
        let drop_privileges = root
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
            drop_privileges,
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
