//! Client update: a server that accepts only newer clients offers its build; a client made by
//! `remote4d build client` installs it only when its publisher signed it (with the key made at
//! build time), atomically, keeping the previous version, and runs it; an unsigned, foreign or
//! damaged build, or a client that carries no key, leaves the installed client as it was.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{free_port, project, serve, text};

/// The "newer client": a script standing in for the new build.
const NEW_BUILD: &str = "#!/bin/sh\necho \"new client running with: $*\"\n";

fn offer_config(w: &Path, build: &Path) -> std::path::PathBuf {
    let config = w.join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[client_update]\nmin_version = \"9.0.0\"\nversion = \"9.0.0\"\nbuild = \"{}\"\n",
            build.display()
        ),
    )
    .unwrap();
    config
}

/// `remote4d build client` for `link` into `out`, its updates signed with `key` (made if new).
fn build_client(link: &Path, out: &Path, key: &Path, home: &Path) {
    let o = common::build_client(link, out, home, &["--update-key", key.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

fn sign(key: &Path, build: &Path, home: &Path) {
    let o = common::sign_update(key, "9.0.0", build, home);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn an_old_client_updates_itself_only_with_its_publishers_signature() {
    let w = tempfile::tempdir().unwrap();
    let w = w.path();
    let root = w.join("Shop");
    project(&root, 0);
    let port = free_port();
    let tools = w.join("tools");
    // The publisher builds the client: its key is made then, its public half goes with it.
    let link = w.join("Shop.4DLink");
    common::new_link("Shop", &format!("127.0.0.1:{port}"), &link, &tools);
    let key = w.join("keys/shop-update.key");
    build_client(&link, &w.join("dist"), &key, &tools);
    assert!(key.is_file(), "the signing key was made");
    let client = w.join("dist/ShopClient/ShopClient");
    let original = std::fs::read(&client).unwrap();
    let manifest = std::fs::read_to_string(w.join("dist/ShopClient/remote4d-app.toml")).unwrap();
    assert!(
        manifest.contains("update_public_key = \"remote4d-ed25519:"),
        "{manifest}"
    );
    let run = |exe: &Path, extra: &[&str]| -> Output {
        Command::new(exe)
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

    // 1. The server offers a build signed by someone else: refused before it is downloaded.
    let build = w.join("remote4d-9.0.0");
    std::fs::write(&build, NEW_BUILD).unwrap();
    let stranger = w.join("keys/stranger.key");
    build_client(&link, &w.join("other"), &stranger, &tools);
    sign(&stranger, &build, &tools);
    let config = offer_config(w, &build);
    let server = serve(
        &root,
        port,
        &w.join("server"),
        &["--config", config.to_str().unwrap()],
    );
    // Refusing the update: cannot connect, clear message, nothing changed.
    let o = run(&client, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("accepts Remote4D clients 9.0.0 to any; this one is 0.1.0"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("--accept-update"));
    let o = run(&client, &["--accept-update"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("not signed by this client's publisher"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read(&client).unwrap(), original);
    // A client that carries no key (a plain remote4d) installs nothing from a server.
    let plain = w.join("bin/remote4d");
    std::fs::create_dir_all(plain.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_remote4d"), &plain).unwrap();
    let o = run(&plain, &["--accept-update"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("no update key"), "{}", text(&o));
    assert_eq!(
        std::fs::read(&plain).unwrap(),
        std::fs::read(env!("CARGO_BIN_EXE_remote4d")).unwrap()
    );
    drop(server);

    // 2. Signed by the publisher, but damaged on the server after it started: refused.
    sign(&key, &build, &tools);
    let _server = serve(
        &root,
        port,
        &w.join("server"),
        &["--config", config.to_str().unwrap()],
    );
    std::fs::write(&build, "#!/bin/sh\necho tampered\n").unwrap();
    let o = run(&client, &["--accept-update"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("damaged"), "{}", text(&o));
    assert_eq!(std::fs::read(&client).unwrap(), original);
    assert!(!w.join("dist/ShopClient/ShopClient.new").exists());
    // (The server announces the hash it computed at start; restore the same content.)
    std::fs::write(&build, NEW_BUILD).unwrap();

    // 3. Accepting: installed atomically, previous kept, the new build runs with the same
    //    arguments.
    let o = run(&client, &["--accept-update"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("new client running with: connect 127.0.0.1:"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(&client).unwrap(), NEW_BUILD);
    assert_eq!(
        std::fs::read(w.join("dist/ShopClient/ShopClient.previous")).unwrap(),
        original,
        "the previous version is kept"
    );
}
