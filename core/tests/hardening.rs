//! Regressions of the security review (issue 10), each against a real server over loopback:
//! edit locks that outlived their session, users that were never re-read, development mode for
//! anyone, uploads read before they were authorised, storage without a limit.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use remote4d_core::client::devmode::{DevError, DevProject};
use remote4d_core::client::{ConnectError, ConnectOptions, Mode, Target, connect};
use remote4d_core::environment::Environment;
use remote4d_core::link::ServerPath;
use remote4d_core::protocol::ErrorCode;

fn options(home: &tempfile::TempDir, authority: &str) -> ConnectOptions {
    let mut o = ConnectOptions::new(
        Target::Address(ServerPath::parse(authority).unwrap()),
        Environment::portable(home.path()),
    );
    o.trust_new = true;
    o.force_remote = true;
    o.client_exe = "/opt/remote4d-test".into();
    o
}

fn developer(
    home: &tempfile::TempDir,
    authority: &str,
    user: Option<(&str, &str)>,
) -> ConnectOptions {
    let mut o = options(home, authority);
    o.force_remote = false;
    o.development = true;
    if let Some((u, p)) = user {
        o.user = Some(u.into());
        o.password = Some(p.into());
    }
    o
}

const FILE: &str = "Project/Sources/Methods/m03.4dm";

