//! The command line as a newcomer uses it from the README.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::remote4d;

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sample(root: &Path) {
    let w = |rel: &str, c: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, c).unwrap();
    };
    w("Project/Demo.4DProject", "{\"compatibilityVersion\": 2040}");
    w("Project/Sources/Methods/hello.4dm", "ALERT(\"hello\")\n");
    w(
        "Project/Sources/settings.4DSettings",
        "<preferences><com.4d><server><network><options publication_name=\"Démo\" publication_port=\"20001\"/><client_server use_encryption=\"false\" connections_timeout=\"15\"/></network></server></com.4d></preferences>",
    );
    w("Project/DerivedData/x.json", "{}");
}

#[test]
fn link_new_then_show() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("Shop.4DLink");
    let o = remote4d(
        &[
            "link",
            "new",
            "--name",
            "Shop & Co",
            "--address",
            "[fd00::1]:19820",
            "--user",
            "bob",
            "-o",
            file.to_str().unwrap(),
        ],
        home.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    let o = remote4d(&["link", "show", file.to_str().unwrap()], home.path());
    assert!(o.status.success());
    assert!(text(&o).contains("Shop & Co"));
    assert!(text(&o).contains("[fd00::1]:19820"));
    let o = remote4d(
        &["link", "show", "--json", file.to_str().unwrap()],
        home.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kind"], "remote");
    assert_eq!(v["host"], "fd00::1");
    assert_eq!(v["port"], 19820);
    assert_eq!(v["attributes"]["user_name"], "bob");
    // Written to stdout without -o.
    let o = remote4d(
        &["link", "new", "--name", "X", "--address", ":19813"],
        home.path(),
    );
    assert!(text(&o).contains("server_path=\":19813\""));
}

#[test]
fn bad_input_gives_a_clear_error_and_exit_code() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("bad.4DLink");
    std::fs::write(&file, "<database_shortcut is_remote=\"true\" server_path=\"h:70000\" server_database_name=\"X\"/>").unwrap();
    let o = remote4d(&["link", "show", file.to_str().unwrap()], home.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("Line 1, column"), "{}", err(&o));
    assert!(err(&o).contains("out of range"), "{}", err(&o));
    assert!(!err(&o).contains("panicked"));
    let o = remote4d(
        &["link", "new", "--name", "X", "--address", "h:abc"],
        home.path(),
    );
    assert_eq!(o.status.code(), Some(2), "usage errors exit 2");
    let o = remote4d(&["archive", "list", file.to_str().unwrap()], home.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("not a readable .4dz"), "{}", err(&o));
}

