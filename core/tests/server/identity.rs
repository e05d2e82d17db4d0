//! The server's identity and builds across restarts; a project certificate.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn identity_and_builds_survive_a_restart_and_two_servers_coexist() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_path_buf();
    let t = start_in(dir.path(), config(), home).await;
    let first = t.client().info().await.unwrap();
    t.server.shutdown().await;
    write(
        dir.path(),
        "Project/Sources/Methods/m05.4dm",
        b"// changed while stopped\n",
    );
    let home = tempfile::TempDir::new_in(home_path.parent().unwrap()).unwrap();
    // Same data folder: move the old one in place.
    std::fs::remove_dir(home.path()).unwrap();
    std::fs::rename(&home_path, home.path()).unwrap();
    let t = start_in(dir.path(), config(), home).await;
    let second = t.client().info().await.unwrap();
    assert_eq!(
        second.fingerprint, first.fingerprint,
        "same identity across restarts"
    );
    assert_eq!(second.server_id, first.server_id);
    assert_ne!(second.stamp, first.stamp);
    let resp = t
        .client()
        .request(
            Method::GET,
            &format!("/api/v1/project/delta?from={}", first.stamp),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "a delta from the previous run's build"
    );

    let other = tempfile::tempdir().unwrap();
    project(other.path());
    write(other.path(), "Project/Sources/settings.4DSettings", "<preferences><com.4d><server><network><options publication_name=\"Other\"/></network></server></com.4d></preferences>".as_bytes());
    let t2 = start(other.path(), config()).await;
    assert_ne!(t2.server.port(), t.server.port());
    assert_eq!(t2.client().info().await.unwrap().publication_name, "Other");
    assert_eq!(t.client().info().await.unwrap().publication_name, "Shop");
    t2.server.shutdown().await;
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn project_certificate_is_used_when_present() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let cert = project_certificate(dir.path(), "shop.example");
    let t = start(dir.path(), config()).await;
    assert!(t.server.uses_project_certificate());
    assert_eq!(
        t.server.info().fingerprint,
        remote4d_core::server::identity::fingerprint_of(&cert)
    );
    // A client pinned to another identity is refused at the TLS level.
    let wrong =
        remote4d_core::client::ApiClient::new(&t.authority(), Some(&"AB".repeat(32))).unwrap();
    let e = wrong.info().await.unwrap_err();
    assert!(
        matches!(
            e,
            remote4d_core::client::RequestError::IdentityMismatch { .. }
        ),
        "{e:?}"
    );
    t.server.shutdown().await;
}
