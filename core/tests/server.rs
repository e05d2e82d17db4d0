//! The project server over loopback with a real TLS client.

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use remote4d_core::archive::{self, Limits, Stamp};
use remote4d_core::protocol::{
    ChallengeAnswer, ErrorCode, Manifest, OpenSession, OpenSessionResponse, ReloadResult,
    SessionEvent, SessionOpened, SseDecoder,
};
use reqwest::{Method, StatusCode, header};
use serde_json::json;

fn hello() -> OpenSession {
    OpenSession {
        machine_name: "test-machine".into(),
        system_user_name: "tester".into(),
        client_id: "client-1".into(),
        client_version: "test".into(),
        ..OpenSession::default()
    }
}

async fn open(client: &remote4d_core::client::ApiClient, req: &OpenSession) -> SessionOpened {
    match client
        .json(Method::POST, "/api/v1/sessions", Some(req))
        .await
        .unwrap()
    {
        OpenSessionResponse::Opened(o) => o,
        other => panic!("expected an open session, got {other:?}"),
    }
}

async fn api_error(client: &remote4d_core::client::ApiClient, req: &OpenSession) -> ErrorCode {
    client
        .json::<_, OpenSessionResponse>(Method::POST, "/api/v1/sessions", Some(req))
        .await
        .unwrap_err()
        .code()
        .expect("an API error")
}

