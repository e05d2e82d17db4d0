//! Mirrors through real nginx caches (`resources/nginx/remote4d-cache.conf`, as documented):
//! many clients at once through two caching proxies get the exact project while the server sends
//! each build once per cache; a poisoned mirror and a dead one are detected and skipped; a
//! project with logins gives nothing through a cache to a request without a session.
//! Skipped (and said) where nginx is not installed; CI installs it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{free_port, remote4d, text};

/// True when nginx can run here; says why not otherwise.
fn have_nginx() -> bool {
    let ok = Command::new("nginx")
        .arg("-v")
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: nginx is not installed (CI installs it)");
    }
    ok
}

/// An nginx process, stopped when dropped.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The main context nginx needs around an `http { }` content, in `dir`.
fn nginx_main(dir: &Path, http: &str) -> String {
    let d = dir.display();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    format!(
        "{user}\nworker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 1024; }}\nhttp {{\n  access_log {d}/access.log;\n  \
         client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;\n  \
         uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n{http}\n}}\n",
        user = if root { "user root;" } else { "" },
    )
}

/// Starts nginx in `dir` with `http` as its `http { }` content, listening on `port`.
fn start_nginx(dir: &Path, http: &str, port: u16) -> Nginx {
    std::fs::create_dir_all(dir).unwrap();
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, nginx_main(dir, http)).unwrap();
    let child = Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let mut n = Nginx(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        let ended = n.0.try_wait().unwrap();
        assert!(
            ended.is_none() && std::time::Instant::now() < deadline,
            "nginx did not start ({ended:?}): {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    n
}

/// The documented cache configuration, its @…@ values filled in (slices of 64 KB instead of
/// 4 MB, so that this test's small archives cross in several).
fn cache_conf(dir: &Path, port: u16, origin: u16, data: &Path) -> String {
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("resources/nginx/remote4d-cache.conf"),
    )
    .unwrap();
    assert!(template.contains("slice 4m;"));
    template
        .replace("slice 4m;", "slice 64k;")
        .replace("@CACHE_DIR@", &dir.join("cache").display().to_string())
        .replace("@LISTEN@", &format!("127.0.0.1:{port}"))
        .replace("@CERT@", &data.join("cert.pem").display().to_string())
        .replace("@KEY@", &data.join("key.pem").display().to_string())
        .replace("@ORIGIN@", &format!("127.0.0.1:{origin}"))
        .replace(
            "@ORIGIN_CERT@",
            &data.join("cert.pem").display().to_string(),
        )
        .replace("@ORIGIN_NAME@", "localhost")
}

/// A poisoned mirror in `dir`: nginx answering every path with `bytes`, over the server's own
/// certificate from `data` (the worst case: the client cannot tell it by its TLS identity).
fn start_poisoned(dir: &Path, port: u16, data: &Path, bytes: &[u8]) -> Nginx {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("poison.bin"), bytes).unwrap();
    let http = format!(
        "server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {c}; ssl_certificate_key {k};\n\
         root {d}; location / {{ default_type application/zip; try_files /poison.bin =404; }} }}",
        c = data.join("cert.pem").display(),
        k = data.join("key.pem").display(),
        d = dir.display(),
    );
    start_nginx(dir, &http, port)
}

/// `GET` through curl (TLS not checked: the caller looks at the answer only): status and body size.
fn curl(url: &str, token: Option<&str>) -> (u16, usize) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sk", "-o", "-", "-w", "\n%{http_code}", url]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    let o = cmd.output().expect("run curl");
    let out = o.stdout;
    let cut = out.iter().rposition(|b| *b == b'\n').unwrap();
    let status = String::from_utf8_lossy(&out[cut + 1..])
        .trim()
        .parse()
        .unwrap();
    (status, cut)
}

