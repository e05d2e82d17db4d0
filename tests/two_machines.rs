//! End to end with the real binaries on two "machines": a server on host a, a client on host b,
//! joined by a slow virtual cable (network namespaces; root only — skipped, and said so,
//! otherwise). Discovery by name across the cable, a cold download interrupted by killing the
//! server (resumed after its restart), then a delta after a method changes; and remote
//! administration from the other machine.

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
    let noise = common::noise(12_000_000, 0x9e37_79b9_7f4a_7c15);
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

    // The server rebuilds after a change; the client reconnects and gets a delta. A second
    // change: its delta is composed with the first, still pending on the archive.
    for (method, body) in [
        ("hello", "ALERT(\"hello again\")\n"),
        ("bye", "ALERT(\"bye\")\n"),
    ] {
        let rel = format!("Project/Sources/Methods/{method}.4dm");
        write(&project, &rel, body.as_bytes());
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
        assert!(out.contains("downloaded an update of"), "{method}: {out}");
        assert_eq!(
            std::fs::read_to_string(Path::new(&folder).join(&rel)).unwrap(),
            body
        );
    }
    // The command did not rewrite the archive: both updates are pending on it, recorded as
    // exactly the server's build (proved by its SHA-256 when applied).
    let rebuilt = tempfile::tempdir().unwrap();
    let expected = remote4d_core::archive::build(
        &project,
        &rebuilt.path().join("x.4dz"),
        &remote4d_core::archive::BuildOptions::default(),
    )
    .unwrap()
    .stamp;
    let pending = std::fs::read_to_string(Path::new(&folder).join("pending.json")).unwrap();
    assert!(pending.contains(&expected.to_string()), "{pending}");
    assert_ne!(
        remote4d_core::archive::Stamp::of_file(&Path::new(&folder).join("project.4dz")).unwrap(),
        expected
    );
    let _ = server.kill();
    let _ = server.wait();
}

/// Remote administration between two machines: the project's Administrator on host b
/// administers the server on host a (status, activity, a message, refusing new connections)
/// over the identity a first connection pinned; bob may not; the server's log on a says who
/// did what, from b's address.
#[test]
fn an_administrator_on_another_machine_administers_the_server() {
    use std::io::Write as _;
    if !common::netns::available() {
        eprintln!("skipped: needs root and iproute2 (ip) to make two network namespaces");
        return;
    }
    let pair = Pair::up(&format!("r4a{}", std::process::id() % 10_000), 79, None);
    let work = tempfile::tempdir().unwrap();
    let project: PathBuf = work.path().join("Shop");
    write(&project, "Project/Shop.4DProject", b"{}");
    write(&project, "Project/Sources/Methods/hello.4dm", b"// hello\n");
    let h = bcrypt::hash("s3cret", 4)
        .unwrap()
        .replacen("$2b$", "$2y$", 1);
    write(
        &project,
        "Settings/directory.json",
        format!(
            r#"{{"users":{{"designer":{{"alias":"Designer","password":"{h}"}},"administrator":{{"alias":"Administrator","password":"{h}"}},"bob":{{"password":"{h}"}}}}}}"#
        )
        .as_bytes(),
    );
    let server_home = work.path().join("server");
    std::fs::create_dir_all(&server_home).unwrap();
    let log = std::fs::File::create(work.path().join("server.log")).unwrap();
    let mut server = pair
        .cmd("a", &server_home)
        .args([
            "serve",
            &project.display().to_string(),
            "--port",
            "19813",
            "--no-publish",
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let admin_home = work.path().join("admin");
    let address = format!("{}:19813", pair.addr("a"));
    let on_b = |args: &[&str]| {
        let mut child = pair
            .cmd("b", &admin_home)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "s3cret").unwrap();
        child.wait_with_output().unwrap()
    };
    // The first connection (bob's) pins the server's identity on b.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let o = on_b(&[
            "connect",
            &address,
            "--trust-new",
            "--user",
            "bob",
            "--password-stdin",
        ]);
        if o.status.success() {
            break;
        }
        assert!(Instant::now() < deadline, "{}", text(&o));
        std::thread::sleep(Duration::from_millis(300));
    }
    let admin = |user: &str, action: &[&str]| {
        let mut args = vec![
            "admin",
            "--server",
            address.as_str(),
            "--user",
            user,
            "--password-stdin",
        ];
        args.extend_from_slice(action);
        on_b(&args)
    };
    let o = admin("Administrator", &["status", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(status["publication_name"], "Shop", "{status}");
    let o = admin("Administrator", &["message", "Restarting at noon"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = admin("Administrator", &["accept", "off"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = on_b(&["connect", &address, "--user", "bob", "--password-stdin"]);
    assert!(
        !o.status.success() && text(&o).contains("does not accept new connections"),
        "{}",
        text(&o)
    );
    let o = admin("Administrator", &["activity"]);
    assert!(
        text(&o).contains(&format!("bob from {}", pair.addr("b"))),
        "{}",
        text(&o)
    );
    let o = admin("Administrator", &["accept", "on"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = admin("bob", &["status"]);
    assert!(
        !o.status.success() && text(&o).contains("may not administer"),
        "{}",
        text(&o)
    );
    // Publishing, switched from b: the server (started unpublished) is found on the network,
    // then no longer once withdrawn (goodbye packets).
    let found = || {
        let o = pair
            .cmd("b", &admin_home)
            .args(["browse", "--json", "--timeout", "2"])
            .output()
            .unwrap();
        text(&o).contains("\"publication_name\": \"Shop\"")
    };
    assert!(!found(), "not published yet");
    let o = admin("Administrator", &["publish", "on"]);
    assert!(o.status.success(), "{}", text(&o));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !found() {
        assert!(Instant::now() < deadline, "published, but not found from b");
    }
    let o = admin("Administrator", &["publish", "off"]);
    assert!(o.status.success(), "{}", text(&o));
    let deadline = Instant::now() + Duration::from_secs(20);
    while found() {
        assert!(
            Instant::now() < deadline,
            "withdrawn, but still found from b"
        );
    }
    // A restart from b: the server comes back on its port, and the Administrator logs in again.
    let o = admin("Administrator", &["restart"]);
    assert!(o.status.success(), "{}", text(&o));
    let deadline = Instant::now() + Duration::from_secs(30);
    let server_log = || std::fs::read_to_string(work.path().join("server.log")).unwrap();
    loop {
        // Stopped for the restart (said on its standard error), and answering again: the new
        // server (the old one closed its port first), whose activity starts afresh.
        if server_log().contains("restarting") {
            let o = admin("Administrator", &["activity"]);
            if o.status.success() {
                assert!(
                    !text(&o).contains("refused new connections"),
                    "{}",
                    text(&o)
                );
                break;
            }
        }
        assert!(Instant::now() < deadline, "{}", server_log());
        std::thread::sleep(Duration::from_millis(300));
    }
    let log = std::fs::read_to_string(work.path().join("server.log")).unwrap();
    assert!(
        log.contains(&format!(
            "administration: new connections refused by=Administrator from {}",
            pair.addr("b")
        )),
        "{log}"
    );
    assert!(log.contains("restarting"), "{log}");
    let _ = server.kill();
    let _ = server.wait();
}
