//! What the command line prints, as scripts and people see it: JSON only on a `--json` stream,
//! colour only where asked, progress as a line in place on a terminal and as a few plain lines
//! elsewhere, options where users type them, examples, a merged application's own help, and
//! memory that does not grow with the size of a file.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::remote4d;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every line of `text` is a JSON value (and there is at least one).
fn all_json_lines(text: &str) -> Vec<serde_json::Value> {
    let lines: Vec<_> = text.lines().filter(|l| !l.is_empty()).collect();
    assert!(!lines.is_empty(), "no output");
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn json_streams_carry_json_only() {
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Shop");
    common::project(&root, 0);
    let home = w.path().join("home");
    let archive = w.path().join("Shop.4dz");
    let o = remote4d(
        &[
            "archive",
            "build",
            root.to_str().unwrap(),
            "-o",
            archive.to_str().unwrap(),
        ],
        &home,
    );
    assert!(o.status.success(), "{}", common::text(&o));
    for args in [
        vec!["archive", "list", archive.to_str().unwrap(), "--json"],
        vec!["project", "show", root.to_str().unwrap(), "--json"],
        vec!["recent", "--json"],
    ] {
        let o = remote4d(&args, &home);
        assert!(o.status.success(), "{args:?}: {}", common::text(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: stdout is not one JSON value ({e})"));
    }

    // connect --json: the connection as one object on stdout, JSON lines only on stderr.
    let port = common::free_port();
    let _server = common::serve(&root, port, &w.path().join("server-home"), &[]);
    let address = format!("127.0.0.1:{port}");
    let o = remote4d(
        &["connect", &address, "--trust-new", "--remote", "--json"],
        &home,
    );
    assert!(o.status.success(), "{}", common::text(&o));
    let out: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}", stdout(&o)));
    assert_eq!(out["mode"], "remote", "{out}");
    assert!(
        Path::new(out["project_folder"].as_str().unwrap())
            .join("Project")
            .is_dir(),
        "{out}"
    );
    let events = all_json_lines(&stderr(&o));
    assert!(events.iter().any(|e| e["phase"] == "ready"), "{events:?}");

    // The same connection without trusting the identity: a JSON error, exit code 3, no question.
    let other = w.path().join("other-home");
    let o = remote4d(&["connect", &address, "--json"], &other);
    assert_eq!(o.status.code(), Some(3), "{}", common::text(&o));
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    let lines = all_json_lines(&stderr(&o));
    let error = lines.iter().find(|l| l.get("error").is_some()).unwrap();
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .starts_with(char::is_uppercase),
        "{error}"
    );

    // An error raised before connecting (a bad address) is JSON too.
    let o = remote4d(&["connect", "[::1", "--json"], &home);
    assert!(!o.status.success());
    assert!(o.stdout.is_empty());
    let lines = all_json_lines(&stderr(&o));
    assert!(lines[0]["error"].is_string(), "{lines:?}");
}

#[test]
fn colour_only_where_it_is_asked_for() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("missing.4DLink");
    let missing = missing.to_str().unwrap();
    // Redirected: never.
    let o = remote4d(&["connect", missing], home.path());
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
    assert!(!stderr(&o).contains('\u{1b}'));
    // Forced.
    let o = remote4d(&["connect", missing, "--color", "always"], home.path());
    assert!(stderr(&o).starts_with("\u{1b}["), "{:?}", stderr(&o));
    assert!(stderr(&o).contains("error:"));
    // On a terminal: yes, unless NO_COLOR says no.
    let on_tty = |no_color: bool| {
        let exe = env!("CARGO_BIN_EXE_remote4d");
        let mut c = Command::new("script");
        c.args(["-qec", &format!("{exe} connect {missing}"), "/dev/null"])
            .env("REMOTE4D_HOME", home.path())
            .env("TERM", "xterm")
            .env_remove("NO_COLOR")
            .stdin(Stdio::null());
        if no_color {
            c.env("NO_COLOR", "1");
        }
        c.output()
    };
    let Ok(o) = on_tty(false) else {
        eprintln!("skipped the terminal part: `script` (util-linux) is not installed");
        return;
    };
    assert!(stdout(&o).contains("\u{1b}["), "{:?}", stdout(&o));
    let o = on_tty(true).unwrap();
    assert!(stdout(&o).contains("error:"), "{:?}", stdout(&o));
    assert!(!stdout(&o).contains("\u{1b}["), "{:?}", stdout(&o));
}

/// A project with one file of `mb` megabytes of text-like data (compressible, not trivially).
fn big_project(root: &Path, mb: usize) {
    common::project(root, 0);
    let mut data = Vec::with_capacity(mb << 20);
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    while data.len() < mb << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(format!("$v{}:=\"{:x}\"\n", x % 1000, x).as_bytes());
    }
    std::fs::write(root.join("Project/Sources/big.txt"), data).unwrap();
}

/// Runs `remote4d ARGS` under GNU time; returns its output and its peak memory (KiB), or `None`
/// when GNU time is not installed.
fn run_measured(args: &[&str], home: &Path) -> Option<(Output, u64)> {
    let peak = home.join("peak");
    let o = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o", peak.to_str().unwrap()])
        .arg(env!("CARGO_BIN_EXE_remote4d"))
        .args(args)
        .env("REMOTE4D_HOME", home)
        .output()
        .ok()?;
    let kib = std::fs::read_to_string(&peak).ok()?.trim().parse().ok()?;
    Some((o, kib))
}