#[test]
fn archive_build_list_verify_unpack_and_project_show() {
    let home = tempfile::tempdir().unwrap();
    let project = home.path().join("Demo");
    sample(&project);
    let out: PathBuf = home.path().join("demo.4dz");
    let o = remote4d(
        &[
            "archive",
            "build",
            project.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        home.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    let stamp = text(&o).trim().to_owned();
    assert_eq!(stamp.len(), 64, "prints the stamp: {stamp}");
    let o = remote4d(
        &[
            "archive",
            "build",
            project.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        home.path(),
    );
    assert_eq!(text(&o).trim(), stamp, "same project, same stamp");
    let o = remote4d(&["archive", "list", out.to_str().unwrap()], home.path());
    assert!(text(&o).contains("Project/Sources/Methods/hello.4dm"));
    assert!(!text(&o).contains("DerivedData"));
    assert!(text(&o).contains(&stamp));
    let o = remote4d(&["archive", "verify", out.to_str().unwrap()], home.path());
    assert!(text(&o).starts_with("ok:"), "{}", text(&o));
    let dir = home.path().join("unpacked");
    let o = remote4d(
        &[
            "archive",
            "unpack",
            out.to_str().unwrap(),
            dir.to_str().unwrap(),
        ],
        home.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("Project/Sources/Methods/hello.4dm")).unwrap(),
        "ALERT(\"hello\")\n"
    );
    let o = remote4d(
        &["project", "show", "--json", project.to_str().unwrap()],
        home.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["publication_name"], "Démo");
    assert_eq!(v["publication_port"], 20001);
    assert_eq!(v["content"]["methods"][0], "hello");
    assert_eq!(v["settings"]["connections_timeout_minutes"], 15);
    assert_eq!(v["settings"]["use_encryption"], false);
    let o = remote4d(&["project", "show", project.to_str().unwrap()], home.path());
    assert!(
        text(&o).contains("connections timeout 15 min; encryption off (Remote4D always uses TLS)"),
        "{}",
        text(&o)
    );
    let o = remote4d(&["recent"], home.path());
    assert!(text(&o).contains("no Recent projects yet"));
    let o = remote4d(&["recent", "--json"], home.path());
    assert_eq!(text(&o).trim(), "[]");
}

#[test]
fn the_admin_commands_drive_a_running_server() {
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Shop");
    common::project(&root, 0);
    let port = common::free_port();
    // Server and administrator are the same user: the same home holds the token.
    let home = w.path().join("home");
    let _server = common::serve(&root, port, &home, &[]);
    let p = port.to_string();
    let o = remote4d(&["admin", "--port", &p, "sessions", "--json"], &home);
    assert!(o.status.success(), "{}", common::text(&o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|s| s["info"]["type"] == "storedProcedure"),
        "{list}"
    );
    // The same as a table: a header row, the columns aligned.
    let o = remote4d(&["admin", "--port", &p, "sessions"], &home);
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("SESSION") && lines[0].contains("STATE"),
        "{table}"
    );
    assert!(lines.len() >= 2, "{table}");
    let column = |line: &str| line.chars().take_while(|c| *c != ' ').count();
    let kind_at = lines[0].find("KIND").unwrap();
    assert!(
        lines[1..].iter().all(
            |l| l.get(kind_at..).is_some_and(|rest| !rest.starts_with(' ')) && column(l) < kind_at
        ),
        "aligned under the header: {table}"
    );
    let o = remote4d(&["admin", "--port", &p, "message", "hello"], &home);
    assert!(
        o.status.success() && common::text(&o).contains("message sent"),
        "{}",
        common::text(&o)
    );
    let o = remote4d(&["admin", "--port", &p, "drop", "no-such-session"], &home);
    assert!(!o.status.success(), "{}", common::text(&o));
    let o = remote4d(&["reload", &format!("127.0.0.1:{port}")], &home);
    assert!(o.status.success(), "{}", common::text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim().len(),
        64,
        "the stamp"
    );
    let o = remote4d(&["admin", "--port", &p, "shutdown"], &home);
    assert!(o.status.success(), "{}", common::text(&o));
    // Without a server there: a message naming the token file.
    let o = remote4d(&["admin", "--port", "1", "sessions"], &home);
    assert!(
        common::text(&o).contains("No administration token"),
        "{}",
        common::text(&o)
    );
}

#[test]
fn completions_and_man_pages_come_from_the_command_line_itself() {
    let home = tempfile::tempdir().unwrap();
    for (shell, first) in [
        ("bash", "_remote4d() {"),
        ("zsh", "#compdef remote4d"),
        ("fish", "# Print an optspec for argparse"),
    ] {
        let o = remote4d(&["completions", shell], home.path());
        assert!(o.status.success(), "{shell}: {}", err(&o));
        let script = text(&o);
        assert!(
            script.starts_with(first),
            "{shell}: {}",
            &script[..80.min(script.len())]
        );
        for command in ["serve", "connect", "browse", "completions"] {
            assert!(script.contains(command), "{shell} completes {command}");
        }
    }
    // bash loads it.
    let bash = home.path().join("remote4d.bash");
    std::fs::write(
        &bash,
        text(&remote4d(&["completions", "bash"], home.path())),
    )
    .unwrap();
    let loaded = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && complete -p remote4d",
            bash.display()
        ))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&loaded.stdout).contains("_remote4d"),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    let o = remote4d(&["completions", "tcsh"], home.path());
    assert_eq!(
        o.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
    assert!(
        err(&o).contains("bash"),
        "the shells are listed: {}",
        err(&o)
    );

    let man = home.path().join("man");
    let o = remote4d(&["man", "--out", man.to_str().unwrap()], home.path());
    assert!(o.status.success(), "{}", err(&o));
    for page in [
        "remote4d.1",
        "remote4d-serve.1",
        "remote4d-connect.1",
        "remote4d-admin.1",
    ] {
        let body = std::fs::read_to_string(man.join(page)).unwrap();
        assert!(body.contains(".TH remote4d"), "{page} is a man page");
        assert!(text(&o).contains(page), "{page} is listed");
    }
    let serve = std::fs::read_to_string(man.join("remote4d-serve.1")).unwrap();
    assert!(
        serve.contains("no\\-publish"),
        "the page documents the options"
    );
}

