//! Malformed and hostile requests get clear errors; other clients keep being served.

use crate::support::*;

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
