//! Helpers shared by the root tests, which run this build's `remote4d` as a process.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// Runs this build's `remote4d` with `args`, its folders under `home`.
pub fn remote4d(args: &[&str], home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_remote4d"))
        .args(args)
        .env("REMOTE4D_HOME", home)
        .output()
        .expect("run remote4d")
}

/// Everything a command printed.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A server process, killed when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (up to 20 s) until something listens on 127.0.0.1:`port`.
pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub mod netns;
pub mod peer;

/// Starts `remote4d serve PROJECT` on 127.0.0.1:`port` (not published), its folders under
/// `home`, standard error kept in `home/server.log`; waits until it listens.
pub fn serve(project: &Path, port: u16, home: &Path, extra: &[&str]) -> Server {
    std::fs::create_dir_all(home).unwrap();
    let log = std::fs::File::create(home.join("server.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_remote4d"))
        .args(["serve", project.to_str().unwrap(), "--port"])
        .arg(port.to_string())
        .args(["--no-publish", "--bind", "127.0.0.1"])
        .args(extra)
        .env("REMOTE4D_HOME", home)
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start remote4d serve");
    let server = Server(child);
    wait_for_port(port);
    server
}

/// Writes `content` at `root/rel`, making the folders.
pub fn write(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// A small project named Shop, with `extra` bytes of incompressible data in one method (so
/// that its archive takes a while to send).
pub fn project(root: &Path, extra: usize) {
    write(root, "Project/Shop.4DProject", b"{}");
    write(
        root,
        "Project/Sources/catalog.4DCatalog",
        br#"<base name="Shop"><table name="T" id="1"><field name="ID" type="4" id="1"/></table></base>"#,
    );
    for i in 0..10 {
        write(
            root,
            &format!("Project/Sources/Methods/m{i}.4dm"),
            format!("// method {i}\n").repeat(50).as_bytes(),
        );
    }
    if extra > 0 {
        write(root, "Project/Sources/Methods/big.4dm", &noise(extra, 42));
    }
}

/// `len` bytes that do not compress.
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

impl Server {
    /// Fails the test if the server process has ended (with how it ended and its log).
    pub fn assert_alive(&mut self, log: &Path) {
        if let Some(status) = self.0.try_wait().unwrap() {
            panic!(
                "the server died ({status}); its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
    }
}

/// `remote4d build client --link LINK --out OUT EXTRA…`, its folders under `home`.
pub fn build_client(link: &Path, out: &Path, home: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "build",
        "client",
        "--link",
        link.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    remote4d(&args, home)
}

/// `remote4d link new --name NAME --address ADDRESS -o OUT`, its folders under `home`; asserts it
/// succeeded.
pub fn new_link(name: &str, address: &str, out: &Path, home: &Path) {
    let o = remote4d(
        &[
            "link",
            "new",
            "--name",
            name,
            "--address",
            address,
            "-o",
            out.to_str().unwrap(),
        ],
        home,
    );
    assert!(o.status.success(), "{}", text(&o));
}

/// `remote4d build sign-update --key KEY --version VERSION BUILD` (the publisher signs a client
/// build a server will offer), its folders under `home`.
pub fn sign_update(key: &Path, version: &str, build: &Path, home: &Path) -> Output {
    remote4d(
        &[
            "build",
            "sign-update",
            "--key",
            key.to_str().unwrap(),
            "--version",
            version,
            build.to_str().unwrap(),
        ],
        home,
    )
}

/// `remote4d build server --project PROJECT --out OUT`, its folders under `home`.
pub fn build_server(project: &Path, out: &Path, home: &Path) -> Output {
    remote4d(
        &[
            "build",
            "server",
            "--project",
            project.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        home,
    )
}