/// The server's admin status (`archive_bytes_served`: the archive's bytes answered, whole or in
/// ranges; `deltas_served`).
fn status(port: u16, home: &Path) -> serde_json::Value {
    let o = remote4d(
        &["admin", "--port", &port.to_string(), "status", "--json"],
        home,
    );
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Starts `remote4d serve` on `root` with its data in `data` and `config`.
fn serve(root: &Path, port: u16, home: &Path, data: &Path, config: &Path) -> common::Server {
    common::serve(
        root,
        port,
        home,
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
    )
}

/// 120 clients at once through two caches, with a poisoned and a dead mirror named first for
/// their network: every client skips both, ends with the exact project and components, and the
/// server sends the build once per cache.
#[test]
fn many_clients_through_two_caches_get_the_exact_project_and_bad_mirrors_are_skipped() {
    if !have_nginx() {
        return;
    }
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Shop");
    common::project(&root, 300_000);
    common::write(
        &root,
        "Components/Tools.4dbase/Tools.4DZ",
        &common::noise(50_000, 3),
    );
    let (origin, a, b, poisoned, dead) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    let data = w.path().join("data");
    let config = w.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[[mirror]]\nurl = \"https://127.0.0.1:{a}\"\n\n[[mirror]]\nurl = \"https://127.0.0.1:{b}/\"\n\n\
             [[mirror]]\nurl = \"https://127.0.0.1:{poisoned}\"\nsubnets = [\"127.0.0.0/8\", \"::1/128\"]\n\n\
             [[mirror]]\nurl = \"https://127.0.0.1:{dead}\"\nsubnets = [\"127.0.0.0/8\", \"::1/128\"]\n"
        ),
    )
    .unwrap();
    let home = w.path().join("server");
    let _server = serve(&root, origin, &home, &data, &config);
    let _a = start_nginx(
        &w.path().join("a"),
        &cache_conf(&w.path().join("a"), a, origin, &data),
        a,
    );
    let _b = start_nginx(
        &w.path().join("b"),
        &cache_conf(&w.path().join("b"), b, origin, &data),
        b,
    );
    let _poisoned = start_poisoned(
        &w.path().join("poisoned"),
        poisoned,
        &data,
        &common::noise(330_000, 99),
    );

    let clients = 120;
    let children: Vec<(PathBuf, Child)> = (0..clients)
        .map(|i| {
            let home = w.path().join(format!("c{i}"));
            std::fs::create_dir_all(&home).unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_remote4d"))
                .args([
                    "connect",
                    &format!("127.0.0.1:{origin}"),
                    "--trust-new",
                    "--remote",
                    "--json",
                ])
                .env("REMOTE4D_HOME", &home)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (home, child)
        })
        .collect();
    let big = common::noise(300_000, 42);
    let mut used = std::collections::BTreeMap::<String, usize>::new();
    for (home, child) in children {
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{}: {err}", home.display());
        let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let system = PathBuf::from(c["system_folder"].as_str().unwrap());
        let progress: Vec<serde_json::Value> = err
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let skipped: Vec<&str> = progress
            .iter()
            .filter(|p| p["phase"] == "mirror_skipped")
            .map(|p| p["url"].as_str().unwrap())
            .collect();
        // Both bad mirrors were tried first (their network is this one's) and skipped, for the
        // project archive and for the Components folder.
        for bad in [poisoned, dead] {
            let url = format!("https://127.0.0.1:{bad}");
            assert!(
                skipped.iter().filter(|u| **u == url).count() >= 2,
                "{url} not skipped twice: {err}"
            );
        }
        let from: Vec<&str> = progress
            .iter()
            .filter(|p| p["phase"] == "from_mirror")
            .map(|p| p["url"].as_str().unwrap())
            .filter(|u| !u.contains(&poisoned.to_string()) && !u.contains(&dead.to_string()))
            .collect();
        assert!(!from.is_empty(), "no good mirror used: {err}");
        *used.entry(from[0].to_owned()).or_default() += 1;
        // The exact project and component.
        assert!(
            std::fs::read(system.join("Project/Sources/Methods/big.4dm")).unwrap() == big,
            "{}",
            system.display()
        );
        assert_eq!(
            std::fs::read(system.join("Components/Tools.4dbase/Tools.4DZ")).unwrap(),
            common::noise(50_000, 3)
        );
    }
    // The clients spread over both caches, and the server sent the build once per cache.
    assert_eq!(used.len(), 2, "{used:?}");
    let size = curl_json(&format!("https://127.0.0.1:{origin}/api/v1/info"))["archive_size"]
        .as_u64()
        .unwrap();
    let served = status(origin, &home)["archive_bytes_served"]
        .as_u64()
        .unwrap();
    assert_eq!(
        served,
        2 * size,
        "the server sent {served} bytes of a {size}-byte archive for 2 caches ({used:?})"
    );
    println!(
        "{clients} clients: {used:?}; the server sent the {size}-byte archive's bytes {served}"
    );

    // A new build: the next connections get the delta through the caches too (its address
    // names both builds), each cache asking the server once.
    let before = curl_json(&format!("https://127.0.0.1:{origin}/api/v1/info"))["stamp"].clone();
    common::write(&root, "Project/Sources/Methods/m1.4dm", b"// changed\n");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while curl_json(&format!("https://127.0.0.1:{origin}/api/v1/info"))["stamp"] == before {
        assert!(std::time::Instant::now() < deadline, "no rebuild");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let again: Vec<Child> = (0..30)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_remote4d"))
                .args([
                    "connect",
                    &format!("127.0.0.1:{origin}"),
                    "--remote",
                    "--json",
                ])
                .env("REMOTE4D_HOME", w.path().join(format!("c{i}")))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in again {
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{err}");
        let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(c["fetched"]["kind"], "delta", "{c}: {err}");
        let system = PathBuf::from(c["system_folder"].as_str().unwrap());
        assert_eq!(
            std::fs::read(system.join("Project/Sources/Methods/m1.4dm")).unwrap(),
            b"// changed\n"
        );
    }
    let s = status(origin, &home);
    let deltas = s["deltas_served"].as_u64().unwrap();
    assert!((1..=2).contains(&deltas), "{s}");
    assert_eq!(s["archive_bytes_served"].as_u64().unwrap(), 2 * size, "{s}");
    println!("30 reconnections: deltas sent by the server: {deltas}");
}

