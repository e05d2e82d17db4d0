//! The archive and the Resources folder, served with validators, ranges and verification.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn archive_is_served_with_etag_conditional_requests_and_ranges() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let c = t.client();
    let info = c.info().await.unwrap();
    assert_eq!(info.product, "Remote4D");
    assert_eq!(info.publication_name, "Shop");
    assert!(!info.login_required);
    assert_eq!(c.seen_fingerprint().unwrap(), info.fingerprint);
    // No Resources folder: none offered.
    assert_eq!(info.resources, None);
    let resp = c
        .request(Method::GET, "/api/v1/project/resources")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let resp = c
        .request(Method::GET, "/api/v1/project/archive")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.version(), reqwest::Version::HTTP_2, "HTTP/2 by ALPN");
    let etag = resp.headers()[header::ETAG].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", info.stamp));
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(
        Stamp::of_bytes(&bytes),
        info.stamp,
        "the archive's SHA-256 is the stamp"
    );
    assert_eq!(bytes.len() as u64, info.archive_size);

    let resp = c
        .request(Method::GET, "/api/v1/project/archive")
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);

    let resp = c
        .request(Method::GET, "/api/v1/project/archive")
        .header(header::RANGE, "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        resp.headers()[header::CONTENT_RANGE],
        format!("bytes 100-199/{}", bytes.len()).as_str()
    );
    assert_eq!(resp.bytes().await.unwrap(), bytes.slice(100..200));

    let resp = c
        .request(Method::GET, "/api/v1/project/archive")
        .header(header::RANGE, format!("bytes={}-", bytes.len() + 5))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    // A stamped URL is immutable; unknown and malformed stamps are refused clearly.
    let resp = c
        .request(
            Method::GET,
            &format!("/api/v1/project/archive?stamp={}", info.stamp),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let e = c
        .send::<()>(
            Method::GET,
            "/api/v1/project/archive?stamp=../../etc/passwd",
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));
    let e = c
        .send::<()>(
            Method::GET,
            &format!("/api/v1/project/archive?stamp={}", "0".repeat(64)),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::StampGone));

    let m: Manifest = c
        .json::<(), _>(Method::GET, "/api/v1/project/manifest", None)
        .await
        .unwrap();
    assert_eq!(m.stamp, info.stamp);
    assert!(
        m.entries
            .iter()
            .any(|e| e.name == "Project/Sources/Methods/m00.4dm")
    );

    // HTTP/1.1 works too.
    let mut tls =
        remote4d_core::client::tls::client_config(Some(&info.fingerprint), &Default::default())
            .unwrap();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let h1 = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .http1_only()
        .build()
        .unwrap();
    let resp = h1
        .get(format!("https://{}/api/v1/info", t.authority()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert_eq!(resp.status(), StatusCode::OK);
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_resources_folder_is_served_as_a_verified_archive() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    write(dir.path(), "Resources/Images/logo.svg", b"<svg/>");
    let t = start(dir.path(), config()).await;
    let c = t.client();
    let offered = c.info().await.unwrap().resources.unwrap();
    let resp = c
        .request(Method::GET, "/api/v1/project/resources")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let etag = resp.headers()[header::ETAG].to_str().unwrap().to_owned();
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(Stamp::of_bytes(&bytes), offered.stamp);
    assert_eq!(bytes.len() as u64, offered.size);
    let zip = dir.path().join("r.zip");
    std::fs::write(&zip, &bytes).unwrap();
    let a = archive::Archive::open(&zip, &Limits::default()).unwrap();
    let names: Vec<&str> = a.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Resources/",
            "Resources/Images/",
            "Resources/Images/logo.svg"
        ]
    );
    let resp = c
        .request(Method::GET, "/api/v1/project/resources")
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    let resp = c
        .request(
            Method::GET,
            &format!("/api/v1/project/resources?stamp={}", "0".repeat(64)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::GONE);
    t.server.shutdown().await;
}
