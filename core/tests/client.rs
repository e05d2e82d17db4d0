//! The remote client end to end against the real server over loopback.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use futures::StreamExt;
use remote4d_core::archive::Stamp;
use remote4d_core::client::devmode::{DevError, DevProject};
use remote4d_core::client::session::{SessionUpdate, follow, patch_storage, storage};
use remote4d_core::client::{
    ConnectError, ConnectOptions, Fetched, Mode, Progress, Target, connect,
};
use remote4d_core::environment::Environment;
use remote4d_core::link::{Link, ServerPath};
use remote4d_core::protocol::{ChallengeAnswer, SessionEvent};
use remote4d_core::recent::Recent;
use remote4d_core::server::ServerConfig;
use serde_json::json;

struct Client {
    home: tempfile::TempDir,
}

impl Client {
    fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn env(&self) -> Environment {
        Environment::portable(self.home.path())
    }

    fn options(&self, authority: &str) -> ConnectOptions {
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

type Log = Arc<Mutex<Vec<Progress>>>;

fn recorder() -> (Log, impl Fn(Progress) + Send + Sync) {
    let log: Log = Arc::default();
    let l = Arc::clone(&log);
    (log, move |p| l.lock().unwrap().push(p))
}

#[tokio::test(flavor = "multi_thread")]
async fn cold_warm_delta_repair_offline() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let c = Client::new();

    // Cold: the whole archive, verified, unpacked.
    let (log, progress) = recorder();
    let conn = connect(c.options(&t.authority()), &progress).await.unwrap();
    assert_eq!(conn.mode, Mode::Remote);
    assert!(
        matches!(conn.fetched, Fetched::Full { .. }),
        "{:?}",
        conn.fetched
    );
    let stamp1 = t.server.info().stamp;
    assert_eq!(Stamp::of_file(&conn.folder.archive_path()).unwrap(), stamp1);
    let m03 = conn.project_root.join("Project/Sources/Methods/m03.4dm");
    assert_eq!(
        std::fs::read(&m03).unwrap(),
        std::fs::read(dir.path().join("Project/Sources/Methods/m03.4dm")).unwrap()
    );
    assert!(conn.folder.user_preferences_dir().is_dir() && conn.folder.derived_data_dir().is_dir());
    assert!(
        conn.folder
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("Shop_127_0_0_1_")
    );
    let phases: Vec<_> = log.lock().unwrap().clone();
    assert!(matches!(phases[0], Progress::Connecting { .. }));
    assert!(
        phases
            .iter()
            .any(|p| matches!(p, Progress::Downloading { done, total, .. } if done == total))
    );
    assert!(phases.contains(&Progress::Unpacking));
    assert!(matches!(phases.last(), Some(Progress::Ready { .. })));
    // Saved to Recent with the pinned identity.
    let recent = Recent::new(c.env().favorites_dir()).list().unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].name, "Shop");
    assert_eq!(
        recent[0].link.remote4d_fingerprint.as_deref(),
        Some(t.server.info().fingerprint.as_str())
    );
    assert_eq!(
        recent[0].link.remote4d_server_id.as_deref(),
        Some(t.server.info().server_id.as_str())
    );
    conn.close().await;
    drop(conn);

    // Warm: nothing downloaded.
    let (log, progress) = recorder();
    let conn = connect(c.options(&t.authority()), &progress).await.unwrap();
    assert_eq!(conn.fetched, Fetched::UpToDate);
    assert!(log.lock().unwrap().contains(&Progress::UpToDate));
    drop(conn);

    // A method changes on the server: a delta.
    write(
        dir.path(),
        "Project/Sources/Methods/m03.4dm",
        b"// changed\n",
    );
    let stamp2 = t.server.reload().await.unwrap();
    assert_ne!(stamp1, stamp2);
    let conn = connect(c.options(&t.authority()), &|_| {}).await.unwrap();
    let Fetched::Delta { bytes } = conn.fetched else {
        panic!("expected a delta, got {:?}", conn.fetched)
    };
    assert!(bytes < t.server.info().archive_size / 2);
    assert_eq!(std::fs::read(&m03).unwrap(), b"// changed\n");
    // The new archive is written after the connect returned (it is only needed by the next
    // delta or a repair); waiting for it gives exactly the server's build.
    conn.complete_archive().unwrap();
    assert_eq!(Stamp::of_file(&conn.folder.archive_path()).unwrap(), stamp2);
    assert!(!conn.folder.path().join("pending.json").exists());
    drop(conn);

    // Someone edits the cache: detected and repaired without deleting anything by hand.
    std::fs::write(&m03, b"tampered").unwrap();
    let (log, progress) = recorder();
    let conn = connect(c.options(&t.authority()), &progress).await.unwrap();
    assert_eq!(conn.fetched, Fetched::Repaired);
    assert!(
        log.lock()
            .unwrap()
            .iter()
            .any(|p| matches!(p, Progress::Repairing { reason } if reason.contains("m03.4dm")))
    );
    assert_eq!(std::fs::read(&m03).unwrap(), b"// changed\n");
    drop(conn);
    // A damaged archive: downloaded again.
    let archive = c
        .home
        .path()
        .join("cache")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("project.4dz");
    let mut bytes = std::fs::read(&archive).unwrap();
    let n = bytes.len() / 2;
    bytes[n] ^= 0xff;
    std::fs::write(&archive, &bytes).unwrap();
    let conn = connect(c.options(&t.authority()), &|_| {}).await.unwrap();
    assert!(
        matches!(conn.fetched, Fetched::Full { .. }),
        "{:?}",
        conn.fetched
    );
    assert_eq!(Stamp::of_file(&conn.folder.archive_path()).unwrap(), stamp2);
    drop(conn);

    // The server is gone: the last good version opens read-only, offline.
    let authority = t.authority();
    t.server.shutdown().await;
    let mut o = c.options(&authority);
    o.project = Some("Shop".into());
    let e = connect(o.clone(), &|_| {}).await.unwrap_err();
    assert!(matches!(e, ConnectError::Unreachable { .. }), "{e:?}");
    assert!(e.to_string().contains("Check that the server runs"));
    o.allow_offline = true;
    let conn = connect(o, &|_| {}).await.unwrap();
    assert_eq!(conn.mode, Mode::Offline);
    assert!(conn.session.is_none());
    assert_eq!(
        std::fs::read(conn.project_root.join("Project/Sources/Methods/m03.4dm")).unwrap(),
        b"// changed\n"
    );
}

