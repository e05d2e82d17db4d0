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
            .any(|p| matches!(p, Progress::Resources { folder: Related::Resources, bytes, delta: false } if *bytes == offered.size))
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
    // By a delta against the archive of the copy installed: only what changed travels.
    assert!(
        log.lock().unwrap().iter().any(|p| matches!(
            p,
            Progress::Resources { folder: Related::Resources, bytes, delta: true } if *bytes < offered.size
        )),
        "{:?}",
        log.lock().unwrap()
    );
    assert_eq!(
        std::fs::read(resources.join("en.lproj/strings.xlf")).unwrap(),
        b"<xliff>v2</xliff>"
    );
    assert!(!resources.join("Images/logo.png").exists());
    assert_eq!(conn.folder.state().resources_stamp, Some(second.stamp));
    let system = conn.folder.path().to_path_buf();
    drop(conn);

    // The archive kept for deltas damaged: the delta does not fit, the folder is downloaded
    // whole, and ends exact.
    write(
        dir.path(),
        "Resources/en.lproj/strings.xlf",
        b"<xliff>v2b</xliff>",
    );
    t.server.reload().await.unwrap();
    let kept = system.join("resources.4dz");
    let mut bytes = std::fs::read(&kept).unwrap();
    // In the first entry's header, which the delta copies as it is (a byte in what changed
    // would not matter: the delta replaces it, and the result is still exact).
    bytes[10] ^= 0xff;
    std::fs::write(&kept, bytes).unwrap();
    let (log, progress) = recorder();
    let conn = connect(c.options(&t.authority()), &progress).await.unwrap();
    assert!(
        log.lock()
            .unwrap()
            .iter()
            .any(|p| matches!(p, Progress::Resources { delta: false, .. })),
        "{:?}",
        log.lock().unwrap()
    );
    assert_eq!(
        std::fs::read(resources.join("en.lproj/strings.xlf")).unwrap(),
        b"<xliff>v2b</xliff>"
    );
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

/// A 4D component's `.4DZ`: a real one from `../shared/fixtures/4dz` when it is there.
fn component_archive() -> Vec<u8> {
    match fixtures() {
        Some(f) => {
            println!(
                "using the real component {}",
                f.join("4dz/7z.4DZ").display()
            );
            std::fs::read(f.join("4dz/7z.4DZ")).unwrap()
        }
        None => {
            println!("../shared/fixtures is missing: a made-up component archive");
            noise(30_000, 4)
        }
    }
}

