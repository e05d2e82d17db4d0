//! Development mode on the server's own machine: Save all and locks.

use crate::support::*;

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
