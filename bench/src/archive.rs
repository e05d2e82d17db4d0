//! Archive benchmark: build and unpack with Remote4D vs `zip -qr` / `unzip -q`, same tree.

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use remote4d_core::archive::{self, BuildOptions, Limits, Previous};

use crate::synth;
use crate::timing::{mb, median, rotating, secs, settle};

fn run_tool(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?} (apt-get install zip unzip)"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

fn ratio(reference: Duration, ours: Duration) -> f64 {
    reference.as_secs_f64() / ours.as_secs_f64().max(1e-9)
}

// Long: one benchmark, read top to bottom — each operation timed against its reference tool on
// the same generated project, printed as one table.
pub fn run(smoke: bool) -> anyhow::Result<()> {
    let scale = if smoke { 0.01 } else { 1.0 };
    let runs = if smoke { 1 } else { 3 };
    let work = tempfile::Builder::new()
        .prefix("remote4d-bench-")
        .tempdir()?;
    let root = work.path().join("Synthetic");
    let t = Instant::now();
    let s = synth::generate(&root, scale)?;
    println!(
        "project: {} files, {} (methods, classes, forms, images); generated in {}; {} cores",
        s.files,
        mb(s.bytes),
        secs(t.elapsed()),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    // Files written in the last 2 s are not trusted by incremental builds; let them age.
    std::thread::sleep(Duration::from_millis(2100));

    let ours = work.path().join("ours.4dz");
    let theirs = work.path().join("theirs.zip");
    let options = BuildOptions::default();
    // Warm the page cache for both.
    archive::build(&root, &ours, &options)?;
    run_tool(
        Command::new("zip")
            .arg("-qr")
            .arg(&theirs)
            .arg("Project")
            .current_dir(&root),
    )?;

    let build_ours = median(
        runs,
        || {},
        || archive::build(&root, &ours, &options).map(|_| ()),
    );
    let build_zip = median(
        runs,
        || {
            let _ = fs::remove_file(&theirs);
        },
        || {
            run_tool(
                Command::new("zip")
                    .arg("-qr")
                    .arg(&theirs)
                    .arg("Project")
                    .current_dir(&root),
            )
        },
    );
    let report = archive::build(&root, &ours, &options)?;
    let size_ours = report.archive_size;
    let size_zip = fs::metadata(&theirs)?.len();

    // Each run unpacks into a new folder, the two tools in alternating order (see `timing`),
    // after the writes of the one before are on disk (else whichever runs next pays for them).
    let out_ours = |i: usize| work.path().join(format!("unpack-ours-{i}"));
    let out_zip = |i: usize| work.path().join(format!("unpack-zip-{i}"));
    let [unpack_ours, unpack_zip] = rotating(
        runs,
        &mut settle,
        &mut [
            &mut |i| {
                archive::unpack(&ours, &out_ours(i), &Limits::default())?;
                Ok(())
            },
            &mut |i| {
                run_tool(
                    Command::new("unzip")
                        .arg("-q")
                        .arg(&theirs)
                        .arg("-d")
                        .arg(out_zip(i)),
                )
            },
        ],
    )?;

    // One method changed, then an incremental rebuild against the previous build.
    let changed = root.join("Project/Sources/Methods/method_00042.4dm");
    let mut text = fs::read_to_string(&changed)?;
    text.push_str("// one more line\n");
    fs::write(&changed, text)?;
    let next = work.path().join("next.4dz");
    let t = Instant::now();
    let inc = archive::build_incremental(
        &root,
        &next,
        &options,
        Some(Previous {
            archive: &ours,
            report: &report,
        }),
    )?;
    let rebuild = t.elapsed();
    let t = Instant::now();
    let full = archive::build(&root, &work.path().join("full.4dz"), &options)?;
    let full_time = t.elapsed();
    anyhow::ensure!(
        inc.stamp == full.stamp,
        "incremental and full builds differ"
    );

    let diff = (size_ours as f64 - size_zip as f64) / size_zip as f64 * 100.0;
    println!("median of {runs} run(s) each, same tree, same machine, page cache warm:");
    println!(
        "build    remote4d {:>9}   zip -qr  {:>9}   ratio {:.2}x  (target >= 1.5x)",
        secs(build_ours),
        secs(build_zip),
        ratio(build_zip, build_ours)
    );
    println!(
        "unpack   remote4d {:>9}   unzip -q {:>9}   ratio {:.2}x  (target >= 3x)",
        secs(unpack_ours),
        secs(unpack_zip),
        ratio(unpack_zip, unpack_ours)
    );
    println!(
        "size     remote4d {:>9}   zip -qr  {:>9}   {diff:+.2}%  (target within 5%)",
        mb(size_ours),
        mb(size_zip)
    );
    println!(
        "rebuild  one file changed {:>9}   full build {:>9}   {:.1}x faster; {} of {} entries reused; same stamp",
        secs(rebuild),
        secs(full_time),
        ratio(full_time, rebuild),
        inc.reused,
        inc.entries.len()
    );
    Ok(())
}
