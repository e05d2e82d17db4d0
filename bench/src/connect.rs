//! Client benchmark on the 20,000-file project: cold connect (download + verify + unpack) vs
//! `curl` of the same archive from nginx followed by `unzip -q`; warm reconnect; one-file delta.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use remote4d_core::client::admin::AdminClient;
use remote4d_core::client::{ApiClient, ConnectOptions, Fetched, Target, connect};
use remote4d_core::environment::Environment;
use remote4d_core::link::ServerPath;
use remote4d_core::protocol::paths;
use reqwest::Method;

use crate::serve::{Killer, free_port, nginx_conf};
use crate::synth;
use crate::timing::{mb, rotating, secs, settle};

fn options(authority: &str, home: &Path) -> ConnectOptions {
    let mut o = ConnectOptions::new(
        Target::Address(ServerPath::parse(authority).expect("address")),
        Environment::portable(home),
    );
    o.trust_new = true;
    o.force_remote = true;
    o
}

/// Limits the namespace's loopback to `rate` (a `tc` rate, e.g. `1gbit`) with a token bucket, so
/// that the server, nginx and the clients talk as over a network link of that speed.
fn limit_link(rate: &str) -> anyhow::Result<()> {
    let status = Command::new("tc")
        .args(["qdisc", "replace", "dev", "lo", "root", "tbf", "rate", rate])
        .args(["burst", "256kb", "latency", "20ms"])
        .status()
        .context("cannot run tc (apt-get install iproute2)")?;
    anyhow::ensure!(
        status.success(),
        "tc failed: run the benchmark inside ../shared/tools/netns-run"
    );
    Ok(())
}

