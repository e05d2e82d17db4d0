//! The shipped binary against what users and peers do to it, over loopback (no discovery: these
//! need no private network): downloads cut with a reset, bodies cut short, mistyped command lines,
//! no display, escape sequences from a server. Each case once killed or fooled the real program.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{free_port, peer, project, remote4d, serve, text};

/// `remote4d connect 127.0.0.1:PORT --trust-new --remote` as a new user of `home`.
fn connect_to(port: u16, home: &std::path::Path) -> std::process::Output {
    remote4d(
        &[
            "connect",
            &format!("127.0.0.1:{port}"),
            "--trust-new",
            "--remote",
        ],
        home,
    )
}

/// A server on a small project in `w`, with `config` as its configuration file.
fn serve_with(w: &tempfile::TempDir, config: &str) -> (u16, std::path::PathBuf, common::Server) {
    let root = w.path().join("Shop");
    project(&root, 0);
    let file = w.path().join("server.toml");
    std::fs::write(&file, config).unwrap();
    let port = free_port();
    let home = w.path().join("server");
    let server = serve(&root, port, &home, &["--config", file.to_str().unwrap()]);
    (port, home, server)
}

#[test]
fn peers_that_reset_downloads_or_cut_bodies_never_kill_the_server() {
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Shop");
    // 6 MB that do not compress: each download is still being written when its peer resets.
    project(&root, 6 << 20);
    let home = w.path().join("server");
    let port = free_port();
    let mut server = serve(&root, port, &home, &[]);
    let log = home.join("server.log");
    for round in 0..3 {
        for _ in 0..8 {
            peer::cut_download(port, 64 << 10);
        }
        for sent in [0, 5, 40] {
            peer::cut_body(port, 100, sent);
        }
        std::thread::sleep(Duration::from_millis(300));
        server.assert_alive(&log);
        let (status, body) = peer::get(port, "/api/v1/info");
        assert!(status.contains(" 200 "), "round {round}: {status} {body}");
    }
    // Many at once, from threads.
    let cuts: Vec<_> = (0..24)
        .map(|i| std::thread::spawn(move || peer::cut_download(port, 4096 * (i + 1))))
        .collect();
    for c in cuts {
        let _ = c.join();
    }
    std::thread::sleep(Duration::from_millis(500));
    server.assert_alive(&log);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.contains("panicked"), "{logged}");
}

#[test]
fn a_closed_standard_output_ends_a_command_quietly() {
    let home = tempfile::tempdir().unwrap();
    // `remote4d --help | head -1`: the reader goes away after one line.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' archive --help | head -c 10 >/dev/null; '{}' link new --name X --address 10.0.0.1 | head -c 5; echo \" status=$?\"",
            env!("CARGO_BIN_EXE_remote4d"),
            env!("CARGO_BIN_EXE_remote4d")
        ))
        .env("REMOTE4D_HOME", home.path())
        .output()
        .unwrap();
    let all = text(&out);
    assert!(!all.contains("panicked"), "{all}");
    assert!(!all.contains("Broken pipe"), "{all}");
}

#[test]
fn global_flags_work_anywhere_and_mistyped_commands_are_named() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // A global flag before the command.
    let o = remote4d(&["-v", "recent"], h);
    assert!(o.status.success(), "{}", text(&o));
    let o = remote4d(&["recent", "-v"], h);
    assert!(o.status.success(), "{}", text(&o));
    let o = remote4d(&["-v", "serve", "/nonexistent/project"], h);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("/nonexistent/project") && !text(&o).contains("unexpected argument"),
        "serve ran and named the project: {}",
        text(&o)
    );
    // Unknown words are unknown commands, not shortcut files, with a suggestion.
    let o = remote4d(&["frobnicate"], h);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("error: Unrecognized command 'frobnicate'"),
        "{}",
        text(&o)
    );
    let o = remote4d(&["recnet"], h);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("'recent'"), "{}", text(&o));
    let o = remote4d(&["./nowhere.txt"], h);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("neither a command nor an existing .4DLink file"),
        "{}",
        text(&o)
    );
}

#[test]
fn without_a_display_the_app_says_so_in_one_line() {
    let home = tempfile::tempdir().unwrap();
    for args in [&[][..], &["Shop.4DLink"][..]] {
        let o = Command::new(env!("CARGO_BIN_EXE_remote4d"))
            .args(args)
            .env("REMOTE4D_HOME", home.path())
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .unwrap();
        let all = text(&o);
        assert_eq!(o.status.code(), Some(1), "{all}");
        assert!(!all.contains("panicked"), "{all}");
        assert!(all.contains("error: No display"), "{all}");
        assert_eq!(all.trim().lines().count(), 1, "one line: {all}");
    }
    // A display that is named but not there.
    let o = Command::new(env!("CARGO_BIN_EXE_remote4d"))
        .env("REMOTE4D_HOME", home.path())
        .env("DISPLAY", ":93")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("cannot open the display :93"), "{all}");
    assert_eq!(all.trim().lines().count(), 1, "one line: {all}");
}

