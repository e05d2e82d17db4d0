//! Monday morning: many `remote4d connect` processes at once get a new build, straight from the
//! server, then through two nginx caches (`resources/nginx/remote4d-cache.conf`, as shipped) named
//! as mirrors. Printed side by side: the time until every client has the project, and what the
//! server had to send.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::serve::{Killer, ServerProcess, free_port, remote4d_exe, start_server_with};
use crate::synth;
use crate::timing::{mb, secs};

/// The cache configuration users are given (and `tests/mirrors.rs` runs).
const CACHE_CONF: &str = include_str!("../../resources/nginx/remote4d-cache.conf");

pub fn run(smoke: bool, clients: Option<usize>) -> anyhow::Result<()> {
    let scale = if smoke { 0.01 } else { 0.1 };
    let clients = clients.unwrap_or(if smoke { 8 } else { 100 });
    let work = tempfile::Builder::new()
        .prefix("remote4d-bench-mirrors-")
        .tempdir()?;
    let root = work.path().join("Synthetic");
    let s = synth::generate(&root, scale)?;
    println!(
        "project: {} files, {}; {clients} clients connecting at once (separate processes), all on this machine",
        s.files,
        mb(s.bytes)
    );

    // Straight from the server.
    let direct_dir = work.path().join("direct");
    let server = start_server_with(&root, &direct_dir, "")?;
    let (direct, direct_status) = monday(&server, &direct_dir, clients)?;
    drop(server);

    // Through two caches.
    let cached_dir = work.path().join("cached");
    let (a, b) = (free_port()?, free_port()?);
    let server = start_server_with(
        &root,
        &cached_dir,
        &format!(
            "[[mirror]]\nurl = \"https://127.0.0.1:{a}\"\n\n[[mirror]]\nurl = \"https://127.0.0.1:{b}\"\n"
        ),
    )?;
    let _a = start_cache(&cached_dir.join("cache-a"), a, &server)?;
    let _b = start_cache(&cached_dir.join("cache-b"), b, &server)?;
    let (cached, cached_status) = monday(&server, &cached_dir, clients)?;

    let field = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or_default();
    println!("                       all clients ready   the server sent   of which the archive");
    println!(
        "straight from server   {:>17}   {:>15}   {:>20}",
        secs(direct),
        mb(field(&direct_status, "bytes_out")),
        mb(field(&direct_status, "archive_bytes_served"))
    );
    println!(
        "through 2 nginx caches {:>17}   {:>15}   {:>20}",
        secs(cached),
        mb(field(&cached_status, "bytes_out")),
        mb(field(&cached_status, "archive_bytes_served"))
    );
    println!(
        "ratio                  {:>17.2}   {:>15.3}",
        cached.as_secs_f64() / direct.as_secs_f64(),
        field(&cached_status, "bytes_out") as f64
            / field(&direct_status, "bytes_out").max(1) as f64
    );
    Ok(())
}

/// Starts `clients` connects at once; returns the time until all are done and the server's
/// status afterwards.
fn monday(
    server: &ServerProcess,
    work: &Path,
    clients: usize,
) -> anyhow::Result<(Duration, serde_json::Value)> {
    let exe = remote4d_exe()?;
    let address = format!("127.0.0.1:{}", server.port);
    let start = Instant::now();
    let children = (0..clients)
        .map(|i| {
            let home = work.join(format!("client-{i}"));
            std::fs::create_dir_all(&home)?;
            Command::new(&exe)
                .args(["connect", &address, "--trust-new", "--remote", "--json"])
                .env("REMOTE4D_HOME", &home)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .context("cannot run remote4d connect")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut skipped = std::collections::BTreeMap::<String, usize>::new();
    for child in children {
        let o = child.wait_with_output()?;
        if !o.status.success() {
            bail!("a client failed");
        }
        for line in String::from_utf8_lossy(&o.stderr).lines() {
            let Ok(p) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if p["phase"] == "mirror_skipped" {
                let reason = p["reason"].as_str().unwrap_or_default();
                *skipped
                    .entry(reason.chars().take(90).collect())
                    .or_default() += 1;
            }
        }
    }
    let took = start.elapsed();
    for (reason, n) in &skipped {
        println!("  a mirror was skipped {n} time(s): {reason}");
    }
    let o = Command::new(&exe)
        .args([
            "admin",
            "--port",
            &server.port.to_string(),
            "status",
            "--json",
        ])
        .env("REMOTE4D_HOME", work.join("server-home"))
        .output()?;
    anyhow::ensure!(o.status.success(), "remote4d admin status failed");
    Ok((took, serde_json::from_slice(&o.stdout)?))
}

/// An nginx cache in `dir` on `port` in front of `server`, with the shipped configuration.
fn start_cache(dir: &Path, port: u16, server: &ServerProcess) -> anyhow::Result<Killer> {
    std::fs::create_dir_all(dir)?;
    let d = dir.display();
    let cert = server.data.join("cert.pem");
    let key = server.data.join("key.pem");
    let http = CACHE_CONF
        .replace("@CACHE_DIR@", &dir.join("cache").display().to_string())
        .replace("@LISTEN@", &format!("127.0.0.1:{port}"))
        .replace("@CERT@", &cert.display().to_string())
        .replace("@KEY@", &key.display().to_string())
        .replace("@ORIGIN@", &format!("127.0.0.1:{}", server.port))
        .replace("@ORIGIN_CERT@", &cert.display().to_string())
        .replace("@ORIGIN_NAME@", "localhost");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    let conf = format!(
        "{user}\nworker_processes auto;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 4096; }}\nhttp {{\n  access_log off;\n  \
         client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;\n  \
         uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n{http}\n}}\n",
        user = if root { "user root;" } else { "" },
    );
    std::fs::write(dir.join("nginx.conf"), conf)?;
    let child = Killer(
        Command::new("nginx")
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start nginx (apt-get install nginx)")?,
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(child)
}
