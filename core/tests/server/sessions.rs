//! Sessions: what opening one records, its storage, the events it hears (a rebuilt project, a
//! reload), a delta between builds, losing and resuming it, closing it, and its end when idle.

use crate::support::*;

/// A served project and a session opened on it.
struct Opened {
    dir: tempfile::TempDir,
    t: TestServer,
    /// Without a token.
    c: remote4d_core::client::ApiClient,
    s: SessionOpened,
    /// With the session's token.
    sc: remote4d_core::client::ApiClient,
}

async fn opened() -> Opened {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let c = t.client();
    let s = open(&c, &hello()).await;
    let sc = c.clone().with_token(s.token.clone());
    Opened { dir, t, c, s, sc }
}

#[tokio::test(flavor = "multi_thread")]
async fn opening_a_session_records_who_and_where() {
    let k = opened().await;
    assert_eq!(k.s.session.kind, "remote");
    assert_eq!(k.s.session.user_name, "Designer");
    assert_eq!(k.s.session.machine_name, "test-machine");
    assert_eq!(k.s.session.persistent_id, "client-1");
    // The event stream opens with a heartbeat.
    let mut events = Events::open(&k.sc, &k.s.session.id).await;
    assert_eq!(events.raw().await, [SessionEvent::Heartbeat]);
    k.t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_is_replaced_patched_and_each_change_is_pushed() {
    let k = opened().await;
    let id = &k.s.session.id;
    let mut events = Events::open(&k.sc, id).await;
    let path = format!("/api/v1/sessions/{id}/storage");
    let v: serde_json::Value =
        k.sc.json(Method::PUT, &path, Some(&json!({"a": 1, "b": {"c": 2}})))
            .await
            .unwrap();
    assert_eq!(v, json!({"a": 1, "b": {"c": 2}}));
    let v: serde_json::Value =
        k.sc.json(
            Method::PATCH,
            &path,
            Some(&json!({"b": {"c": null, "d": 3}})),
        )
        .await
        .unwrap();
    assert_eq!(v, json!({"a": 1, "b": {"d": 3}}));
    assert!(matches!(
        events.next().await,
        SessionEvent::StorageChanged { .. }
    ));
    assert_eq!(
        events.next().await,
        SessionEvent::StorageChanged {
            storage: json!({"a": 1, "b": {"d": 3}})
        }
    );
    // Storage is an object.
    let e =
        k.sc.send(Method::PUT, &path, Some(&json!([1, 2])))
            .await
            .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));
    k.t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_method_is_rebuilt_and_announced_and_excluded_files_are_not() {
    let k = opened().await;
    let first = k.c.info().await.unwrap();
    let mut events = Events::open(&k.sc, &k.s.session.id).await;
    write(
        k.dir.path(),
        "Project/Sources/Methods/m03.4dm",
        b"// changed on the server\n",
    );
    let new_stamp = loop {
        if let SessionEvent::ProjectUpdated { stamp, .. } = events.next().await {
            break stamp;
        }
    };
    assert_ne!(new_stamp, first.stamp);
    assert_eq!(k.c.info().await.unwrap().stamp, new_stamp);
    // Something the archive leaves out does not trigger a rebuild.
    write(k.dir.path(), "Project/DerivedData/cache.json", b"{}");
    write(k.dir.path(), "Project/Sources/Methods/m03.4dm~", b"backup");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(k.c.info().await.unwrap().stamp, new_stamp);
    k.t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delta_rebuilds_exactly_the_new_archive() {
    let k = opened().await;
    let first = k.c.info().await.unwrap();
    let old_archive = k.dir.path().join("../old.4dz");
    let bytes =
        k.c.request(Method::GET, "/api/v1/project/archive")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    std::fs::write(&old_archive, &bytes).unwrap();
    write(
        k.dir.path(),
        "Project/Sources/Methods/m03.4dm",
        b"// changed on the server\n",
    );
    let new_stamp = k.t.server.reload().await.unwrap();
    let resp =
        k.sc.request(
            Method::GET,
            &format!("/api/v1/project/delta?from={}", first.stamp),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-remote4d-changed"], "1");
    let delta = resp.bytes().await.unwrap();
    assert!((delta.len() as u64) < k.c.info().await.unwrap().archive_size / 3);
    let delta_file = k.dir.path().join("../delta.zip");
    std::fs::write(&delta_file, &delta).unwrap();
    let rebuilt = k.dir.path().join("../rebuilt.4dz");
    let (_, stamp) =
        archive::apply_delta(&old_archive, &delta_file, &rebuilt, &Limits::default()).unwrap();
    assert_eq!(stamp, new_stamp);
    // From the current build: nothing to send.
    let resp =
        k.sc.request(
            Method::GET,
            &format!("/api/v1/project/delta?from={new_stamp}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    k.t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_returns_when_the_archive_is_ready_and_needs_a_session() {
    let k = opened().await;
    let before = k.c.info().await.unwrap().stamp;
    write(
        k.dir.path(),
        "Project/Sources/Methods/new.4dm",
        b"// added\n",
    );
    let r: ReloadResult =
        k.sc.json::<(), _>(Method::POST, "/api/v1/project/reload?wait=true", None)
            .await
            .unwrap();
    assert!(r.changed || r.stamp != before);
    assert_eq!(k.c.info().await.unwrap().stamp, r.stamp);
    // Without waiting: 202, with the stamp served while it rebuilds.
    let resp =
        k.sc.request(Method::POST, "/api/v1/project/reload")
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let started: remote4d_core::protocol::ReloadStarted =
        serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(started.stamp, r.stamp);
    let e =
        k.c.send::<()>(Method::POST, "/api/v1/project/reload?wait=true", None)
            .await
            .unwrap_err();
    assert_eq!(
        e.code(),
        Some(ErrorCode::NotAuthorized),
        "reload needs a token"
    );
    k.t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_session_is_gone() {
    let k = opened().await;
    let path = format!("/api/v1/sessions/{}", k.s.session.id);
    assert_eq!(
        k.sc.send::<()>(Method::DELETE, &path, None).await.unwrap(),
        StatusCode::NO_CONTENT
    );
    let e = k.sc.send::<()>(Method::GET, &path, None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UnknownSession));
    k.t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_session_is_postponed_then_resumed_with_its_token_only() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let mut cfg = config();
    cfg.resume_grace_secs = 30;
    let t = start(dir.path(), cfg).await;
    let c = t.client();
    let s = open(&c, &hello()).await;
    let sc = c.clone().with_token(s.token.clone());
    // Lose the event stream, then resume the same session with its token.
    let mut events = Events::open(&sc, &s.session.id).await;
    events.raw().await;
    drop(events);
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
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn inactive_sessions_end() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let mut cfg = config();
    cfg.inactivity_timeout_secs = Some(1);
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
async fn an_ipv4_client_of_the_dual_stack_listener_is_seen_as_ipv4() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    // All addresses: one [::] socket that takes IPv4 too; the client comes from 127.0.0.1.
    let t = start(
        dir.path(),
        remote4d_core::server::ServerConfig {
            bind: Vec::new(),
            ..config()
        },
    )
    .await;
    let c = remote4d_core::client::ApiClient::new(
        &format!("127.0.0.1:{}", t.server.port()),
        Some(&t.server.info().fingerprint),
    )
    .unwrap();
    let s = open(&c, &hello()).await;
    assert_eq!(
        s.session.ip_address, "127.0.0.1",
        "not ::ffff:127.0.0.1: the server sees an IPv4 peer"
    );
    t.server.shutdown().await;
}