#[test]
fn text_from_a_server_cannot_drive_the_terminal() {
    let w = tempfile::tempdir().unwrap();
    // The server's hook refuses with escape sequences: clear the screen, set the title, and a
    // fake "ready" line drawn over the real output.
    let hook = w.path().join("refuse.sh");
    std::fs::write(
        &hook,
        "#!/bin/sh\ncat >/dev/null\nprintf '\\033[2J\\033]0;owned\\007\\rready: /etc\\033[8m hidden'\nexit 1\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (port, _home, _server) = serve_with(
        &w,
        &format!(
            "publication_name = \"Shop\\u001b[31m\"\n[hooks]\nopen_connection = [\"{}\"]\n",
            hook.display()
        ),
    );
    let o = connect_to(port, &w.path().join("client"));
    let all = text(&o);
    assert!(!o.status.success());
    assert!(all.contains("ready: /etc"), "the message is shown: {all}");
    for c in all.chars() {
        assert!(
            !c.is_control() || c == '\n' || c == '\t',
            "control character {c:?} printed: {all:?}"
        );
    }
}

#[test]
fn idle_connections_close_and_listening_clients_stay() {
    use std::io::{Read, Write};
    let w = tempfile::tempdir().unwrap();
    let (port, home, mut server) = serve_with(
        &w,
        "heartbeat_secs = 1\n[limits]\nrequest_header_secs = 2\nconnection_idle_secs = 3\n",
    );
    // Ends with EOF or an error within the socket's 20 s read timeout: closed by the server.
    let closed = |s: &mut rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>| {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) => return e.kind() != std::io::ErrorKind::WouldBlock,
            }
        }
    };
    // A handshake, then nothing: closed.
    let mut silent = peer::connect(port);
    silent.conn.complete_io(&mut silent.sock).unwrap();
    assert!(closed(&mut silent), "a silent connection is closed");
    // Headers sent byte by byte, slowly: closed.
    let mut slow = peer::connect(port);
    let mut cut = false;
    for b in b"GET /api/v1/info HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa" {
        if slow.write_all(&[*b]).and_then(|()| slow.flush()).is_err() {
            cut = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(cut || closed(&mut slow), "a slow-loris request is cut");
    // A client that only listens to its event stream over HTTP/1.1 stays connected, twice the
    // idle limit, receiving the heartbeats.
    let o = connect_to(port, &w.path().join("client"));
    assert!(o.status.success(), "{}", text(&o));
    let (status, body) = peer::post_json(port, "/api/v1/sessions", r#"{"client_id":"h1"}"#);
    assert!(status.contains(" 201 "), "{status} {body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (id, token) = (
        v["session"]["ID"].as_str().unwrap(),
        v["token"].as_str().unwrap(),
    );
    let mut events = peer::connect(port);
    events
        .write_all(
            format!(
                "GET /api/v1/sessions/{id}/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let started = std::time::Instant::now();
    let mut beats = 0;
    let mut buf = [0u8; 4096];
    while started.elapsed() < Duration::from_secs(7) {
        let n = events.read(&mut buf).expect("the event stream stays open");
        assert!(n > 0, "the event stream stays open");
        beats += String::from_utf8_lossy(&buf[..n])
            .matches("heartbeat")
            .count();
    }
    assert!(beats >= 5, "heartbeats kept coming: {beats}");
    server.assert_alive(&home.join("server.log"));
}

/// A mistyped `[[mirror]]` stops `remote4d serve` at once, with exit status 1 and what is wrong
/// (never a server that would send clients to a wrong address).
#[test]
fn a_wrong_mirror_in_the_configuration_stops_the_server_with_the_reason() {
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Shop");
    project(&root, 0);
    let cases = [
        (
            "[[mirror]]\nurl = \"http://cache.example\"\n",
            "not an https:// URL",
        ),
        (
            "[[mirror]]\nurl = \"https://cache.example\"\nsubnets = [\"10.2.0.0/33\"]\n",
            "is not a network",
        ),
    ];
    for (i, (config, says)) in cases.iter().enumerate() {
        let file = w.path().join(format!("server-{i}.toml"));
        std::fs::write(&file, config).unwrap();
        let port = free_port().to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_remote4d"))
            .args(["serve", root.to_str().unwrap(), "--no-publish", "--bind"])
            .args(["127.0.0.1", "--port", &port, "--config"])
            .arg(&file)
            .env("REMOTE4D_HOME", w.path().join("home"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("remote4d serve started with {config:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let o = child.wait_with_output().unwrap();
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(out.contains(says), "{config:?}: {out}");
    }
}
