//! The examples at the end of every `--help` (and of the man pages): one table, kept true by a
//! test that parses every example with the real command line.

use clap::Command;

/// Examples of one command: (what it does, the command line).
type Examples = &'static [(&'static str, &'static str)];

/// Every command, by its path of subcommand names, with its examples.
pub const EXAMPLES: &[(&str, Examples)] = &[
    (
        "",
        &[
            ("Open the desktop app", "remote4d"),
            (
                "Open a shortcut (what a double-click does)",
                "remote4d Shop.4DLink",
            ),
            (
                "Serve a project on the network",
                "remote4d serve ~/Projects/Shop",
            ),
            (
                "Connect from a script",
                "remote4d connect 192.168.1.20 --user Ann",
            ),
        ],
    ),
    (
        "link",
        &[
            ("Show a shortcut", "remote4d link show Shop.4DLink"),
            (
                "Write a shortcut to a server",
                "remote4d link new --name Shop --address 192.168.1.20:19813 -o Shop.4DLink",
            ),
        ],
    ),
    (
        "link show",
        &[
            ("Show a shortcut", "remote4d link show Shop.4DLink"),
            (
                "The same, for a script",
                "remote4d link show Shop.4DLink --json",
            ),
        ],
    ),
    (
        "link new",
        &[
            (
                "A shortcut to a server by address",
                "remote4d link new --name Shop --address shop.example.lan -o Shop.4DLink",
            ),
            (
                "A shortcut that finds the server by its name on the network",
                "remote4d link new --name Shop --address :19813 --user Ann -o Shop.4DLink",
            ),
        ],
    ),
    (
        "archive",
        &[
            (
                "Build a project's .4dz",
                "remote4d archive build ~/Projects/Shop -o Shop.4dz",
            ),
            ("Check an archive", "remote4d archive verify Shop.4dz"),
        ],
    ),
    (
        "archive build",
        &[
            (
                "Build a project's .4dz",
                "remote4d archive build ~/Projects/Shop -o Shop.4dz",
            ),
            (
                "Smallest archive, from the .4DProject file",
                "remote4d archive build Shop/Project/Shop.4DProject -o Shop.4dz --level 9",
            ),
        ],
    ),
    (
        "archive list",
        &[
            ("List the entries", "remote4d archive list Shop.4dz"),
            (
                "The same, for a script",
                "remote4d archive list Shop.4dz --json",
            ),
        ],
    ),
    (
        "archive verify",
        &[(
            "Check names, sizes and CRCs",
            "remote4d archive verify Shop.4dz",
        )],
    ),
    (
        "archive unpack",
        &[(
            "Unpack into a folder",
            "remote4d archive unpack Shop.4dz /tmp/Shop",
        )],
    ),
    (
        "project",
        &[(
            "Describe a project",
            "remote4d project show ~/Projects/Shop",
        )],
    ),
    (
        "project show",
        &[
            (
                "Describe a project",
                "remote4d project show ~/Projects/Shop",
            ),
            (
                "The same, for a script",
                "remote4d project show ~/Projects/Shop --json",
            ),
        ],
    ),
    (
        "project find",
        &[
            (
                "Every line of the project that mentions a table (case-insensitive)",
                "remote4d project find ~/Projects/Shop \"[Invoices]\"",
            ),
            (
                "In a remote copy, keeping the index in its DerivedDataRemote/",
                "remote4d project find ~/.cache/remote4d/Shop_192_168_1_10_19813_123 ALERT --json",
            ),
        ],
    ),
    (
        "recent",
        &[
            ("The projects opened lately", "remote4d recent"),
            ("The same, for a script", "remote4d recent --json"),
        ],
    ),
    (
        "serve",
        &[
            ("Serve a project", "remote4d serve ~/Projects/Shop"),
            (
                "With the server window (Monitor, Users, …)",
                "remote4d serve ~/Projects/Shop --window",
            ),
            (
                "On another port, reachable by address only",
                "remote4d serve ~/Projects/Shop --port 19900 --no-publish",
            ),
            (
                "With a configuration file",
                "remote4d serve ~/Projects/Shop --config /etc/remote4d/server.toml",
            ),
        ],
    ),
    (
        "reload",
        &[
            ("Rebuild the archive now", "remote4d reload localhost"),
            (
                "Without waiting for it",
                "remote4d reload localhost:19900 --no-wait",
            ),
        ],
    ),
    (
        "admin",
        &[
            ("Who is connected", "remote4d admin sessions"),
            (
                "Tell everyone",
                "remote4d admin message \"Restarting at noon\"",
            ),
            (
                "From another machine, as the project's Administrator",
                "remote4d admin --server 192.168.1.10 --user Administrator sessions",
            ),
            (
                "The server window of this machine's server",
                "remote4d admin --window",
            ),
            (
                "The server window of a server elsewhere (log in from the window)",
                "remote4d admin --window 192.168.1.10",
            ),
        ],
    ),
    (
        "admin sessions",
        &[
            ("Who is connected", "remote4d admin sessions"),
            (
                "On a server on another port, for a script",
                "remote4d admin sessions --port 19900 --json",
            ),
        ],
    ),
    (
        "admin message",
        &[
            (
                "Tell everyone",
                "remote4d admin message \"Restarting at noon\"",
            ),
            (
                "Tell one session",
                "remote4d admin message \"Please save\" --session 5f0c3e9a",
            ),
        ],
    ),
    (
        "admin status",
        &[
            ("Uptime, sessions, new connections", "remote4d admin status"),
            ("The same for a script", "remote4d admin status --json"),
        ],
    ),
    (
        "admin accept",
        &[
            (
                "Refuse new connections before maintenance (connected users stay)",
                "remote4d admin accept off",
            ),
            ("Accept them again", "remote4d admin accept on"),
        ],
    ),
    (
        "admin publish",
        &[
            (
                "Stop announcing the server (it stays reachable by address)",
                "remote4d admin publish off",
            ),
            ("Announce it again", "remote4d admin publish on"),
        ],
    ),
    (
        "admin activity",
        &[
            ("What happened lately", "remote4d admin activity"),
            ("Watch it live", "remote4d admin activity --follow"),
        ],
    ),
    (
        "admin log",
        &[
            ("The server's recent log", "remote4d admin log"),
            (
                "Follow it live, as JSON lines",
                "remote4d admin log --follow --json",
            ),
        ],
    ),
    (
        "admin builds",
        &[("The build history, newest first", "remote4d admin builds")],
    ),
    (
        "admin restart",
        &[(
            "Restart the server (the project and server.toml read anew)",
            "remote4d admin restart",
        )],
    ),
    (
        "admin reload",
        &[("Rebuild the project now", "remote4d admin reload")],
    ),
    (
        "admin drop",
        &[
            ("End a session", "remote4d admin drop 5f0c3e9a"),
            (
                "In five minutes, saying why",
                "remote4d admin drop 5f0c3e9a --in 300 --reason \"Maintenance\"",
            ),
        ],
    ),
    (
        "admin shutdown",
        &[(
            "Stop in five minutes, warning everyone",
            "remote4d admin shutdown --in 300 --message \"Maintenance\"",
        )],
    ),
    (
        "browse",
        &[
            ("The servers on this network", "remote4d browse"),
            (
                "Follow them, for a script",
                "remote4d browse --watch --json",
            ),
        ],
    ),
    (
        "connect",
        &[
            ("Connect with a shortcut", "remote4d connect Shop.4DLink"),
            (
                "Connect by address, as a user",
                "remote4d connect 192.168.1.20:19813 --user Ann",
            ),
            (
                "Find the server by name, trust it on first sight",
                "remote4d connect Shop --trust-new",
            ),
        ],
    ),
    (
        "demo",
        &[
            ("Try Remote4D on its demo project", "remote4d demo"),
            ("Start again from a fresh copy", "remote4d demo --reset"),
        ],
    ),
    (
        "build",
        &[
            (
                "A merged client for a server",
                "remote4d build client --link Shop.4DLink --out dist",
            ),
            (
                "A merged server",
                "remote4d build server --project ~/Projects/Shop --out dist",
            ),
        ],
    ),
    (
        "build client",
        &[
            (
                "A merged client for a server",
                "remote4d build client --link Shop.4DLink --out dist",
            ),
            (
                "Pinned to the server's identity",
                "remote4d build client --link Shop.4DLink --out dist --fingerprint AB:CD:EF",
            ),
            (
                "For the server 4D's Build Application settings name (Settings/buildApp.4DSettings)",
                "remote4d build client --project ~/Projects/Shop --out dist",
            ),
        ],
    ),
    (
        "build sign-update",
        &[(
            "Sign a new client build",
            "remote4d build sign-update --key shop.key --version 1.2.0 dist/ShopClient",
        )],
    ),
    (
        "build server",
        &[(
            "A merged server",
            "remote4d build server --project ~/Projects/Shop --out dist",
        )],
    ),
    (
        "completions",
        &[
            ("Bash, for the current user", "remote4d completions bash"),
            ("Zsh", "remote4d completions zsh"),
        ],
    ),
    (
        "man",
        &[(
            "Man pages for the current user",
            "remote4d man --out ~/.local/share/man/man1",
        )],
    ),
];