/// Whether the recorded progress says the Resources folder was copied.
fn copied_resources(log: &Log) -> bool {
    log.lock()
        .unwrap()
        .iter()
        .any(|p| matches!(p, Progress::Resources { .. }))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_resources_folder_follows_the_server() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let logo = noise(40_000, 9);
    write(dir.path(), "Resources/Images/logo.png", &logo);
    write(
        dir.path(),
        "Resources/en.lproj/strings.xlf",
        b"<xliff>v1</xliff>",
    );
    // The server's TLS identity lives in Resources/ too (as in 4D): it must never be sent.
    project_certificate(dir.path(), "localhost");
    let t = start(dir.path(), config()).await;
    let info = t.server.info();
    let offered = info
        .resources
        .expect("the server offers its Resources folder");
    let c = Client::new();

    // Cold: copied beside Project/.
    let (log, progress) = recorder();
    let conn = connect(c.options(&t.authority()), &progress).await.unwrap();
    let resources = conn.folder.path().join("Resources");
    assert_eq!(
        std::fs::read(resources.join("Images/logo.png")).unwrap(),
        logo
    );
    assert_eq!(
        std::fs::read(resources.join("en.lproj/strings.xlf")).unwrap(),
        b"<xliff>v1</xliff>"
    );
    assert!(
        log.lock()
            .unwrap()
            .iter()
            .any(|p| matches!(p, Progress::Resources { bytes } if *bytes == offered.size))
    );
    assert_eq!(conn.folder.state().resources_stamp, Some(offered.stamp));
    assert!(
        !resources.join("key.pem").exists(),
        "the server's private key stays on the server"
    );
    assert!(!resources.join("cert.pem").exists());
    drop(conn);

    // Warm: nothing copied again.
    let (log, progress) = recorder();
    let conn = connect(c.options(&t.authority()), &progress).await.unwrap();
    assert_eq!(conn.fetched, Fetched::UpToDate);
    assert!(!copied_resources(&log));
    drop(conn);

    // A cached resource edited or removed by hand: noticed and copied again.
    std::fs::write(resources.join("Images/logo.png"), b"tampered").unwrap();
    std::fs::remove_file(resources.join("en.lproj/strings.xlf")).unwrap();
    let (log, progress) = recorder();
    let conn = connect(c.options(&t.authority()), &progress).await.unwrap();
    assert!(copied_resources(&log));
    assert_eq!(
        std::fs::read(resources.join("Images/logo.png")).unwrap(),
        logo
    );
    assert!(resources.join("en.lproj/strings.xlf").is_file());
    drop(conn);

    // Only a resource changes: the project stays, the folder is copied again.
    write(
        dir.path(),
        "Resources/en.lproj/strings.xlf",
        b"<xliff>v2</xliff>",
    );
    std::fs::remove_file(dir.path().join("Resources/Images/logo.png")).unwrap();
    t.server.reload().await.unwrap();
    let second = t.server.info().resources.unwrap();
    assert_ne!(second.stamp, offered.stamp);
    let (log, progress) = recorder();
    let conn = connect(c.options(&t.authority()), &progress).await.unwrap();
    assert_eq!(conn.fetched, Fetched::UpToDate);
    assert!(copied_resources(&log));
    assert_eq!(
        std::fs::read(resources.join("en.lproj/strings.xlf")).unwrap(),
        b"<xliff>v2</xliff>"
    );
    assert!(!resources.join("Images/logo.png").exists());
    drop(conn);

    // During a session: the server tells, the client copies the folder again at once.
    let conn = connect(c.options(&t.authority()), &|_| {}).await.unwrap();
    let (api, s) = (conn.api.clone().unwrap(), conn.session.clone().unwrap());
    let (_follower, mut updates) = follow(api, s.session.id.clone(), s.token.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    write(
        dir.path(),
        "Resources/en.lproj/strings.xlf",
        b"<xliff>v3</xliff>",
    );
    let stamp = t
        .server
        .reload()
        .await
        .map(|_| t.server.info().resources.unwrap().stamp)
        .unwrap();
    loop {
        match next_update(&mut updates).await {
            SessionUpdate::Event(SessionEvent::ResourcesUpdated { stamp: s }) => {
                assert_eq!(s, Some(stamp));
                break;
            }
            SessionUpdate::Event(SessionEvent::Heartbeat) => {}
            other => panic!("expected resources-updated, got {other:?}"),
        }
    }
    assert!(conn.update_resources(&|_| {}).await.unwrap());
    assert_eq!(
        std::fs::read(resources.join("en.lproj/strings.xlf")).unwrap(),
        b"<xliff>v3</xliff>"
    );
    assert!(
        !conn.update_resources(&|_| {}).await.unwrap(),
        "nothing more to copy"
    );
    conn.close().await;
    drop(conn);

    // The project has no Resources folder any more: neither has the copy.
    std::fs::remove_dir_all(dir.path().join("Resources")).unwrap();
    t.server.reload().await.unwrap();
    assert_eq!(t.server.info().resources, None);
    let conn = connect(c.options(&t.authority()), &|_| {}).await.unwrap();
    assert!(!resources.exists());
    assert_eq!(conn.folder.state().resources_stamp, None);
    drop(conn);
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_resumes_after_the_connection_dies() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    write(
        dir.path(),
        "Project/Sources/Forms/Main/Images/big.png",
        &noise(8_000_000, 7),
    );
    let t = start(dir.path(), config()).await;
    let size = t.server.info().archive_size;
    // A slow network (4 MB/s) whose connections die when told to.
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
    let Fetched::Full { bytes } = conn.fetched else {
        panic!("{:?}", conn.fetched)
    };
    let log = log.lock().unwrap().clone();
    assert!(
        log.iter().any(|p| matches!(p, Progress::Retrying { .. })),
        "it retried: {log:?}"
    );
    assert!(
        bytes < size + size / 20,
        "resumed, not restarted: {bytes} bytes for {size}"
    );
    assert_eq!(
        Stamp::of_file(&conn.folder.archive_path()).unwrap(),
        t.server.info().stamp
    );
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_checks_and_bad_servers() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let port = t.server.port();
    let c = Client::new();
    let mut o = c.options(&t.authority());
    o.trust_new = false;
    let e = connect(o.clone(), &|_| {}).await.unwrap_err();
    let ConnectError::NewIdentity {
        fingerprint, name, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(fingerprint, &t.server.info().fingerprint);
    assert_eq!(name, "Shop");
    o.trust_new = true;
    connect(o.clone(), &|_| {}).await.unwrap();
    o.trust_new = false;
    connect(o.clone(), &|_| {}).await.unwrap();
    t.server.shutdown().await;

    // Another server (another identity) on the same address and name: refused.
    let mut cfg = config();
    cfg.port = Some(port);
    let t2 = start(dir.path(), cfg).await;
    let e = connect(o.clone(), &|_| {}).await.unwrap_err();
    assert!(matches!(e, ConnectError::IdentityChanged { .. }), "{e:?}");
    assert!(e.to_string().contains("identity changed"));
    o.trust_new = true;
    assert!(
        matches!(
            connect(o.clone(), &|_| {}).await.unwrap_err(),
            ConnectError::IdentityChanged { .. }
        ),
        "trusting new ones is not accepting changed ones"
    );
    o.accept_changed_identity = true;
    connect(o.clone(), &|_| {}).await.unwrap();
    o.accept_changed_identity = false;
    connect(o, &|_| {}).await.unwrap();
    // A Recent link pinned to the old identity is refused too.
    let mut link = Link::remote("Shop", ServerPath::parse(&t2.authority()).unwrap());
    link.remote4d_fingerprint = Some("AB".repeat(32));
    let mut lo = ConnectOptions::new(Target::Link(Box::new(link)), c.env());
    lo.force_remote = true;
    assert!(matches!(
        connect(lo, &|_| {}).await.unwrap_err(),
        ConnectError::IdentityChanged { .. }
    ));

    // Wrong publication name, wrong port, not a Remote4D server, a local link.
    let mut wrong = c.options(&t2.authority());
    wrong.project = Some("Other".into());
    assert!(matches!(
        connect(wrong, &|_| {}).await.unwrap_err(),
        ConnectError::WrongProject { .. }
    ));
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert!(matches!(
        connect(c.options(&format!("127.0.0.1:{free}")), &|_| {})
            .await
            .unwrap_err(),
        ConnectError::Unreachable { .. }
    ));
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain_port = plain.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = plain.accept().await {
            use tokio::io::AsyncWriteExt;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")
                .await;
        }
    });
    let e = connect(c.options(&format!("127.0.0.1:{plain_port}")), &|_| {})
        .await
        .unwrap_err();
    // Recognised by the TLS error's type (rustls: not a TLS record), not by its text.
    assert!(matches!(e, ConnectError::NotRemote4d { .. }), "{e:?}");
    assert!(e.to_string().contains("does not speak TLS"), "{e}");
    let local = Link::default();
    assert!(matches!(
        connect(
            ConnectOptions::new(Target::Link(Box::new(local)), c.env()),
            &|_| {}
        )
        .await
        .unwrap_err(),
        ConnectError::NotRemote
    ));
    t2.server.shutdown().await;
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn passwords_hook_refusal_and_challenge() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    with_user(dir.path(), "alice", "s3cret");
    let hooks = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.hooks.open_connection = Some(vec![script(
        hooks.path(),
        "open.sh",
        r#"input=$(cat)
case "$input" in
  *'"userName":"Designer"'*) echo "The Designer may not connect remotely."; exit 1 ;;
  *'"answer":"123456"'*) echo '{"storage":{"ok":1}}' ;;
  *'"answer":null'*) echo '{"challenge":"Enter the code sent to your phone"}' ;;
  *) echo "Wrong code."; exit 1 ;;
