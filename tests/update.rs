//! Client update: a server that accepts only newer clients offers its build; the client
//! installs it atomically (keeping the previous version) and runs it; a damaged build or a
//! refused update leaves the installed client as it was.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{Server, free_port, text, wait_for_port};

#[test]
fn an_old_client_updates_itself_or_cannot_connect() {
    let w = tempfile::tempdir().unwrap();
    let w = w.path();
    let project = w.join("Shop");
    std::fs::create_dir_all(project.join("Project/Sources")).unwrap();
    std::fs::write(project.join("Project/Shop.4DProject"), "{}").unwrap();
    // The "newer client": a script standing in for the new build.
    let build = w.join("remote4d-9.0.0");
    std::fs::write(&build, "#!/bin/sh\necho \"new client running with: $*\"\n").unwrap();
    let port = free_port();
    let config = w.join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[client_update]\nmin_version = \"9.0.0\"\nversion = \"9.0.0\"\nbuild = \"{}\"\n",
            build.display()
        ),
    )
    .unwrap();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_remote4d"))
            .args([
                "serve",
                project.to_str().unwrap(),
                "--port",
                &port.to_string(),
                "--no-publish",
                "--bind",
                "127.0.0.1",
            ])
            .arg("--config")
            .arg(&config)
            .env("REMOTE4D_HOME", w.join("server"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port);
    // An installed client (a copy of this build, version 0.1.0).
    let client = w.join("bin/remote4d");
    std::fs::create_dir_all(client.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_remote4d"), &client).unwrap();
    let original = std::fs::read(&client).unwrap();
    let run = |extra: &[&str]| {
        Command::new(&client)
            .args([
                "connect",
                &format!("127.0.0.1:{port}"),
                "--trust-new",
                "--remote",
            ])
            .args(extra)
            .env("REMOTE4D_HOME", w.join("client"))
            .output()
            .unwrap()
    };

    // Refusing the update: cannot connect, clear message, nothing changed.
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("accepts Remote4D clients 9.0.0 to any; this one is 0.1.0"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("--accept-update"));
    assert_eq!(std::fs::read(&client).unwrap(), original);

    // A damaged build on the server: refused, the installed client keeps working.
    std::fs::write(&build, "#!/bin/sh\necho tampered\n").unwrap();
    let o = run(&["--accept-update"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("damaged"), "{}", text(&o));
    assert_eq!(std::fs::read(&client).unwrap(), original);
    assert!(!w.join("bin/remote4d.new").exists());
    std::fs::write(&build, "#!/bin/sh\necho \"new client running with: $*\"\n").unwrap();
    // (The server announces the hash it computed at start; restore the same content.)

    // Accepting: installed atomically, previous kept, the new build runs with the same arguments.
    let o = run(&["--accept-update"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("new client running with: connect 127.0.0.1:"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&client).unwrap(),
        std::fs::read_to_string(&build).unwrap()
    );
    assert_eq!(
        std::fs::read(w.join("bin/remote4d.previous")).unwrap(),
        original,
        "the previous version is kept"
    );
    assert!(Path::new(&client).exists());
}
