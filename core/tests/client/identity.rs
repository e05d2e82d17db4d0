//! The server's identity: first contact, changes, impostors, non-servers, names that resolve to nothing.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn identity_checks_and_bad_servers() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let port = t.server.port();
    let c = Client::new();
    let mut o = c.options(&t.authority());
    o.trust_new = false;
    let e = connect(o.clone(), &|_| {}).await.unwrap_err();
    let ConnectError::NewIdentity {
        fingerprint, name, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(fingerprint, &t.server.info().fingerprint);
    assert_eq!(name, "Shop");
    o.trust_new = true;
    connect(o.clone(), &|_| {}).await.unwrap();
    o.trust_new = false;
    connect(o.clone(), &|_| {}).await.unwrap();
    t.server.shutdown().await;

    // Another server (another identity) on the same address and name: refused.
    let mut cfg = config();
    cfg.port = Some(port);
    let t2 = start(dir.path(), cfg).await;
    let e = connect(o.clone(), &|_| {}).await.unwrap_err();
    assert!(matches!(e, ConnectError::IdentityChanged { .. }), "{e:?}");
    assert!(e.to_string().contains("identity changed"));
    o.trust_new = true;
    assert!(
        matches!(
            connect(o.clone(), &|_| {}).await.unwrap_err(),
            ConnectError::IdentityChanged { .. }
        ),
        "trusting new ones is not accepting changed ones"
    );
    o.accept_changed_identity = true;
    connect(o.clone(), &|_| {}).await.unwrap();
    o.accept_changed_identity = false;
    connect(o, &|_| {}).await.unwrap();
    // A Recent link pinned to the old identity is refused too.
    let mut link = Link::remote("Shop", ServerPath::parse(&t2.authority()).unwrap());
    link.remote4d_fingerprint = Some("AB".repeat(32));
    let mut lo = ConnectOptions::new(Target::Link(Box::new(link)), c.env());
    lo.force_remote = true;
    assert!(matches!(
        connect(lo, &|_| {}).await.unwrap_err(),
        ConnectError::IdentityChanged { .. }
    ));

    // Wrong publication name, wrong port, not a Remote4D server, a local link.
    let mut wrong = c.options(&t2.authority());
    wrong.project = Some("Other".into());
    assert!(matches!(
        connect(wrong, &|_| {}).await.unwrap_err(),
        ConnectError::WrongProject { .. }
    ));
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert!(matches!(
        connect(c.options(&format!("127.0.0.1:{free}")), &|_| {})
            .await
            .unwrap_err(),
        ConnectError::Unreachable { .. }
    ));
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain_port = plain.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = plain.accept().await {
            use tokio::io::AsyncWriteExt;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")
                .await;
        }
    });
    let e = connect(c.options(&format!("127.0.0.1:{plain_port}")), &|_| {})
        .await
        .unwrap_err();
    // Recognised by the TLS error's type (rustls: not a TLS record), not by its text.
    assert!(
        matches!(
            e,
            ConnectError::NotRemote4d {
                cause: remote4d_core::client::NotAServer::NoTls,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("does not speak TLS"), "{e}");
    let local = Link::default();
    assert!(matches!(
        connect(
            ConnectOptions::new(Target::Link(Box::new(local)), c.env()),
            &|_| {}
        )
        .await
        .unwrap_err(),
        ConnectError::NotRemote
    ));
    t2.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_identity_is_reported_as_data() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let t = start(dir.path(), config()).await;
    let pinned = "AB:".repeat(31) + "AB";
    let api = remote4d_core::client::ApiClient::new(&t.authority(), Some(&pinned)).unwrap();
    let e = api.info().await.unwrap_err();
    let remote4d_core::client::RequestError::IdentityMismatch {
        expected,
        presented,
        ..
    } = &e
    else {
        panic!("expected a mismatch, got {e:?}")
    };
    assert_eq!(expected, &pinned);
    assert_eq!(presented, &t.server.info().fingerprint);
    let e = ConnectError::from(e);
    assert!(
        matches!(&e, ConnectError::IdentityChanged { presented, .. } if *presented == t.server.info().fingerprint),
        "the new fingerprint, not a sentence: {e:?}"
    );
    // The right pin works on the same kind of client.
    remote4d_core::client::ApiClient::new(&t.authority(), Some(&t.server.info().fingerprint))
        .unwrap()
        .info()
        .await
        .unwrap();
    t.server.shutdown().await;
}

/// A name that resolves to nothing is said plainly (recognised by the resolver's error type);
/// in a private network namespace, so the lookup never leaves the machine.
#[test]
fn a_name_that_resolves_to_nothing_is_said_plainly() {
    if !in_private_network("identity::a_name_that_resolves_to_nothing_is_said_plainly") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let api =
            remote4d_core::client::ApiClient::new("no-such-server.invalid:19813", None).unwrap();
        let e = api.info().await.unwrap_err();
        assert!(
            matches!(
                e,
                remote4d_core::client::RequestError::Unreachable {
                    cause: remote4d_core::client::Transport::NameNotFound,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("could not be found"), "{e}");
        let c = Client::new();
        let e = connect(c.options("no-such-server.invalid"), &|_| {})
            .await
            .unwrap_err();
        assert!(matches!(e, ConnectError::Unreachable { .. }), "{e:?}");
        assert!(e.to_string().contains("could not be found"), "{e}");
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_port_nobody_listens_on_is_said_plainly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::new();
    let e = connect(c.options(&format!("127.0.0.1:{port}")), &|_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ConnectError::Unreachable {
                cause: remote4d_core::client::Transport::NothingListening,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("nothing is listening on that port"),
        "{e}"
    );
    assert!(e.allows_offline());
}
