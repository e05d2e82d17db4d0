//! Merged applications: `remote4d build server|client` assemble them from this executable; the
//! server started with no argument serves its project; the client reaches it with nothing to
//! choose (headless here), remembers it, and falls back to it. In a private network namespace.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::text;

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// Runs `script` with sh inside a new network namespace (loopback only).
fn in_netns(script: &str) -> Output {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    let mut cmd = Command::new("unshare");
    cmd.arg("--net");
    if !root {
        cmd.arg("--map-root-user");
    }
    cmd.args(["sh", "-c", &format!("ip link set lo up\n{script}")])
        .output()
        .expect("unshare")
}

#[test]
fn build_run_and_connect_merged_applications() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let project = w.join("Shop");
    write(&project, "Project/Shop.4DProject", "{}");
    write(
        &project,
        "Project/Sources/Methods/hello.4dm",
        "ALERT(\"hello\")\n",
    );
    write(&project, "Project/DerivedData/cache.json", "{}");
    write(&project, "Data/data.4DD", "data");
    let link = w.join("Shop.4DLink");
    std::fs::write(&link, "<database_shortcut is_remote=\"true\" server_database_name=\"Shop\" server_path=\"127.0.0.1:19813\"/>").unwrap();
    let home = w.join("builder");

    let o = common::build_server(&project, &w.join("dist"), &home);
    assert!(o.status.success(), "{}", text(&o));
    let server_exe = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert!(
        server_exe.ends_with("ShopServer/ShopServer"),
        "{server_exe}"
    );
    let app = w.join("dist/ShopServer");
    assert!(
        app.join("Server Database/Shop/Project/Sources/Methods/hello.4dm")
            .is_file()
    );
    assert!(
        !app.join("Server Database/Shop/Data").exists(),
        "the data file is not shipped"
    );
    assert!(
        !app.join("Server Database/Shop/Project/DerivedData")
            .exists()
    );
    assert!(app.join("remote4d-app.toml").is_file());

    let build_client = || common::build_client(&link, &w.join("dist"), &home, &[]);
    // A fingerprint that is not one is refused; without one, the builder is told what it means.
    let pinned_dir = w.join("pinned");
    let o = common::build_client(&link, &pinned_dir, &home, &["--fingerprint", "AB:CD"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("64 hexadecimal digits"), "{}", text(&o));
    let fp = "AB:".repeat(31) + "AB";
    let o = common::build_client(&link, &pinned_dir, &home, &["--fingerprint", &fp]);
    assert!(o.status.success(), "{}", text(&o));
    let pinned = std::fs::read_to_string(w.join("pinned/ShopClient/EnginedServer.4DLink")).unwrap();
    assert!(pinned.contains(&fp), "the link carries the pin: {pinned}");
    let o = build_client();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("will trust the first server that answers"),
        "{}",
        text(&o)
    );
    let client_exe = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    let client_dir = w.join("dist/ShopClient");
    assert!(client_dir.join("EnginedServer.4DLink").is_file());
    // Building over an existing application is refused.
    let o = build_client();
    assert!(!o.status.success() && text(&o).contains("already exists"));

    let script = format!(
        r#"
REMOTE4D_HOME={w}/srv "{server}" > {w}/server.log 2>&1 &
server=$!
for i in $(seq 100); do
  REMOTE4D_HOME={w}/cli "{client}" --headless > {w}/first.out 2> {w}/first.err && break
  sleep 0.2
done
echo "first: $?"
REMOTE4D_HOME={w}/cli "{client}" --headless > {w}/second.out 2> {w}/second.err
echo "second: $?"
# The embedded link breaks: the last server reached is used.
sed -i 's/19813/19999/' "{dir}/EnginedServer.4DLink"
REMOTE4D_HOME={w}/cli "{client}" --headless > {w}/fallback.out 2> {w}/fallback.err
echo "fallback: $?"
kill $server; wait $server
# The server is gone: a clear error.
REMOTE4D_HOME={w}/cli "{client}" --headless > {w}/down.out 2> {w}/down.err
echo "down: $?"
"#,
        w = w.display(),
        server = server_exe,
        client = client_exe,
        dir = client_dir.display(),
    );
    let o = in_netns(&script);
    let out = text(&o);
    let read = |f: &str| std::fs::read_to_string(w.join(f)).unwrap_or_default();
    assert!(
        out.contains("first: 0"),
        "{out}\n{}\n{}",
        read("first.err"),
        read("server.log")
    );
    let folder = read("first.out").trim().to_owned();
    assert_eq!(
        std::fs::read_to_string(Path::new(&folder).join("Project/Sources/Methods/hello.4dm"))
            .unwrap(),
        "ALERT(\"hello\")\n"
    );
    assert!(
        read("first.err").contains("connected to \"ShopClient\" at 127.0.0.1:19813: remote"),
        "{}",
        read("first.err")
    );
    assert!(out.contains("second: 0"), "{out}\n{}", read("second.err"));
    assert!(
        out.contains("fallback: 0"),
        "{out}\n{}",
        read("fallback.err")
    );
    assert!(
        read("fallback.err").contains("Trying the last server reached"),
        "{}",
        read("fallback.err")
    );
    assert!(out.contains("down: 1"), "{out}\n{}", read("down.err"));
    assert!(
        read("down.err").contains("nothing is listening on that port"),
        "{}",
        read("down.err")
    );

    // A damaged link: a clear message, nothing else.
    std::fs::write(
        client_dir.join("EnginedServer.4DLink"),
        "<database_shortcut is_remote=\"maybe\"",
    )
    .unwrap();
    let o = Command::new(&client_exe)
        .arg("--headless")
        .env("REMOTE4D_HOME", w.join("cli"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o).contains("server link") && text(&o).contains("damaged"),
        "{}",
        text(&o)
    );
}