/// `GET url` through curl, as JSON.
fn curl_json(url: &str) -> serde_json::Value {
    let o = Command::new("curl").args(["-sk", url]).output().unwrap();
    serde_json::from_slice(&o.stdout).unwrap_or_default()
}

/// A project with logins: a client with a session gets the project through a cache; a request
/// without a session, or with a made-up one, gets nothing — even once the cache holds the
/// archive.
#[test]
fn a_cache_gives_nothing_without_a_session_on_a_project_with_logins() {
    if !have_nginx() {
        return;
    }
    let w = tempfile::tempdir().unwrap();
    let root = w.path().join("Shop");
    common::project(&root, 50_000);
    let h = bcrypt::hash("s3cret", 4)
        .unwrap()
        .replacen("$2b$", "$2y$", 1);
    common::write(
        &root,
        "Settings/directory.json",
        format!(
            r#"{{"users":{{"designer":{{"alias":"Designer","password":"{h}"}},"bob":{{"password":"{h}"}}}}}}"#
        )
        .as_bytes(),
    );
    let (origin, a) = (free_port(), free_port());
    let data = w.path().join("data");
    let config = w.path().join("server.toml");
    std::fs::write(
        &config,
        format!("[[mirror]]\nurl = \"https://127.0.0.1:{a}\"\n"),
    )
    .unwrap();
    let home = w.path().join("server");
    let _server = serve(&root, origin, &home, &data, &config);
    let _a = start_nginx(
        &w.path().join("a"),
        &cache_conf(&w.path().join("a"), a, origin, &data),
        a,
    );
    let client = w.path().join("client");
    let o = remote4d(
        &[
            "connect",
            &format!("127.0.0.1:{origin}"),
            "--trust-new",
            "--remote",
            "--user",
            "bob",
            "--password",
            "s3cret",
            "--json",
        ],
        &client,
    );
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("\"from_mirror\""), "{err}");
    assert!(!err.contains("\"mirror_skipped\""), "{err}");
    let info = curl_json(&format!("https://127.0.0.1:{origin}/api/v1/info"));
    let stamp = info["stamp"].as_str().unwrap().to_owned();
    let url = format!("https://127.0.0.1:{a}/api/v1/project/archive?stamp={stamp}");
    // The cache holds it now; still nothing without a session.
    for token in [None, Some("made-up")] {
        let (status, size) = curl(&url, token);
        assert_eq!(status, 401, "{token:?}");
        assert!(size < 1000, "{token:?}: {size} bytes");
    }
    // And the cache did serve it to the client: the server sent it once.
    assert_eq!(
        status(origin, &home)["archive_bytes_served"],
        info["archive_size"]
    );
}

