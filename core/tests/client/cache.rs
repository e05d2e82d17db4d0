//! Getting the project into the cache: a first download, nothing when unchanged, a delta, a
//! repair, a download again when the archive is damaged, and the last good version offline.

use crate::support::*;

/// A project served on loopback, and a client that connected to it once (cold).
struct Connected {
    project: tempfile::TempDir,
    t: TestServer,
    c: Client,
    /// The cold connection's progress.
    log: Log,
    /// The cold connection, until the next one (which must not find its system folder held).
    conn: Option<remote4d_core::client::Connection>,
}

const M03: &str = "Project/Sources/Methods/m03.4dm";

async fn connected_once() -> Connected {
    connected_once_with(|_| {}).await
}

/// [`connected_once`] to the project with what `more` adds.
async fn connected_once_with(more: impl FnOnce(&Path)) -> Connected {
    let project_dir = tempfile::tempdir().unwrap();
    project(project_dir.path());
    more(project_dir.path());
    let t = start(project_dir.path(), config()).await;
    let c = Client::new();
    let (log, progress) = recorder();
    let conn = connect(c.options(&t.authority()), &progress).await.unwrap();
    Connected {
        project: project_dir,
        t,
        c,
        log,
        conn: Some(conn),
    }
}

impl Connected {
    /// The cold connection.
    fn first(&self) -> &remote4d_core::client::Connection {
        self.conn
            .as_ref()
            .expect("the cold connection is still open")
    }

