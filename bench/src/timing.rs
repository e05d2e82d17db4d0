//! Timing helpers.
//!
//! No benchmark removes a tree it unpacked before the end of its run: each run writes into a
//! new folder. On an ext4 without a journal (as on the machine these figures were first taken
//! on), the kernel does not reuse an inode for 60 to 300 s after it is freed and scans past each
//! such inode on every file it creates: after 20,000 files were removed, the next 20,000 files
//! take several times longer to create, whichever tool creates them. Removing between runs made
//! every run slower than the one before and charged the first tool after a removal for it.
//! For the same reason, leave a few minutes between two benchmark runs on such a disk (each
//! removes its work folder when it ends).

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;

/// Runs `f` `runs` times (after `setup` each time, untimed) and returns the median duration.
pub fn median<T>(runs: usize, mut setup: impl FnMut(), mut f: impl FnMut() -> T) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            setup();
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// Runs each of `tasks` `runs` times, interleaved — run `i` starts with task `i % n` and goes
/// round — so that no task always follows the same other, and returns each task's median.
/// Each task gets the run's number (to write into a folder of its own); `setup` runs, untimed,
/// before each.
pub fn rotating<const N: usize>(
    runs: usize,
    setup: &mut dyn FnMut() -> anyhow::Result<()>,
    tasks: &mut [&mut dyn FnMut(usize) -> anyhow::Result<()>; N],
) -> anyhow::Result<[Duration; N]> {
    let mut times: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::new());
    for i in 0..runs.max(1) {
        for k in 0..N {
            let t = (i + k) % N;
            setup()?;
            let start = Instant::now();
            (tasks[t])(i)?;
            times[t].push(start.elapsed());
        }
    }
    Ok(times.map(|mut v| {
        v.sort();
        v[v.len() / 2]
    }))
}

/// Seconds with two decimals.
pub fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// Megabytes with one decimal.
pub fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Waits until the writes of the previous runs are on disk (`sync`), so that no run pays for the
/// write-back of another: a user's delta comes long after the cold connect's files were written.
pub fn settle() -> anyhow::Result<()> {
    let status = Command::new("sync").status().context("cannot run sync")?;
    anyhow::ensure!(status.success(), "sync failed");
    Ok(())
}