/// Which related folders the recorded progress says were copied.
fn copied(log: &Log) -> Vec<Related> {
    log.lock()
        .unwrap()
        .iter()
        .filter_map(|p| match p {
            Progress::Resources { folder, .. } => Some(*folder),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn components_plugins_and_libraries_follow_the_server_but_not_in_development_mode() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let component = component_archive();
    write(dir.path(), "Components/7z.4dbase/7z.4DZ", &component);
    write(
        dir.path(),
        "Components/Tools.4dbase/Project/Tools.4DProject",
        b"{}",
    );
    write(
        dir.path(),
        "Plugins/Charts.bundle/Contents/Windows64/Charts.4DX",
        &noise(20_000, 5),
    );
    write(dir.path(), "Libraries/lib4d-arm64.dylib", &noise(10_000, 6));
    let t = start(dir.path(), config()).await;
    let info = t.server.info();
    assert_eq!(info.resources, None, "no Resources folder in this project");
    assert_eq!(
        info.folders.keys().copied().collect::<Vec<_>>(),
        [Related::Components, Related::Plugins, Related::Libraries]
    );
    let c = Client::new();

    // Cold: each copied beside Project/, as a 4D remote gets them.
    let (log, progress) = recorder();
    let conn = connect(c.options(&t.authority()), &progress).await.unwrap();
    assert_eq!(
        copied(&log),
        [Related::Components, Related::Plugins, Related::Libraries]
    );
    let copy = conn.folder.path().to_path_buf();
    assert_eq!(
        std::fs::read(copy.join("Components/7z.4dbase/7z.4DZ")).unwrap(),
        component
    );
    assert!(
        copy.join("Components/Tools.4dbase/Project/Tools.4DProject")
            .is_file()
    );
    assert!(
        copy.join("Plugins/Charts.bundle/Contents/Windows64/Charts.4DX")
            .is_file()
    );
    assert!(copy.join("Libraries/lib4d-arm64.dylib").is_file());
    for r in [Related::Components, Related::Plugins, Related::Libraries] {
        assert_eq!(
            conn.folder.related_stamp(r),
            Some(info.offered(r).unwrap().stamp)
        );
    }
    drop(conn);

    // Warm: nothing copied; a component damaged by hand is noticed and copied again.
    let (log, progress) = recorder();
    drop(connect(c.options(&t.authority()), &progress).await.unwrap());
    assert!(copied(&log).is_empty());
    std::fs::write(copy.join("Components/7z.4dbase/7z.4DZ"), b"damaged").unwrap();
    let (log, progress) = recorder();
    drop(connect(c.options(&t.authority()), &progress).await.unwrap());
    assert_eq!(copied(&log), [Related::Components]);
    assert_eq!(
        std::fs::read(copy.join("Components/7z.4dbase/7z.4DZ")).unwrap(),
        component
    );

    // During a session: a plug-in changes; the server tells which folder, with its stamp.
    let conn = connect(c.options(&t.authority()), &|_| {}).await.unwrap();
    let (api, s) = (conn.api.clone().unwrap(), conn.session.clone().unwrap());
    let (_follower, mut updates) = follow(api, s.session.id.clone(), s.token.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    write(
        dir.path(),
        "Plugins/Charts.bundle/Contents/Windows64/Charts.4DX",
        &noise(20_000, 7),
    );
    t.server.reload().await.unwrap();
    let plugins = t.server.info().offered(Related::Plugins).unwrap().stamp;
    loop {
        match next_update(&mut updates).await {
            SessionUpdate::Event(SessionEvent::FolderUpdated { folder, stamp }) => {
                assert_eq!((folder, stamp), (Related::Plugins, Some(plugins)));
                break;
            }
            SessionUpdate::Event(SessionEvent::Heartbeat) => {}
            other => panic!("expected folder-updated, got {other:?}"),
        }
    }
    conn.close().await;
    drop(conn);

    // The next connection copies the new plug-in; the project itself is unchanged.
    let (log, progress) = recorder();
    let conn = connect(c.options(&t.authority()), &progress).await.unwrap();
    assert_eq!(conn.fetched, Fetched::UpToDate);
    assert_eq!(copied(&log), [Related::Plugins]);
    assert_eq!(
        std::fs::read(copy.join("Plugins/Charts.bundle/Contents/Windows64/Charts.4DX")).unwrap(),
        noise(20_000, 7)
    );
    drop(conn);

    // One file of a component changes: only it travels (a delta against the archive kept),
    // and the copy is exact.
    let whole = t.server.info().offered(Related::Components).unwrap().size;
    write(
        dir.path(),
        "Components/Tools.4dbase/Project/Tools.4DProject",
        b"{\"version\": 2}",
    );
    t.server.reload().await.unwrap();
    let (log, progress) = recorder();
    let conn = connect(c.options(&t.authority()), &progress).await.unwrap();
    let sent: Vec<(u64, bool)> = log
        .lock()
        .unwrap()
        .iter()
        .filter_map(|p| match p {
            Progress::Resources { bytes, delta, .. } => Some((*bytes, *delta)),
            _ => None,
        })
        .collect();
    assert!(
        matches!(sent[..], [(bytes, true)] if bytes * 4 < whole),
        "{sent:?} of {whole}"
    );
    assert_eq!(
        std::fs::read(copy.join("Components/Tools.4dbase/Project/Tools.4DProject")).unwrap(),
        b"{\"version\": 2}"
    );
    assert_eq!(
        std::fs::read(copy.join("Components/7z.4dbase/7z.4DZ")).unwrap(),
        component
    );
    assert_eq!(
        conn.folder.related_stamp(Related::Components),
        Some(t.server.info().offered(Related::Components).unwrap().stamp)
    );
    drop(conn);

    // A folder the project no longer has goes from the copy too.
    std::fs::remove_dir_all(dir.path().join("Libraries")).unwrap();
    t.server.reload().await.unwrap();
    assert_eq!(t.server.info().offered(Related::Libraries), None);
    let conn = connect(c.options(&t.authority()), &|_| {}).await.unwrap();
    assert!(!copy.join("Libraries").exists());
    assert_eq!(conn.folder.related_stamp(Related::Libraries), None);
    drop(conn);

    // Development mode on the server's machine: the client uses the project's own
    // components and plug-ins, never a copy of the server's.
    let dev = Client::new();
    let mut o = dev.options(&t.authority());
    o.force_remote = false;
    let (log, progress) = recorder();
    let conn = connect(o, &progress).await.unwrap();
    assert_eq!(conn.mode, Mode::Development);
    assert!(copied(&log).is_empty());
    for r in Related::ALL {
        assert!(!conn.folder.related_dir(r).join("x").exists());
        assert_eq!(conn.folder.related_stamp(r), None);
    }
    assert!(!conn.folder.path().join("Components").exists());
    assert!(
        conn.project_root
            .join("Components/7z.4dbase/7z.4DZ")
            .is_file()
    );
    drop(conn);
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_folder_the_server_does_not_have_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    write(dir.path(), "Components/A.4dbase/A.4DZ", b"component");
    let t = start(dir.path(), config()).await;
    let c = Client::new();
    let conn = connect(c.options(&t.authority()), &|_| {}).await.unwrap();
    let api = conn.api.clone().unwrap();
    for name in ["plugins", "Project", "..%2FProject", "resources"] {
        let err = api
            .send::<()>(
                reqwest::Method::GET,
                &format!("/api/v1/project/folders/{name}"),
                None,
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no "), "{name}: {err}");
        // Nor a delta of it.
        let err = api
            .send::<()>(
                reqwest::Method::GET,
                &format!(
                    "/api/v1/project/folders/{name}/delta?from={}",
                    "0".repeat(64)
                ),
                None,
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no "), "{name} delta: {err}");
    }
    // A delta from a build never made, or from no stamp at all: said, never a panic.
    for (from, says) in [
        ("0".repeat(64), "no longer keeps"),
        ("zz".to_owned(), "64 hexadecimal"),
    ] {
        let err = api
            .send::<()>(
                reqwest::Method::GET,
                &format!("/api/v1/project/folders/components/delta?from={from}"),
                None,
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains(says), "{from}: {err}");
    }
    drop(conn);
    t.server.shutdown().await;
}