    /// Connects again (the cold connection closed and released first).
    async fn again(&mut self) -> (remote4d_core::client::Connection, Log) {
        if let Some(first) = self.conn.take() {
            first.close().await;
        }
        let (log, progress) = recorder();
        let conn = connect(self.c.options(&self.t.authority()), &progress)
            .await
            .unwrap();
        (conn, log)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_connect_downloads_verifies_unpacks_and_remembers() {
    let k = connected_once().await;
    let conn = k.first();
    assert_eq!(conn.mode, Mode::Remote);
    assert!(
        matches!(conn.fetched, Fetched::Full { .. }),
        "{:?}",
        conn.fetched
    );
    let stamp = k.t.server.info().stamp;
    assert_eq!(Stamp::of_file(&conn.folder.archive_path()).unwrap(), stamp);
    assert_eq!(
        std::fs::read(conn.project_root.join(M03)).unwrap(),
        std::fs::read(k.project.path().join(M03)).unwrap()
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
    let phases: Vec<_> = k.log.lock().unwrap().clone();
    assert!(matches!(phases[0], Progress::Connecting { .. }));
    assert!(
        phases
            .iter()
            .any(|p| matches!(p, Progress::Downloading { done, total, .. } if done == total))
    );
    assert!(phases.contains(&Progress::Unpacking));
    assert!(matches!(phases.last(), Some(Progress::Ready { .. })));
    // Saved to Recent with the pinned identity.
    let recent = Recent::new(k.c.env().favorites_dir()).list().unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].name, "Shop");
    assert_eq!(
        recent[0].link.remote4d_fingerprint.as_deref(),
        Some(k.t.server.info().fingerprint.as_str())
    );
    assert_eq!(
        recent[0].link.remote4d_server_id.as_deref(),
        Some(k.t.server.info().server_id.as_str())
    );
    conn.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_connect_downloads_nothing() {
    let mut k = connected_once().await;
    let (conn, log) = k.again().await;
    assert_eq!(conn.fetched, Fetched::UpToDate);
    assert!(log.lock().unwrap().contains(&Progress::UpToDate));
}

#[tokio::test(flavor = "multi_thread")]
async fn changed_methods_come_as_deltas_composed_on_the_archive() {
    // 200 KB that do not compress: the deltas stay small next to the archive.
    let mut k = connected_once_with(|root| {
        write(root, "Project/Assets/noise.bin", &noise(200_000, 7));
    })
    .await;
    let stamp1 = k.t.server.info().stamp;
    write(k.project.path(), M03, b"// changed\n");
    let stamp2 = k.t.server.reload().await.unwrap();
    assert_ne!(stamp1, stamp2);
    let (conn, _) = k.again().await;
    let Fetched::Delta { bytes } = conn.fetched else {
        panic!("expected a delta, got {:?}", conn.fetched)
    };
    assert!(bytes < k.t.server.info().archive_size / 2);
    assert_eq!(
        std::fs::read(conn.project_root.join(M03)).unwrap(),
        b"// changed\n"
    );
    // The new archive is not written: the small delta stays pending on the previous one.
    conn.settle_archive().unwrap();
    assert!(conn.folder.has_pending_delta());
    assert_eq!(Stamp::of_file(&conn.folder.archive_path()).unwrap(), stamp1);
    conn.close().await;
    drop(conn); // releases the system folder
    // The next change comes as a delta too, composed with the pending one.
    write(k.project.path(), M03, b"// changed again\n");
    write(
        k.project.path(),
        "Project/Sources/Methods/m05.4dm",
        b"// m05\n",
    );
    let stamp3 = k.t.server.reload().await.unwrap();
    let (conn, _) = k.again().await;
    assert!(
        matches!(conn.fetched, Fetched::Delta { .. }),
        "{:?}",
        conn.fetched
    );
    assert_eq!(
        std::fs::read(conn.project_root.join(M03)).unwrap(),
        b"// changed again\n"
    );
    assert!(conn.folder.has_pending_delta());
    assert_eq!(Stamp::of_file(&conn.folder.archive_path()).unwrap(), stamp1);
    let up_to_date = tree_of(&conn.project_root.join("Project"));
    conn.close().await;
    drop(conn); // releases the system folder
    let (conn, _) = k.again().await;
    assert_eq!(conn.fetched, Fetched::UpToDate);
    assert_eq!(tree_of(&conn.project_root.join("Project")), up_to_date);
    // Written into the archive, the pending delta gives exactly the server's build.
    conn.complete_archive().unwrap();
    assert_eq!(Stamp::of_file(&conn.folder.archive_path()).unwrap(), stamp3);
    assert!(!conn.folder.has_pending_delta());
    let unpacked = tempfile::tempdir().unwrap();
    let archive = remote4d_core::archive::Archive::open(
        &conn.folder.archive_path(),
        &remote4d_core::archive::Limits::default(),
    )
    .unwrap();
    archive
        .unpack_subtree_to("Project/", &unpacked.path().join("P"))
        .unwrap();
    assert_eq!(tree_of(&unpacked.path().join("P")), up_to_date);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_pending_delta_costs_a_download_never_a_wrong_project() {
    let mut k = connected_once_with(|root| {
        write(root, "Project/Assets/noise.bin", &noise(200_000, 7));
    })
    .await;
    write(k.project.path(), M03, b"// changed\n");
    k.t.server.reload().await.unwrap();
    let (conn, _) = k.again().await;
    assert!(conn.folder.has_pending_delta());
    let pending = conn.folder.path().join("pending-delta.zip");
    // Its second half replaced (a disk error): the entries it carries are lost.
    let mut bytes = std::fs::read(&pending).unwrap();
    let n = bytes.len() / 2;
    bytes.truncate(n);
    bytes.resize(2 * n, 0xAA);
    std::fs::write(&pending, &bytes).unwrap();
    conn.close().await;
    drop(conn); // releases the system folder
    write(k.project.path(), M03, b"// changed again\n");
    let stamp3 = k.t.server.reload().await.unwrap();
    let (conn, _) = k.again().await;
    assert!(
        matches!(conn.fetched, Fetched::Full { .. }),
        "{:?}",
        conn.fetched
    );
    assert_eq!(Stamp::of_file(&conn.folder.archive_path()).unwrap(), stamp3);
    assert!(!conn.folder.has_pending_delta());
    assert_eq!(
        std::fs::read(conn.project_root.join(M03)).unwrap(),
        b"// changed again\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_cached_file_is_repaired_from_the_cached_archive() {
    let mut k = connected_once().await;
    let m03 = k.first().project_root.join(M03);
    let good = std::fs::read(&m03).unwrap();
    // Someone edits the cache: detected and repaired without deleting anything by hand.
    std::fs::write(&m03, b"tampered").unwrap();
    let (conn, log) = k.again().await;
    assert_eq!(conn.fetched, Fetched::Repaired);
    assert!(
        log.lock()
            .unwrap()
            .iter()
            .any(|p| matches!(p, Progress::Repairing { reason } if reason.contains("m03.4dm")))
    );
    assert_eq!(std::fs::read(&m03).unwrap(), good);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_cached_archive_is_downloaded_again() {
    let mut k = connected_once().await;
    let archive = k.first().folder.archive_path();
    let mut bytes = std::fs::read(&archive).unwrap();
    let n = bytes.len() / 2;
    bytes[n] ^= 0xff;
    std::fs::write(&archive, &bytes).unwrap();
    let (conn, _) = k.again().await;
    assert!(
        matches!(conn.fetched, Fetched::Full { .. }),
        "{:?}",
        conn.fetched
    );
    assert_eq!(
        Stamp::of_file(&conn.folder.archive_path()).unwrap(),
        k.t.server.info().stamp
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_good_version_opens_offline_when_the_server_is_gone() {
    let k = connected_once().await;
    let good = std::fs::read(k.first().project_root.join(M03)).unwrap();
    drop(k.conn);
    let authority = k.t.authority();
    k.t.server.shutdown().await;
    let mut o = k.c.options(&authority);
    o.project = Some("Shop".into());
    let e = connect(o.clone(), &|_| {}).await.unwrap_err();
    assert!(matches!(e, ConnectError::Unreachable { .. }), "{e:?}");
    assert!(e.to_string().contains("Check that the server runs"));
    o.allow_offline = true;
    let conn = connect(o, &|_| {}).await.unwrap();
    assert_eq!(conn.mode, Mode::Offline);
    assert!(conn.session.is_none());
    assert_eq!(std::fs::read(conn.project_root.join(M03)).unwrap(), good);
}

/// A link's `cache_folder_name` makes one system folder for every server it names (4D's
/// `ClientServerSystemFolderName`): a second server with the same project — a standby, a
/// mirror — finds the copy the first one left, and nothing is downloaded again.
#[tokio::test(flavor = "multi_thread")]
async fn servers_that_share_a_cache_folder_name_share_the_copy() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    project(a_dir.path());
    project(b_dir.path());
    let (a, b) = (
        start(a_dir.path(), config()).await,
        start(b_dir.path(), config()).await,
    );
    assert_eq!(
        a.server.info().stamp,
        b.server.info().stamp,
        "the same project"
    );
    let c = Client::new();
    let link_to = |authority: &str| {
        let mut link = Link::remote("Shop", ServerPath::parse(authority).unwrap());
        link.cache_folder_name = Some("Shop-shared".into());
        let mut o = c.options(authority);
        o.target = Target::Link(Box::new(link));
        o
    };
    let first = connect(link_to(&a.authority()), &|_| {}).await.unwrap();
    assert!(matches!(first.fetched, Fetched::Full { .. }));
    let folder = first.folder.path().to_path_buf();
    assert!(
        folder
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("Shop-shared_"),
        "named by the link, with this client's key: {}",
        folder.display()
    );
    drop(first);

    let second = connect(link_to(&b.authority()), &|_| {}).await.unwrap();
    assert_eq!(second.folder.path(), folder, "the same system folder");
    assert_eq!(
        second.fetched,
        Fetched::UpToDate,
        "nothing downloaded again"
    );
    drop(second);

    // The other server's project changes: its build replaces the copy; the first server's
    // comes back whole when it is used again.
    write(
        b_dir.path(),
        "Project/Sources/Methods/m01.4dm",
        b"// changed on B\n",
    );
    b.server.reload().await.unwrap();
    let third = connect(link_to(&b.authority()), &|_| {}).await.unwrap();
    assert_ne!(third.fetched, Fetched::UpToDate);
    assert_eq!(
        std::fs::read(folder.join("Project/Sources/Methods/m01.4dm")).unwrap(),
        b"// changed on B\n"
    );
    drop(third);
    let fourth = connect(link_to(&a.authority()), &|_| {}).await.unwrap();
    assert_ne!(
        std::fs::read(folder.join("Project/Sources/Methods/m01.4dm")).unwrap(),
        b"// changed on B\n"
    );
    assert_eq!(fourth.folder.state().stamp, Some(a.server.info().stamp));
    drop(fourth);
    a.server.shutdown().await;
    b.server.shutdown().await;
}

/// A link with `remote_shared_resources="true"` keeps its system folder in the machine's shared
/// cache (Windows: `%ProgramData%\Remote4D\Cache`; a portable home: `shared-cache/`), and opens
/// offline from there too.
#[tokio::test(flavor = "multi_thread")]
async fn a_link_with_shared_resources_uses_the_machines_cache() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let c = Client::new();
    let mut link = Link::remote("Shop", ServerPath::parse(&t.authority()).unwrap());
    link.remote_shared_resources = Some(true);
    let mut o = c.options(&t.authority());
    o.target = Target::Link(Box::new(link));
    o.allow_offline = true;
    let conn = connect(o.clone(), &|_| {}).await.unwrap();
    assert!(
        conn.folder
            .path()
            .starts_with(c.home.path().join("shared-cache")),
        "{}",
        conn.folder.path().display()
    );
    assert!(!c.home.path().join("cache").exists());
    drop(conn);
    t.server.shutdown().await;
    let offline = connect(o, &|_| {}).await.unwrap();
    assert_eq!(offline.mode, Mode::Offline);
    assert!(
        offline
            .folder
            .path()
            .starts_with(c.home.path().join("shared-cache"))
    );
}