#[test]
fn a_merged_server_is_built_for_windows_from_a_windows_executable() {
    let home = tempfile::tempdir().unwrap();
    let project = home.path().join("Shop");
    sample(&project);
    // A Windows build as `cargo build --target x86_64-pc-windows-gnu` leaves it: remote4d.exe
    // and its console twin. Only their format is checked here (the Wine end-to-end script runs
    // a real one: scripts/windows/e2e).
    let build = home.path().join("win");
    std::fs::create_dir_all(&build).unwrap();
    std::fs::write(build.join("remote4d.exe"), b"MZ\x90\0 a Windows executable").unwrap();
    std::fs::write(
        build.join("remote4d-console.exe"),
        b"MZ\x90\0 its console twin",
    )
    .unwrap();
    let out = home.path().join("apps");
    let args = |executable: &Path, name: &str| {
        vec![
            "build".to_owned(),
            "server".into(),
            "--project".into(),
            project.to_string_lossy().into_owned(),
            "--out".into(),
            out.to_string_lossy().into_owned(),
            "--name".into(),
            name.into(),
            "--platform".into(),
            "windows".into(),
            "--executable".into(),
            executable.to_string_lossy().into_owned(),
        ]
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        remote4d(&refs, home.path())
    };

    let o = run(args(&build.join("remote4d.exe"), "ShopServer"));
    assert!(o.status.success(), "{}", err(&o));
    let app = out.join("ShopServer");
    assert_eq!(
        std::fs::read(app.join("ShopServer.exe")).unwrap(),
        b"MZ\x90\0 a Windows executable"
    );
    assert_eq!(
        std::fs::read(app.join("ShopServer.com")).unwrap(),
        b"MZ\x90\0 its console twin"
    );
    assert!(
        app.join("Server Database/Shop/Project/Sources/Methods/hello.4dm")
            .is_file()
    );
    assert!(app.join("remote4d-app.toml").is_file());
    assert!(
        text(&o).trim_end().ends_with("ShopServer.exe"),
        "{}",
        text(&o)
    );

    // This (Linux) executable is not a Windows one: refused, and no folder is left behind.
    let linux = PathBuf::from(env!("CARGO_BIN_EXE_remote4d"));
    let o = run(args(&linux, "Wrong"));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("is not a Windows executable"),
        "{}",
        err(&o)
    );
    assert!(!out.join("Wrong").exists());

    // Another system without --executable: says what to pass.
    let o = run(args(&linux, "Missing")[..10].to_vec());
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("needs --executable"), "{}", err(&o));
    assert!(!out.join("Missing").exists());
}

/// `remote4d admin --server`: the project's Administrator administers a server from another
/// home (no token there), over the identity pinned by a first connection; the action is in the
/// server's log with who did it; an ordinary user and a wrong password get nothing.
#[test]
fn the_administrator_administers_a_server_from_elsewhere() {
    use std::io::Write as _;
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Shop");
    common::project(&root, 0);
    // Passwords as 4D stores them (bcrypt, $2y$).
    let h = bcrypt::hash("s3cret", 4)
        .unwrap()
        .replacen("$2b$", "$2y$", 1);
    let directory = format!(
        r#"{{"users":{{"designer":{{"alias":"Designer","password":"{h}"}},"administrator":{{"alias":"Administrator","password":"{h}"}},"bob":{{"password":"{h}"}}}}}}"#
    );
    common::write(&root, "Settings/directory.json", directory.as_bytes());
    let port = common::free_port();
    let server_home = w.path().join("server");
    let _server = common::serve(&root, port, &server_home, &[]);
    let admin_home = w.path().join("admin");
    std::fs::create_dir_all(&admin_home).unwrap();
    let address = format!("127.0.0.1:{port}");
    let with_password = |args: &[&str], password: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_remote4d"))
            .args(args)
            .env("REMOTE4D_HOME", &admin_home)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let admin = |action: &[&str], user: &str, password: &str| {
        let mut args = vec![
            "admin",
            "--server",
            &address,
            "--user",
            user,
            "--password-stdin",
        ];
        args.extend_from_slice(action);
        with_password(&args, password)
    };

    // Never connected from here: the identity is not pinned.
    let o = admin(&["sessions"], "Administrator", "s3cret");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        common::text(&o).contains("not pinned"),
        "{}",
        common::text(&o)
    );

    // A first connection pins it; then the Administrator lists the sessions and sends a message.
    let o = with_password(
        &[
            "connect",
            &address,
            "--trust-new",
            "--remote",
            "--user",
            "bob",
            "--password-stdin",
        ],
        "s3cret",
    );
    assert!(o.status.success(), "{}", common::text(&o));
    let o = admin(&["sessions", "--json"], "Administrator", "s3cret");
    assert!(o.status.success(), "{}", common::text(&o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|s| s["info"]["userName"] == "Administrator"),
        "its own session is listed: {list}"
    );
    let o = admin(
        &["message", "back in five minutes"],
        "Administrator",
        "s3cret",
    );
    assert!(o.status.success(), "{}", common::text(&o));
    // The server's log says who did it (shown by default).
    let log = std::fs::read_to_string(server_home.join("server.log")).unwrap();
    assert!(
        log.contains("administration: message sent")
            && log.contains("by=Administrator from 127.0.0.1"),
        "{log}"
    );
    // RELOAD PROJECT from elsewhere: the stamp of the rebuilt archive.
    let o = admin(&["reload"], "Administrator", "s3cret");
    assert!(o.status.success(), "{}", common::text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim().len(),
        64,
        "the stamp"
    );
    // Status; new connections refused (a new client is refused), then accepted again.
    let o = admin(&["status", "--json"], "Administrator", "s3cret");
    assert!(o.status.success(), "{}", common::text(&o));
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(status["accepting"], true, "{status}");
    assert_eq!(status["port"], port, "{status}");
    let o = admin(&["accept", "off"], "Administrator", "s3cret");
    assert!(o.status.success(), "{}", common::text(&o));
    let bob = |home: &str| {
        with_password(
            &[
                "connect",
                &address,
                "--remote",
                "--user",
                "bob",
                "--password-stdin",
                "--name",
                home,
            ],
            "s3cret",
        )
    };
    let o = bob("refused");
    assert_eq!(o.status.code(), Some(1), "{}", common::text(&o));
    assert!(
        common::text(&o).contains("does not accept new connections"),
        "{}",
        common::text(&o)
    );
    let o = admin(&["status"], "Administrator", "s3cret");
    assert!(
        common::text(&o).contains("new connections  refused"),
        "{}",
        common::text(&o)
    );
    let o = admin(&["activity"], "Administrator", "s3cret");
    assert!(o.status.success(), "{}", common::text(&o));
    let activity = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        activity
            .lines()
            .any(|l| l.contains("  refused   ") && l.contains("bob from 127.0.0.1")),
        "{activity}"
    );
    let o = admin(&["accept", "on"], "Administrator", "s3cret");
    assert!(o.status.success(), "{}", common::text(&o));
    let o = bob("accepted");
    assert!(o.status.success(), "{}", common::text(&o));
    let log = std::fs::read_to_string(server_home.join("server.log")).unwrap();
    assert!(
        log.contains("administration: new connections refused"),
        "{log}"
    );
    // The administrator's sessions ended with each command.
    let o = admin(&["sessions", "--json"], "Designer", "s3cret");
    assert!(o.status.success(), "{}", common::text(&o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        !list
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["info"]["userName"] == "Administrator"),
        "{list}"
    );

    // Nobody else.
    let o = admin(&["sessions"], "bob", "s3cret");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        common::text(&o).contains("may not administer this server"),
        "{}",
        common::text(&o)
    );
    let o = admin(&["sessions"], "Administrator", "wrong");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        common::text(&o).contains("annot log in to 127.0.0.1"),
        "{}",
        common::text(&o)
    );
}

