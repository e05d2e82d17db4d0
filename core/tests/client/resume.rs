//! A download resumes where a lost connection stopped it.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_download_resumes_after_the_connection_dies() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    write(
        dir.path(),
        "Project/Sources/Forms/Main/Images/big.png",
        &noise(8_000_000, 7),
    );
    let t = start(dir.path(), config()).await;
    let size = t.server.info().archive_size;
    let (conn, _log, _client) = connect_cut_once(&t).await;
    let Fetched::Full { bytes } = conn.fetched else {
        panic!("{:?}", conn.fetched)
    };
    assert!(
        bytes < size + size / 20,
        "resumed, not restarted: {bytes} bytes for {size}"
    );
    assert_eq!(
        Stamp::of_file(&conn.folder.archive_path()).unwrap(),
        t.server.info().stamp
    );
    t.server.shutdown().await;
}