#[tokio::test(flavor = "multi_thread")]
async fn edit_locks_end_with_their_session() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let (h1, h2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = connect(developer(&h1, &t.authority(), None), &|_| {})
        .await
        .unwrap();
    let b = connect(developer(&h2, &t.authority(), None), &|_| {})
        .await
        .unwrap();
    let dev_a = DevProject::new(a.api.clone().unwrap(), a.project_root.clone());
    let dev_b = DevProject::new(b.api.clone().unwrap(), b.project_root.clone());
    dev_a
        .save_all(&[(FILE.into(), b"// a\n".to_vec())])
        .await
        .unwrap();
    let held = dev_b
        .save_all(&[(FILE.into(), b"// b\n".to_vec())])
        .await
        .unwrap_err();
    assert!(matches!(held, DevError::Locked { .. }), "{held:?}");

    // A's session ends (closed): its locks go with it.
    a.close().await;
    dev_b
        .save_all(&[(FILE.into(), b"// b\n".to_vec())])
        .await
        .unwrap();
    assert_eq!(dev_b.locks().await.unwrap().len(), 1);

    // B is dropped by the administrator: a third developer can edit.
    let h3 = tempfile::tempdir().unwrap();
    let c = connect(developer(&h3, &t.authority(), None), &|_| {})
        .await
        .unwrap();
    let dev_c = DevProject::new(c.api.clone().unwrap(), c.project_root.clone());
    let token = std::fs::read_to_string(t.server.admin_token_path()).unwrap();
    let admin = t.client().with_token(token.lines().next().unwrap());
    let id = b.session.as_ref().unwrap().session.id.clone();
    admin
        .send(
            reqwest::Method::POST,
            "/api/v1/admin/drop",
            Some(&serde_json::json!({ "session_id": id })),
        )
        .await
        .unwrap();
    eventually(10, || {
        let dev_c = dev_c.clone();
        async move {
            dev_c
                .save_all(&[(FILE.into(), b"// c\n".to_vec())])
                .await
                .ok()
        }
    })
    .await;
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_to_the_users_apply_at_once() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    with_user(dir.path(), "bob", "secret");
    // The watcher sees the users file; with it off, `reload` re-reads it.
    for watch in [true, false] {
        let mut cfg = config();
        cfg.watch = watch;
        let t = start(dir.path(), cfg).await;
        let home = tempfile::tempdir().unwrap();
        let mut o = options(&home, &t.authority());
        o.user = Some("bob".into());
        o.password = Some("secret".into());
        let conn = connect(o.clone(), &|_| {}).await.unwrap();
        // Bob's password changes: the old one no longer opens a session.
        with_user(dir.path(), "bob", "changed");
        if !watch {
            t.server.reload().await.unwrap();
        }
        eventually(10, || {
            let o = o.clone();
            async move {
                match connect(o, &|_| {}).await {
                    Err(ConnectError::Login(e)) if e.code == ErrorCode::WrongPassword => Some(()),
                    _ => None,
                }
            }
        })
        .await;
        let mut new = o.clone();
        new.password = Some("changed".into());
        connect(new, &|_| {}).await.unwrap().close().await;
        // Bob is removed: refused, and his open session ends.
        write(
            dir.path(),
            "Settings/directory.json",
            br#"{"users":{"designer":{"alias":"Designer","password":"$2y$04$abcdefghijklmnopqrstuu5Ek1pW2Grj0hZQZXg5s2WiQb4Y8mN1S"}}}"#,
        );
        if !watch {
            t.server.reload().await.unwrap();
        }
        let api = conn.api.clone().unwrap();
        let id = conn.session.as_ref().unwrap().session.id.clone();
        eventually(10, || {
            let api = api.clone();
            let id = id.clone();
            async move {
                api.json::<(), serde_json::Value>(
                    reqwest::Method::GET,
                    &format!("/api/v1/sessions/{id}"),
                    None,
                )
                .await
                .is_err()
                .then_some(())
            }
        })
        .await;
        let mut gone = o.clone();
        gone.password = Some("changed".into());
        assert!(matches!(
            connect(gone, &|_| {}).await.unwrap_err(),
            ConnectError::Login(_)
        ));
        t.server.shutdown().await;
        with_user(dir.path(), "bob", "secret");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn development_mode_needs_design_rights() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let hash = bcrypt::hash("pw", 4).unwrap().replacen("$2b$", "$2y$", 1);
    let users = format!(
        r#"{{"users":{{"designer":{{"alias":"Designer","password":"{hash}"}},"bob":{{"password":"{hash}"}}}}}}"#
    );
    write(dir.path(), "Settings/directory.json", users.as_bytes());
    let t = start(dir.path(), config()).await;

    // Bob: asked for, refused with the reason; on the same machine, the server's build instead.
    let hb = tempfile::tempdir().unwrap();
    let e = connect(developer(&hb, &t.authority(), Some(("bob", "pw"))), &|_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ConnectError::Development(why) if why.to_string().contains("may not work in development mode")),
        "{e:?}"
    );
    let mut auto = developer(&hb, &t.authority(), Some(("bob", "pw")));
    auto.development = false;
    let bob = connect(auto, &|_| {}).await.unwrap();
    assert_eq!(bob.mode, Mode::Remote);
    // ... and he cannot write the users file (no development session).
    let resp = bob
        .api
        .as_ref()
        .unwrap()
        .request(
            reqwest::Method::PUT,
            "/api/v1/devmode/file?path=Settings/directory.json",
        )
        .body(r#"{"users":{}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // The Designer may; but not lock everybody out.
    let hd = tempfile::tempdir().unwrap();
    let designer = connect(
        developer(&hd, &t.authority(), Some(("Designer", "pw"))),
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(designer.mode, Mode::Development);
    let dev = DevProject::new(designer.api.clone().unwrap(), designer.project_root.clone());
    let e = dev
        .save_all(&[(
            "Settings/directory.json".into(),
            br#"{"users":{}}"#.to_vec(),
        )])
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("last user with design rights"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Settings/directory.json")).unwrap(),
        users,
        "nothing was written"
    );
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_is_refused_before_its_body_is_read() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    // 1 MB every 50 ms, for ever: only a server that reads it all before deciding would wait.
    let body = futures::stream::unfold((), move |()| {
        let counter = Arc::clone(&counter);
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            counter.fetch_add(1 << 20, Ordering::SeqCst);
            Some((Ok::<_, std::io::Error>(vec![b' '; 1 << 20]), ()))
        }
    });
    let resp = tokio::time::timeout(
        Duration::from_secs(20),
        t.client()
            .request(
                reqwest::Method::PUT,
                "/api/v1/devmode/file?path=Settings/directory.json",
            )
            .bearer_auth("not-a-session")
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    )
    .await
    .expect("the server answers before the body ends")
    .unwrap();
    assert_eq!(resp.status(), 401);
    let read = pulled.load(Ordering::SeqCst);
    assert!(
        read < (16 << 20),
        "{read} bytes were sent before the refusal"
    );
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn session_storage_is_limited() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let mut cfg = config();
    cfg.limits.session_storage_bytes = 10_000;
    cfg.limits.session_storage_total_bytes = 25_000;
    let t = start(dir.path(), cfg).await;
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let home = tempfile::tempdir().unwrap();
        let conn = connect(options(&home, &t.authority()), &|_| {})
            .await
            .unwrap();
        sessions.push((home, conn));
    }
    let put = |i: usize, size: usize| {
        let api = sessions[i].1.api.clone().unwrap();
        let id = sessions[i].1.session.as_ref().unwrap().session.id.clone();
        async move {
            let resp = api
                .request(
                    reqwest::Method::PUT,
                    &format!("/api/v1/sessions/{id}/storage"),
                )
                .json(&serde_json::json!({ "data": "x".repeat(size) }))
                .send()
                .await
                .unwrap();
            resp.status().as_u16()
        }
    };
    assert_eq!(
        put(0, 20_000).await,
        413,
        "larger than one session may keep"
    );
    assert_eq!(put(0, 9_000).await, 200);
    assert_eq!(put(1, 9_000).await, 200);
    assert_eq!(put(2, 9_000).await, 507, "all sessions together are full");
    assert_eq!(put(0, 10).await, 200, "shrinking frees room");
    assert_eq!(put(2, 9_000).await, 200);
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_offline_copy_is_offered_only_when_there_is_a_verified_one() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let home = tempfile::tempdir().unwrap();
    let mut o = options(&home, &t.authority());
    o.project = Some("Shop".into());
    assert!(
        !remote4d_core::client::offline_copy_exists(&o),
        "never reached: nothing to open"
    );
    let conn = connect(o.clone(), &|_| {}).await.unwrap();
    let root = conn.project_root.clone();
    conn.close().await;
    drop(conn);
    t.server.shutdown().await;
    assert!(remote4d_core::client::offline_copy_exists(&o));
    // A damaged copy is not offered either.
    std::fs::remove_file(root.join("Project/Sources/Methods/m01.4dm")).unwrap();
    assert!(!remote4d_core::client::offline_copy_exists(&o));
    // Another server, never reached, at another port.
    let mut other = options(&home, "127.0.0.1:9");
    other.project = Some("Shop".into());
    assert!(!remote4d_core::client::offline_copy_exists(&other));
}

