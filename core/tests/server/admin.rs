//! Administration: the token, the session list, messages, drops, and a shutdown with a
//! countdown.

use crate::support::*;

/// A served project, a client, and an administrator with the server's admin token.
struct Administered {
    _dir: tempfile::TempDir,
    t: TestServer,
    c: remote4d_core::client::ApiClient,
    admin: remote4d_core::client::ApiClient,
    token_file: std::path::PathBuf,
}

async fn administered() -> Administered {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let c = t.client();
    let token_file = t.server.admin_token_path().to_path_buf();
    let token = remote4d_core::server::admin::read_token(&token_file).unwrap();
    let admin = t.client().with_token(token.token);
    Administered {
        _dir: dir,
        t,
        c,
        admin,
        token_file,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_token_is_private_names_the_server_and_is_required() {
    let k = administered().await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&k.token_file)
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    let token = remote4d_core::server::admin::read_token(&k.token_file).unwrap();
    assert_eq!(
        token.fingerprint.as_deref(),
        Some(k.c.info().await.unwrap().fingerprint.as_str())
    );
    let bad = k.t.client().with_token("0".repeat(64));
    assert_eq!(
        bad.send::<()>(Method::GET, "/api/v1/admin/sessions", None)
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::NotAuthorized)
    );
    k.t.server.shutdown().await;
    assert!(
        !k.token_file.exists(),
        "the token file is removed at shutdown"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_administrator_sees_every_session() {
    let k = administered().await;
    let s = open(&k.c, &hello()).await;
    let list: Vec<serde_json::Value> = k
        .admin
        .json::<(), _>(Method::GET, "/api/v1/admin/sessions", None)
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().any(|v| v["info"]["type"] == "storedProcedure"));
    assert!(
        list.iter()
            .any(|v| v["info"]["ID"] == s.session.id.as_str())
    );
    k.t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_and_drops_reach_the_session() {
    let k = administered().await;
    let s = open(&k.c, &hello()).await;
    let sc = k.c.clone().with_token(s.token.clone());
    let mut events = Events::open(&sc, &s.session.id).await;
    k.admin
        .send(
            Method::POST,
            "/api/v1/admin/message",
            Some(&json!({"text": "Server restarts at noon"})),
        )
        .await
        .unwrap();
    k.admin
        .send(
            Method::POST,
            "/api/v1/admin/drop",
            Some(&json!({"session_id": s.session.id})),
        )
        .await
        .unwrap();
    assert_eq!(
        events.next().await,
        SessionEvent::Message {
            text: "Server restarts at noon".into()
        }
    );
    assert!(matches!(
        events.next().await,
        SessionEvent::Dropped { reason } if reason.contains("administrator")
    ));
    assert_eq!(
        k.admin
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
    k.t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shutdown_counts_down_to_every_session_then_stops_the_server() {
    let k = administered().await;
    let s = open(&k.c, &hello()).await;
    let sc = k.c.clone().with_token(s.token);
    let mut events = Events::open(&sc, &s.session.id).await;
    k.admin
        .send(
            Method::POST,
            "/api/v1/admin/shutdown",
            Some(&json!({"in_seconds": 2, "message": "maintenance"})),
        )
        .await
        .unwrap();
    let mut countdown = Vec::new();
    while !countdown.contains(&0) {
        if let SessionEvent::Shutdown {
            in_seconds,
            message,
        } = events.next().await
        {
            assert_eq!(message.as_deref(), Some("maintenance"));
            countdown.push(in_seconds);
        }
    }
    assert_eq!(countdown, [2, 1, 0]);
    tokio::time::timeout(Duration::from_secs(10), k.t.server.stopped())
        .await
        .expect("the server stops");
    k.t.server.shutdown().await;
    assert!(!k.token_file.exists());
}

/// Remote administration: a session of the Designer or the Administrator administers, from
/// anywhere; an ordinary user's session, no token, and any session of a project without
/// passwords get nothing.
#[tokio::test(flavor = "multi_thread")]
async fn the_designer_or_administrator_administers_from_a_session_and_no_one_else() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let hash = bcrypt::hash("s3cret", 4)
        .unwrap()
        .replacen("$2b$", "$2y$", 1);
    write(
        dir.path(),
        "Settings/directory.json",
        format!(
            r#"{{"users":{{"designer":{{"alias":"Designer","password":"{hash}"}},"administrator":{{"alias":"Administrator","password":"{hash}"}},"bob":{{"password":"{hash}"}}}}}}"#
        )
        .as_bytes(),
    );
    let t = start(dir.path(), config()).await;
    let login = |user: &str| OpenSession {
        user_name: Some(user.into()),
        password: Some("s3cret".into()),
        ..hello()
    };
    let admin = open(&t.client(), &login("Administrator")).await;
    let bob = open(&t.client(), &login("bob")).await;
    let as_admin = t.client().with_token(admin.token.clone());
    let list: Vec<serde_json::Value> = as_admin
        .json::<(), _>(Method::GET, "/api/v1/admin/sessions", None)
        .await
        .unwrap();
    assert!(
        list.iter()
            .any(|s| s["info"]["userName"] == "bob" && s["info"]["ID"] == bob.session.id.as_str()),
        "{list:?}"
    );
    for (who, client) in [
        ("bob's session", t.client().with_token(bob.token.clone())),
        ("no token", t.client()),
        ("a made-up token", t.client().with_token("f".repeat(64))),
    ] {
        let err = client
            .send::<()>(Method::GET, "/api/v1/admin/sessions", None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::NotAuthorized), "{who}");
        let err = client
            .send(
                Method::POST,
                "/api/v1/admin/drop",
                Some(&json!({"session_id": admin.session.id})),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::NotAuthorized), "{who}");
    }
    // Status, and new connections refused: bob's session stays, a new one of bob's is refused,
    // the Administrator still gets in; accepted again, bob gets in.
    let status: serde_json::Value = as_admin
        .json::<(), _>(Method::GET, "/api/v1/admin/status", None)
        .await
        .unwrap();
    assert_eq!(status["sessions"], 2, "{status}");
    assert_eq!(status["peak_sessions"], 2, "{status}");
    assert_eq!(status["accepting"], true, "{status}");
    as_admin
        .send(
            Method::POST,
            "/api/v1/admin/accept",
            Some(&json!({"accept": false})),
        )
        .await
        .unwrap();
    let err = t
        .client()
        .json::<_, OpenSessionResponse>(Method::POST, "/api/v1/sessions", Some(&login("bob")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Refused));
    assert!(err.to_string().contains("new connections"), "{err}");
    let bob_client = t.client().with_token(bob.token.clone());
    bob_client
        .send::<()>(
            Method::GET,
            &format!("/api/v1/sessions/{}/storage", bob.session.id),
            None,
        )
        .await
        .unwrap();
    let second_admin = open(&t.client(), &login("Administrator")).await;
    let status: serde_json::Value = as_admin
        .json::<(), _>(Method::GET, "/api/v1/admin/status", None)
        .await
        .unwrap();
    assert_eq!(status["accepting"], false, "{status}");
    assert_eq!(status["peak_sessions"], 3, "{status}");
    t.client()
        .with_token(second_admin.token)
        .send(
            Method::POST,
            "/api/v1/admin/accept",
            Some(&json!({"accept": true})),
        )
        .await
        .unwrap();
    open(&t.client(), &login("bob")).await;
    // A message to some sessions: all known, or none is sent.
    as_admin
        .send(
            Method::POST,
            "/api/v1/admin/message",
            Some(&json!({"text": "hi", "session_ids": [bob.session.id, admin.session.id]})),
        )
        .await
        .unwrap();
    let err = as_admin
        .send(
            Method::POST,
            "/api/v1/admin/message",
            Some(&json!({"text": "hi", "session_ids": [bob.session.id, "no-such-session"]})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotFound));
    // A drop after a delay: the session lives on until then.
    let later = open(&t.client(), &login("bob")).await;
    as_admin
        .send(
            Method::POST,
            "/api/v1/admin/drop",
            Some(
                &json!({"session_id": later.session.id, "in_seconds": 1, "reason": "maintenance"}),
            ),
        )
        .await
        .unwrap();
    let listed = |list: &[serde_json::Value], id: &str| list.iter().any(|s| s["info"]["ID"] == id);
    let now: Vec<serde_json::Value> = as_admin
        .json::<(), _>(Method::GET, "/api/v1/admin/sessions", None)
        .await
        .unwrap();
    assert!(
        listed(&now, &later.session.id),
        "still there before its time"
    );
    eventually(10, || async {
        let list: Vec<serde_json::Value> = as_admin
            .json::<(), _>(Method::GET, "/api/v1/admin/sessions", None)
            .await
            .unwrap();
        (!listed(&list, &later.session.id)).then_some(())
    })
    .await;
    // The Designer may too; the Administrator drops bob's session.
    let designer = open(&t.client(), &login("Designer")).await;
    t.client()
        .with_token(designer.token)
        .send::<()>(Method::GET, "/api/v1/admin/sessions", None)
        .await
        .unwrap();
    as_admin
        .send(
            Method::POST,
            "/api/v1/admin/drop",
            Some(&json!({"session_id": bob.session.id})),
        )
        .await
        .unwrap();
    let list: Vec<serde_json::Value> = as_admin
        .json::<(), _>(Method::GET, "/api/v1/admin/sessions", None)
        .await
        .unwrap();
    assert!(
        !list
            .iter()
            .any(|s| s["info"]["ID"] == bob.session.id.as_str()),
        "bob's session ended: {list:?}"
    );
    // The activity tells all of it, numbered; after a number, only what is newer.
    as_admin
        .send::<()>(Method::POST, "/api/v1/project/reload?wait=true", None)
        .await
        .unwrap();
    let activity: Vec<serde_json::Value> = as_admin
        .json::<(), _>(Method::GET, "/api/v1/admin/activity", None)
        .await
        .unwrap();
    let has = |kind: &str, text: &str| {
        activity
            .iter()
            .any(|e| e["kind"] == kind && e["text"].as_str().unwrap().contains(text))
    };
    assert!(
        has("session", "Administrator connected from 127.0.0.1"),
        "{activity:?}"
    );
    assert!(
        has("refused", "bob from 127.0.0.1 (test-machine) refused"),
        "{activity:?}"
    );
    assert!(has("refused", "new connections"), "{activity:?}");
    assert!(
        has(
            "admin",
            "Administrator from 127.0.0.1 refused new connections"
        ),
        "{activity:?}"
    );
    assert!(has("admin", "dropped session"), "{activity:?}");
    assert!(
        has("session", "bob (test-machine) disconnected"),
        "{activity:?}"
    );
    assert!(has("reload", "project checked"), "{activity:?}");
    let last = activity.last().unwrap()["seq"].as_u64().unwrap();
    let newer: Vec<serde_json::Value> = as_admin
        .json::<(), _>(
            Method::GET,
            &format!("/api/v1/admin/activity?after={}", last - 1),
            None,
        )
        .await
        .unwrap();
    assert_eq!(newer.len(), 1);
    t.server.shutdown().await;

    // A project without passwords: everyone is the Designer, so no one administers remotely.
    let open_dir = tempfile::tempdir().unwrap();
    project(open_dir.path());
    let t = start(open_dir.path(), config()).await;
    let anyone = open(&t.client(), &hello()).await;
    let err = t
        .client()
        .with_token(anyone.token)
        .send::<()>(Method::GET, "/api/v1/admin/sessions", None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotAuthorized));
    assert!(err.to_string().contains("passwords"), "{err}");
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_monitor_counts_traffic_downloads_reloads_and_keeps_the_build_history_and_log() {
    use remote4d_core::protocol::paths::{AdminStatus, BuildRecord, LogLevel, LogLine};
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let token = remote4d_core::server::admin::read_token(t.server.admin_token_path()).unwrap();
    let admin = t.client().with_token(token.token);
    let status = |admin: remote4d_core::client::ApiClient| async move {
        admin
            .json::<(), AdminStatus>(Method::GET, "/api/v1/admin/status", None)
            .await
            .unwrap()
    };
    let before = status(admin.clone()).await;
    assert!(
        before.bytes_in > 0,
        "the request itself was counted: {before:?}"
    );
    assert_eq!((before.archives_served, before.deltas_served), (0, 0));
    assert_eq!(before.last_reload, None);
    assert_eq!(before.addresses.len(), t.server.addresses().len());
    #[cfg(any(target_os = "linux", windows))]
    assert!(
        before.cpu_ms.is_some() && before.memory_bytes.unwrap() > 0,
        "{before:?}"
    );

    // A client downloads the archive: one archive served, its bytes sent.
    let c = t.client();
    let old = c.info().await.unwrap().stamp;
    let body = c
        .request(Method::GET, "/api/v1/project/archive")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let after = status(admin.clone()).await;
    assert_eq!(after.archives_served, 1);
    assert!(
        after.bytes_out >= before.bytes_out + body.len() as u64,
        "{} then {} for {} bytes",
        before.bytes_out,
        after.bytes_out,
        body.len()
    );

    // An edit, a reload: the last reload and the history say so; a delta is served and sized.
    write(
        dir.path(),
        "Project/Sources/Methods/m03.4dm",
        b"// changed\n",
    );
    admin
        .send::<()>(Method::POST, "/api/v1/project/reload?wait=true", None)
        .await
        .unwrap();
    let reloaded = status(admin.clone()).await;
    let last = reloaded.last_reload.clone().expect("a reload ran");
    assert!(last.changed && last.error.is_none(), "{last:?}");
    assert_eq!(last.stamp, reloaded.stamp);
    let resp = c
        .request(Method::GET, &format!("/api/v1/project/delta?from={old}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let delta = resp.bytes().await.unwrap();
    assert_eq!(status(admin.clone()).await.deltas_served, 1);
    let builds: Vec<BuildRecord> = admin
        .json::<(), _>(Method::GET, "/api/v1/admin/builds", None)
        .await
        .unwrap();
    assert_eq!(builds.len(), 2, "{builds:?}");
    assert!(builds[0].current && builds[0].stamp == reloaded.stamp);
    assert!(!builds[1].current && builds[1].stamp == old.to_string());
    assert_eq!(builds[1].delta_size, Some(delta.len() as u64));
    assert_eq!(builds[0].files, builds[1].files);
    assert_eq!(
        builds[0].changed_files,
        Some(1),
        "one file edited: {builds:?}"
    );
    assert_eq!(
        builds[1].changed_files, None,
        "the oldest kept has nothing before it"
    );

    // The server log: what the program's subscriber records is read back, numbered.
    remote4d_core::server::log::record(LogLevel::Warn, "test", "a line for the window".into());
    let log: Vec<LogLine> = admin
        .json::<(), _>(Method::GET, "/api/v1/admin/log?after=0", None)
        .await
        .unwrap();
    let line = log
        .iter()
        .rfind(|l| l.text == "a line for the window")
        .unwrap();
    assert_eq!(line.level, LogLevel::Warn);
    let later: Vec<LogLine> = admin
        .json::<(), _>(
            Method::GET,
            &format!("/api/v1/admin/log?after={}", line.seq),
            None,
        )
        .await
        .unwrap();
    assert!(later.iter().all(|l| l.seq > line.seq));
    // A client session may not read any of it.
    let refused = c
        .request(Method::GET, "/api/v1/admin/log")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    // A restart stops the server and says it was asked for.
    assert!(!t.server.restart_requested());
    admin
        .send::<()>(Method::POST, "/api/v1/admin/restart", None)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), t.server.stopped())
        .await
        .expect("stopped");
    assert!(t.server.restart_requested());
}
