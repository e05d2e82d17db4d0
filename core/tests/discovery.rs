//! DNS-SD publication and browsing, inside a private network namespace (never on a real
//! interface): our browser, an independent one (python-zeroconf), goodbyes, stamp updates.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use futures::StreamExt;
use remote4d_core::archive::Stamp;
use remote4d_core::discovery::{DiscoveryEvent, Publication, Publisher, browse};

async fn next(
    stream: &mut (impl futures::Stream<Item = DiscoveryEvent> + Unpin),
    secs: u64,
) -> DiscoveryEvent {
    tokio::time::timeout(Duration::from_secs(secs), stream.next())
        .await
        .expect("a discovery event in time")
        .expect("the browser keeps running")
}

#[test]
fn publish_browse_update_goodbye() {
    if !in_private_network("publish_browse_update_goodbye") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (_handle, mut servers) = browse().unwrap();
        let stamp = Stamp::of_bytes(b"v1");
        let mut publisher = Publisher::start(Publication {
            name: "私のサーバー".into(),
            port: 20000,
            server_id: "11111111-2222-3333-4444-555555555555".into(),
            fingerprint: "AB:CD".repeat(16),
            stamp,
            host_name: "test-host".into(),
        })
        .unwrap();
        let DiscoveryEvent::Added(s) = next(&mut servers, 10).await else { panic!("expected Added") };
        assert_eq!(s.publication_name, "私のサーバー");
        assert_eq!(s.port, 20000);
        assert_eq!(s.server_id.as_deref(), Some("11111111-2222-3333-4444-555555555555"));
        assert_eq!(s.stamp, Some(stamp));
        assert_eq!(s.protocol_version, Some(1));
        assert!(!s.addresses.is_empty(), "{s:?}");
        assert_eq!(s.host, "test-host.local.");

        // An independent mDNS browser sees it too.
        let python = ["/usr/bin/python3", "python3"]
            .into_iter()
            .find(|p| Command::new(p).args(["-c", "import zeroconf"]).output().is_ok_and(|o| o.status.success()));
        match python {
            Some(py) => {
                let script = r#"
import time, zeroconf
found = {}
class L:
    def add_service(self, zc, t, name):
        info = zc.get_service_info(t, name, 3000)
        if info: found[name] = (info.port, info.properties)
    def update_service(self, zc, t, name): pass
    def remove_service(self, zc, t, name): pass
zc = zeroconf.Zeroconf(interfaces=["127.0.0.1"])
zeroconf.ServiceBrowser(zc, "_remote4d._tcp.local.", L())
for _ in range(60):
    if found: break
    time.sleep(0.1)
zc.close()
for name, (port, props) in found.items():
    print(name, port, props.get(b"name", b"").decode())
"#;
                let out = Command::new(py).args(["-c", script]).output().unwrap();
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(text.contains("20000 私のサーバー"), "python-zeroconf saw: {text} / {}", String::from_utf8_lossy(&out.stderr));
                println!("python-zeroconf saw: {text}");
            }
            None => println!("skipped the independent browser: python3 with zeroconf is not installed (apt-get install python3-zeroconf)"),
        }

        let stamp2 = Stamp::of_bytes(b"v2");
        publisher.update_stamp(stamp2).unwrap();
        let updated = loop {
            match next(&mut servers, 10).await {
                DiscoveryEvent::Updated(s) if s.stamp == Some(stamp2) => break s,
                _ => continue,
            }
        };
        assert_eq!(updated.publication_name, "私のサーバー");

        tokio::task::spawn_blocking(move || publisher.shutdown()).await.unwrap();
        let removed = loop {
            if let DiscoveryEvent::Removed { fullname } = next(&mut servers, 10).await {
                break fullname;
            }
        };
        assert_eq!(removed, updated.fullname, "the goodbye removes it at once");
    });
}

#[test]
fn a_started_server_is_published_under_its_publication_name_and_port() {
    if !in_private_network("a_started_server_is_published_under_its_publication_name_and_port") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path());
        write(
            dir.path(),
            "Project/Sources/settings.4DSettings",
            "<preferences><com.4d><server><network><options publication_name=\"Boutique\"/></network></server></com.4d></preferences>".as_bytes(),
        );
        let (_handle, mut servers) = browse().unwrap();
        let mut cfg = config();
        cfg.publish = true;
        let t = start(dir.path(), cfg).await;
        let info = t.server.info();
        let found = loop {
            if let DiscoveryEvent::Added(s) = next(&mut servers, 10).await {
                break s;
            }
        };
        assert_eq!(found.publication_name, "Boutique");
        assert_eq!(found.port, t.server.port());
        assert_eq!(found.server_id.as_deref(), Some(info.server_id.as_str()));
        assert_eq!(found.stamp, Some(info.stamp));
        // Announced in its short hex form, read back as the one form `serve` prints.
        assert_eq!(found.fingerprint.unwrap().to_string(), info.fingerprint);
        // A rebuild is announced with the new stamp.
        write(dir.path(), "Project/Sources/Methods/m01.4dm", b"// new\n");
        let stamp = t.server.reload().await.unwrap();
        loop {
            if let DiscoveryEvent::Updated(s) = next(&mut servers, 10).await {
                if s.stamp == Some(stamp) {
                    break;
                }
            }
        }
        // The administrator withdraws the announcement (goodbye), then announces it again; the
        // server stays reachable by its address meanwhile.
        let token = remote4d_core::server::admin::read_token(t.server.admin_token_path()).unwrap();
        let admin = t.client().with_token(token.token);
        let publish = |on: bool| {
            let admin = admin.clone();
            async move {
                admin
                    .send(
                        reqwest::Method::POST,
                        "/api/v1/admin/publish",
                        Some(&serde_json::json!({ "publish": on })),
                    )
                    .await
                    .unwrap();
            }
        };
        publish(false).await;
        loop {
            if let DiscoveryEvent::Removed { .. } = next(&mut servers, 10).await {
                break;
            }
        }
        assert!(!t.server.is_published());
        t.client().info().await.unwrap();
        publish(true).await;
        let again = loop {
            if let DiscoveryEvent::Added(s) = next(&mut servers, 10).await {
                break s;
            }
        };
        assert_eq!(again.publication_name, "Boutique");
        assert!(t.server.is_published());
        t.server.shutdown().await;
        loop {
            if let DiscoveryEvent::Removed { .. } = next(&mut servers, 10).await {
                break;
            }
        }
    });
}
