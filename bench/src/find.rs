//! Find in project: the real `remote4d project find` (its word index kept as derived data, as
//! the app keeps it in a system folder's `DerivedDataRemote/`) next to `grep -rniF` on the
//! same 20,000-file project, in the same run: the first search (the index built), later ones,
//! one after a file changed; the same lines found by both.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};

use crate::serve::remote4d_exe;
use crate::synth;
use crate::timing::{median, secs};

/// One search with the real binary: its time, the lines found, the files it read.
fn ours(exe: &Path, root: &Path, query: &str) -> anyhow::Result<(Duration, usize, u64)> {
    let start = Instant::now();
    let out = Command::new(exe)
        .args(["project", "find"])
        .arg(root)
        .args([query, "--json", "--limit", "100000000"])
        .output()?;
    let took = start.elapsed();
    // Exit 1: nothing found.
    ensure!(
        out.status.success() || out.status.code() == Some(1),
        "remote4d project find failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("its JSON")?;
    let hits = v["hits"].as_array().map_or(0, Vec::len);
    Ok((took, hits, v["files_read"].as_u64().unwrap_or(0)))
}

/// The same search with grep, over the same kinds of files: its time and the lines found.
fn grep(root: &Path, query: &str) -> anyhow::Result<(Duration, usize)> {
    let start = Instant::now();
    let out = Command::new("grep")
        .args(["-rniF", "--no-messages"])
        .args(
            ["4dm", "4DForm", "4DCatalog", "json", "4DSettings", "xlf"]
                .map(|x| format!("--include=*.{x}")),
        )
        .args(["--", query])
        .arg(root.join("Project/Sources"))
        .output()?;
    let took = start.elapsed();
    Ok((
        took,
        out.stdout
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count(),
    ))
}

/// The median times of `runs` searches for `query` by remote4d and by grep, and the lines
/// found (the same for both, or an error). `unchanged`: the index must be used as it is.
fn side_by_side(
    exe: &Path,
    root: &Path,
    query: &str,
    runs: usize,
    unchanged: bool,
) -> anyhow::Result<(Duration, Duration, usize)> {
    let (mut found_ours, mut found_grep) = (0, 0);
    let t_ours = median(
        runs,
        || {},
        || {
            let (t, n, read) = ours(exe, root, query).unwrap_or_default();
            assert!(!unchanged || read == 0, "nothing changed: nothing read");
            found_ours = n;
            t
        },
    );
    let t_grep = median(
        runs,
        || {},
        || {
            let (t, n) = grep(root, query).unwrap_or_default();
            found_grep = n;
            t
        },
    );
    ensure!(
        found_ours == found_grep,
        "{query}: remote4d found {found_ours} lines, grep {found_grep}"
    );
    Ok((t_ours, t_grep, found_ours))
}

pub fn run(smoke: bool) -> anyhow::Result<()> {
    let exe = remote4d_exe()?;
    let (scale, runs) = if smoke { (0.01, 1) } else { (1.0, 5) };
    let work = tempfile::Builder::new()
        .prefix("remote4d-bench-find-")
        .tempdir()?;
    let root = work.path().join("P");
    let s = synth::generate(&root, scale)?;
    // A client's system folder: the index is kept in its DerivedDataRemote/.
    // A client's system folder (a remote copy of build 1): the index is kept in its
    // DerivedDataRemote/, keyed by the build's stamp.
    let stamp = |n: u8| format!("{{\"stamp\":\"{}\"}}", format!("{n:02x}").repeat(32));
    std::fs::write(root.join("state.json"), stamp(1))?;
    println!(
        "{} files ({:.0} MB), page cache warm, median of {runs}:",
        s.files,
        s.bytes as f64 / 1e6
    );
    // What the project window reads before it shows anything: the project's model (tables,
    // sources by kind), next to merely listing the files.
    let show = median(
        runs,
        || {},
        || {
            Command::new(&exe)
                .args(["project", "show", "--json"])
                .arg(&root)
                .output()
                .map(|o| o.status.success())
        },
    );
    let listing = median(
        runs,
        || {},
        || {
            Command::new("find")
                .arg(root.join("Project/Sources"))
                .args(["-type", "f"])
                .output()
                .map(|o| o.stdout.len())
        },
    );
    println!(
        "read the project (window's model)  remote4d project show {:>9}   find -type f {:>9}   ratio {:.2}x",
        secs(show),
        secs(listing),
        listing.as_secs_f64() / show.as_secs_f64().max(1e-9)
    );
    let (cold, _, read) = ours(&exe, &root, "4242")?;
    println!(
        "first search (index built, {read} files read)   remote4d {}",
        secs(cold)
    );
    for query in ["4242", "ds.Invoices.query(\"ID", "zebra"] {
        // Nothing changed: nothing may be read to refresh the index.
        let (t_ours, t_grep, found) = side_by_side(&exe, &root, query, runs, true)?;
        println!(
            "find {:<24} remote4d {:>9}   grep -rniF {:>9}   ratio {:.2}x   ({found} lines)",
            format!("{query:?}"),
            secs(t_ours),
            secs(t_grep),
            t_grep.as_secs_f64() / t_ours.as_secs_f64().max(1e-9)
        );
    }
    // Build 2 arrives with one file changed.
    std::fs::write(
        root.join("Project/Sources/Methods/method_00000.4dm"),
        "// changed: 4242\n",
    )?;
    std::fs::write(root.join("state.json"), stamp(2))?;
    let (after, found, read) = ours(&exe, &root, "4242")?;
    let (_, by_grep) = grep(&root, "4242")?;
    ensure!(
        found == by_grep,
        "after a change: {found} lines, grep {by_grep}"
    );
    println!(
        "after one file changed ({read} file read)      remote4d {}",
        secs(after)
    );
    // Development mode: a project folder that may change at any time; every file's size and
    // time is checked before each search.
    std::fs::write(root.join("state.json"), "{}")?;
    let _ = ours(&exe, &root, "zebra")?;
    let (t_ours, t_grep, found_ours) = side_by_side(&exe, &root, "4242", runs, false)?;
    println!(
        "development mode (files checked)  remote4d {:>9}   grep -rniF {:>9}   ratio {:.2}x   ({found_ours} lines)",
        secs(t_ours),
        secs(t_grep),
        t_grep.as_secs_f64() / t_ours.as_secs_f64().max(1e-9)
    );
    Ok(())
}