esac"#,
    )]);
    let t = start(dir.path(), cfg).await;
    let c = Client::new();
    let mut o = c.options(&t.authority());
    o.user = Some("alice".into());
    o.password = Some("nope".into());
    let e = connect(o.clone(), &|_| {}).await.unwrap_err();
    assert!(matches!(e, ConnectError::Login(_)), "{e:?}");
    let mut designer = c.options(&t.authority());
    designer.user = Some("Designer".into());
    designer.password = Some("".into());
    // The Designer has no password here, so the login passes and the hook refuses.
    let e = connect(designer, &|_| {}).await.unwrap_err();
    assert!(
        matches!(&e, ConnectError::Refused(m) if m == "The Designer may not connect remotely."),
        "{e:?}"
    );
    o.password = Some("s3cret".into());
    let ConnectError::Challenge { id, prompt } = connect(o.clone(), &|_| {}).await.unwrap_err()
    else {
        panic!()
    };
    assert_eq!(prompt, "Enter the code sent to your phone");
    o.challenge = Some(ChallengeAnswer {
        id,
        answer: "123456".into(),
    });
    let conn = connect(o, &|_| {}).await.unwrap();
    assert_eq!(conn.session.as_ref().unwrap().storage, json!({"ok": 1}));
    assert_eq!(conn.session.as_ref().unwrap().session.user_name, "alice");
    t.server.shutdown().await;
}

