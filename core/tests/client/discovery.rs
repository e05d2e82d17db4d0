//! Finding a server by its publication name on the network (in a private namespace).

use crate::support::*;

#[test]
fn find_by_name_across_the_network() {
    if !in_private_network("discovery::find_by_name_across_the_network") {
        return;
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path());
        let mut cfg = config();
        cfg.publish = true;
        let t = start(dir.path(), cfg).await;
        let c = Client::new();
        let mut link = Link::remote(
            "Shop",
            ServerPath::parse(&format!(":{}", t.server.port())).unwrap(),
        );
        link.user_name = None;
        let mut o = ConnectOptions::new(Target::Link(Box::new(link)), c.env());
        o.force_remote = true;
        o.client_exe = "/opt/remote4d-test".into();
        // The fingerprint discovery announces is never a reason to trust: a first contact asks.
        let e = connect(o.clone(), &|_| {}).await.unwrap_err();
        assert!(matches!(e, ConnectError::NewIdentity { .. }), "{e:?}");
        o.trust_new = true;
        let conn = connect(o.clone(), &|_| {}).await.unwrap();
        assert_eq!(conn.info.as_ref().unwrap().publication_name, "Shop");
        drop(conn);
        o.trust_new = false;
        connect(o.clone(), &|_| {}).await.unwrap();
        // A second server with the same name is never joined silently.
        let other = tempfile::tempdir().unwrap();
        project(other.path());
        let mut cfg = config();
        cfg.publish = true;
        let t2 = start(other.path(), cfg).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let e = remote4d_core::client::find_by_name("Shop", None, Duration::from_secs(3))
            .await
            .unwrap_err();
        assert!(
            matches!(e, ConnectError::Ambiguous { count: 2, .. }),
            "{e:?}"
        );
        // With the server id pinned (as Recent keeps it), the right one is found.
        let id = t.server.info().server_id;
        let found = remote4d_core::client::find_by_name("Shop", Some(&id), Duration::from_secs(3))
            .await
            .unwrap();
        assert_eq!(found.port, t.server.port());
        t2.server.shutdown().await;

        // An impostor: the trusted server goes away and another one, with its own certificate,
        // publishes the same name (and whatever it likes in its announcement). Found by name,
        // it is refused as a changed identity, and the real pin stays.
        let known = std::fs::read(c.env().data_dir.join("known_servers.json")).unwrap();
        t.server.shutdown().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let impostor_dir = tempfile::tempdir().unwrap();
        project(impostor_dir.path());
        let mut cfg = config();
        cfg.publish = true;
        let impostor = start(impostor_dir.path(), cfg).await;
        let mut by_name = o.clone();
        by_name.target =
            Target::Address(ServerPath::parse(&format!(":{}", impostor.server.port())).unwrap());
        by_name.project = Some("Shop".into());
        for attempt in [o.clone(), by_name] {
            let e = connect(attempt, &|_| {}).await.unwrap_err();
            assert!(matches!(e, ConnectError::IdentityChanged { .. }), "{e:?}");
        }
        assert_eq!(
            std::fs::read(c.env().data_dir.join("known_servers.json")).unwrap(),
            known,
            "the pin of the real server is kept"
        );
        impostor.server.shutdown().await;
    });
}