/// Through the binary: `admin builds`, `admin log`, the new status rows, and `admin restart`:
/// the server process stops and starts again on the same port, reading the project anew, and
/// keeps answering; `serve --window` on a machine with no display serves without the window.
#[test]
fn the_server_restarts_on_request_and_shows_its_builds_and_log() {
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Shop");
    common::project(&root, 0);
    let port = common::free_port();
    let home = w.path().join("home");
    // No display: --window says so and serves anyway.
    let mut server = {
        std::fs::create_dir_all(&home).unwrap();
        let log = std::fs::File::create(home.join("server.log")).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_remote4d"))
            .args(["serve", root.to_str().unwrap(), "--port"])
            .arg(port.to_string())
            .args(["--no-publish", "--bind", "127.0.0.1", "--window"])
            .env("REMOTE4D_HOME", &home)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        common::wait_for_port(port);
        common::Server(child)
    };
    let log = || std::fs::read_to_string(home.join("server.log")).unwrap();
    assert!(log().contains("serving without it"), "{}", log());
    let p = port.to_string();
    let o = remote4d(&["admin", "--port", &p, "status"], &home);
    assert!(o.status.success(), "{}", text(&o));
    for row in [
        "traffic",
        "served",
        "memory",
        "last reload",
        "client versions",
    ] {
        assert!(text(&o).contains(row), "{row}: {}", text(&o));
    }
    common::write(&root, "Project/Sources/Methods/m1.4dm", b"// changed\n");
    let o = remote4d(&["admin", "--port", &p, "reload"], &home);
    assert!(o.status.success(), "{}", text(&o));
    let o = remote4d(&["admin", "--port", &p, "builds", "--json"], &home);
    assert!(o.status.success(), "{}", text(&o));
    let builds: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(builds.as_array().unwrap().len(), 2, "{builds}");
    assert_eq!(builds[0]["current"], true);
    assert_eq!(builds[0]["changed_files"], 1);
    let o = remote4d(&["admin", "--port", &p, "builds"], &home);
    assert!(text(&o).contains("(current)") && text(&o).contains("not asked yet"));
    let o = remote4d(&["admin", "--port", &p, "log"], &home);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("project rebuilt"), "{}", text(&o));

    // Restart: same process, same port, new start (a new uptime).
    let o = remote4d(&["admin", "--port", &p, "restart"], &home);
    assert!(o.status.success(), "{}", text(&o));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        assert!(std::time::Instant::now() < deadline, "{}", log());
        if log().contains("restarting") {
            let o = remote4d(&["admin", "--port", &p, "status", "--json"], &home);
            if o.status.success() {
                let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                if status["last_reload"].is_null() {
                    break;
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    server.assert_alive(&home.join("server.log"));
    assert!(
        log().contains("administration: restart"),
        "audited: {}",
        log()
    );
    // Neither an action nor --window: a clear error.
    let o = remote4d(&["admin", "--port", &p], &home);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(err(&o).contains("remote4d admin --window"), "{}", err(&o));
}

/// A `.4DLink`'s `user_param` (4D's *User param value*) reaches the session: the server's
/// open-connection hook reads it, and the administrator sees it. Through the binaries.
#[cfg(unix)]
#[test]
fn the_links_user_param_reaches_the_session_and_its_hook() {
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Shop");
    common::project(&root, 0);
    let seen = w.path().join("hook-input.json");
    let hook = w.path().join("hook.sh");
    std::fs::write(&hook, format!("#!/bin/sh\ncat > '{}'\n", seen.display())).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let config = w.path().join("server.toml");
    std::fs::write(
        &config,
        format!("[hooks]\nopen_connection = [\"{}\"]\n", hook.display()),
    )
    .unwrap();
    let port = common::free_port();
    let home = w.path().join("home");
    let _server = common::serve(&root, port, &home, &["--config", config.to_str().unwrap()]);
    let link = w.path().join("Shop.4DLink");
    std::fs::write(
        &link,
        format!(
            r#"<database_shortcut is_remote="true" server_database_name="Shop" server_path="127.0.0.1:{port}" user_param="{{&quot;role&quot;:&quot;viewer&quot;}}"/>"#
        ),
    )
    .unwrap();
    let client_home = w.path().join("client");
    let mut follow = std::process::Command::new(env!("CARGO_BIN_EXE_remote4d"))
        .args([
            "connect",
            link.to_str().unwrap(),
            "--trust-new",
            "--remote",
            "--follow",
        ])
        .env("REMOTE4D_HOME", &client_home)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let sessions = loop {
        let o = remote4d(
            &["admin", "--port", &port.to_string(), "sessions", "--json"],
            &home,
        );
        let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        let remote: Vec<serde_json::Value> = list
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|s| s["info"]["type"] == "remote")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if !remote.is_empty() {
            break remote;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no session: {}",
            text(&o)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let _ = follow.kill();
    let _ = follow.wait();
    assert_eq!(sessions[0]["info"]["userParam"], r#"{"role":"viewer"}"#);
    let input: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&seen).unwrap()).unwrap();
    assert_eq!(input["event"], "open");
    assert_eq!(
        input["session"]["userParam"], r#"{"role":"viewer"}"#,
        "{input}"
    );
}

/// `remote4d serve` says where its publication name and port came from — 4D's settings at their
/// priority (user settings over structure settings), the configuration file, a flag — and lists
/// the project's client/server settings it does not use, without failing on them.
#[test]
fn serve_says_where_its_name_and_port_come_from() {
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Shop");
    common::project(&root, 0);
    common::write(
        &root,
        "Project/Sources/settings.4DSettings",
        br#"<preferences><com.4d><server><network><options publication_name="Structure" publication_port="20001" use_legacy_network_layer="false"/><client_server connections_timeout="30"/></network></server></com.4d></preferences>"#,
    );
    common::write(
        &root,
        "Settings/settings.4DSettings",
        br#"<preferences><com.4d><server><network><options publication_name="Shop Live"/></network></server></com.4d></preferences>"#,
    );
    let home = w.path().join("home");
    let run = |extra: &[&str]| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_remote4d"))
            .args([
                "serve",
                root.to_str().unwrap(),
                "--no-publish",
                "--bind",
                "127.0.0.1",
            ])
            .args(extra)
            .env("REMOTE4D_HOME", &home)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The banner is printed once the server answers; then stop it.
        let mut out = String::new();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        loop {
            let mut line = String::new();
            if std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() == 0 {
                break;
            }
            out.push_str(&line);
            if line.starts_with("Press Ctrl+C") {
                break;
            }
        }
        let _ = child.kill();
        let o = child.wait_with_output().unwrap();
        (out, String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let port = common::free_port().to_string();
    let (out, err) = run(&["--port", &port]);
    assert!(out.contains("Shop Live"), "{out}");
    assert!(
        out.contains("the project only (no Resources, Components, Plugins or Libraries folder)"),
        "{out}"
    );
    assert!(
        out.contains("name: Settings/settings.4DSettings; port: --port"),
        "{out}"
    );
    // 4D's "Client-Server Connections Timeout" (minutes) ends sessions without a connection.
    assert!(
        out.contains("end after 30 min without a connection (Project/Sources/settings.4DSettings)"),
        "{out}"
    );
    assert!(
        err.contains(
            "server/network/options@use_legacy_network_layer (Project/Sources/settings.4DSettings)"
        ),
        "{err}"
    );
    let config = w.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "port = {port}\npublication_name = \"Configured\"\nresources_update = \"never\"\ninactivity_timeout_secs = 600\n"
        ),
    )
    .unwrap();
    common::write(&root, "Resources/a.txt", b"a");
    common::write(&root, "Components/A.4dbase/A.4DZ", b"component");
    // The data folder's settings win over the user settings (4D's priority).
    common::write(
        &root,
        "Data/Settings/settings.4DSettings",
        br#"<preferences><com.4d><server><network><options publication_name="Shop Data" publication_port="20002"/><client_server connections_timeout="a while"/></network></server></com.4d></preferences>"#,
    );
    let (out, err) = run(&[]);
    assert!(out.contains("Shop Data"), "{out}");
    // A value it cannot read: reported, ignored (the structure's 30 minutes stand), not fatal.
    assert!(
        err.contains(
            "cannot read (ignored): server/network/client_server@connections_timeout=\"a while\" (Data/Settings/settings.4DSettings)"
        ),
        "{err}"
    );
    assert!(out.contains("end after 30 min"), "{out}");
    assert!(out.contains("20002"), "{out}");
    assert!(
        out.contains(
            "name: Data/Settings/settings.4DSettings; port: Data/Settings/settings.4DSettings"
        ),
        "{out}"
    );
    let (out, _) = run(&["--config", config.to_str().unwrap()]);
    assert!(out.contains("Configured"), "{out}");
    assert!(
        out.contains("Resources/ (") && out.contains("Components/ ("),
        "{out}"
    );
    assert!(
        out.contains("Resources/ changed during a session: copied at the next connection"),
        "{out}"
    );
    let shown = config.display().to_string();
    assert!(
        out.contains(&format!("name: {shown}; port: {shown}")),
        "{out}"
    );
    // The configuration wins over the project's timeout.
    assert!(
        out.contains(&format!("end after 10 min without a connection ({shown})")),
        "{out}"
    );
}

/// Follows a session with `remote4d connect --follow` (extra flags), its standard output and
/// error written to `out`.
fn follow_to(port: u16, home: &Path, out: &Path, extra: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_remote4d"))
        .args([
            "connect",
            &format!("127.0.0.1:{port}"),
            "--trust-new",
            "--remote",
            "--follow",
        ])
        .args(extra)
        .env("REMOTE4D_HOME", home)
        .stdout(std::fs::File::create(out).unwrap())
        .stderr(std::fs::OpenOptions::new().append(true).open(out).unwrap())
        .spawn()
        .unwrap()
}

/// Waits until the file at `path` contains `what`.
fn wait_for_text(path: &Path, what: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let t = std::fs::read_to_string(path).unwrap_or_default();
        if t.contains(what) {
            return t;
        }
        assert!(std::time::Instant::now() < deadline, "no `{what}` in:\n{t}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A project's components, plug-ins and libraries reach a remote client's system folder as
/// in 4D, and the project's "Update Resources folder during a session" policy (here Ask, from
/// `server.toml`) is followed: told and left for later, or copied at once with
/// `--update-resources`. Through the binaries, the server rebuilding on its own.
#[test]
fn components_reach_the_client_and_the_resources_policy_is_followed() {
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Shop");
    common::project(&root, 0);
    common::write(
        &root,
        "Components/Tools.4dbase/Tools.4DZ",
        &common::noise(30_000, 1),
    );
    common::write(
        &root,
        "Plugins/Charts.bundle/Contents/Info.plist",
        b"<plist/>",
    );
    common::write(&root, "Resources/strings.xlf", b"v1");
    let config = w.path().join("server.toml");
    std::fs::write(&config, "resources_update = \"ask\"\ndebounce_ms = 100\n").unwrap();
    let port = common::free_port();
    let home = w.path().join("home");
    let _server = common::serve(&root, port, &home, &["--config", config.to_str().unwrap()]);
    let client = w.path().join("client");

    // The connection copies every folder, and says so.
    let o = remote4d(
        &[
            "connect",
            &format!("127.0.0.1:{port}"),
            "--trust-new",
            "--remote",
            "--json",
        ],
        &client,
    );
    assert!(o.status.success(), "{}", err(&o));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let system = PathBuf::from(c["system_folder"].as_str().unwrap());
    assert_eq!(
        std::fs::read(system.join("Components/Tools.4dbase/Tools.4DZ")).unwrap(),
        common::noise(30_000, 1)
    );
    assert!(
        system
            .join("Plugins/Charts.bundle/Contents/Info.plist")
            .is_file()
    );
    assert_eq!(
        std::fs::read(system.join("Resources/strings.xlf")).unwrap(),
        b"v1"
    );
    let progress = err(&o);
    for folder in ["Components", "Plugins", "Resources"] {
        assert!(
            progress.contains(&format!("\"folder\":\"{folder}\"")),
            "{folder}: {progress}"
        );
    }

    // Following without --update-resources: told, left for the next connection.
    let out = w.path().join("follow1.txt");
    let mut follow = follow_to(port, &client, &out, &[]);
    wait_for_text(&out, "Following");
    std::thread::sleep(std::time::Duration::from_millis(500));
    common::write(&root, "Resources/strings.xlf", b"v2");
    common::write(
        &root,
        "Components/Tools.4dbase/Tools.4DZ",
        &common::noise(30_000, 2),
    );
    wait_for_text(
        &out,
        "The Components folder changed on the server: reconnect to get it",
    );
    wait_for_text(&out, "--update-resources to copy it at once");
    let _ = follow.kill();
    let _ = follow.wait();
    assert_eq!(
        std::fs::read(system.join("Resources/strings.xlf")).unwrap(),
        b"v1"
    );

    // With --update-resources: copied at once.
    let out = w.path().join("follow2.txt");
    let mut follow = follow_to(port, &client, &out, &["--update-resources"]);
    wait_for_text(&out, "Following");
    std::thread::sleep(std::time::Duration::from_millis(500));
    // (this connection copied v2 and the new component already)
    assert_eq!(
        std::fs::read(system.join("Resources/strings.xlf")).unwrap(),
        b"v2"
    );
    assert_eq!(
        std::fs::read(system.join("Components/Tools.4dbase/Tools.4DZ")).unwrap(),
        common::noise(30_000, 2)
    );
    common::write(&root, "Resources/strings.xlf", b"v3");
    wait_for_text(
        &out,
        "The Resources folder changed on the server: copied again",
    );
    let _ = follow.kill();
    let _ = follow.wait();
    assert_eq!(
        std::fs::read(system.join("Resources/strings.xlf")).unwrap(),
        b"v3"
    );

    // A small file added to a component: the next connection fetches only what changed (a
    // delta against the archive it kept), not the 30 KB component again.
    common::write(&root, "Components/Tools.4dbase/Info.plist", b"<plist/>");
    // (the server rebuilds on its own once the change settles: connect until it has)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let progress = loop {
        let o = remote4d(
            &[
                "connect",
                &format!("127.0.0.1:{port}"),
                "--remote",
                "--json",
            ],
            &client,
        );
        assert!(o.status.success(), "{}", err(&o));
        let progress = err(&o);
        if progress.contains("\"folder\":\"Components\"") {
            break progress;
        }
        assert!(std::time::Instant::now() < deadline, "{progress}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let line = progress
        .lines()
        .find(|l| l.contains("\"folder\":\"Components\""))
        .unwrap();
    let p: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(p["delta"], true, "{line}");
    assert!(p["bytes"].as_u64().unwrap() < 10_000, "{line}");
    assert_eq!(
        std::fs::read(system.join("Components/Tools.4dbase/Info.plist")).unwrap(),
        b"<plist/>"
    );
    assert_eq!(
        std::fs::read(system.join("Components/Tools.4dbase/Tools.4DZ")).unwrap(),
        common::noise(30_000, 2)
    );
}

/// `remote4d project find` finds what the app's Find in project finds: in a project folder
/// without writing anything there, and in a remote copy (a client's system folder) with the
/// index kept in its `DerivedDataRemote/`, refreshed by reading only the files changed.
#[test]
fn project_find_searches_a_project_and_keeps_its_index_in_the_system_folder() {
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Shop");
    common::project(&root, 0);
    common::write(
        &root,
        "Project/Sources/Methods/greet.4dm",
        b"// say it\nALERT(\"Hello, world\")\n",
    );
    let home = w.path().join("home");
    let before: Vec<_> = walkdir(&root);
    let o = remote4d(
        &["project", "find", root.to_str().unwrap(), "hello, WORLD"],
        &home,
    );
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        text(&o),
        "Project/Sources/Methods/greet.4dm:2: ALERT(\"Hello, world\")\n"
    );
    assert_eq!(walkdir(&root), before, "nothing written in the project");
    let o = remote4d(
        &[
            "project",
            "find",
            root.to_str().unwrap(),
            "nowhere to be found",
        ],
        &home,
    );
    assert_eq!(o.status.code(), Some(1), "nothing found: exit 1 (as grep)");
    assert!(text(&o).is_empty());
    // Could not look: exit 2 (as grep), and why.
    let o = remote4d(
        &[
            "project",
            "find",
            w.path().join("no-such-project").to_str().unwrap(),
            "hello",
        ],
        &home,
    );
    assert_eq!(o.status.code(), Some(2), "an error: exit 2 (as grep)");
    assert!(err(&o).contains("no-such-project"), "{}", err(&o));

    // A remote copy: the index is derived data of the system folder.
    let port = common::free_port();
    let server_home = w.path().join("server");
    let _server = common::serve(&root, port, &server_home, &[]);
    let client = w.path().join("client");
    let o = remote4d(
        &[
            "connect",
            &format!("127.0.0.1:{port}"),
            "--trust-new",
            "--remote",
            "--json",
        ],
        &client,
    );
    assert!(o.status.success(), "{}", err(&o));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let system = PathBuf::from(c["system_folder"].as_str().unwrap());
    let find = |q: &str| {
        let o = remote4d(
            &["project", "find", system.to_str().unwrap(), q, "--json"],
            &home,
        );
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let first = find("alert(");
    assert_eq!(first["index_kept"], true);
    assert_eq!(
        first["hits"][0]["path"],
        "Project/Sources/Methods/greet.4dm"
    );
    assert_eq!(
        first["files_read"], first["files_indexed"],
        "built: every file read"
    );
    assert!(system.join("DerivedDataRemote/search-index.json").is_file());
    let again = find("alert(");
    assert_eq!(again["files_read"], 0, "unchanged: nothing read again");
    assert_eq!(again["hits"], first["hits"]);
}

/// Every file under `dir` with its size, sorted.
fn walkdir(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p, e.metadata().unwrap().len()));
            }
        }
    }
    out.sort();
    out
}