async fn next_update(
    u: &mut (impl futures::Stream<Item = SessionUpdate> + Unpin),
) -> SessionUpdate {
    tokio::time::timeout(Duration::from_secs(20), u.next())
        .await
        .expect("an update in time")
        .expect("still following")
}

/// A TCP relay whose connections can all be cut at once (a network loss).
async fn relay(target: u16) -> (u16, tokio::sync::watch::Sender<u64>) {
    relay_with_rate(target, None).await
}

/// Like [`relay`], limiting the server-to-client rate to `rate` bytes per second.
async fn relay_with_rate(target: u16, rate: Option<u64>) -> (u16, tokio::sync::watch::Sender<u64>) {
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

#[tokio::test(flavor = "multi_thread")]
async fn session_events_storage_and_resume_after_a_network_loss() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let (port, cut) = relay(t.server.port()).await;
    let c = Client::new();
    let conn = connect(c.options(&format!("127.0.0.1:{port}")), &|_| {})
        .await
        .unwrap();
    let api = conn.api.clone().unwrap();
    let s = conn.session.clone().unwrap();
    let (_follower, mut updates) = follow(api.clone(), s.session.id.clone(), s.token.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        patch_storage(&api, &s.session.id, &json!({"cart": [1, 2]}))
            .await
            .unwrap(),
        json!({"cart": [1, 2]})
    );
    assert_eq!(
        storage(&api, &s.session.id).await.unwrap(),
        json!({"cart": [1, 2]})
    );
    assert!(matches!(
        next_update(&mut updates).await,
        SessionUpdate::Event(SessionEvent::StorageChanged { .. })
    ));

    // The server rebuilds: "a new version is available".
    write(dir.path(), "Project/Sources/Methods/m01.4dm", b"// v2\n");
    let stamp = t.server.reload().await.unwrap();
    loop {
        if let SessionUpdate::Event(SessionEvent::ProjectUpdated { stamp: s, .. }) =
            next_update(&mut updates).await
        {
            assert_eq!(s, stamp);
            break;
        }
    }

    // The network drops: reconnect with backoff, same session.
    cut.send(1).unwrap();
    let mut saw_reconnecting = false;
    loop {
        match next_update(&mut updates).await {
            SessionUpdate::Reconnecting { .. } => saw_reconnecting = true,
            SessionUpdate::Resumed => break,
            SessionUpdate::Ended { reason } => panic!("ended: {reason}"),
            SessionUpdate::Event(_) => {}
        }
    }
    assert!(saw_reconnecting);
    assert_eq!(
        storage(&api, &s.session.id).await.unwrap(),
        json!({"cart": [1, 2]}),
        "same session, same storage"
    );

    // Reconnecting (closing this connection first) gets only the delta.
    drop(_follower);
    conn.close().await;
    drop(conn);
    let again = connect(c.options(&format!("127.0.0.1:{port}")), &|_| {})
        .await
        .unwrap();
    assert!(
        matches!(again.fetched, Fetched::Delta { .. }),
        "{:?}",
        again.fetched
    );
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn same_machine_development_mode_with_save_all_and_locks() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let c = Client::new();
    let mut o = c.options(&t.authority());
    o.force_remote = false;
    let (log, progress) = recorder();
    let conn = connect(o.clone(), &progress).await.unwrap();
    assert_eq!(conn.mode, Mode::Development);
    assert_eq!(conn.fetched, Fetched::Direct);
    assert_eq!(
        std::fs::canonicalize(&conn.project_root).unwrap(),
        std::fs::canonicalize(dir.path()).unwrap()
    );
    assert!(log.lock().unwrap().contains(&Progress::CheckingSameMachine));
    assert!(
        !conn.folder.project_dir().exists(),
        "no .4dz copy in development mode"
    );
    assert!(
        conn.folder.user_preferences_dir().is_dir(),
        "user preferences live in the system folder"
    );
    assert!(
        !dir.path().read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".remote4d-proof")),
        "the proof file is gone"
    );
    let recent = Recent::new(c.env().favorites_dir()).list().unwrap();
    assert_eq!(recent[0].name, "Shop (development mode)");

    let dev = DevProject::new(conn.api.clone().unwrap(), conn.project_root.clone());
    let before = t.server.info().stamp;
    let r = dev
        .save_all(&[
            ("Project/Sources/Methods/m02.4dm".into(), b"// edited in development mode\n".to_vec()),
            (
                "Project/Sources/catalog.4DCatalog".into(),
                br#"<base name="Shop"><table name="Customers" id="1"><field name="ID" type="4" id="1"/><field name="Name" type="10" id="2"/></table></base>"#.to_vec(),
            ),
        ])
        .await
        .unwrap();
    // (The watcher may have rebuilt first; either way the new archive is current on return.)
    assert_ne!(r.stamp, before);
    assert_eq!(
        t.server.info().stamp,
        r.stamp,
        "Save all returns when the server has reloaded"
    );
    assert_eq!(
        std::fs::read(dir.path().join("Project/Sources/Methods/m02.4dm")).unwrap(),
        b"// edited in development mode\n"
    );
    assert!(
        std::fs::read_to_string(dir.path().join("Project/Sources/catalog.4DCatalog"))
            .unwrap()
            .contains("\"Name\"")
    );
    let locks = dev.locks().await.unwrap();
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].path, "Project/Sources/Methods/m02.4dm");

    // A second developer: the file is read-only for them until the first releases it.
    let c2 = Client::new();
    let mut o2 = c2.options(&t.authority());
    o2.force_remote = false;
    let conn2 = connect(o2, &|_| {}).await.unwrap();
    let dev2 = DevProject::new(conn2.api.clone().unwrap(), conn2.project_root.clone());
    let e = dev2
        .save_all(&[(
            "Project/Sources/Methods/m02.4dm".into(),
            b"// theirs\n".to_vec(),
        )])
        .await
        .unwrap_err();
    assert!(matches!(e, DevError::Locked { .. }), "{e:?}");
    assert_eq!(
        std::fs::read(dir.path().join("Project/Sources/Methods/m02.4dm")).unwrap(),
        b"// edited in development mode\n",
        "nothing overwritten"
    );
    assert!(matches!(
        dev2.save_all(&[("../escape.4dm".into(), vec![])])
            .await
            .unwrap_err(),
        DevError::BadPath(_)
    ));
    dev.unlock("Project/Sources/Methods/m02.4dm").await.unwrap();
    dev2.save_all(&[(
        "Project/Sources/Methods/m02.4dm".into(),
        b"// theirs\n".to_vec(),
    )])
    .await
    .unwrap();

    // Development mode from "another machine": a folder that is not the server's is refused.
    let elsewhere = tempfile::tempdir().unwrap();
    project(elsewhere.path());
    let mut o3 = Client::new().options(&t.authority());
    o3.shared_project_folder = Some(elsewhere.path().to_path_buf());
    let e = connect(o3, &|_| {}).await.unwrap_err();
    assert!(matches!(e, ConnectError::Development(_)), "{e:?}");
    // ... and the real folder (as a share would show it) is accepted.
    let mut o4 = Client::new().options(&t.authority());
    o4.shared_project_folder = Some(dir.path().to_path_buf());
    assert_eq!(connect(o4, &|_| {}).await.unwrap().mode, Mode::Development);
    t.server.shutdown().await;
}

