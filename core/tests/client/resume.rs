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
    // A slow network (4 MB/s) whose connections die when told to.
    let (port, cut) = relay_with_rate(t.server.port(), Some(4_000_000)).await;
    let c = Client::new();
    let opts = c.options(&format!("127.0.0.1:{port}"));
    let (log, progress) = recorder();
    let client = tokio::spawn(async move { connect(opts, &progress).await });
    eventually(20, || {
        let log = Arc::clone(&log);
        async move {
            log.lock()
                .unwrap()
                .iter()
                .any(|p| matches!(p, Progress::Downloading { done, .. } if *done > 1_000_000))
                .then_some(())
        }
    })
    .await;
    cut.send(1).unwrap();
    let conn = tokio::time::timeout(Duration::from_secs(60), client)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Fetched::Full { bytes } = conn.fetched else {
        panic!("{:?}", conn.fetched)
    };
    let log = log.lock().unwrap().clone();
    assert!(
        log.iter().any(|p| matches!(p, Progress::Retrying { .. })),
        "it retried: {log:?}"
    );
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
