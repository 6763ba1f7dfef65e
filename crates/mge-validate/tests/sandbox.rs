//! Hostile snippets end within their timeout with the reason recorded; the environment is
//! cleared; the network is cut when the machine allows it.

use std::path::Path;
use std::time::Duration;

use mge_validate::{Capabilities, Ending, LimitHit, Sandbox, SandboxLimits};

fn limits(timeout_secs: u64) -> SandboxLimits {
    SandboxLimits {
        timeout: Duration::from_secs(timeout_secs),
        cpu_seconds: 1,
        memory_bytes: 256 << 20,
        file_size_bytes: 1 << 20,
        max_processes: 64,
        max_output_bytes: 64 << 10,
    }
}

/// Slack for reaping the processes after the timeout.
const SLACK: Duration = Duration::from_secs(3);

#[test]
fn a_plain_command_runs_in_the_directory_with_a_cleared_environment() {
    let sb = Sandbox::new(limits(5)).unwrap();
    sb.write_file("data/in.txt", "hello\n").unwrap();
    let out = sb.run_shell("cat data/in.txt; env | sort").unwrap();
    assert!(out.success(), "{out:?}");
    assert!(out.stdout.starts_with("hello\n"));
    let vars: Vec<&str> = out
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .collect();
    for v in &vars {
        assert!(
            ["HOME", "LANG", "PATH", "PWD", "SHLVL", "_"].contains(v),
            "unexpected variable {v}"
        );
    }
    let home = format!("HOME={}", sb.dir().display());
    assert!(out.stdout.lines().any(|l| l == home), "{}", out.stdout);
    assert!(sb.write_file("../x", "no").is_err());
}

#[test]
fn an_infinite_loop_is_stopped_by_the_cpu_limit() {
    let sb = Sandbox::new(limits(3)).unwrap();
    let out = sb.run("python3", &["-c", "while True: pass"]).unwrap();
    assert!(out.duration < limits(3).timeout + SLACK);
    assert!(!out.success());
    assert!(
        matches!(out.limit, Some(LimitHit::CpuTime | LimitHit::WallClock)),
        "{out:?}"
    );
    assert!(out.reason.is_some());
}

#[test]
fn a_sleeping_command_is_killed_at_the_wall_clock_limit() {
    let sb = Sandbox::new(limits(1)).unwrap();
    let out = sb.run_shell("sleep 30 & sleep 30").unwrap();
    assert_eq!(out.ending, Ending::TimedOut);
    assert_eq!(out.limit, Some(LimitHit::WallClock));
    assert!(out.duration < Duration::from_secs(1) + SLACK);
    assert!(out.reason.as_deref().unwrap().contains("wall-clock"));
}

#[test]
fn a_fork_bomb_ends_within_its_timeout() {
    let sb = Sandbox::new(limits(2)).unwrap();
    let bomb =
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n";
    let out = sb.run("python3", &["-c", bomb]).unwrap();
    assert!(
        out.duration < limits(2).timeout + SLACK,
        "{:?}",
        out.duration
    );
    assert!(!out.success());
    assert!(out.limit.is_some(), "{out:?}");
    assert!(out.reason.is_some());
}

#[test]
fn a_memory_hog_hits_the_memory_limit() {
    let sb = Sandbox::new(limits(3)).unwrap();
    let out = sb
        .run("python3", &["-c", "x = bytearray(2 << 30)\nprint(len(x))"])
        .unwrap();
    if Capabilities::get().prlimit {
        assert_eq!(out.limit, Some(LimitHit::Memory), "{out:?}");
        assert!(out.reason.as_deref().unwrap().contains("memory limit"));
    } else {
        assert!(!out.isolation.rlimits);
    }
}

#[test]
fn a_huge_file_hits_the_file_size_limit() {
    let sb = Sandbox::new(limits(3)).unwrap();
    let out = sb.run_shell("head -c 5000000 /dev/zero > big.bin").unwrap();
    if Capabilities::get().prlimit {
        assert_eq!(out.limit, Some(LimitHit::FileSize), "{out:?}");
        let size = std::fs::metadata(sb.dir().join("big.bin")).unwrap().len();
        assert!(size <= 1 << 20);
    }
}

#[test]
fn writes_outside_the_directory_fail_or_are_reported() {
    let sb = Sandbox::new(limits(3)).unwrap();
    let target = Path::new("/etc/mge-sandbox-escape-test");
    let out = sb
        .run_shell("echo x > ../escaped.txt; echo y > /tmp/../etc/mge-sandbox-escape-test; echo z > \"$HOME/../home-escape.txt\"; true")
        .unwrap();
    if out.isolation.user.is_some() {
        assert!(!target.exists());
        assert!(!sb.dir().join("../escaped.txt").exists());
        assert!(out.stderr.contains("Permission denied"), "{}", out.stderr);
        assert!(out.success(), "{out:?}");
    } else {
        let _ = std::fs::remove_file(target);
        assert_eq!(out.limit, Some(LimitHit::Escape), "{out:?}");
        assert!(out.reason.as_deref().unwrap().contains("escaped.txt"));
    }
}

#[test]
fn the_network_is_cut_or_the_reason_is_recorded() {
    let sb = Sandbox::new(limits(5)).unwrap();
    let out = sb
        .run(
            "python3",
            &[
                "-c",
                "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n    print('connected')\nexcept OSError as e:\n    print('refused', e)",
            ],
        )
        .unwrap();
    if out.isolation.network_isolated {
        assert!(out.stdout.starts_with("refused"), "{out:?}");
        assert!(out.isolation.network_note.is_none());
    } else {
        assert!(out.isolation.network_note.is_some());
    }
}