#[test]
fn find_by_name_across_the_network() {
    if !in_private_network("find_by_name_across_the_network") {
        return;
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path());
        let mut cfg = config();
        cfg.publish = true;
        let t = start(dir.path(), cfg).await;
        let c = Client::new();
        let mut link = Link::remote(
            "Shop",
            ServerPath::parse(&format!(":{}", t.server.port())).unwrap(),
        );
        link.user_name = None;
        let mut o = ConnectOptions::new(Target::Link(Box::new(link)), c.env());
        o.force_remote = true;
        o.client_exe = "/opt/remote4d-test".into();
        // The fingerprint discovery announces is never a reason to trust: a first contact asks.
        let e = connect(o.clone(), &|_| {}).await.unwrap_err();
        assert!(matches!(e, ConnectError::NewIdentity { .. }), "{e:?}");
        o.trust_new = true;
        let conn = connect(o.clone(), &|_| {}).await.unwrap();
        assert_eq!(conn.info.as_ref().unwrap().publication_name, "Shop");
        drop(conn);
        o.trust_new = false;
        connect(o.clone(), &|_| {}).await.unwrap();
        // A second server with the same name is never joined silently.
        let other = tempfile::tempdir().unwrap();
        project(other.path());
        let mut cfg = config();
        cfg.publish = true;
        let t2 = start(other.path(), cfg).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let e = remote4d_core::client::find_by_name("Shop", None, Duration::from_secs(3))
            .await
            .unwrap_err();
        assert!(
            matches!(e, ConnectError::Ambiguous { count: 2, .. }),
            "{e:?}"
        );
        // With the server id pinned (as Recent keeps it), the right one is found.
        let id = t.server.info().server_id;
        let found = remote4d_core::client::find_by_name("Shop", Some(&id), Duration::from_secs(3))
            .await
            .unwrap();
        assert_eq!(found.port, t.server.port());
        t2.server.shutdown().await;

        // An impostor: the trusted server goes away and another one, with its own certificate,
        // publishes the same name (and whatever it likes in its announcement). Found by name,
        // it is refused as a changed identity, and the real pin stays.
        let known = std::fs::read(c.env().data_dir.join("known_servers.json")).unwrap();
        t.server.shutdown().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let impostor_dir = tempfile::tempdir().unwrap();
        project(impostor_dir.path());
        let mut cfg = config();
        cfg.publish = true;
        let impostor = start(impostor_dir.path(), cfg).await;
        let mut by_name = o.clone();
        by_name.target =
            Target::Address(ServerPath::parse(&format!(":{}", impostor.server.port())).unwrap());
        by_name.project = Some("Shop".into());
        for attempt in [o.clone(), by_name] {
            let e = connect(attempt, &|_| {}).await.unwrap_err();
            assert!(matches!(e, ConnectError::IdentityChanged { .. }), "{e:?}");
        }
        assert_eq!(
            std::fs::read(c.env().data_dir.join("known_servers.json")).unwrap(),
            known,
            "the pin of the real server is kept"
        );
        impostor.server.shutdown().await;
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_update_keeps_the_previous_version_usable() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let mut cfg: ServerConfig = config();
    cfg.keep_builds = 1;
    let t = start(dir.path(), cfg).await;
    let c = Client::new();
    let conn = connect(c.options(&t.authority()), &|_| {}).await.unwrap();
    let root = conn.project_root.clone();
    drop(conn);
    // Make the cache folder read-only: the next update cannot be written.
    write(dir.path(), "Project/Sources/Methods/m04.4dm", b"// v2\n");
    t.server.reload().await.unwrap();
    let cache = c.home.path().join("cache");
    let folder = cache.read_dir().unwrap().next().unwrap().unwrap().path();
    let locked = Unwritable::new(&folder);
    let result = connect(c.options(&t.authority()), &|_| {}).await;
    let exercised = locked.is_some();
    drop(locked);
    if exercised {
        let e = result.unwrap_err();
        assert!(
            matches!(e, ConnectError::Io { .. } | ConnectError::DiskFull { .. }),
            "{e:?}"
        );
    }
    assert!(
        root.join("Project/Sources/Methods/m04.4dm").is_file(),
        "the previous version is intact"
    );
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_update_download_is_retried() {
    let install = tempfile::tempdir().unwrap();
    let exe = install.path().join("remote4d");
    std::fs::write(&exe, b"the installed client").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let build = noise(256 * 1024, 7);
    let (t, offer, direct, key) = refused_with_an_update(dir.path(), build.clone()).await;
    // 128 KB/s: the first attempt takes 2 s, and the connection is cut after 0.7 s.
    let (port, cut) = relay_with_rate(t.server.port(), Some(128 * 1024)).await;
    let api = remote4d_core::client::ApiClient::new(
        &format!("127.0.0.1:{port}"),
        Some(&t.server.info().fingerprint),
    )
    .unwrap()
    .with_token(direct.token().unwrap().to_owned());
    let cutter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        cut.send(1).unwrap();
    });
    let previous =
        remote4d_core::client::update::install(&api, &offer, &exe, Some(&key.public_key()))
            .await
            .unwrap();
    cutter.await.unwrap();
    assert_eq!(std::fs::read(&exe).unwrap(), build);
    assert_eq!(std::fs::read(previous).unwrap(), b"the installed client");
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_is_installed_only_signed_by_the_publisher_and_for_logged_in_clients() {
    use remote4d_core::client::update::{UpdateError, install};
    use remote4d_core::signing::SigningKey;
    let install_dir = tempfile::tempdir().unwrap();
    let exe = install_dir.path().join("remote4d");
    std::fs::write(&exe, b"the installed client").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (t, offer, api, signer) = refused_with_an_update(dir.path(), noise(32 * 1024, 9)).await;
    let key = signer.public_key();
    let stranger = SigningKey::generate().unwrap().public_key();
    let mut unsigned = offer.clone();
    unsigned.signature = None;
    let mut relabelled = offer.clone();
    relabelled.version = "99.1".into();
    let mut old = offer.clone();
    old.version = "0.0.1".into();
    old.signature = Some(signer.sign("0.0.1", &old.sha256));
    for (o, k, what) in [
        (&offer, None, "no key"),
        (&offer, Some(&stranger), "another publisher"),
        (&unsigned, Some(&key), "unsigned"),
        (&relabelled, Some(&key), "signature of another version"),
    ] {
        let err = install(&api, o, &exe, k).await.unwrap_err();
        assert!(
            matches!(err, UpdateError::NoKey | UpdateError::Unsigned(_)),
            "{what}: {err:?}"
        );
    }
    let err = install(&api, &old, &exe, Some(&key)).await.unwrap_err();
    assert!(matches!(err, UpdateError::NotNewer { .. }), "{err:?}");
    assert_eq!(std::fs::read(&exe).unwrap(), b"the installed client");
    assert!(!install_dir.path().join("remote4d.new").exists());
    // Without a login (no session, no update token), the server gives nothing.
    let anonymous =
        remote4d_core::client::ApiClient::new(&t.authority(), Some(&t.server.info().fingerprint))
            .unwrap();
    for path in ["/api/v1/client/update", "/api/v1/client/update/binary"] {
        let status = anonymous
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401, "{path}");
    }
    t.server.shutdown().await;
}