// Long: one benchmark, read top to bottom — each measured phase (cold, warm, delta) starts
// from the cache the previous one left, and the table printed at the end needs all of them.
pub fn run(
    smoke: bool,
    link: Option<&str>,
    scale: Option<f64>,
    runs: Option<usize>,
) -> anyhow::Result<()> {
    if let Some(rate) = link {
        limit_link(rate)?;
    }
    // `--scale`: the synthetic project's size (1 = 20,000 files, 300 MB), for the cost table.
    let scale = scale.unwrap_or(if smoke { 0.01 } else { 1.0 });
    let runs = runs.unwrap_or(if smoke { 1 } else { 5 }).max(1);
    let work = tempfile::Builder::new()
        .prefix("remote4d-bench-connect-")
        .tempdir()?;
    let root = work.path().join("Synthetic");
    let s = synth::generate(&root, scale)?;
    // The server is listening once its first archive is built: the build's cost, as a process.
    let started = Instant::now();
    let server = crate::serve::start_server(&root, work.path())?;
    let build = started.elapsed();
    let started = Instant::now();
    let zipped = Command::new("zip")
        .arg("-qr")
        .arg(work.path().join("reference.zip"))
        .arg("Project")
        .current_dir(&root)
        .status()
        .context("cannot run zip (apt-get install zip)")?;
    anyhow::ensure!(zipped.success(), "zip failed");
    let zip_time = started.elapsed();
    std::fs::remove_file(work.path().join("reference.zip"))?;
    // `start_server` runs it with REMOTE4D_HOME there (its admin token is under it).
    let home = work.path().join("server-home");
    let port = server.port;
    let data = server.data.display().to_string();
    let authority = format!("127.0.0.1:{port}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let probe = ApiClient::new(&authority, None)?;
    let info = rt.block_on(probe.info())?;
    let api = ApiClient::new(&authority, Some(&info.fingerprint))?;
    let archive = rt.block_on(async {
        api.request(Method::GET, paths::ARCHIVE)
            .send()
            .await?
            .bytes()
            .await
    })?;
    println!(
        "project: {} files, {}; archive {}; server and clients on this machine (loopback, TLS{})",
        s.files,
        mb(s.bytes),
        mb(archive.len() as u64),
        link.map(|r| format!(", limited to {r}"))
            .unwrap_or_default()
    );

    // The reference: nginx serves the same file; curl downloads it, unzip unpacks it.
    let ndir = work.path().join("nginx");
    std::fs::create_dir_all(&ndir)?;
    std::fs::write(ndir.join("archive.4dz"), &archive)?;
    let nport = free_port()?;
    std::fs::write(
        ndir.join("nginx.conf"),
        nginx_conf(
            &ndir,
            nport,
            &Path::new(&data).join("cert.pem"),
            &Path::new(&data).join("key.pem"),
            "{}",
        ),
    )?;
    let _nginx = Killer(
        Command::new("nginx")
            .args([
                "-p",
                &ndir.display().to_string(),
                "-c",
                &ndir.join("nginx.conf").display().to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start nginx (apt-get install nginx)")?,
    );
    std::thread::sleep(Duration::from_millis(500));
    // The same as users run it: `remote4d connect` processes (cold into new homes, in the
    // rotation below; then one file changes and the first of them reconnects), the whole
    // process timed.
    let exe = crate::serve::remote4d_exe()?;
    let run_connect = |home: &Path| -> anyhow::Result<(Duration, String)> {
        std::fs::create_dir_all(home)?;
        let start = Instant::now();
        let o = Command::new(&exe)
            .args(["connect", &authority, "--trust-new", "--remote", "--json"])
            .env("REMOTE4D_HOME", home)
            // REMOTE4D_LOG set for the bench: the processes' logs (timings) are shown.
            .stderr(if std::env::var_os("REMOTE4D_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .output()
            .context("cannot run remote4d connect")?;
        let took = start.elapsed();
        anyhow::ensure!(o.status.success(), "remote4d connect failed");
        Ok((took, String::from_utf8_lossy(&o.stdout).into_owned()))
    };
    // The reference (curl, then unzip), the two cold connects — unpacking during the download
    // (the default) and after it — and the cold `remote4d connect` process, in rotating order
    // (so that each sees the same state of the disk), each into a new folder, all kept to the
    // end (see `timing`: removing a tree slows down whoever creates files next).
    // The download alone too: over an emulated link, the floor any client can reach there.
    let mut downloads = Vec::new();
    let reference_run = &mut |i: usize| -> anyhow::Result<()> {
        let out = work.path().join(format!("ref-{i}"));
        let file = work.path().join(format!("ref-{i}.4dz"));
        let start = Instant::now();
        let curl = Command::new("curl")
            .args([
                "-sk",
                "--fail",
                "-o",
                &file.display().to_string(),
                &format!("https://127.0.0.1:{nport}/api/v1/project/archive"),
            ])
            .status()
            .context("cannot run curl")?;
        downloads.push(start.elapsed());
        let unzip = Command::new("unzip")
            .arg("-q")
            .arg(&file)
            .arg("-d")
            .arg(&out)
            .status()
            .context("cannot run unzip")?;
        if !curl.success() || !unzip.success() {
            bail!("curl or unzip failed");
        }
        Ok(())
    };
    let cold_run = |unpack_while_downloading: bool, i: usize| -> anyhow::Result<()> {
        let client_home = work
            .path()
            .join(format!("cold-{i}-{unpack_while_downloading}"));
        let mut o = options(&authority, &client_home);
        o.unpack_while_downloading = unpack_while_downloading;
        let conn = rt.block_on(connect(o, &|_| {}))?;
        anyhow::ensure!(
            matches!(conn.fetched, Fetched::Full { .. }),
            "expected a full download"
        );
        rt.block_on(conn.close());
        Ok(())
    };
    let process_run = |i: usize| -> anyhow::Result<()> {
        let (_, out) = run_connect(&work.path().join(format!("process-{i}")))?;
        anyhow::ensure!(out.contains("\"full\""), "expected a full download: {out}");
        Ok(())
    };
    let [reference, cold, cold_after, cold_process] = rotating(
        runs,
        &mut settle,
        &mut [
            reference_run,
            &mut |i| cold_run(true, i),
            &mut |i| cold_run(false, i),
            &mut |i| process_run(i),
        ],
    )?;

    // The client of the warm and delta runs: the first cold one.
    let client_home = work.path().join("cold-0-true");

    let mut warm = Vec::new();
    for _ in 0..5 {
        settle()?;
        let start = Instant::now();
        let conn = rt.block_on(connect(options(&authority, &client_home), &|_| {}))?;
        warm.push(start.elapsed());
        anyhow::ensure!(conn.fetched == Fetched::UpToDate, "expected no download");
        rt.block_on(conn.close());
    }
    warm.sort();
    let warm = warm[warm.len() / 2];

    // One method changes; the server reloads; the client reconnects.
    let method = root.join("Project/Sources/Methods/method_00042.4dm");
    let mut text = std::fs::read_to_string(&method)?;
    text.push_str("// one more line\n");
    std::fs::write(&method, text)?;
    let admin = AdminClient::local(&Environment::portable(&home), port)?;
    rt.block_on(admin.reload(true))?;
    settle()?;
    let start = Instant::now();
    let conn = rt.block_on(connect(options(&authority, &client_home), &|_| {}))?;
    let delta_time = start.elapsed();
    let Fetched::Delta { bytes } = conn.fetched else {
        bail!("expected a delta, got {:?}", conn.fetched)
    };
    // The delta stays pending on the previous archive (the next one is composed with it);
    // writing the new archive, done only once the pending deltas are large, is timed apart.
    conn.complete_archive()?;
    let settled = start.elapsed();
    rt.block_on(conn.close());

    let mut update_process = Vec::new();
    for i in 0..runs {
        let method = root.join(format!("Project/Sources/Methods/method_{:05}.4dm", 100 + i));
        let mut text = std::fs::read_to_string(&method).unwrap_or_default();
        text.push_str("// one more line\n");
        std::fs::write(&method, text)?;
        rt.block_on(admin.reload(true))?;
        settle()?;
        let (took, out) = run_connect(&work.path().join("process-0"))?;
        anyhow::ensure!(out.contains("\"delta\""), "expected a delta: {out}");
        update_process.push(took);
    }
    update_process.sort();
    let update_process = update_process[update_process.len() / 2];

    let size = archive.len() as u64;
    println!(
        "build         remote4d serve, start to listening (first archive build) {:>9}   zip -qr {:>9}   ratio {:.2}",
        secs(build),
        secs(zip_time),
        build.as_secs_f64() / zip_time.as_secs_f64()
    );
    println!("median of {runs} run(s):");
    println!(
        "cold connect  remote4d {:>9}   curl (nginx) + unzip -q {:>9}   ratio {:.2}  (target <= 0.70)",
        secs(cold),
        secs(reference),
        cold.as_secs_f64() / reference.as_secs_f64()
    );
    println!(
        "              unpacking after the download instead: {:>9}   ratio {:.2}",
        secs(cold_after),
        cold_after.as_secs_f64() / reference.as_secs_f64()
    );
    println!(
        "warm connect  remote4d {:>9}   (median of 5; target < 50 ms)",
        format!("{:.1} ms", warm.as_secs_f64() * 1000.0)
    );
    println!(
        "delta         {} = {:.3}% of the archive (target < 1%); {} = {:.1}% of the cold connect (target < 10%)",
        mb(bytes),
        bytes as f64 / size as f64 * 100.0,
        secs(delta_time),
        delta_time.as_secs_f64() / cold.as_secs_f64() * 100.0
    );
    println!(
        "              (writing the new archive, done only once pending deltas are large: ends {} after the start)",
        secs(settled)
    );
    if let Some(bits) = link.and_then(link_bits_per_sec) {
        let wire = Duration::from_secs_f64(size as f64 * 8.0 / bits);
        println!(
            "wire time     the archive at {} = {:>9}; cold connect {:.2}x, the process {:.2}x (target <= 1.10)",
            link.unwrap_or_default(),
            secs(wire),
            cold.as_secs_f64() / wire.as_secs_f64(),
            cold_process.as_secs_f64() / wire.as_secs_f64()
        );
        downloads.sort();
        let download = downloads[downloads.len() / 2];
        println!(
            "              curl (nginx), the download alone {:>9} = {:.2}x the wire (the link as emulated)",
            secs(download),
            download.as_secs_f64() / wire.as_secs_f64()
        );
    }
    println!(
        "process       remote4d connect, cold {:>9}   curl (nginx) + unzip -q {:>9}   ratio {:.2}  (target <= 0.50)",
        secs(cold_process),
        secs(reference),
        cold_process.as_secs_f64() / reference.as_secs_f64()
    );
    println!(
        "              one file changed, the whole process {:>9} = {:.1}% of its cold connect (target < 10%)",
        secs(update_process),
        update_process.as_secs_f64() / cold_process.as_secs_f64() * 100.0
    );
    Ok(())
}

/// Bits per second of a `tc` rate (`1gbit`, `100mbit`, `500kbit`).
fn link_bits_per_sec(rate: &str) -> Option<f64> {
    let rate = rate.trim().to_ascii_lowercase();
    let digits = rate.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (n, unit) = rate.split_at(digits);
    let n: f64 = n.parse().ok()?;
    let m = match unit {
        "gbit" => 1e9,
        "mbit" => 1e6,
        "kbit" => 1e3,
        "bit" => 1.0,
        _ => return None,
    };
    Some(n * m)
}
