//! The shipped binary against what users and peers do to it, over loopback (no discovery: these
//! need no private network): downloads cut with a reset, bodies cut short, mistyped command lines,
//! no display, escape sequences from a server. Each case once killed or fooled the real program.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{free_port, peer, project, remote4d, serve, text};

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
        text(&o).contains("unrecognized command 'frobnicate'"),
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
        assert!(all.contains("no display"), "{all}");
        assert_eq!(all.trim().lines().count(), 1, "one line: {all}");
    }
}

#[test]
fn text_from_a_server_cannot_drive_the_terminal() {
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Shop");
    project(&root, 0);
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
    let config = w.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "publication_name = \"Shop\\u001b[31m\"\n[hooks]\nopen_connection = [\"{}\"]\n",
            hook.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let home = w.path().join("server");
    let _server = serve(&root, port, &home, &["--config", config.to_str().unwrap()]);
    let o = remote4d(
        &[
            "connect",
            &format!("127.0.0.1:{port}"),
            "--trust-new",
            "--remote",
        ],
        &w.path().join("client"),
    );
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