/// A server (on a project in `dir`) that accepts only clients 99.0 and up and offers `build`;
/// this client's connection is refused with that offer. Returns the server, the offer, and an
/// API client pinned to it.
async fn refused_with_an_update(
    dir: &Path,
    build: Vec<u8>,
) -> (
    TestServer,
    remote4d_core::protocol::UpdateOffer,
    remote4d_core::client::ApiClient,
    remote4d_core::signing::SigningKey,
) {
    project(dir);
    let path = dir.join("new-client");
    let sha = Stamp::of_bytes(&build).to_string();
    std::fs::write(&path, build).unwrap();
    let key = remote4d_core::signing::SigningKey::generate().unwrap();
    std::fs::write(dir.join("new-client.sig"), key.sign("99.0", &sha)).unwrap();
    let mut cfg = config();
    cfg.client_update = Some(remote4d_core::server::config::ClientUpdateConfig {
        min_version: Some("99.0".into()),
        max_version: None,
        version: "99.0".into(),
        build: path,
        signature: None,
    });
    let t = start(dir, cfg).await;
    let c = Client::new();
    let e = connect(c.options(&t.authority()), &|_| {})
        .await
        .unwrap_err();
    let ConnectError::ClientVersion {
        offer: Some(offer),
        address,
        fingerprint,
        message,
        update_token: Some(token),
    } = e
    else {
        panic!("expected a client-version refusal, got {e:?}")
    };
    assert!(message.contains("99.0"), "{message}");
    let api = remote4d_core::client::ApiClient::new(&address, Some(&fingerprint))
        .unwrap()
        .with_token(token);
    (t, *offer, api, key)
}