/// Holding Alt while a merged client starts opens the connection window instead of connecting
/// (as 4D's merged clients do): the key is held through XTEST on a private Xvfb.
#[test]
fn alt_held_at_launch_is_read_from_the_x_server() {
    for tool in ["Xvfb", "xdotool", "xwininfo"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map_or(true, |o| !o.status.success())
        {
            eprintln!("skipped: {tool} is missing (apt-get install xvfb xdotool x11-utils)");
            return;
        }
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let link = w.join("Shop.4DLink");
    std::fs::write(&link, "<database_shortcut is_remote=\"true\" server_database_name=\"Shop\" server_path=\"127.0.0.1:19814\"/>").unwrap();
    let o = common::build_client(&link, &w.join("dist"), &w.join("builder"), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let client_exe = String::from_utf8_lossy(&o.stdout).trim().to_owned();

    // Each launch: wait for the window, then close the app; the key is released afterwards
    // (killing xdotool during its sleep would leave it pressed for the next launch).
    let launch = |name: &str, key: &str| {
        format!(
            r#"xdotool keydown {key} sleep 30 keyup {key} & K=$!
sleep 0.3
REMOTE4D_LOG=remote4d::merged=debug REMOTE4D_HOME={w}/{name} "{client_exe}" >{w}/{name}.log 2>&1 & A=$!
for i in $(seq 100); do xwininfo -root -tree | grep -q Remote4D && break; sleep 0.1; done
kill $A; kill $K; wait $K 2>/dev/null
xdotool keyup {key}
"#,
            w = w.display()
        )
    };
    let script = format!(
        "display=:$((60 + $$ % 20))\nXvfb $display -screen 0 1024x768x24 -nolisten tcp -noreset >/dev/null 2>&1 & X=$!\nexport DISPLAY=$display\nfor i in $(seq 50); do xwininfo -root >/dev/null 2>&1 && break; sleep 0.1; done\n{}{}kill $X\n",
        launch("alt", "alt"),
        launch("shift", "shift")
    );
    let o = in_netns(&script);
    let read = |f: &str| std::fs::read_to_string(w.join(f)).unwrap_or_default();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        read("alt.log").contains("Alt held at launch"),
        "Alt was not seen:\n{}",
        read("alt.log")
    );
    assert!(
        read("shift.log").contains("no Alt key held at launch"),
        "another key was taken for Alt:\n{}",
        read("shift.log")
    );
}

/// A project already set up for 4D's Build Application (its `Settings/buildApp.4DSettings`)
/// builds the same applications with no link: the names, the server's address and port, the
/// client's cache folder name, "Select…", the server's project folder; and the client reaches
/// the server. A project without that file, or whose file names no server, is told what to pass.
#[test]
fn a_project_set_up_for_4d_build_application_builds_its_apps_without_a_link() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let project = w.join("Shop");
    write(&project, "Project/Shop.4DProject", "{}");
    write(
        &project,
        "Project/Sources/Methods/hello.4dm",
        "ALERT(\"hello\")\n",
    );
    write(
        &project,
        "Project/Sources/settings.4DSettings",
        r#"<preferences stamp="1"><com.4d><server><network><options publication_name="Shop Live" publication_port="19844"/></network></server></com.4d></preferences>"#,
    );
    let home = w.join("builder");
    let build_client = |out: &str| {
        common::remote4d(
            &[
                "build",
                "client",
                "--project",
                project.to_str().unwrap(),
                "--out",
                w.join(out).to_str().unwrap(),
            ],
            &home,
        )
    };
    // No buildApp.4DSettings: what to pass instead.
    let o = build_client("none");
    assert!(!o.status.success());
    assert!(
        text(&o).contains("has no Settings/buildApp.4DSettings"),
        "{}",
        text(&o)
    );
    // One that names no server.
    write(
        &project,
        "Settings/buildApp.4DSettings",
        "<Preferences4D><BuildApp><BuildApplicationName>Boutique</BuildApplicationName></BuildApp></Preferences4D>",
    );
    let o = build_client("none");
    assert!(!o.status.success());
    assert!(text(&o).contains("CS/IPAddress is empty"), "{}", text(&o));
    // As 4D's dialog writes it.
    write(
        &project,
        "Settings/buildApp.4DSettings",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="no" ?>
<Preferences4D>
  <BuildApp>
    <BuildApplicationName>Boutique</BuildApplicationName>
    <CS>
      <BuildServerApplication>True</BuildServerApplication>
      <IPAddress>127.0.0.1</IPAddress>
      <PortNumber>19844</PortNumber>
      <ServerSelectionAllowed>True</ServerSelectionAllowed>
      <ClientServerSystemFolderName>BoutiqueCache</ClientServerSystemFolderName>
      <ServerStructureFolderName>BoutiqueData</ServerStructureFolderName>
      <CurrentVers>3</CurrentVers>
      <HardLink>boutique-2026</HardLink>
      <ShareLocalResourcesOnWindowsClient>True</ShareLocalResourcesOnWindowsClient>
    </CS>
  </BuildApp>
</Preferences4D>"#,
    );
    let o = build_client("dist");
    assert!(o.status.success(), "{}", text(&o));
    let client_exe = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert!(
        client_exe.ends_with("BoutiqueClient/BoutiqueClient"),
        "{client_exe}"
    );
    let link = std::fs::read_to_string(w.join("dist/BoutiqueClient/EnginedServer.4DLink")).unwrap();
    for part in [
        r#"server_database_name="Shop Live""#,
        r#"server_path="127.0.0.1:19844""#,
        r#"cache_folder_name="BoutiqueCache""#,
        r#"remote4d_hard_link="boutique-2026""#,
        r#"remote_shared_resources="true""#,
    ] {
        assert!(link.contains(part), "{part}: {link}");
    }
    let manifest =
        std::fs::read_to_string(w.join("dist/BoutiqueClient/remote4d-app.toml")).unwrap();
    assert!(
        manifest.contains("server_selection_allowed = true"),
        "{manifest}"
    );
    let o = common::build_server(&project, &w.join("dist"), &home);
    assert!(o.status.success(), "{}", text(&o));
    let server_exe = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert!(
        server_exe.ends_with("BoutiqueServer/BoutiqueServer"),
        "{server_exe}"
    );
    assert!(
        w.join("dist/BoutiqueServer/Server Database/BoutiqueData/Project/Shop.4DProject")
            .is_file()
    );
    let config = std::fs::read_to_string(w.join("dist/BoutiqueServer/server.toml")).unwrap();
    assert!(
        config.contains(r#"hard_link = "boutique-2026""#),
        "{config}"
    );
    // The server serves on the project's port; the client reaches it with nothing to choose.
    let script = format!(
        r#"
REMOTE4D_HOME={w}/srv "{server}" --headless > {w}/server.log 2>&1 &
server=$!
for i in $(seq 100); do
  REMOTE4D_HOME={w}/cli "{client}" --headless > {w}/client.out 2> {w}/client.err && break
  sleep 0.2
done
echo "client: $?"
# Any other client: refused (4D's HardLink pairs the server with its own client).
REMOTE4D_HOME={w}/other "{remote4d}" connect 127.0.0.1:19844 --trust-new --remote > /dev/null 2> {w}/other.err
echo "other: $?"
kill $server; wait $server
"#,
        w = w.display(),
        server = server_exe,
        client = client_exe,
        remote4d = env!("CARGO_BIN_EXE_remote4d"),
    );
    let o = in_netns(&script);
    let out = text(&o);
    let client_err = std::fs::read_to_string(w.join("client.err")).unwrap_or_default();
    assert!(out.contains("client: 0"), "{out}\n{client_err}");
    let other = std::fs::read_to_string(w.join("other.err")).unwrap_or_default();
    assert!(!out.contains("other: 0"), "{out}");
    assert!(
        other.contains("accepts only its own client application"),
        "{other}"
    );
    let folder = std::fs::read_to_string(w.join("client.out")).unwrap();
    assert!(
        folder.contains("BoutiqueCache"),
        "the cache folder is the one 4D's settings name: {folder}"
    );
}