#[test]
fn memory_does_not_grow_with_the_size_of_a_file() {
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Big");
    big_project(&root, 96);
    let out = w.path().join("big.4dz");
    let Some((o, kib)) = run_measured(
        &[
            "archive",
            "build",
            root.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        w.path(),
    ) else {
        eprintln!("skipped: GNU time (/usr/bin/time) is not installed");
        return;
    };
    assert!(o.status.success(), "{}", common::text(&o));
    // Held in memory, the 96 MiB file alone would take 100 MB, twice over when compressed.
    assert!(
        kib < 60 * 1024,
        "peak {kib} KiB building a project with one 96 MiB file"
    );
    // Unpacking it streams too.
    let dest = w.path().join("unpacked");
    let (o, kib) = run_measured(
        &[
            "archive",
            "unpack",
            out.to_str().unwrap(),
            dest.to_str().unwrap(),
        ],
        w.path(),
    )
    .unwrap();
    assert!(o.status.success(), "{}", common::text(&o));
    assert!(kib < 60 * 1024, "peak {kib} KiB unpacking it");
    assert_eq!(
        std::fs::metadata(dest.join("Project/Sources/big.txt"))
            .unwrap()
            .len(),
        std::fs::metadata(root.join("Project/Sources/big.txt"))
            .unwrap()
            .len()
    );
}

#[test]
fn progress_is_a_line_in_place_on_a_terminal_and_few_lines_elsewhere() {
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Big");
    big_project(&root, 48);
    let out = w.path().join("big.4dz");
    let args = [
        "archive",
        "build",
        root.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    let start = std::time::Instant::now();
    let o = remote4d(&args, w.path());
    let took = start.elapsed().as_secs();
    assert!(o.status.success(), "{}", common::text(&o));
    let err = stderr(&o);
    assert!(!err.contains('\r') && !err.contains('\u{1b}'), "{err:?}");
    // One line per 5 s at most, the first after 1 s, the last at 100 %, and the summary.
    let lines = err.lines().count() as u64;
    assert!(lines <= took / 5 + 3, "{lines} lines in {took} s: {err}");
    assert!(err.lines().last().unwrap().starts_with("built "), "{err}");

    let exe = env!("CARGO_BIN_EXE_remote4d");
    let Ok(o) = Command::new("script")
        .args(["-qec", &format!("{exe} {}", args.join(" ")), "/dev/null"])
        .env("TERM", "xterm")
        .env("REMOTE4D_HOME", w.path())
        .stdin(Stdio::null())
        .output()
    else {
        eprintln!("skipped the terminal part: `script` (util-linux) is not installed");
        return;
    };
    let tty = stdout(&o);
    assert!(o.status.success(), "{tty}");
    // Redrawn in place (carriage returns / erase-line), then cleared before the summary.
    assert!(
        tty.contains("building") && tty.contains("\u{1b}[2K"),
        "{tty:?}"
    );
    assert!(tty.contains("built "), "{tty:?}");
}

#[test]
fn a_merged_application_helps_with_its_own_name() {
    let w = tempfile::tempdir().unwrap();
    let project = w.path().join("Shop");
    common::project(&project, 0);
    std::fs::write(project.join("Project/Shop.4DProject"), "{}").unwrap();
    let link = w.path().join("Shop.4DLink");
    std::fs::write(
        &link,
        "<database_shortcut is_remote=\"true\" server_database_name=\"Shop\" server_path=\"127.0.0.1:19813\"/>",
    )
    .unwrap();
    let home = w.path().join("home");
    let dist = w.path().join("dist");
    let o = common::build_client(&link, &dist, &home, &["--name", "ShopClient"]);
    assert!(o.status.success(), "{}", common::text(&o));
    let client = stdout(&o).trim().to_owned();
    let o = common::build_server(&project, &dist, &home);
    assert!(o.status.success(), "{}", common::text(&o));
    let server = stdout(&o).trim().to_owned();
    for (exe, says, name) in [
        (
            &client,
            "ShopClient: the client of its 4D server",
            "ShopClient",
        ),
        (
            &server,
            "ShopServer: serves its 4D project on the network",
            "ShopServer",
        ),
    ] {
        let o = Command::new(exe).arg("--help").output().unwrap();
        let help = stdout(&o);
        assert!(o.status.success(), "{help}");
        assert!(help.contains(says), "{help}");
        assert!(help.contains(&format!("Usage: {name}")), "{help}");
        assert!(!help.starts_with("Remote4D: 4D client/server"), "{help}");
        assert!(help.contains("Remote4D commands:"), "{help}");
        assert!(
            help.contains("Examples:\n  ") && help.contains(&format!("    {name}\n")),
            "{help}"
        );
        // A merged application's own options are shown (--choose: clients only; --headless:
        // both, a server serves without its window); the toolbox's plain help hides them.
        assert_eq!(help.contains("--choose"), exe == &client, "{help}");
        assert!(help.contains("--headless"), "{help}");
    }
    let o = remote4d(&["--help"], &home);
    assert!(!stdout(&o).contains("--headless"), "{}", stdout(&o));
}

#[test]
fn subcommand_options_go_before_or_after_the_action() {
    let home = tempfile::tempdir().unwrap();
    // No server on port 1: both spellings reach the server lookup, neither is a usage error.
    for args in [
        ["admin", "sessions", "--port", "1"],
        ["admin", "--port", "1", "sessions"],
    ] {
        let o = remote4d(&args, home.path());
        assert_ne!(o.status.code(), Some(2), "{args:?}: {}", common::text(&o));
        assert!(
            stderr(&o).contains("No administration token"),
            "{}",
            stderr(&o)
        );
    }
}
