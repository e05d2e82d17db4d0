//! What the client tests share: a client home, a progress recorder, session helpers, a TCP
//! relay that can cut every connection (a network loss), hook scripts; and the imports the
//! tests use (a prelude: `use crate::support::*`; some only by the Unix-only tests).
#![cfg_attr(not(unix), allow(unused_imports))]

pub(crate) use std::path::{Path, PathBuf};
pub(crate) use std::sync::{Arc, Mutex};
pub(crate) use std::time::Duration;

pub(crate) use crate::common::*;
pub(crate) use futures::StreamExt;
pub(crate) use remote4d_core::archive::Stamp;
pub(crate) use remote4d_core::client::devmode::{DevError, DevProject};
pub(crate) use remote4d_core::client::session::{SessionUpdate, follow, patch_storage, storage};
pub(crate) use remote4d_core::client::{
    ConnectError, ConnectOptions, Fetched, Mode, Progress, Target, connect,
};
pub(crate) use remote4d_core::environment::Environment;
pub(crate) use remote4d_core::link::{Link, ServerPath};
pub(crate) use remote4d_core::protocol::{ChallengeAnswer, Related, SessionEvent};
pub(crate) use remote4d_core::recent::Recent;
pub(crate) use remote4d_core::server::ServerConfig;
pub(crate) use serde_json::json;

pub(crate) struct Client {
    pub(crate) home: tempfile::TempDir,
}

impl Client {
    pub(crate) fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn env(&self) -> Environment {
        Environment::portable(self.home.path())
    }

    pub(crate) fn options(&self, authority: &str) -> ConnectOptions {
        let mut o = ConnectOptions::new(
            Target::Address(ServerPath::parse(authority).unwrap()),
            self.env(),
        );
        o.trust_new = true;
        o.force_remote = true;
        o.client_exe = "/opt/remote4d-test".into();
        o
    }
}

pub(crate) type Log = Arc<Mutex<Vec<Progress>>>;

pub(crate) fn recorder() -> (Log, impl Fn(Progress) + Send + Sync) {
    let log: Log = Arc::default();
    let l = Arc::clone(&log);
    (log, move |p| l.lock().unwrap().push(p))
}

pub(crate) async fn next_update(
    u: &mut (impl futures::Stream<Item = SessionUpdate> + Unpin),
) -> SessionUpdate {
    tokio::time::timeout(Duration::from_secs(20), u.next())
        .await
        .expect("an update in time")
        .expect("still following")
}

/// A TCP relay whose connections can all be cut at once (a network loss).
pub(crate) async fn relay(target: u16) -> (u16, tokio::sync::watch::Sender<u64>) {
    relay_with_rate(target, None).await
}

/// Like [`relay`], limiting the server-to-client rate to `rate` bytes per second.
pub(crate) async fn relay_with_rate(
    target: u16,
    rate: Option<u64>,
) -> (u16, tokio::sync::watch::Sender<u64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (cut, _) = tokio::sync::watch::channel(0u64);
    let cut2 = cut.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let mut rx = cut2.subscribe();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let Ok(outbound) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                else {
                    return;
                };
                let (mut ir, mut iw) = inbound.split();
                let (mut or, mut ow) = outbound.into_split();
                let up = tokio::io::copy(&mut ir, &mut ow);
                let down = async {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = or.read(&mut buf).await?;
                        if n == 0 {
                            return Ok::<_, std::io::Error>(());
                        }
                        iw.write_all(&buf[..n]).await?;
                        if let Some(rate) = rate {
                            tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64))
                                .await;
                        }
                    }
                };
                tokio::select! {
                    _ = up => {}
                    _ = down => {}
                    _ = rx.changed() => {}
                }
            });
        }
    });
    (port, cut)
}

/// Every file under `root` (relative path, content), sorted.
pub(crate) fn tree_of(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Connects to `t` through a relay at 4 MB/s whose connections all die once the download
/// passed 1 MB; returns the connection (made after retrying), its progress, and the client
/// (whose home holds the connection's folder).
pub(crate) async fn connect_cut_once(
    t: &TestServer,
) -> (remote4d_core::client::Connection, Log, Client) {
    let (port, cut) = relay_with_rate(t.server.port(), Some(4_000_000)).await;
    let c = Client::new();
    let opts = c.options(&format!("127.0.0.1:{port}"));
    let (log, progress) = recorder();
    let client = tokio::spawn(async move { connect(opts, &progress).await });
    eventually(20, || {
        let log = Arc::clone(&log);
        async move {
            log.lock()
                .unwrap()
                .iter()
                .any(|p| matches!(p, Progress::Downloading { done, .. } if *done > 1_000_000))
                .then_some(())
        }
    })
    .await;
    cut.send(1).unwrap();
    let conn = tokio::time::timeout(Duration::from_secs(60), client)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        log.lock()
            .unwrap()
            .iter()
            .any(|p| matches!(p, Progress::Retrying { .. })),
        "it retried: {:?}",
        log.lock().unwrap()
    );
    (conn, log, c)
}

// Shell scripts, Unix modes and chattr: Unix only.
#[cfg(unix)]
pub(crate) fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}
