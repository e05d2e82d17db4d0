//! The benchmarks' seconds-long smoke runs, so that they keep working: the real benchmark
//! binary, on 1/100 of the data (its figures mean nothing in a debug build). Run by the
//! README's test command; a reference tool that is missing makes the run say it is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

const BENCH: &str = env!("CARGO_BIN_EXE_remote4d-bench");

fn has(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("the benchmark runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "the benchmark failed:\n{text}");
    text
}

#[test]
fn the_archive_benchmark_runs_against_zip_and_unzip() {
    if !has("zip") || !has("unzip") {
        println!("skipped: zip and unzip (the reference tools) are not installed");
        return;
    }
    let text = run(Command::new(BENCH).args(["archive", "--smoke"]));
    for row in [
        "build    remote4d",
        "unpack   remote4d",
        "size     remote4d",
    ] {
        assert!(text.contains(row), "no `{row}` row");
    }
    assert!(text.contains("same stamp"), "the incremental build differs");
}

/// The `remote4d` built beside the benchmark (the workspace's test build builds both).
fn remote4d() -> Option<PathBuf> {
    let exe = Path::new(BENCH).with_file_name(format!("remote4d{}", std::env::consts::EXE_SUFFIX));
    exe.is_file().then_some(exe)
}

#[test]
fn the_memory_benchmark_runs_the_real_server_in_a_private_network() {
    let Some(remote4d) = remote4d() else {
        println!(
            "skipped: remote4d is not built beside the benchmark (cargo test --workspace builds it)"
        );
        return;
    };
    if !Path::new("/usr/bin/time").is_file() || !has("unshare") || !has("zip") {
        println!("skipped: GNU time, zip or unshare is not installed");
        return;
    }
    let Some(text) = in_private_network(&remote4d, "memory") else {
        return;
    };
    assert!(text.contains("peak"), "no peak memory row:\n{text}");
    assert!(
        text.contains("until it answers"),
        "no first-build row:\n{text}"
    );
}

#[test]
fn the_mirrors_benchmark_runs_real_clients_through_nginx_caches() {
    let Some(remote4d) = remote4d() else {
        println!(
            "skipped: remote4d is not built beside the benchmark (cargo test --workspace builds it)"
        );
        return;
    };
    if !has("nginx") || !has("unshare") {
        println!("skipped: nginx or unshare is not installed");
        return;
    }
    let Some(text) = in_private_network(&remote4d, "mirrors") else {
        return;
    };
    assert!(text.contains("straight from server"), "{text}");
    assert!(text.contains("through 2 nginx caches"), "{text}");
}

/// Runs `remote4d-bench BENCHMARK --smoke` inside a private network namespace (loopback only);
/// `None` (said) when this user cannot make one.
fn in_private_network(remote4d: &Path, benchmark: &str) -> Option<String> {
    let mut cmd = Command::new("unshare");
    cmd.arg("--net");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    if !root {
        cmd.arg("--map-root-user");
    }
    cmd.args([
        "sh",
        "-c",
        "ip link set lo up && exec \"$0\" \"$1\" --smoke",
    ])
    .arg(BENCH)
    .arg(benchmark)
    .env("REMOTE4D_BIN", remote4d);
    let out = cmd.output().expect("unshare runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    if !out.status.success() && !root && text.contains("unshare:") {
        println!("skipped: this user cannot make a network namespace");
        return None;
    }
    assert!(
        out.status.success(),
        "the {benchmark} benchmark failed:\n{text}"
    );
    Some(text)
}

#[test]
fn the_find_benchmark_runs_the_real_binary_against_grep() {
    let Some(remote4d) = remote4d() else {
        println!(
            "skipped: remote4d is not built beside the benchmark (cargo test --workspace builds it)"
        );
        return;
    };
    if !has("grep") {
        println!("skipped: grep is not installed");
        return;
    }
    let text = run(Command::new(BENCH)
        .args(["find", "--smoke"])
        .env("REMOTE4D_BIN", remote4d));
    assert!(text.contains("first search (index built"), "{text}");
    assert!(text.contains("grep -rniF"), "{text}");
    assert!(
        text.contains("after one file changed (1 file read)"),
        "{text}"
    );
}
