//! The project's Resources folder follows the server's, verified.

use crate::support::*;

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