/// Hard-links every file under `from` into `to` (same folders): one more installed copy of a
/// client application without copying its executable.
#[cfg(unix)]
fn link_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            link_tree(&entry.path(), &target);
        } else {
            std::fs::hard_link(entry.path(), &target).unwrap();
        }
    }
}

/// A new client build on Monday morning: outdated clients, made by `remote4d build client`,
/// all update at once through a cache — the server sends the signed build once — while a
/// poisoned mirror named first for their network is detected and skipped; the cache gives the
/// build to no one without a session or an update token.
#[cfg(unix)]
#[test]
fn outdated_clients_update_through_a_cache_which_fetches_the_build_once() {
    if !have_nginx() {
        return;
    }
    const NEW_BUILD: &str = "#!/bin/sh\necho \"new client running with: $*\"\n";
    let w = tempfile::tempdir().unwrap();
    let w = w.path();
    let root = w.join("Shop");
    common::project(&root, 0);
    let (origin, a, poisoned) = (free_port(), free_port(), free_port());
    // The publisher's client application, its updates signed with its key.
    let tools = w.join("tools");
    let link = w.join("Shop.4DLink");
    common::new_link("Shop", &format!("127.0.0.1:{origin}"), &link, &tools);
    let key = w.join("keys/shop-update.key");
    let o = common::build_client(
        &link,
        &w.join("dist"),
        &tools,
        &["--update-key", key.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let build = w.join("remote4d-9.0.0");
    std::fs::write(&build, NEW_BUILD).unwrap();
    let o = common::sign_update(&key, "9.0.0", &build, &tools);
    assert!(o.status.success(), "{}", text(&o));

    let data = w.join("data");
    let config = w.join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[client_update]\nmin_version = \"9.0.0\"\nversion = \"9.0.0\"\nbuild = \"{}\"\n\n\
             [[mirror]]\nurl = \"https://127.0.0.1:{a}\"\n\n\
             [[mirror]]\nurl = \"https://127.0.0.1:{poisoned}\"\nsubnets = [\"127.0.0.0/8\", \"::1/128\"]\n",
            build.display()
        ),
    )
    .unwrap();
    let home = w.join("server");
    let _server = serve(&root, origin, &home, &data, &config);
    let _a = start_nginx(&w.join("a"), &cache_conf(&w.join("a"), a, origin, &data), a);
    let _poisoned = start_poisoned(
        &w.join("poisoned"),
        poisoned,
        &data,
        NEW_BUILD.replace("new", "evil").as_bytes(),
    );

    let clients = 16;
    let dist = w.join("dist/ShopClient");
    let original = std::fs::read(dist.join("ShopClient")).unwrap();
    let children: Vec<(PathBuf, Child)> = (0..clients)
        .map(|i| {
            let app = w.join(format!("c{i}/ShopClient"));
            link_tree(&dist, &app);
            let child = Command::new(app.join("ShopClient"))
                .args([
                    "connect",
                    &format!("127.0.0.1:{origin}"),
                    "--trust-new",
                    "--remote",
                    "--accept-update",
                    "--json",
                ])
                .env("REMOTE4D_HOME", w.join(format!("c{i}/home")))
                .env_remove("REMOTE4D_UPDATED")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (app, child)
        })
        .collect();
    let poisoned_url = format!("https://127.0.0.1:{poisoned}");
    let cache_url = format!("https://127.0.0.1:{a}");
    for (app, child) in children {
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{}: {}", app.display(), text(&o));
        // The new build ran, with the same arguments.
        assert!(
            String::from_utf8_lossy(&o.stdout)
                .contains("new client running with: connect 127.0.0.1:"),
            "{}",
            text(&o)
        );
        assert_eq!(
            std::fs::read_to_string(app.join("ShopClient")).unwrap(),
            NEW_BUILD
        );
        assert_eq!(
            std::fs::read(app.join("ShopClient.previous")).unwrap(),
            original
        );
        let progress: Vec<serde_json::Value> = err
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let phase = |name: &str| -> Vec<&str> {
            progress
                .iter()
                .filter(|p| p["phase"] == name)
                .filter_map(|p| p["url"].as_str())
                .collect()
        };
        assert_eq!(phase("mirror_skipped"), [poisoned_url.as_str()], "{err}");
        assert_eq!(
            phase("from_mirror"),
            [poisoned_url.as_str(), cache_url.as_str()],
            "{err}"
        );
    }
    // The publisher's build, untouched by the cache, reached the server's line once.
    let served = status(origin, &home)["update_bytes_served"]
        .as_u64()
        .unwrap();
    assert_eq!(served, NEW_BUILD.len() as u64, "{clients} clients");
    // Nothing for a request without a session or an update token, though the cache holds it.
    let sha = hex_sha256(NEW_BUILD.as_bytes());
    let url = format!("https://127.0.0.1:{a}/api/v1/client/update/binary?sha256={sha}");
    for token in [None, Some("made-up")] {
        let (code, size) = curl(&url, token);
        assert_eq!(code, 401, "{token:?}");
        assert!(size < 1000, "{token:?}: {size} bytes");
    }
}

