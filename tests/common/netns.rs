//! Two private hosts joined by a virtual cable (network namespaces and a veth pair; root only):
//! host `a` at 10.<net>.0.1, host `b` at 10.<net>.0.2. Everything run in them stays in them
//! (mDNS included). Removed, with every process left in them, when dropped.

use std::path::Path;
use std::process::Command;

/// True when this process may make network namespaces (root) and `ip` is there.
pub fn available() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    root && Command::new("ip").arg("-V").output().is_ok()
}

/// The two hosts.
pub struct Pair {
    name: String,
    net: u8,
}

impl Pair {
    /// Makes hosts `<name>-a` and `<name>-b` on 10.`net`.0.0/24; with `rate` (e.g. "100mbit"),
    /// what `a` sends is limited to it (tc tbf), like a real link.
    pub fn up(name: &str, net: u8, rate: Option<&str>) -> Self {
        let run = |args: &[&str]| {
            let s = Command::new("ip").args(args).status().expect("run ip");
            assert!(s.success(), "ip {args:?}");
        };
        let (a, b) = (format!("{name}-a"), format!("{name}-b"));
        let (va, vb) = (format!("{name}va"), format!("{name}vb"));
        // A previous run killed before its clean-up may have left them.
        for ns in [&a, &b] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(std::process::Stdio::null())
                .status();
        }
        run(&["netns", "add", &a]);
        run(&["netns", "add", &b]);
        run(&["link", "add", &va, "type", "veth", "peer", "name", &vb]);
        run(&["link", "set", &va, "netns", &a]);
        run(&["link", "set", &vb, "netns", &b]);
        run(&[
            "-n",
            &a,
            "addr",
            "add",
            &format!("10.{net}.0.1/24"),
            "dev",
            &va,
        ]);
        run(&[
            "-n",
            &b,
            "addr",
            "add",
            &format!("10.{net}.0.2/24"),
            "dev",
            &vb,
        ]);
        for ns in [&a, &b] {
            run(&["-n", ns, "link", "set", "lo", "up"]);
        }
        run(&["-n", &a, "link", "set", &va, "up", "multicast", "on"]);
        run(&["-n", &b, "link", "set", &vb, "up", "multicast", "on"]);
        if let Some(rate) = rate {
            let s = Command::new("ip")
                .args([
                    "netns", "exec", &a, "tc", "qdisc", "add", "dev", &va, "root", "tbf", "rate",
                    rate, "burst", "64kb", "latency", "400ms",
                ])
                .status()
                .expect("run tc");
            assert!(s.success(), "tc tbf {rate}");
        }
        Self {
            name: name.to_owned(),
            net,
        }
    }

    /// The address of `host` ("a" or "b").
    pub fn addr(&self, host: &str) -> String {
        format!("10.{}.0.{}", self.net, if host == "a" { 1 } else { 2 })
    }

    /// `program` run inside `host`.
    pub fn run(&self, host: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &format!("{}-{host}", self.name), program]);
        c
    }

    /// This build's `remote4d` inside `host`, its folders under `home`.
    pub fn cmd(&self, host: &str, home: &Path) -> Command {
        let mut c = self.run(host, env!("CARGO_BIN_EXE_remote4d"));
        c.env("REMOTE4D_HOME", home);
        c
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for host in ["a", "b"] {
            let ns = format!("{}-{host}", self.name);
            if let Ok(o) = Command::new("ip").args(["netns", "pids", &ns]).output() {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        }
    }
}
