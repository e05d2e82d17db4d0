//! Shared helpers of the integration tests: sample projects, a server on loopback, network
//! namespaces for anything that multicasts.
#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use remote4d_core::client::ApiClient;
use remote4d_core::environment::Environment;
use remote4d_core::server::{Server, ServerConfig, ServerOptions};

pub fn write(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// A small project: a few methods, a form, a catalog.
pub fn project(root: &Path) {
    write(
        root,
        "Project/Shop.4DProject",
        br#"{"compatibilityVersion": 2040}"#,
    );
    write(
        root,
        "Project/Sources/catalog.4DCatalog",
        br#"<base name="Shop"><table name="Customers" id="1"><field name="ID" type="4" id="1"/></table></base>"#,
    );
    for i in 0..20 {
        write(
            root,
            &format!("Project/Sources/Methods/m{i:02}.4dm"),
            format!("// method {i}\nALERT(\"{i}\")\n")
                .repeat(30)
                .as_bytes(),
        );
    }
    write(
        root,
        "Project/Sources/Forms/Main/form.4DForm",
        b"{\"pages\":[]}",
    );
}

/// Adds `directory.json` with `user`/`password` (bcrypt, as 4D writes it).
pub fn with_user(root: &Path, user: &str, password: &str) -> String {
    let hash = bcrypt::hash(password, 4)
        .unwrap()
        .replacen("$2b$", "$2y$", 1);
    let json = format!(
        r#"{{"users":{{"designer":{{"alias":"Designer"}},"{user}":{{"password":"{hash}"}}}}}}"#
    );
    write(root, "Settings/directory.json", json.as_bytes());
    hash
}

pub struct TestServer {
    pub server: Server,
    pub env: Environment,
    pub home: tempfile::TempDir,
}

impl TestServer {
    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.server.port())
    }

    /// A client pinned to the server's fingerprint.
    pub fn client(&self) -> ApiClient {
        ApiClient::new(&self.authority(), Some(&self.server.info().fingerprint)).unwrap()
    }
}

pub fn config() -> ServerConfig {
    ServerConfig {
        port: Some(0),
        bind: vec!["127.0.0.1".parse().unwrap()],
        publish: false,
        debounce_ms: 100,
        ..ServerConfig::default()
    }
}

pub async fn start(root: &Path, config: ServerConfig) -> TestServer {
    let home = tempfile::tempdir().unwrap();
    start_in(root, config, home).await
}

pub async fn start_in(root: &Path, config: ServerConfig, home: tempfile::TempDir) -> TestServer {
    let env = Environment::portable(home.path());
    let server = Server::start(ServerOptions {
        project: root.to_path_buf(),
        config,
        env: env.clone(),
        build_progress: None,
    })
    .await
    .unwrap();
    TestServer { server, env, home }
}

/// Polls `f` until it returns `Some`, for up to `secs` seconds.
pub async fn eventually<T, F: Future<Output = Option<T>>>(
    secs: u64,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the calling test again inside a private network namespace (loopback only), so that
/// mDNS never reaches a real interface. Returns true inside the namespace (run the body), false
/// outside (the child ran it; its result was checked).
pub fn in_private_network(test: &str) -> bool {
    in_namespaces(test, &["--net"])
}

/// Like [`in_private_network`], with more namespaces (e.g. `--mount` for a private tmpfs).
pub fn in_namespaces(test: &str, namespaces: &[&str]) -> bool {
    if std::env::var_os("REMOTE4D_IN_NETNS").is_some() {
        return true;
    }
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(namespaces);
    // SAFETY-free check of the effective uid through `id -u`.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    if !root {
        cmd.arg("--map-root-user");
    }
    cmd.args(["sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""])
        .arg(&exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("REMOTE4D_IN_NETNS", "1");
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!(
            "cannot run unshare to make a private network namespace: {e} (apt-get install util-linux iproute2)"
        ),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("--- inside a private network namespace ---\n{text}");
    assert!(
        out.status.success(),
        "{test} failed inside its network namespace"
    );
    assert!(
        text.contains("1 passed"),
        "{test} did not run inside its namespace"
    );
    false
}

pub fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("REMOTE4D_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"));
    dir.is_dir().then_some(dir)
}

/// Writes a self-signed certificate for `name` as the project's TLS identity
/// (`Resources/cert.pem` + `key.pem`, as in 4D); returns the certificate's DER bytes.
pub fn project_certificate(root: &Path, name: &str) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    write(root, "Resources/cert.pem", cert.pem().as_bytes());
    write(root, "Resources/key.pem", key.serialize_pem().as_bytes());
    cert.der().to_vec()
}

/// `len` bytes that do not compress (xorshift from `seed`).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