#[tokio::test(flavor = "multi_thread")]
async fn archive_is_served_with_etag_conditional_requests_and_ranges() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let c = t.client();
    let info = c.info().await.unwrap();
    assert_eq!(info.product, "Remote4D");
    assert_eq!(info.publication_name, "Shop");
    assert!(!info.login_required);
    assert_eq!(c.seen_fingerprint().unwrap(), info.fingerprint);
    // No Resources folder: none offered.
    assert_eq!(info.resources, None);
    let resp = c
        .request(Method::GET, "/api/v1/project/resources")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let resp = c
        .request(Method::GET, "/api/v1/project/archive")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.version(), reqwest::Version::HTTP_2, "HTTP/2 by ALPN");
    let etag = resp.headers()[header::ETAG].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", info.stamp));
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(
        Stamp::of_bytes(&bytes),
        info.stamp,
        "the archive's SHA-256 is the stamp"
    );
    assert_eq!(bytes.len() as u64, info.archive_size);

    let resp = c
        .request(Method::GET, "/api/v1/project/archive")
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);

    let resp = c
        .request(Method::GET, "/api/v1/project/archive")
        .header(header::RANGE, "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        resp.headers()[header::CONTENT_RANGE],
        format!("bytes 100-199/{}", bytes.len()).as_str()
    );
    assert_eq!(resp.bytes().await.unwrap(), bytes.slice(100..200));

    let resp = c
        .request(Method::GET, "/api/v1/project/archive")
        .header(header::RANGE, format!("bytes={}-", bytes.len() + 5))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    // A stamped URL is immutable; unknown and malformed stamps are refused clearly.
    let resp = c
        .request(
            Method::GET,
            &format!("/api/v1/project/archive?stamp={}", info.stamp),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let e = c
        .send::<()>(
            Method::GET,
            "/api/v1/project/archive?stamp=../../etc/passwd",
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));
    let e = c
        .send::<()>(
            Method::GET,
            &format!("/api/v1/project/archive?stamp={}", "0".repeat(64)),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::StampGone));

    let m: Manifest = c
        .json::<(), _>(Method::GET, "/api/v1/project/manifest", None)
        .await
        .unwrap();
    assert_eq!(m.stamp, info.stamp);
    assert!(
        m.entries
            .iter()
            .any(|e| e.name == "Project/Sources/Methods/m00.4dm")
    );

    // HTTP/1.1 works too.
    let mut tls =
        remote4d_core::client::tls::client_config(Some(&info.fingerprint), &Default::default())
            .unwrap();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let h1 = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .http1_only()
        .build()
        .unwrap();
    let resp = h1
        .get(format!("https://{}/api/v1/info", t.authority()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert_eq!(resp.status(), StatusCode::OK);
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_resources_folder_is_served_as_a_verified_archive() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    write(dir.path(), "Resources/Images/logo.svg", b"<svg/>");
    let t = start(dir.path(), config()).await;
    let c = t.client();
    let offered = c.info().await.unwrap().resources.unwrap();
    let resp = c
        .request(Method::GET, "/api/v1/project/resources")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let etag = resp.headers()[header::ETAG].to_str().unwrap().to_owned();
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(Stamp::of_bytes(&bytes), offered.stamp);
    assert_eq!(bytes.len() as u64, offered.size);
    let zip = dir.path().join("r.zip");
    std::fs::write(&zip, &bytes).unwrap();
    let a = archive::Archive::open(&zip, &Limits::default()).unwrap();
    let names: Vec<&str> = a.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Resources/",
            "Resources/Images/",
            "Resources/Images/logo.svg"
        ]
    );
    let resp = c
        .request(Method::GET, "/api/v1/project/resources")
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    let resp = c
        .request(
            Method::GET,
            &format!("/api/v1/project/resources?stamp={}", "0".repeat(64)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::GONE);
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_storage_events_reload_and_delta() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let c = t.client();
    let first = c.info().await.unwrap();
    let old_archive = dir.path().join("../old.4dz");
    let bytes = c
        .request(Method::GET, "/api/v1/project/archive")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    std::fs::write(&old_archive, &bytes).unwrap();

    let s = open(&c, &hello()).await;
    assert_eq!(s.session.kind, "remote");
    assert_eq!(s.session.user_name, "Designer");
    assert_eq!(s.session.machine_name, "test-machine");
    assert_eq!(s.session.persistent_id, "client-1");
    let id = s.session.id.clone();
    let sc = c.clone().with_token(s.token.clone());

    // Events: the first is a heartbeat, then what happens.
    let resp = sc
        .request(Method::GET, &format!("/api/v1/sessions/{id}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = resp.bytes_stream();
    let mut decoder = SseDecoder::default();
    let mut pending: Vec<SessionEvent> = Vec::new();
    macro_rules! next_event {
        () => {
            loop {
                if !pending.is_empty() {
                    break pending.remove(0);
                }
                let chunk = tokio::time::timeout(Duration::from_secs(15), body.next())
                    .await
                    .expect("an event in time")
                    .unwrap()
                    .unwrap();
                pending.extend(
                    decoder
                        .push(&chunk)
                        .into_iter()
                        .filter(|e| *e != SessionEvent::Heartbeat),
                );
            }
        };
    }
    // The stream opens with a heartbeat (filtered by next_event!): check it raw.
    let first_chunk = body.next().await.unwrap().unwrap();
    assert_eq!(decoder.push(&first_chunk), [SessionEvent::Heartbeat]);

    // Storage: replace, merge-patch, read; each change is pushed.
    let v: serde_json::Value = sc
        .json(
            Method::PUT,
            &format!("/api/v1/sessions/{id}/storage"),
            Some(&json!({"a": 1, "b": {"c": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(v, json!({"a": 1, "b": {"c": 2}}));
    let v: serde_json::Value = sc
        .json(
            Method::PATCH,
            &format!("/api/v1/sessions/{id}/storage"),
            Some(&json!({"b": {"c": null, "d": 3}})),
        )
        .await
        .unwrap();
    assert_eq!(v, json!({"a": 1, "b": {"d": 3}}));
    assert!(matches!(next_event!(), SessionEvent::StorageChanged { .. }));
    assert_eq!(
        next_event!(),
        SessionEvent::StorageChanged {
            storage: json!({"a": 1, "b": {"d": 3}})
        }
    );
    let e = sc
        .send(
            Method::PUT,
            &format!("/api/v1/sessions/{id}/storage"),
            Some(&json!([1, 2])),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));

    // Editing a method on the server: the watcher rebuilds and the client hears of it.
    write(
        dir.path(),
        "Project/Sources/Methods/m03.4dm",
        b"// changed on the server\n",
    );
    let new_stamp = loop {
        if let SessionEvent::ProjectUpdated { stamp, .. } = next_event!() {
            break stamp;
        }
    };
    assert_ne!(new_stamp, first.stamp);
    assert_eq!(c.info().await.unwrap().stamp, new_stamp);

    // Something the archive leaves out does not trigger a rebuild.
    write(dir.path(), "Project/DerivedData/cache.json", b"{}");
    write(dir.path(), "Project/Sources/Methods/m03.4dm~", b"backup");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(c.info().await.unwrap().stamp, new_stamp);

    // The delta from the old stamp rebuilds exactly the new archive.
    let resp = sc
        .request(
            Method::GET,
            &format!("/api/v1/project/delta?from={}", first.stamp),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-remote4d-changed"], "1");
    let delta = resp.bytes().await.unwrap();
    assert!((delta.len() as u64) < c.info().await.unwrap().archive_size / 3);
    let delta_file = dir.path().join("../delta.zip");
    std::fs::write(&delta_file, &delta).unwrap();
    let rebuilt = dir.path().join("../rebuilt.4dz");
    let (_, stamp) =
        archive::apply_delta(&old_archive, &delta_file, &rebuilt, &Limits::default()).unwrap();
    assert_eq!(stamp, new_stamp);
    let resp = sc
        .request(
            Method::GET,
            &format!("/api/v1/project/delta?from={new_stamp}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);

    // Reload on demand returns when the archive is ready.
    write(dir.path(), "Project/Sources/Methods/new.4dm", b"// added\n");
    let r: ReloadResult = sc
        .json::<(), _>(Method::POST, "/api/v1/project/reload?wait=true", None)
        .await
        .unwrap();
    assert!(r.changed || r.stamp != new_stamp);
    assert_eq!(c.info().await.unwrap().stamp, r.stamp);
    let e = c
        .send::<()>(Method::POST, "/api/v1/project/reload?wait=true", None)
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some(ErrorCode::NotAuthorized),
        "reload needs a token"
    );

    // Close: the session is gone.
    assert_eq!(
        sc.send::<()>(Method::DELETE, &format!("/api/v1/sessions/{id}"), None)
            .await
            .unwrap(),
        StatusCode::NO_CONTENT
    );
    let e = sc
        .send::<()>(Method::GET, &format!("/api/v1/sessions/{id}"), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UnknownSession));
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logins_are_checked_and_throttled() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let hash = with_user(dir.path(), "alice", "s3cret");
    let mut cfg = config();
    cfg.login.max_failures = 3;
    let t = start(dir.path(), cfg).await;
    let c = t.client();
    assert!(c.info().await.unwrap().login_required);
    // The project's content is not served without a session.
    let e = c
        .send::<()>(Method::GET, "/api/v1/project/archive", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UnknownSession));

    let mut req = hello();
    req.user_name = Some("Alice".into());
    req.password = Some("s3cret".into());
    let s = open(&c, &req).await;
    assert_eq!(s.session.user_name, "alice");
    let sc = c.clone().with_token(s.token);
    assert_eq!(
        sc.send::<()>(Method::GET, "/api/v1/project/manifest", None)
            .await
            .unwrap(),
        StatusCode::OK
    );

    // A .4DLink md5_password is the stored hash itself.
    let mut by_hash = hello();
    by_hash.user_name = Some("alice".into());
    by_hash.password_hash = Some(hash);
    open(&c, &by_hash).await;

    req.password = Some("wrong".into());
    for _ in 0..3 {
        assert_eq!(api_error(&c, &req).await, ErrorCode::WrongPassword);
    }
    req.password = Some("s3cret".into());
    assert_eq!(
        api_error(&c, &req).await,
        ErrorCode::TooManyAttempts,
        "even the right password waits"
    );
    t.server.shutdown().await;
}

fn script(dir: &std::path::Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn open_hook_refuses_fills_storage_and_challenges() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let hooks = tempfile::tempdir().unwrap();
    // Refuses user "mallory", challenges machine "phone", fills storage otherwise.
    let hook = script(
        hooks.path(),
        "open.sh",
        r#"input=$(cat)
case "$input" in
  *'"machineName":"blocked"'*) echo "Connections from this machine are not allowed between 2 and 4 am."; exit 1 ;;
  *'"machineName":"phone"'*)
    case "$input" in
      *'"answer":"424242"'*) echo '{"storage":{"verified":true}}' ;;
      *'"answer":null'*) echo '{"challenge":"Enter the code sent to your phone","state":{"sent":true}}' ;;
      *) echo "Wrong code."; exit 3 ;;
    esac ;;
  *) echo '{"storage":{"greeting":"hello","plan":"gold"}}' ;;
esac"#,
    );
    let closed = hooks.path().join("closed.log");
    let close = script(
        hooks.path(),
        "close.sh",
        &format!("cat >> {}", closed.display()),
    );
    let mut cfg = config();
    cfg.hooks.open_connection = Some(vec![hook]);
    cfg.hooks.close_connection = Some(vec![close]);
    let t = start(dir.path(), cfg).await;
    let c = t.client();

    let s = open(&c, &hello()).await;
    assert_eq!(s.storage, json!({"greeting": "hello", "plan": "gold"}));
    let sc = c.clone().with_token(s.token.clone());
    sc.send::<()>(
        Method::DELETE,
        &format!("/api/v1/sessions/{}", s.session.id),
        None,
    )
    .await
    .unwrap();
    let log = eventually(5, || async {
        std::fs::read_to_string(&closed)
            .ok()
            .filter(|l| !l.is_empty())
    })
    .await;
    assert!(
        log.contains("\"event\":\"close\"") && log.contains(&s.session.id),
        "{log}"
    );

    let mut blocked = hello();
    blocked.machine_name = "blocked".into();
    let e = c
        .json::<_, OpenSessionResponse>(Method::POST, "/api/v1/sessions", Some(&blocked))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Refused));
    assert_eq!(
        e.to_string(),
        "Connections from this machine are not allowed between 2 and 4 am."
    );

    let mut phone = hello();
    phone.machine_name = "phone".into();
    let OpenSessionResponse::Challenge(ch) = c
        .json(Method::POST, "/api/v1/sessions", Some(&phone))
        .await
        .unwrap()
    else {
        panic!("expected a challenge")
    };
    assert_eq!(ch.prompt, "Enter the code sent to your phone");
    phone.challenge = Some(ChallengeAnswer {
        id: ch.id.clone(),
        answer: "000000".into(),
    });
    assert_eq!(api_error(&c, &phone).await, ErrorCode::ChallengeFailed);
    // A used or unknown challenge cannot be answered again.
    phone.challenge = Some(ChallengeAnswer {
        id: ch.id,
        answer: "424242".into(),
    });
    assert_eq!(api_error(&c, &phone).await, ErrorCode::ChallengeFailed);
    phone.challenge = None;
    let OpenSessionResponse::Challenge(ch) = c
        .json(Method::POST, "/api/v1/sessions", Some(&phone))
        .await
        .unwrap()
    else {
        panic!("expected a challenge")
    };
    phone.challenge = Some(ChallengeAnswer {
        id: ch.id,
        answer: "424242".into(),
    });
    let s = open(&c, &phone).await;
    assert_eq!(s.storage, json!({"verified": true}));
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_hook_is_killed_and_the_connection_refused() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let hooks = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.hooks.open_connection = Some(vec![script(hooks.path(), "hang.sh", "sleep 30")]);
    cfg.hooks.timeout_secs = 1;
    let t = start(dir.path(), cfg).await;
    let c = t.client();
    let started = std::time::Instant::now();
    let e = c
        .json::<_, OpenSessionResponse>(Method::POST, "/api/v1/sessions", Some(&hello()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Refused));
    assert!(e.to_string().contains("did not answer"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The server still answers.
    c.info().await.unwrap();
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn address_rules_refuse_before_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let mut cfg = config();
    cfg.access = vec![remote4d_core::server::config::AccessRule {
        allow: None,
        deny: Some("127.*".into()),
    }];
    let t = start(dir.path(), cfg).await;
    assert_eq!(api_error(&t.client(), &hello()).await, ErrorCode::Refused);
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_requests_get_clear_errors_and_others_keep_being_served() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    // A few MB of incompressible data so that a download takes many TCP windows.
    let noise = noise(6_000_000, 0x1234_5678_9abc_def1);
    write(
        dir.path(),
        "Project/Sources/Forms/Main/Images/big.png",
        &noise,
    );
    let t = start(dir.path(), config()).await;
    let c = t.client();

    let resp = c
        .request(Method::POST, "/api/v1/sessions")
        .header(header::CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");

    let big = format!("{{\"machine_name\":\"{}\"}}", "x".repeat(2 << 20));
    let resp = c
        .request(Method::POST, "/api/v1/sessions")
        .header(header::CONTENT_TYPE, "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let e = c
        .send::<()>(Method::GET, "/api/v1/../../etc/passwd", None)
        .await
        .unwrap_err();
    assert!(matches!(e.code(), Some(ErrorCode::NotFound)), "{e}");
    let e = c
        .send::<()>(Method::GET, "/api/v1/sessions/nope/storage", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UnknownSession));
    let e = c
        .send::<()>(Method::GET, "/api/v1/project/delta?from=%2e%2e%2f", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));
    let e = c
        .send::<()>(Method::GET, "/api/v1/admin/sessions", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::NotAuthorized));

    // Clients that start a download and stop reading do not slow others down.
    let mut stalled = Vec::new();
    for _ in 0..8 {
        let resp = c
            .request(Method::GET, "/api/v1/project/archive")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        stalled.push(resp); // never read
    }
    let other = t.client();
    let started = std::time::Instant::now();
    for _ in 0..20 {
        other.info().await.unwrap();
    }
    let full = other
        .request(Method::GET, "/api/v1/project/archive")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(Stamp::of_bytes(&full), other.info().await.unwrap().stamp);
    assert!(started.elapsed() < Duration::from_secs(20));
    drop(stalled);

    // The project folder disappears: rebuilds fail, the last archive keeps being served.
    let before = c.info().await.unwrap().stamp;
    let moved = dir.path().with_extension("moved");
    std::fs::rename(dir.path(), &moved).unwrap();
    let token = remote4d_core::server::admin::read_token(t.server.admin_token_path())
        .unwrap()
        .token;
    let admin = t.client().with_token(token);
    let e = admin
        .send::<()>(Method::POST, "/api/v1/project/reload?wait=true", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BuildFailed));
    assert_eq!(c.info().await.unwrap().stamp, before);
    let bytes = c
        .request(Method::GET, "/api/v1/project/archive")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(Stamp::of_bytes(&bytes), before);
    std::fs::rename(&moved, dir.path()).unwrap();
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn administration_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let mut cfg = config();
    cfg.resume_grace_secs = 30;
    let t = start(dir.path(), cfg).await;
    let c = t.client();
    let token_file = t.server.admin_token_path().to_path_buf();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let token = remote4d_core::server::admin::read_token(&token_file).unwrap();
    assert_eq!(
        token.fingerprint.as_deref(),
        Some(c.info().await.unwrap().fingerprint.as_str())
    );
    let admin = t.client().with_token(token.token);
    let bad = t.client().with_token("0".repeat(64));
    assert_eq!(
        bad.send::<()>(Method::GET, "/api/v1/admin/sessions", None)
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::NotAuthorized)
    );

    let s = open(&c, &hello()).await;
    let sc = c.clone().with_token(s.token.clone());
    let list: Vec<serde_json::Value> = admin
        .json::<(), _>(Method::GET, "/api/v1/admin/sessions", None)
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().any(|v| v["info"]["type"] == "storedProcedure"));
    assert!(
        list.iter()
            .any(|v| v["info"]["ID"] == s.session.id.as_str())
    );

    // Lose the event stream, then resume the same session with its token.
    let resp = sc
        .request(
            Method::GET,
            &format!("/api/v1/sessions/{}/events", s.session.id),
        )
        .send()
        .await
        .unwrap();
    let mut body = resp.bytes_stream();
    body.next().await.unwrap().unwrap();
    drop(body);
    let info = eventually(5, || {
        let sc = sc.clone();
        let id = s.session.id.clone();
        async move {
            let i: remote4d_core::protocol::SessionInfo = sc
                .json::<(), _>(Method::GET, &format!("/api/v1/sessions/{id}"), None)
                .await
                .ok()?;
            (i.state == remote4d_core::protocol::SessionState::Postponed).then_some(i)
        }
    })
    .await;
    assert_eq!(info.id, s.session.id);
    let mut resume = hello();
    resume.resume = Some(remote4d_core::protocol::ResumeSession {
        session_id: s.session.id.clone(),
        token: s.token.clone(),
    });
    let r = open(&c, &resume).await;
    assert!(r.resumed);
    assert_eq!(r.session.id, s.session.id);
    resume.resume.as_mut().unwrap().token = "0".repeat(64);
    assert_eq!(api_error(&c, &resume).await, ErrorCode::UnknownSession);

    // Messages and drops reach the client's event stream.
    let resp = sc
        .request(
            Method::GET,
            &format!("/api/v1/sessions/{}/events", s.session.id),
        )
        .send()
        .await
        .unwrap();
    let mut body = resp.bytes_stream();
    let mut decoder = SseDecoder::default();
    admin
        .send(
            Method::POST,
            "/api/v1/admin/message",
            Some(&json!({"text": "Server restarts at noon"})),
        )
        .await
        .unwrap();
    admin
        .send(
            Method::POST,
            "/api/v1/admin/drop",
            Some(&json!({"session_id": s.session.id})),
        )
        .await
        .unwrap();
    let mut seen = Vec::new();
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout(Duration::from_secs(10), body.next()).await
    {
        seen.extend(decoder.push(&chunk));
        if seen
            .iter()
            .any(|e| matches!(e, SessionEvent::Dropped { .. }))
        {
            break;
        }
    }
    assert!(
        seen.contains(&SessionEvent::Message {
            text: "Server restarts at noon".into()
        }),
        "{seen:?}"
    );
    assert!(seen.iter().any(
        |e| matches!(e, SessionEvent::Dropped { reason } if reason.contains("administrator"))
    ));
    assert_eq!(
        admin
            .send(
                Method::POST,
                "/api/v1/admin/drop",
                Some(&json!({"session_id": "nope"}))
            )
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::NotFound)
    );

    // Shutdown with a countdown warns clients, then stops the server.
    let s2 = open(&c, &hello()).await;
    let sc2 = c.clone().with_token(s2.token);
    let resp = sc2
        .request(
            Method::GET,
            &format!("/api/v1/sessions/{}/events", s2.session.id),
        )
        .send()
        .await
        .unwrap();
    let mut body = resp.bytes_stream();
    admin
        .send(
            Method::POST,
            "/api/v1/admin/shutdown",
            Some(&json!({"in_seconds": 2, "message": "maintenance"})),
        )
        .await
        .unwrap();
    let mut decoder = SseDecoder::default();
    let mut countdown = Vec::new();
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout(Duration::from_secs(10), body.next()).await
    {
        for e in decoder.push(&chunk) {
            if let SessionEvent::Shutdown {
                in_seconds,
                message,
            } = e
            {
                assert_eq!(message.as_deref(), Some("maintenance"));
                countdown.push(in_seconds);
            }
        }
        if countdown.contains(&0) {
            break;
        }
    }
    assert_eq!(countdown, [2, 1, 0]);
    tokio::time::timeout(Duration::from_secs(10), t.server.stopped())
        .await
        .expect("the server stops");
    t.server.shutdown().await;
    assert!(
        !token_file.exists(),
        "the token file is removed at shutdown"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn inactive_sessions_end() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let mut cfg = config();
    cfg.inactivity_timeout_secs = 1;
    let t = start(dir.path(), cfg).await;
    let c = t.client();
    let s = open(&c, &hello()).await;
    let sc = c.clone().with_token(s.token);
    let path = format!("/api/v1/sessions/{}", s.session.id);
    // Any request keeps a session alive; staying quiet for longer than the timeout ends it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sc.send::<()>(Method::GET, &path, None).await.unwrap(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let e = sc.send::<()>(Method::GET, &path, None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UnknownSession));
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_and_builds_survive_a_restart_and_two_servers_coexist() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_path_buf();
    let t = start_in(dir.path(), config(), home).await;
    let first = t.client().info().await.unwrap();
    t.server.shutdown().await;
    write(
        dir.path(),
        "Project/Sources/Methods/m05.4dm",
        b"// changed while stopped\n",
    );
    let home = tempfile::TempDir::new_in(home_path.parent().unwrap()).unwrap();
    // Same data folder: move the old one in place.
    std::fs::remove_dir(home.path()).unwrap();
    std::fs::rename(&home_path, home.path()).unwrap();
    let t = start_in(dir.path(), config(), home).await;
    let second = t.client().info().await.unwrap();
    assert_eq!(
        second.fingerprint, first.fingerprint,
        "same identity across restarts"
    );
    assert_eq!(second.server_id, first.server_id);
    assert_ne!(second.stamp, first.stamp);
    let resp = t
        .client()
        .request(
            Method::GET,
            &format!("/api/v1/project/delta?from={}", first.stamp),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "a delta from the previous run's build"
    );

    let other = tempfile::tempdir().unwrap();
    project(other.path());
    write(other.path(), "Project/Sources/settings.4DSettings", "<preferences><com.4d><server><network><options publication_name=\"Other\"/></network></server></com.4d></preferences>".as_bytes());
    let t2 = start(other.path(), config()).await;
    assert_ne!(t2.server.port(), t.server.port());
    assert_eq!(t2.client().info().await.unwrap().publication_name, "Other");
    assert_eq!(t.client().info().await.unwrap().publication_name, "Shop");
    t2.server.shutdown().await;
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn project_certificate_is_used_when_present() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let cert = project_certificate(dir.path(), "shop.example");
    let t = start(dir.path(), config()).await;
    assert!(t.server.uses_project_certificate());
    assert_eq!(
        t.server.info().fingerprint,
        remote4d_core::server::identity::fingerprint_of(&cert)
    );
    // A client pinned to another identity is refused at the TLS level.
    let wrong =
        remote4d_core::client::ApiClient::new(&t.authority(), Some(&"AB".repeat(32))).unwrap();
    let e = wrong.info().await.unwrap_err();
    assert!(
        matches!(
            e,
            remote4d_core::client::RequestError::IdentityMismatch { .. }
        ),
        "{e:?}"
    );
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_one_time_code_example_hook_works_end_to_end() {
    let python = ["/usr/bin/python3", "python3"].into_iter().find(|p| {
        std::process::Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(python) = python else {
        eprintln!("skipped: python3 is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let outbox = tempfile::tempdir().unwrap();
    let hook = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../resources/hooks/otp-challenge.py");
    let mut cfg = config();
    cfg.hooks.open_connection = Some(vec![
        python.into(),
        hook.display().to_string(),
        "--outbox".into(),
        outbox.path().display().to_string(),
    ]);
    let t = start(dir.path(), cfg).await;
    let c = t.client();
    let mut req = hello();
    let OpenSessionResponse::Challenge(ch) = c
        .json(Method::POST, "/api/v1/sessions", Some(&req))
        .await
        .unwrap()
    else {
        panic!("expected the code to be asked for")
    };
    assert!(ch.prompt.contains("6-digit code"));
    let code = std::fs::read_to_string(outbox.path().join("Designer.txt"))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(code.len(), 6);
    req.challenge = Some(ChallengeAnswer {
        id: ch.id,
        answer: code,
    });
    let s = open(&c, &req).await;
    assert_eq!(s.storage["verified_by"], "one-time code");
    t.server.shutdown().await;
}