/// A hostile server with its own certificate, serving `router` on 127.0.0.1; returns its port.
async fn hostile_tls_server(router: axum::Router) -> u16 {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["hostile".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let router = router.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        tower::ServiceExt::oneshot(router.clone(), req.map(axum::body::Body::new))
                    },
                );
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_server_cannot_relay_the_real_servers_proof() {
    use axum::routing::post;
    // The real server S runs on this machine; a client here can read S's project folder.
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    // The attacker has a session on S (open access) and runs H, a server of its own that the
    // victim on S's machine connects to. H asks S for a proof and hands it to the victim,
    // hoping to forward the victim's answer to S and get development mode there.
    let attacker_home = tempfile::tempdir().unwrap();
    let attacker = connect(options(&attacker_home, &t.authority()), &|_| {})
        .await
        .unwrap();
    let to_s = attacker.api.clone().unwrap();
    let forwarded = Arc::new(AtomicUsize::new(0));
    let (s1, s2, f) = (to_s.clone(), to_s.clone(), Arc::clone(&forwarded));
    let router = axum::Router::new()
        .route(
            "/api/v1/devmode/proof",
            post(move || {
                let s = s1.clone();
                async move {
                    let v: serde_json::Value = s
                        .json::<(), _>(reqwest::Method::POST, "/api/v1/devmode/proof", None)
                        .await
                        .unwrap();
                    axum::Json(v)
                }
            }),
        )
        .route(
            "/api/v1/devmode/confirm",
            post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let s = s2.clone();
                let f = Arc::clone(&f);
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    let status = s
                        .send(
                            reqwest::Method::POST,
                            "/api/v1/devmode/confirm",
                            Some(&body),
                        )
                        .await
                        .map_or(401, |s| s.as_u16());
                    http::StatusCode::from_u16(status).unwrap()
                }
            }),
        );
    let port = hostile_tls_server(router).await;
    let victim = remote4d_core::client::ApiClient::new(&format!("127.0.0.1:{port}"), None)
        .unwrap()
        .with_token("victim-session");
    let e = remote4d_core::client::devmode::prove(&victim, "s", None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            remote4d_core::client::devmode::ProofError::OtherServer { .. }
        ),
        "{e:?}"
    );
    assert_eq!(
        forwarded.load(Ordering::SeqCst),
        0,
        "the victim sent no answer to relay"
    );
    // The attacker's session on S did not become a development session.
    let status = to_s
        .request(reqwest::Method::GET, "/api/v1/devmode/locks")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    t.server.shutdown().await;
}
