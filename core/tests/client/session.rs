//! A session's events and storage, and its resumption after a network loss.

use crate::support::*;

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
