//! Client updates the server offers: signed, for logged-in clients, never breaking the installed client.

use crate::support::*;

// Shell scripts, Unix modes and chattr: Unix only.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_update_keeps_the_previous_version_usable() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let mut cfg: ServerConfig = config();
    cfg.keep_builds = 1;
    let t = start(dir.path(), cfg).await;
    let c = Client::new();
    let conn = connect(c.options(&t.authority()), &|_| {}).await.unwrap();
    let root = conn.project_root.clone();
    drop(conn);
    // Make the cache folder read-only: the next update cannot be written.
    write(dir.path(), "Project/Sources/Methods/m04.4dm", b"// v2\n");
    t.server.reload().await.unwrap();
    let cache = c.home.path().join("cache");
    let folder = cache.read_dir().unwrap().next().unwrap().unwrap().path();
    let locked = Unwritable::new(&folder);
    let result = connect(c.options(&t.authority()), &|_| {}).await;
    let exercised = locked.is_some();
    drop(locked);
    if exercised {
        let e = result.unwrap_err();
        assert!(
            matches!(e, ConnectError::Io { .. } | ConnectError::DiskFull { .. }),
            "{e:?}"
        );
    }
    assert!(
        root.join("Project/Sources/Methods/m04.4dm").is_file(),
        "the previous version is intact"
    );
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_update_download_is_retried() {
    let install = tempfile::tempdir().unwrap();
    let exe = install.path().join("remote4d");
    std::fs::write(&exe, b"the installed client").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let build = noise(256 * 1024, 7);
    let (t, offer, direct, key) = refused_with_an_update(dir.path(), build.clone()).await;
    // 128 KB/s: the first attempt takes 2 s, and the connection is cut after 0.7 s.
    let (port, cut) = relay_with_rate(t.server.port(), Some(128 * 1024)).await;
    let api = remote4d_core::client::ApiClient::new(
        &format!("127.0.0.1:{port}"),
        Some(&t.server.info().fingerprint),
    )
    .unwrap()
    .with_token(direct.token().unwrap().to_owned());
    let cutter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        cut.send(1).unwrap();
    });
    let previous = install_signed(&api, &offer, &exe, &key).await.unwrap();
    cutter.await.unwrap();
    assert_eq!(std::fs::read(&exe).unwrap(), build);
    assert_eq!(std::fs::read(previous).unwrap(), b"the installed client");
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_is_installed_only_signed_by_the_publisher_and_for_logged_in_clients() {
    use remote4d_core::client::update::{UpdateError, install};
    use remote4d_core::signing::SigningKey;
    let install_dir = tempfile::tempdir().unwrap();
    let exe = install_dir.path().join("remote4d");
    std::fs::write(&exe, b"the installed client").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (t, offer, api, signer) = refused_with_an_update(dir.path(), noise(32 * 1024, 9)).await;
    let key = signer.public_key();
    let stranger = SigningKey::generate().unwrap().public_key();
    let mut unsigned = offer.clone();
    unsigned.signature = None;
    let mut relabelled = offer.clone();
    relabelled.version = "99.1".into();
    let mut old = offer.clone();
    old.version = "0.0.1".into();
    old.signature = Some(signer.sign("0.0.1", &old.sha256));
    for (o, k, what) in [
        (&offer, None, "no key"),
        (&offer, Some(&stranger), "another publisher"),
        (&unsigned, Some(&key), "unsigned"),
        (&relabelled, Some(&key), "signature of another version"),
    ] {
        let err = install(&api, o, &exe, k, &|_| {}).await.unwrap_err();
        assert!(
            matches!(err, UpdateError::NoKey | UpdateError::Unsigned(_)),
            "{what}: {err:?}"
        );
    }
    let err = install(&api, &old, &exe, Some(&key), &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, UpdateError::NotNewer { .. }), "{err:?}");
    assert_eq!(std::fs::read(&exe).unwrap(), b"the installed client");
    assert!(!install_dir.path().join("remote4d.new").exists());
    // Without a login (no session, no update token), the server gives nothing.
    let anonymous =
        remote4d_core::client::ApiClient::new(&t.authority(), Some(&t.server.info().fingerprint))
            .unwrap();
    let named = format!("/api/v1/client/update/binary?sha256={}", offer.sha256);
    for path in [
        "/api/v1/client/update",
        "/api/v1/client/update/binary",
        "/api/v1/client/update/access",
        named.as_str(),
    ] {
        let status = anonymous
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401, "{path}");
    }
    // With the update token: what a cache asks says yes; the address naming the build is
    // immutable (caches keep it), and answers nothing once it names another build.
    let get = |path: String| {
        let request = api.request(reqwest::Method::GET, &path);
        async move { request.send().await.unwrap() }
    };
    assert_eq!(
        get("/api/v1/client/update/access".into()).await.status(),
        204
    );
    let r = get(named.clone()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["cache-control"],
        "private, max-age=31536000, immutable"
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), noise(32 * 1024, 9));
    let r = get(format!(
        "/api/v1/client/update/binary?sha256={}",
        "0".repeat(64)
    ))
    .await;
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("no longer offered"));
    let r = get("/api/v1/client/update/binary".into()).await;
    assert_eq!(r.headers()["cache-control"], "no-cache");
    t.server.shutdown().await;
}

/// Installs `offer` in place of `exe` for a client whose publisher key is `signer`'s.
async fn install_signed(
    api: &remote4d_core::client::ApiClient,
    offer: &remote4d_core::protocol::UpdateOffer,
    exe: &Path,
    signer: &remote4d_core::signing::SigningKey,
) -> Result<PathBuf, remote4d_core::client::update::UpdateError> {
    remote4d_core::client::update::install(api, offer, exe, Some(&signer.public_key()), &|_| {})
        .await
}