/// SHA-256 of `bytes`, hex, by `sha256sum` (a tool independent of this code).
#[cfg(unix)]
fn hex_sha256(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let o = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// A project over the 8 MiB from which a client asks for two parts (small files last), served
/// from a server whose one mirror is nginx proxying to it with `proxy` (directives of its
/// `location /`, after `proxy_pass`) and `http` (directives around its `server`).
struct BehindMirror {
    w: tempfile::TempDir,
    origin: u16,
    home: PathBuf,
    _server: common::Server,
    _mirror: Nginx,
}

impl BehindMirror {
    fn start(http: &str, proxy: &str) -> Self {
        let w = tempfile::tempdir().unwrap();
        let root = w.path().join("Shop");
        common::project(&root, 9_000_000);
        for i in 0..500 {
            common::write(
                &root,
                &format!("Project/Sources/Methods/z{i:04}.4dm"),
                format!("// {i}\n").as_bytes(),
            );
        }
        let (origin, mirror) = (free_port(), free_port());
        let data = w.path().join("data");
        let config = w.path().join("server.toml");
        std::fs::write(
            &config,
            format!("[[mirror]]\nurl = \"https://127.0.0.1:{mirror}\"\n"),
        )
        .unwrap();
        let home = w.path().join("server");
        let server = serve(&root, origin, &home, &data, &config);
        let http = format!(
            "{http}\nserver {{ listen 127.0.0.1:{mirror} ssl; ssl_certificate {c}; ssl_certificate_key {k};\n\
             location / {{ proxy_pass https://127.0.0.1:{origin}; proxy_ssl_verify off;\n{proxy} }} }}",
            c = data.join("cert.pem").display(),
            k = data.join("key.pem").display(),
        );
        let mirror = start_nginx(&w.path().join("mirror"), &http, mirror);
        Self {
            w,
            origin,
            home,
            _server: server,
            _mirror: mirror,
        }
    }

    /// A cold `remote4d connect --json` of a new client: its progress lines, and where the
    /// project went, once checked exact.
    fn connect(&self) -> Vec<serde_json::Value> {
        let client = self.w.path().join("client");
        std::fs::create_dir_all(&client).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_remote4d"))
            .args([
                "connect",
                &format!("127.0.0.1:{}", self.origin),
                "--trust-new",
                "--remote",
                "--json",
            ])
            .env("REMOTE4D_HOME", &client)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{err}");
        let progress: Vec<serde_json::Value> = err
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        assert!(
            progress.iter().any(|p| p["phase"] == "from_mirror"),
            "{err}"
        );
        assert!(
            !progress.iter().any(|p| p["phase"] == "mirror_skipped"),
            "{err}"
        );
        let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let system = PathBuf::from(c["system_folder"].as_str().unwrap());
        assert_eq!(
            std::fs::read(system.join("Project/Sources/Methods/big.4dm")).unwrap(),
            common::noise(9_000_000, 42)
        );
        assert_eq!(
            std::fs::read(system.join("Project/Sources/Methods/z0499.4dm")).unwrap(),
            b"// 499\n"
        );
        progress
    }

    /// The archive's size, over the 8 MiB from which clients ask for it in ranges.
    fn archive_size(&self) -> u64 {
        let size =
            curl_json(&format!("https://127.0.0.1:{}/api/v1/info", self.origin))["archive_size"]
                .as_u64()
                .unwrap();
        assert!(size >= 8 << 20, "{size}");
        size
    }
}

/// A mirror that answers every range with the whole archive (a proxy that drops `Range`, with
/// `max_ranges 0`): a large archive, which a client asks for in ranges, still comes from it —
/// whole, in one part — and is not taken for a bad mirror.
#[test]
fn a_mirror_that_ignores_ranges_still_serves_a_large_archive() {
    if !have_nginx() {
        return;
    }
    let m = BehindMirror::start(
        "max_ranges 0;",
        "proxy_set_header Range \"\"; proxy_set_header If-Range \"\"; proxy_buffering off;",
    );
    m.connect();
    // The mirror fetched the archive whole from the server, once.
    let s = status(m.origin, &m.home);
    let size = m.archive_size();
    assert_eq!(s["archives_served"].as_u64().unwrap(), 1, "{s}");
    assert_eq!(s["archive_bytes_served"].as_u64().unwrap(), size, "{s}");
}

/// A mirror that answers some ranges and not others (here: the whole archive for a range from
/// the first byte, as some proxies do): the client, which got its first range right, sees the
/// wrong answer to the next ones and downloads the archive in one part — from the same mirror,
/// which is not taken for a bad one.
#[test]
fn a_mirror_that_answers_some_ranges_wrongly_still_serves_a_large_archive() {
    if !have_nginx() {
        return;
    }
    let m = BehindMirror::start(
        "max_ranges 0;\nmap $http_range $origin_range { \"~^bytes=0-\" \"\"; default $http_range; }",
        "proxy_set_header Range $origin_range; proxy_buffering off;",
    );
    m.connect();
    // The archive's last bytes came as ranges, then the whole archive twice (the answer to
    // the wrong range, dropped, and the download in one part).
    let s = status(m.origin, &m.home);
    assert!(
        2 * m.archive_size() < s["archive_bytes_served"].as_u64().unwrap(),
        "{s}"
    );
}
