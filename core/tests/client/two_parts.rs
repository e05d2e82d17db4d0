//! A cold download of a large archive whose small files sort last comes in two parts at once
//! (two ranges of the stamped archive), and still ends with the exact project — also when the
//! connection dies on the way.

use crate::support::*;
use remote4d_core::protocol::paths::AdminStatus;
use reqwest::Method;

const METHODS: u32 = 3_000;

/// A 9 MB image, then thousands of small methods (sorting after it).
fn small_files_last(root: &Path) {
    project(root);
    write(
        root,
        "Project/Sources/Forms/Main/Images/big.png",
        &noise(9_000_000, 3),
    );
    for i in 0..METHODS {
        write(
            root,
            &format!("Project/Sources/Methods/z{i:05}.4dm"),
            format!("// method {i}\n").as_bytes(),
        );
    }
}

async fn status(t: &TestServer) -> AdminStatus {
    let token = remote4d_core::server::admin::read_token(t.server.admin_token_path()).unwrap();
    t.client()
        .with_token(token.token)
        .json::<(), AdminStatus>(Method::GET, "/api/v1/admin/status", None)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_archive_with_its_small_files_last_comes_in_two_parts_each_byte_once() {
    let dir = tempfile::tempdir().unwrap();
    small_files_last(dir.path());
    let t = start(dir.path(), config()).await;
    let size = t.server.info().archive_size;
    assert!(size >= 8 << 20, "{size}");
    let c = Client::new();
    let (log, progress) = recorder();
    let conn = connect(c.options(&t.authority()), &progress).await.unwrap();
    let Fetched::Full { bytes } = conn.fetched else {
        panic!("{:?}", conn.fetched)
    };
    // Each byte once: the end records first, then the two parts.
    assert_eq!(bytes, size);
    assert_eq!(
        Stamp::of_file(&conn.folder.archive_path()).unwrap(),
        t.server.info().stamp
    );
    let installed = tree_of(&conn.project_root.join("Project"));
    assert_eq!(installed, tree_of(&dir.path().join("Project")));
    assert!(installed.len() > METHODS as usize);
    // Answered as ranges only, every byte once.
    let s = status(&t).await;
    assert_eq!(s.archives_served, 0, "{s:?}");
    assert_eq!(s.archive_bytes_served, size, "{s:?}");
    // Progress counted both parts.
    let log = log.lock().unwrap().clone();
    let most = log
        .iter()
        .filter_map(|p| match p {
            Progress::Downloading { done, total, .. } => {
                assert_eq!(*total, size);
                Some(*done)
            }
            _ => None,
        })
        .max()
        .unwrap_or(0);
    assert!(most <= size && most > size / 2, "{most} of {size}");
    assert!(
        !conn.folder.path().join("project.4dz.part.tail").exists(),
        "the last part's file is gone"
    );
    conn.close().await;
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_in_two_parts_cut_on_the_way_resumes_to_the_exact_project() {
    let dir = tempfile::tempdir().unwrap();
    small_files_last(dir.path());
    let t = start(dir.path(), config()).await;
    let size = t.server.info().archive_size;
    let (conn, _log, _client) = connect_cut_once(&t).await;
    let Fetched::Full { bytes } = conn.fetched else {
        panic!("{:?}", conn.fetched)
    };
    // The first part's bytes are kept; the last part's are fetched again.
    assert!(bytes < 2 * size, "{bytes} bytes for {size}");
    assert_eq!(
        Stamp::of_file(&conn.folder.archive_path()).unwrap(),
        t.server.info().stamp
    );
    assert_eq!(
        tree_of(&conn.project_root.join("Project")),
        tree_of(&dir.path().join("Project"))
    );
    assert!(!conn.folder.path().join("project.4dz.part.tail").exists());
    conn.close().await;
    t.server.shutdown().await;
}
