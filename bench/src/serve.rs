//! Server benchmark: Remote4D's server — the real `remote4d serve` process, as users run it — and
//! nginx (TLS, same file, same certificate) under the same wrk load: many clients downloading
//! the archive, then many connections asking for info. Also: memory per open session (with its
//! event stream).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use remote4d_core::client::ApiClient;
use remote4d_core::client::admin::AdminClient;
use remote4d_core::environment::Environment;
use remote4d_core::protocol::{OpenSession, OpenSessionResponse, paths};
use reqwest::Method;

use crate::synth;
use crate::timing::mb;

/// The `remote4d` executable the benchmarks drive, as users run it: `REMOTE4D_BIN`, else the
/// one built beside this benchmark (`cargo build --release` builds both).
pub(crate) fn remote4d_exe() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("REMOTE4D_BIN") {
        return Ok(PathBuf::from(p));
    }
    let me = std::env::current_exe()?;
    let exe = me.with_file_name(format!("remote4d{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(
        exe.is_file(),
        "{} is missing: build it with `cargo build --release` (or set REMOTE4D_BIN)",
        exe.display()
    );
    Ok(exe)
}

/// A running `remote4d serve` process (the real binary, its own process).
pub(crate) struct ServerProcess {
    /// Stops it when dropped.
    pub(crate) _child: Killer,
    /// Its process id (for its memory).
    pub(crate) pid: u32,
    /// Its port on 127.0.0.1.
    pub(crate) port: u16,
    /// Its data folder (identity: cert.pem, key.pem).
    pub(crate) data: PathBuf,
}

/// Starts `remote4d serve ROOT` on 127.0.0.1, not published, not watching, with limits raised
/// for a benchmark that comes from one address; waits until it answers.
pub(crate) fn start_server(root: &Path, work: &Path) -> anyhow::Result<ServerProcess> {
    start_server_with(root, work, "")
}

/// [`start_server`] with more of `server.toml` (`extra`, appended).
pub(crate) fn start_server_with(
    root: &Path,
    work: &Path,
    extra: &str,
) -> anyhow::Result<ServerProcess> {
    let exe = remote4d_exe()?;
    let port = free_port()?;
    let data = work.join("server-data");
    let config = work.join("server.toml");
    std::fs::create_dir_all(work)?;
    std::fs::write(
        &config,
        format!(
            "{extra}\n[limits]\nmax_connections = 20000\nmax_connections_per_address = 20000\n"
        ),
    )?;
    let cmd = format!(
        "ulimit -n $(ulimit -Hn); exec '{}' serve '{}' --port {port} --bind 127.0.0.1 --no-publish --no-watch --data-dir '{}' --config '{}'",
        exe.display(),
        root.display(),
        data.display(),
        config.display()
    );
    let child = Command::new("sh")
        .args(["-c", &cmd])
        .env("REMOTE4D_HOME", work.join("server-home"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start remote4d serve")?;
    let pid = child.id();
    let mut child = Killer(child);
    let deadline = Instant::now() + Duration::from_secs(600);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = child.0.try_wait()? {
            bail!("remote4d serve ended: {status}");
        }
        anyhow::ensure!(Instant::now() < deadline, "remote4d serve did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(ServerProcess {
        _child: child,
        pid,
        port,
        data,
    })
}

struct Wrk {
    requests_per_sec: f64,
    transfer_per_sec: String,
    latency_avg: String,
    latency_p50: String,
    latency_p99: String,
    errors: String,
}

fn run_wrk(url: &str, connections: u32, seconds: u32) -> anyhow::Result<Wrk> {
    let cmd = format!(
        "ulimit -n $(ulimit -Hn); exec wrk -t2 -c{connections} -d{seconds}s --timeout 30s --latency '{url}'"
    );
    let out = Command::new("sh")
        .args(["-c", &cmd])
        .output()
        .context("cannot run wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .map(|l| l.trim_start()[prefix.len()..].trim().to_owned())
            .unwrap_or_default()
    };
    let latency_avg = field("Latency")
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut errors = Vec::new();
    let socket = field("Socket errors:");
    if !socket.is_empty() {
        errors.push(format!("socket errors: {socket}"));
    }
    let non2xx = field("Non-2xx or 3xx responses:");
    if !non2xx.is_empty() {
        errors.push(format!("non-2xx: {non2xx}"));
    }
    Ok(Wrk {
        requests_per_sec: field("Requests/sec:").parse().unwrap_or(0.0),
        transfer_per_sec: field("Transfer/sec:"),
        latency_avg,
        latency_p50: field("50%"),
        latency_p99: field("99%"),
        errors: if errors.is_empty() {
            "no error".into()
        } else {
            errors.join(", ")
        },
    })
}

/// wrk's "1.11GB" as bytes.
fn bytes_per_sec(text: &str) -> f64 {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let n: f64 = t[..split].parse().unwrap_or(0.0);
    let unit = match &t[split..] {
        "KB" => 1024.0,
        "MB" => 1024.0 * 1024.0,
        "GB" => 1024.0 * 1024.0 * 1024.0,
        _ => 1.0,
    };
    n * unit
}

pub(crate) fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Stops a child on drop: SIGTERM first (nginx's master then stops its workers), SIGKILL after.
pub(crate) struct Killer(pub(crate) Child);
impl Drop for Killer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        for _ in 0..50 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn nginx_conf(dir: &Path, port: u16, cert: &Path, key: &Path, info: &str) -> String {
    let d = dir.display();
    let user = if Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false)
    {
        "user root;"
    } else {
        ""
    };
    format!(
        r#"{user}
worker_processes auto;
worker_rlimit_nofile 65536;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location = /api/v1/project/archive {{ default_type application/zip; alias {d}/archive.4dz; }}
    location = /api/v1/info {{ default_type application/json; return 200 '{info}'; }}
  }}
}}
"#,
        cert = cert.display(),
        key = key.display(),
    )
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

