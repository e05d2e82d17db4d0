//! End to end with the real binaries on two "machines": a server on host a, a client on host b,
//! joined by a slow virtual cable (network namespaces; root only — skipped, and said so,
//! otherwise). Discovery by name across the cable, a cold download interrupted by killing the
//! server (resumed after its restart), then a delta after a method changes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::netns::Pair;
use common::text;

fn write(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn serve(pair: &Pair, project: &Path, home: &Path) -> Child {
    pair.cmd("a", home)
        .args(["serve", &project.display().to_string(), "--port", "19813"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn part_size(cache: &Path) -> u64 {
    let Ok(read) = std::fs::read_dir(cache) else {
        return 0;
    };
    read.flatten()
        .map(|e| {
            std::fs::metadata(e.path().join("project.4dz.part"))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn a_client_on_another_machine_finds_downloads_resumes_and_updates() {
    if !common::netns::available() || Command::new("tc").arg("-V").output().is_err() {
        eprintln!("skipped: needs root and iproute2 (ip, tc) to make two network namespaces");
        return;
    }
    let pair = Pair::up(
        &format!("r4e{}", std::process::id() % 10_000),
        78,
        Some("40mbit"),
    );
    let work = tempfile::tempdir().unwrap();
    let project: PathBuf = work.path().join("Shop");
    write(&project, "Project/Shop.4DProject", b"{}");
    write(
        &project,
        "Project/Sources/Methods/hello.4dm",
        b"ALERT(\"hello\")\n",
    );
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u8> = (0..12_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    write(&project, "Project/Sources/Forms/F/Images/photo.png", &noise);
    let server_home = work.path().join("server");
    let client_home = work.path().join("client");
    let mut server = serve(&pair, &project, &server_home);

    // Discovery across the cable.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let o = pair
            .cmd("b", &client_home)
            .args(["browse", "--json", "--timeout", "2"])
            .output()
            .unwrap();
        if text(&o).contains("\"publication_name\": \"Shop\"") {
            assert!(text(&o).contains("10.78.0.1"), "{}", text(&o));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server was not found: {}",
            text(&o)
        );
    }

    // Cold connect by name; kill the server mid-download; restart it; the download resumes.
    // A first contact: the fingerprint is checked (here: trusted at once), never taken from
    // the announcement.
    let client = pair
        .cmd("b", &client_home)
        .args(["connect", ":19813", "--project", "Shop", "--trust-new"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let cache = client_home.join("cache");
    let deadline = Instant::now() + Duration::from_secs(30);
    while part_size(&cache) < 1_000_000 {
        assert!(Instant::now() < deadline, "the download did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-9", &server.id().to_string()])
        .status();
    let _ = server.wait();
    let at_kill = part_size(&cache);
    std::thread::sleep(Duration::from_millis(800));
    server = serve(&pair, &project, &server_home);
    let o = client.wait_with_output().unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("retry"), "the client retried: {out}");
    assert!(
        out.contains("connected to \"Shop\" at 10.78.0.1:19813: remote"),
        "{out}"
    );
    let folder = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert_eq!(
        std::fs::read(Path::new(&folder).join("Project/Sources/Forms/F/Images/photo.png")).unwrap(),
        noise
    );
    assert!(
        at_kill > 0 && at_kill < noise.len() as u64,
        "killed mid-download ({at_kill} bytes)"
    );

    // The server rebuilds after a change; the client reconnects and gets a delta.
    write(
        &project,
        "Project/Sources/Methods/hello.4dm",
        b"ALERT(\"hello again\")\n",
    );
    let o = pair
        .cmd("a", &server_home)
        .args(["reload", "127.0.0.1:19813"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = pair
        .cmd("b", &client_home)
        .args(["connect", ":19813", "--project", "Shop"])
        .output()
        .unwrap();
    let out = text(&o);
    assert!(out.contains("downloaded an update of"), "{out}");
    assert_eq!(
        std::fs::read_to_string(Path::new(&folder).join("Project/Sources/Methods/hello.4dm"))
            .unwrap(),
        "ALERT(\"hello again\")\n"
    );
    // The command wrote the new archive before exiting: exactly the server's build.
    let rebuilt = tempfile::tempdir().unwrap();
    let expected = remote4d_core::archive::build(
        &project,
        &rebuilt.path().join("x.4dz"),
        &remote4d_core::archive::BuildOptions::default(),
    )
    .unwrap()
    .stamp;
    assert_eq!(
        remote4d_core::archive::Stamp::of_file(&Path::new(&folder).join("project.4dz")).unwrap(),
        expected
    );
    assert!(!Path::new(&folder).join("pending.json").exists());
    let _ = server.kill();
    let _ = server.wait();
}