/// Makes `folder` unwritable until dropped: mode 0555 for a user; for root (whom modes do not
/// stop), the immutable attribute (`chattr +i`, which stops root too). None when neither works
/// here (a file system without attributes), said on stderr.
struct Unwritable(PathBuf, bool);

impl Unwritable {
    fn new(folder: &Path) -> Option<Self> {
        use std::os::unix::fs::PermissionsExt;
        if !nix_is_root() {
            std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o555)).unwrap();
            return Some(Self(folder.to_path_buf(), false));
        }
        let ok = std::process::Command::new("chattr")
            .arg("+i")
            .arg(folder)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!(
                "note: running as root where chattr +i does not work: the permission failure is not exercised"
            );
            return None;
        }
        Some(Self(folder.to_path_buf(), true))
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.1 {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.0)
                .status();
        } else {
            let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_update_without_write_permission_leaves_the_installed_client_working() {
    let install = tempfile::tempdir().unwrap();
    let exe = install.path().join("remote4d");
    std::fs::write(&exe, b"the installed client").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (t, offer, api, key) = refused_with_an_update(dir.path(), noise(64 * 1024, 5)).await;
    let Some(locked) = Unwritable::new(install.path()) else {
        t.server.shutdown().await;
        return;
    };
    let err = remote4d_core::client::update::install(&api, &offer, &exe, Some(&key.public_key()))
        .await
        .unwrap_err();
    drop(locked);
    let text = err.to_string();
    assert!(
        matches!(
            err,
            remote4d_core::client::update::UpdateError::Install { .. }
        ),
        "{err:?}"
    );
    assert!(text.contains("may not write in"), "{text}");
    assert!(text.contains("unchanged"), "{text}");
    assert_eq!(std::fs::read(&exe).unwrap(), b"the installed client");
    assert!(!install.path().join("remote4d.new").exists());
    assert!(!install.path().join("remote4d.previous").exists());
    // Once the folder is writable again, the same offer installs.
    let previous =
        remote4d_core::client::update::install(&api, &offer, &exe, Some(&key.public_key()))
            .await
            .unwrap();
    assert_eq!(std::fs::read(&previous).unwrap(), b"the installed client");
    assert_eq!(std::fs::read(&exe).unwrap(), noise(64 * 1024, 5));
    t.server.shutdown().await;
}

fn nix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false)
}