// Long: one benchmark, read top to bottom — the same server and data for every measurement, so
// each figure sits next to the reference tool's from the same run.
pub fn run(smoke: bool, runs: Option<usize>) -> anyhow::Result<()> {
    let (scale, clients, conns, secs, sessions) = if smoke {
        (0.01, 20, 50, 2, 50)
    } else {
        (0.245, 200, 2000, 10, 1000)
    };
    let rounds = if smoke { 1 } else { runs.unwrap_or(3).max(1) };
    let work = tempfile::Builder::new()
        .prefix("remote4d-bench-serve-")
        .tempdir()?;
    let root = work.path().join("Synthetic");
    synth::generate(&root, scale)?;
    let server = start_server(&root, work.path())?;
    let (port, server_pid) = (server.port, server.pid);
    let data = server.data.display().to_string();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let authority = format!("127.0.0.1:{port}");
    let probe = ApiClient::new(&authority, None)?;
    let info = rt.block_on(probe.info())?;
    let client = ApiClient::new(&authority, Some(&info.fingerprint))?;
    let archive = rt.block_on(async {
        client
            .request(Method::GET, paths::ARCHIVE)
            .send()
            .await?
            .bytes()
            .await
    })?;
    println!(
        "archive: {} ({} files); server pid {server_pid}; load: wrk, 2 threads, {secs} s per run, same machine",
        mb(archive.len() as u64),
        (scale * 20_000.0) as usize
    );

    // nginx on the same file, with the same certificate.
    let ndir = work.path().join("nginx");
    std::fs::create_dir_all(&ndir)?;
    std::fs::write(ndir.join("archive.4dz"), &archive)?;
    let nport = free_port()?;
    let info_json = serde_json::to_string(&info)?.replace('\'', "");
    let conf = nginx_conf(
        &ndir,
        nport,
        &Path::new(&data).join("cert.pem"),
        &Path::new(&data).join("key.pem"),
        &info_json,
    );
    std::fs::write(ndir.join("nginx.conf"), conf)?;
    let nginx = Killer(
        Command::new("sh")
            .args([
                "-c",
                &format!(
                    "ulimit -n $(ulimit -Hn); exec nginx -p '{0}' -c '{0}/nginx.conf'",
                    ndir.display()
                ),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start nginx (apt-get install nginx)")?,
    );
    std::thread::sleep(Duration::from_millis(500));

    let ours = format!("https://127.0.0.1:{port}");
    let theirs = format!("https://127.0.0.1:{nport}");
    let row = |what: &str, who: &str, w: &Wrk| {
        println!(
            "{what:<8} {who:<9} {:>10.1} req/s  {:>12}/s  latency avg {:>9}  p50 {:>9}  p99 {:>9}  {}",
            w.requests_per_sec,
            w.transfer_per_sec,
            w.latency_avg,
            w.latency_p50,
            w.latency_p99,
            w.errors
        );
    };
    // Each comparison runs in rounds, the two servers taking turns to go first; the ratio is
    // the median of the rounds' ratios (one 10-second run on a shared 2-core machine varies by
    // a fifth from one run to the next).
    let compare = |what: &str,
                   path: &str,
                   connections: u32,
                   figure: &dyn Fn(&Wrk) -> f64,
                   target: &str|
     -> anyhow::Result<()> {
        let mut ratios = Vec::new();
        for round in 0..rounds {
            let (a, b) = if round % 2 == 0 {
                let a = run_wrk(&format!("{ours}{path}"), connections, secs)?;
                (a, run_wrk(&format!("{theirs}{path}"), connections, secs)?)
            } else {
                let b = run_wrk(&format!("{theirs}{path}"), connections, secs)?;
                (run_wrk(&format!("{ours}{path}"), connections, secs)?, b)
            };
            row(what, "remote4d", &a);
            row(what, "nginx", &b);
            ratios.push(figure(&a) / figure(&b).max(1e-9));
        }
        let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "         ratio {:.2}x of nginx's {target} (median of {rounds}: {})",
            ratios[ratios.len() / 2],
            shown.join(", ")
        );
        Ok(())
    };
    println!("download of the archive by {clients} concurrent clients:");
    compare(
        "archive",
        "/api/v1/project/archive",
        clients,
        &|w| bytes_per_sec(&w.transfer_per_sec),
        "throughput in bytes/s; target >= 1.0x",
    )?;
    println!("server info over {conns} connections:");
    compare(
        "info",
        "/api/v1/info",
        conns,
        &|w| w.requests_per_sec,
        "request rate; target >= 0.9x",
    )?;
    drop(nginx);

    // Memory per open session, each with its event stream (HTTP/2 streams on one connection).
    std::thread::sleep(Duration::from_millis(500));
    let before = rss_kb(server_pid);
    let streams = rt.block_on(async {
        let mut streams = Vec::new();
        for i in 0..sessions {
            let req = OpenSession {
                machine_name: format!("bench-{i}"),
                client_id: format!("bench-{i}"),
                ..OpenSession::default()
            };
            let OpenSessionResponse::Opened(s) = client
                .json(Method::POST, paths::SESSIONS, Some(&req))
                .await?
            else {
                bail!("unexpected challenge");
            };
            // Each session is its own client with its own connection, as in real use.
            let c = ApiClient::new(&authority, Some(&info.fingerprint))?.with_token(s.token);
            let resp = c
                .request(Method::GET, &paths::session_events(&s.session.id))
                .send()
                .await?;
            let mut body = resp.bytes_stream();
            body.next().await;
            streams.push(body);
        }
        anyhow::Ok(streams)
    })?;
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_kb(server_pid);
    println!(
        "memory: {sessions} open sessions with event streams: server RSS {before} KB -> {after} KB, {:.1} KB per session",
        after.saturating_sub(before) as f64 / f64::from(sessions)
    );
    let env = Environment::portable(&work.path().join("server-home"));
    let admin = AdminClient::local(&env, port)?;
    let (delivered, latencies) = rt.block_on(event_latencies(&admin, streams, 5))?;
    println!(
        "events: a message to all {sessions} sessions, 5 times: {delivered} of {} delivered; latency from the send to each stream p50 {}  p99 {}  max {}",
        5 * sessions,
        ms(percentile(&latencies, 50)),
        ms(percentile(&latencies, 99)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    drop(server);
    Ok(())
}

/// Sends `rounds` messages to every session (one at a time, each once all streams had the
/// previous) and returns how many deliveries were seen and their latencies, sorted: from just
/// before the administration request to the moment each event stream had the event.
async fn event_latencies<S, B, E>(
    admin: &AdminClient,
    streams: Vec<S>,
    rounds: usize,
) -> anyhow::Result<(usize, Vec<Duration>)>
where
    S: futures::Stream<Item = Result<B, E>> + Send + Unpin + 'static,
    B: AsRef<[u8]>,
{
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut body| {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut seen = String::new();
                let mut next = 0;
                while let Some(Ok(chunk)) = body.next().await {
                    seen.push_str(&String::from_utf8_lossy(chunk.as_ref()));
                    while seen.contains(&format!("bench-ping-{next}")) {
                        let _ = tx.send((next, Instant::now()));
                        next += 1;
                    }
                    if let Some(cut) = seen.rfind('\n') {
                        seen.drain(..cut);
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let count = readers.len();
    let mut latencies = Vec::new();
    for round in 0..rounds {
        let sent = Instant::now();
        admin.message(&format!("bench-ping-{round}"), &[]).await?;
        let mut got = 0;
        while got < count {
            match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
                Ok(Some((r, at))) if r == round => {
                    latencies.push(at - sent);
                    got += 1;
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }
    for r in readers {
        r.abort();
    }
    latencies.sort();
    Ok((latencies.len(), latencies))
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