/// A server (on a project in `dir`) that accepts only clients 99.0 and up and offers `build`;
/// this client's connection is refused with that offer. Returns the server, the offer, and an
/// API client pinned to it.
async fn refused_with_an_update(
    dir: &Path,
    build: Vec<u8>,
) -> (
    TestServer,
    remote4d_core::protocol::UpdateOffer,
    remote4d_core::client::ApiClient,
    remote4d_core::signing::SigningKey,
) {
    project(dir);
    let path = dir.join("new-client");
    let sha = Stamp::of_bytes(&build).to_string();
    std::fs::write(&path, build).unwrap();
    let key = remote4d_core::signing::SigningKey::generate().unwrap();
    std::fs::write(dir.join("new-client.sig"), key.sign("99.0", &sha)).unwrap();
    let mut cfg = config();
    cfg.client_update = Some(remote4d_core::server::config::ClientUpdateConfig {
        min_version: Some("99.0".into()),
        max_version: None,
        version: "99.0".into(),
        build: path,
        signature: None,
    });
    let t = start(dir, cfg).await;
    let c = Client::new();
    let e = connect(c.options(&t.authority()), &|_| {})
        .await
        .unwrap_err();
    let ConnectError::ClientVersion {
        update: Some(update),
        message,
    } = e
    else {
        panic!("expected a client-version refusal, got {e:?}")
    };
    assert!(message.contains("99.0"), "{message}");
    assert!(update.token.is_some(), "an update token after the login");
    assert!(
        update.mirrors.is_empty(),
        "this server names no mirror: {update:?}"
    );
    let api = update.client().unwrap();
    (t, update.offer, api, key)
}

/// Makes `folder` unwritable until dropped: mode 0555 for a user; for root (whom modes do not
/// stop), the immutable attribute (`chattr +i`, which stops root too). None when neither works
/// here (a file system without attributes), said on stderr.
// Shell scripts, Unix modes and chattr: Unix only.
#[cfg(unix)]
struct Unwritable(PathBuf, bool);

// Shell scripts, Unix modes and chattr: Unix only.
#[cfg(unix)]
impl Unwritable {
    fn new(folder: &Path) -> Option<Self> {
        use std::os::unix::fs::PermissionsExt;
        if !nix_is_root() {
            std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o555)).unwrap();
            return Some(Self(folder.to_path_buf(), false));
        }
        let ok = std::process::Command::new("chattr")
            .arg("+i")
            .arg(folder)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!(
                "note: running as root where chattr +i does not work: the permission failure is not exercised"
            );
            return None;
        }
        Some(Self(folder.to_path_buf(), true))
    }
}

// Shell scripts, Unix modes and chattr: Unix only.
#[cfg(unix)]
impl Drop for Unwritable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.1 {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.0)
                .status();
        } else {
            let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
        }
    }
}

// Shell scripts, Unix modes and chattr: Unix only.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_client_update_without_write_permission_leaves_the_installed_client_working() {
    let install = tempfile::tempdir().unwrap();
    let exe = install.path().join("remote4d");
    std::fs::write(&exe, b"the installed client").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (t, offer, api, key) = refused_with_an_update(dir.path(), noise(64 * 1024, 5)).await;
    let Some(locked) = Unwritable::new(install.path()) else {
        t.server.shutdown().await;
        return;
    };
    let err = install_signed(&api, &offer, &exe, &key).await.unwrap_err();
    drop(locked);
    let text = err.to_string();
    assert!(
        matches!(
            err,
            remote4d_core::client::update::UpdateError::Install { .. }
        ),
        "{err:?}"
    );
    assert!(text.contains("may not write in"), "{text}");
    assert!(text.contains("unchanged"), "{text}");
    assert_eq!(std::fs::read(&exe).unwrap(), b"the installed client");
    assert!(!install.path().join("remote4d.new").exists());
    assert!(!install.path().join("remote4d.previous").exists());
    // Once the folder is writable again, the same offer installs.
    let previous = install_signed(&api, &offer, &exe, &key).await.unwrap();
    assert_eq!(std::fs::read(&previous).unwrap(), b"the installed client");
    assert_eq!(std::fs::read(&exe).unwrap(), noise(64 * 1024, 5));
    t.server.shutdown().await;
}

// Shell scripts, Unix modes and chattr: Unix only.
#[cfg(unix)]
fn nix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false)
}

// A tiny tmpfs in a private mount namespace: Linux only.
#[cfg(target_os = "linux")]
#[test]
fn a_client_update_that_does_not_fit_leaves_the_installed_client_working() {
    if !in_namespaces(
        "update::a_client_update_that_does_not_fit_leaves_the_installed_client_working",
        &["--net", "--mount"],
    ) {
        return;
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        // A tiny disk holding the installed client.
        let disk = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(disk.path())
            .status()
            .unwrap();
        assert!(status.success(), "mount a tmpfs");
        let exe = disk.path().join("remote4d");
        std::fs::write(&exe, b"the installed client").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (t, offer, api, key) = refused_with_an_update(dir.path(), noise(512 * 1024, 3)).await;
        let err = install_signed(&api, &offer, &exe, &key).await.unwrap_err();
        assert!(err.to_string().contains("disk is full"), "{err}");
        assert!(err.to_string().contains("unchanged"), "{err}");
        assert_eq!(std::fs::read(&exe).unwrap(), b"the installed client");
        assert!(
            !disk.path().join("remote4d.new").exists(),
            "no partial file left"
        );
        t.server.shutdown().await;
        let _ = std::process::Command::new("umount")
            .arg(disk.path())
            .status();
    });
}