#[test]
fn a_client_update_that_does_not_fit_leaves_the_installed_client_working() {
    if !in_namespaces(
        "a_client_update_that_does_not_fit_leaves_the_installed_client_working",
        &["--net", "--mount"],
    ) {
        return;
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        // A tiny disk holding the installed client.
        let disk = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(disk.path())
            .status()
            .unwrap();
        assert!(status.success(), "mount a tmpfs");
        let exe = disk.path().join("remote4d");
        std::fs::write(&exe, b"the installed client").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (t, offer, api, key) = refused_with_an_update(dir.path(), noise(512 * 1024, 3)).await;
        let err =
            remote4d_core::client::update::install(&api, &offer, &exe, Some(&key.public_key()))
                .await
                .unwrap_err();
        assert!(err.to_string().contains("disk is full"), "{err}");
        assert!(err.to_string().contains("unchanged"), "{err}");
        assert_eq!(std::fs::read(&exe).unwrap(), b"the installed client");
        assert!(
            !disk.path().join("remote4d.new").exists(),
            "no partial file left"
        );
        t.server.shutdown().await;
        let _ = std::process::Command::new("umount")
            .arg(disk.path())
            .status();
    });
}

/// A name that resolves to nothing is said plainly (recognised by the resolver's error type);
/// in a private network namespace, so the lookup never leaves the machine.
#[test]
fn a_name_that_resolves_to_nothing_is_said_plainly() {
    if !in_private_network("a_name_that_resolves_to_nothing_is_said_plainly") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let api =
            remote4d_core::client::ApiClient::new("no-such-server.invalid:19813", None).unwrap();
        let e = api.info().await.unwrap_err();
        assert!(
            matches!(e, remote4d_core::client::RequestError::Unreachable { .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("could not be found"), "{e}");
        let c = Client::new();
        let e = connect(c.options("no-such-server.invalid"), &|_| {})
            .await
            .unwrap_err();
        assert!(matches!(e, ConnectError::Unreachable { .. }), "{e:?}");
        assert!(e.to_string().contains("could not be found"), "{e}");
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_identity_is_reported_as_data() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let pinned = "AB:".repeat(31) + "AB";
    let api = remote4d_core::client::ApiClient::new(&t.authority(), Some(&pinned)).unwrap();
    let e = api.info().await.unwrap_err();
    let remote4d_core::client::RequestError::IdentityMismatch {
        expected,
        presented,
        ..
    } = &e
    else {
        panic!("expected a mismatch, got {e:?}")
    };
    assert_eq!(expected, &pinned);
    assert_eq!(presented, &t.server.info().fingerprint);
    let e = ConnectError::from(e);
    assert!(
        matches!(&e, ConnectError::IdentityChanged { presented, .. } if *presented == t.server.info().fingerprint),
        "the new fingerprint, not a sentence: {e:?}"
    );
    // The right pin works on the same kind of client.
    remote4d_core::client::ApiClient::new(&t.authority(), Some(&t.server.info().fingerprint))
        .unwrap()
        .info()
        .await
        .unwrap();
    t.server.shutdown().await;
}
