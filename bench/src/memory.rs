//! Memory benchmark: peak memory and time of the real `remote4d` binary building and unpacking
//! projects whose largest file is big — one 400 MB text file, one 300 MB file of random bytes —
//! and the 20,000-file project, next to `zip -qr` / `unzip -q` on the same tree, each measured
//! by GNU time in the same run. Also the server's first build (`remote4d serve` until it
//! answers). Run inside `../shared/tools/netns-run` (the server part listens on loopback).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::serve::{free_port, remote4d_exe};
use crate::synth::{self, Rng};

/// Time and peak memory of one run.
struct Measured {
    secs: f64,
    peak_kib: u64,
}

/// Runs `program args…` under GNU time.
fn measure(program: &Path, args: &[&str], dir: &Path) -> anyhow::Result<Measured> {
    let report = dir.join("time.txt");
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%e %M", "-o"])
        .arg(&report)
        .arg(program)
        .args(args)
        .current_dir(dir)
        .env("REMOTE4D_HOME", dir.join("home"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("cannot run /usr/bin/time (apt-get install time)")?;
    if !out.status.success() {
        bail!(
            "{} {args:?} failed: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = std::fs::read_to_string(&report)?;
    let last = text.lines().last().unwrap_or_default();
    let mut parts = last.split_whitespace();
    let secs = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let peak_kib = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok(Measured { secs, peak_kib })
}

/// `size` bytes of base64-like text lines (deflate saves about a quarter, as on real data that
/// is neither code nor media).
fn text_file(path: &Path, size: usize) -> anyhow::Result<()> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = Rng::new(0x0040_0000);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut written = 0;
    let mut line = [0u8; 77];
    line[76] = b'\n';
    while written < size {
        for chunk in line[..76].chunks_mut(8) {
            let r = rng.next();
            for (i, b) in chunk.iter_mut().enumerate() {
                *b = ALPHABET[((r >> (i * 6)) & 63) as usize];
            }
        }
        let n = line.len().min(size - written);
        out.write_all(&line[..n])?;
        written += n;
    }
    out.flush()?;
    Ok(())
}

fn random_file(path: &Path, size: usize) -> anyhow::Result<()> {
    let mut rng = Rng::new(0x0030_0000);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut buf = vec![0u8; 1 << 20];
    let mut written = 0;
    while written < size {
        for chunk in buf.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next().to_le_bytes()[..chunk.len()]);
        }
        let n = buf.len().min(size - written);
        out.write_all(&buf[..n])?;
        written += n;
    }
    out.flush()?;
    Ok(())
}

/// A project with one big file (and a method).
fn one_big_file(
    root: &Path,
    name: &str,
    make: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(root.join("Project/Sources/Methods"))?;
    std::fs::write(root.join("Project/Big.4DProject"), "{}")?;
    std::fs::write(
        root.join("Project/Sources/Methods/hello.4dm"),
        "ALERT(\"hello\")\n",
    )?;
    make(&root.join("Project/Sources").join(name))
}

/// The time `remote4d serve` takes to build and answer, and its peak memory by then.
fn first_build(exe: &Path, root: &Path, work: &Path) -> anyhow::Result<Measured> {
    let port = free_port()?;
    let start = Instant::now();
    let mut child = crate::serve::Killer(
        Command::new(exe)
            .args(["serve"])
            .arg(root)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--no-publish",
                "--no-watch",
            ])
            .arg("--data-dir")
            .arg(work.join(format!("data-{port}")))
            .env("REMOTE4D_HOME", work.join("home"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let pid = child.0.id();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = child.0.try_wait()? {
            bail!("remote4d serve ended: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let secs = start.elapsed().as_secs_f64();
    let peak_kib = std::fs::read_to_string(format!("/proc/{pid}/status"))?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0);
    Ok(Measured { secs, peak_kib })
}

fn row(what: &str, ours: &Measured, theirs: &Measured, tool: &str) {
    println!(
        "{what:<34} remote4d {:>7.2} s {:>7.1} MB peak   {tool:<8} {:>7.2} s {:>6.1} MB peak   time ratio {:.2}x",
        ours.secs,
        ours.peak_kib as f64 / 1024.0,
        theirs.secs,
        theirs.peak_kib as f64 / 1024.0,
        theirs.secs / ours.secs.max(1e-3)
    );
}

// Long: one benchmark, read top to bottom — each project built, unpacked and served by the real
// binary, each figure beside the reference tool's on the same tree, printed as one table.
pub fn run(smoke: bool) -> anyhow::Result<()> {
    let exe = remote4d_exe()?;
    let zip = PathBuf::from("/usr/bin/zip");
    let unzip = PathBuf::from("/usr/bin/unzip");
    let (text_mb, random_mb, scale) = if smoke { (8, 6, 0.01) } else { (400, 300, 1.0) };
    let work = tempfile::Builder::new()
        .prefix("remote4d-bench-memory-")
        .tempdir()?;
    let w = work.path();
    std::fs::create_dir_all(w.join("home"))?;
    let projects: Vec<(String, PathBuf)> = {
        let text = w.join("TextProject");
        one_big_file(&text, "big.txt", |p| text_file(p, text_mb * 1_000_000))?;
        let random = w.join("RandomProject");
        one_big_file(&random, "noise.bin", |p| {
            random_file(p, random_mb * 1_000_000)
        })?;
        let many = w.join("ManyFiles");
        let s = synth::generate(&many, scale)?;
        vec![
            (format!("one {text_mb} MB text file"), text),
            (format!("one {random_mb} MB random file"), random),
            (
                format!("{} files, {:.0} MB", s.files, s.bytes as f64 / 1e6),
                many,
            ),
        ]
    };
    println!("peak memory (max RSS, GNU time) and time, same tree, same run; page cache warm:");
    for (n, (what, root)) in projects.iter().enumerate() {
        let ours_out = w.join("ours.4dz");
        let theirs_out = w.join("theirs.zip");
        let build = [
            "archive",
            "build",
            root.to_str().unwrap_or_default(),
            "-o",
            ours_out.to_str().unwrap_or_default(),
        ];
        // The first run warms the page cache; the second is measured.
        measure(&exe, &build, w)?;
        let ours = measure(&exe, &build, w)?;
        let _ = std::fs::remove_file(&theirs_out);
        let theirs = measure(
            &zip,
            &["-qr", theirs_out.to_str().unwrap_or_default(), "Project"],
            root,
        )?;
        row(&format!("build   {what}"), &ours, &theirs, "zip -qr");
        // New folders, none removed before the end (see `timing`).
        let dest_ours = w.join(format!("unpacked-ours-{n}"));
        let dest_theirs = w.join(format!("unpacked-theirs-{n}"));
        let ours = measure(
            &exe,
            &[
                "archive",
                "unpack",
                ours_out.to_str().unwrap_or_default(),
                dest_ours.to_str().unwrap_or_default(),
            ],
            w,
        )?;
        let theirs = measure(
            &unzip,
            &[
                "-q",
                theirs_out.to_str().unwrap_or_default(),
                "-d",
                dest_theirs.to_str().unwrap_or_default(),
            ],
            w,
        )?;
        row(&format!("unpack  {what}"), &ours, &theirs, "unzip -q");
        let served = first_build(&exe, root, w)?;
        println!(
            "{:<34} remote4d {:>7.2} s {:>7.1} MB peak   (until it answers)",
            format!("serve   {what}"),
            served.secs,
            served.peak_kib as f64 / 1024.0
        );
    }
    Ok(())
}