/// The examples of the command at `path`.
pub fn of(path: &str) -> Option<Examples> {
    EXAMPLES.iter().find(|(p, _)| *p == path).map(|(_, e)| *e)
}

/// The "Examples:" text of `examples`.
pub fn text(examples: Examples) -> String {
    let mut out = String::from("Examples:");
    for (what, line) in examples {
        out.push_str(&format!("\n  {what}:\n    {line}"));
    }
    out
}

/// `command` and its subcommands, each with its examples after its help.
pub fn add(command: Command) -> Command {
    add_at(command, "")
}

fn add_at(mut command: Command, path: &str) -> Command {
    if let Some(examples) = of(path) {
        let extra = command
            .get_after_help()
            .map(|h| format!("\n\n{h}"))
            .unwrap_or_default();
        command = command.after_help(format!("{}{extra}", text(examples)));
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for name in names {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        command = command.mut_subcommand(&name, |c| add_at(c, &sub_path));
    }
    command
}

/// The words of an example line, as a shell would split them (double quotes only).
#[cfg(test)]
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            c => word.push(c),
        }
    }
    if any || !word.is_empty() {
        out.push(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command's path ("", "admin", "admin sessions", …).
    fn paths(command: &Command, path: &str, out: &mut Vec<String>) {
        out.push(path.to_owned());
        for sub in command.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let p = if path.is_empty() {
                sub.get_name().to_owned()
            } else {
                format!("{path} {}", sub.get_name())
            };
            paths(sub, &p, out);
        }
    }

    #[test]
    fn every_command_has_examples_and_every_example_a_command() {
        let mut all = Vec::new();
        paths(&crate::cli::command(), "", &mut all);
        let missing: Vec<_> = all.iter().filter(|p| of(p).is_none()).collect();
        assert!(missing.is_empty(), "commands without examples: {missing:?}");
        let unknown: Vec<_> = EXAMPLES
            .iter()
            .filter(|(p, _)| !all.iter().any(|a| a == p))
            .collect();
        assert!(unknown.is_empty(), "examples of no command: {unknown:?}");
    }

    #[test]
    fn every_example_is_a_valid_command_line_of_its_command() {
        for (path, examples) in EXAMPLES {
            for (what, line) in *examples {
                let words = words(line);
                assert_eq!(words[0], "remote4d", "{line}");
                let parsed = crate::cli::command().try_get_matches_from(&words);
                let matches = parsed.unwrap_or_else(|e| panic!("{line} ({what}): {e}"));
                // The example runs the command it illustrates (or, for a group, one of its own).
                let mut used = Vec::new();
                let mut m = &matches;
                while let Some((name, sub)) = m.subcommand() {
                    used.push(name);
                    m = sub;
                }
                let used = used.join(" ");
                assert!(
                    path.is_empty() || used == *path || used.starts_with(&format!("{path} ")),
                    "{line} is listed under '{path}' but runs '{used}'"
                );
            }
        }
    }

    #[test]
    fn help_ends_with_the_examples() {
        let help = |words: &[&str]| match crate::cli::command().try_get_matches_from(words) {
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.to_string(),
            other => panic!("{words:?}: {other:?}"),
        };
        let help = help(&["remote4d", "archive", "build", "--help"]);
        assert!(
            help.contains("Examples:\n  Build a project's .4dz:\n    remote4d archive build ~/Projects/Shop -o Shop.4dz"),
            "{help}"
        );
        assert!(help.contains("Global options:"), "{help}");
        let top = crate::cli::command().render_long_help().to_string();
        assert!(
            top.contains("REMOTE4D_LOG") && top.contains("RUST_LOG") && top.contains("NO_COLOR")
        );
    }

    #[test]
    fn words_split_as_a_shell_does() {
        assert_eq!(
            words("remote4d admin message \"Restarting at noon\" --session 5f"),
            [
                "remote4d",
                "admin",
                "message",
                "Restarting at noon",
                "--session",
                "5f"
            ]
        );
    }
}