/// A `.4DLink`'s development-mode opening options decide how `remote4d connect LINK` opens the
/// project on the server's machine — automatic development mode, the server's build
/// (`remote4d_development_mode="false"`), or the project folder it names
/// (`remote4d_project_folder`) — command-line flags win, and the Recent entry keeps the choice.
#[test]
fn a_shortcut_opens_the_project_as_it_says() {
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Shop");
    common::project(&root, 0);
    let port = common::free_port();
    let home = w.path().join("home");
    let _server = common::serve(&root, port, &w.path().join("server"), &[]);
    let link = |name: &str, attrs: &str| {
        let path = w.path().join(format!("{name}.4DLink"));
        std::fs::write(
            &path,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<database_shortcut is_remote=\"true\" server_database_name=\"Shop\" server_path=\"127.0.0.1:{port}\" {attrs}/>\r\n"
            ),
        )
        .unwrap();
        path
    };
    let mode = |path: &Path, extra: &[&str]| {
        let mut args = vec!["connect", path.to_str().unwrap(), "--trust-new", "--json"];
        args.extend_from_slice(extra);
        let o = remote4d(&args, &home);
        assert!(o.status.success(), "{}", common::text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["mode"].as_str().unwrap().to_owned()
    };
    // No option: development mode, automatically, on the server's machine (as 4D).
    assert_eq!(mode(&link("plain", ""), &[]), "development");
    // "false": the server's build even here.
    let remote = link("remote", "remote4d_development_mode=\"false\"");
    assert_eq!(mode(&remote, &[]), "remote");
    // "true", but --remote on the command line: the flag wins.
    let dev = link("dev", "remote4d_development_mode=\"true\"");
    assert_eq!(mode(&dev, &["--remote"]), "remote");
    assert_eq!(mode(&remote, &["--dev"]), "development");
    // The project folder as this machine sees it: development mode on that folder.
    let shared = link(
        "shared",
        &format!(
            "remote4d_development_mode=\"false\" remote4d_project_folder=\"{}\"",
            root.display()
        ),
    );
    assert_eq!(mode(&shared, &[]), "development");
    // A folder that is not the server's: refused, with the reason (never the server's build).
    let wrong = link(
        "wrong",
        &format!("remote4d_project_folder=\"{}\"", w.path().display()),
    );
    let o = remote4d(&["connect", wrong.to_str().unwrap(), "--trust-new"], &home);
    assert!(!o.status.success(), "{}", common::text(&o));
    // The Recent entry of a development-mode connection with a folder keeps it.
    let o = remote4d(&["recent", "--json"], &home);
    let recent: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let folders: Vec<&str> = recent
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["link"]["remote4d_project_folder"].as_str())
        .collect();
    assert_eq!(folders, [root.display().to_string()], "{recent}");
}
