//! The server window against a real server (core's, on 127.0.0.1 of this machine, unpublished):
//! the iced_test simulator clicks and types in the real view, `handle` applies the messages,
//! and the effects it asks for run for real through core's administration client — the same
//! calls the window's tasks make.

use std::path::Path;

use futures::StreamExt;
use iced_test::simulator;
use remote4d_core::client::session::{SessionUpdate, follow};
use remote4d_core::client::{ApiClient, RequestError};
use remote4d_core::environment::Environment;
use remote4d_core::protocol::{HostType, OpenSession, OpenSessionResponse, SessionEvent, paths};
use remote4d_core::server::{Server, ServerConfig, ServerOptions};

use super::data::{self, Target};
use super::*;

fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// A served project, the window administering it, and the runtime the effects run on.
struct Harness {
    rt: tokio::runtime::Runtime,
    server: Option<Server>,
    env: Environment,
    app: AdminApp,
    root: tempfile::TempDir,
    _home: tempfile::TempDir,
    exited: bool,
}

/// `users`: the project has passwords (`directory.json`: Administrator and bob, "s3cret").
fn harness(users: bool, launch: impl FnOnce(u16) -> Launch) -> Harness {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let root = tempfile::tempdir().unwrap();
    write(root.path(), "Project/Shop.4DProject", b"{}");
    write(
        root.path(),
        "Project/Sources/Methods/hello.4dm",
        b"ALERT(\"hello\")\n",
    );
    if users {
        let h = bcrypt::hash("s3cret", 4)
            .unwrap()
            .replacen("$2b$", "$2y$", 1);
        let directory = format!(
            r#"{{"users":{{"designer":{{"alias":"Designer","password":"{h}"}},"administrator":{{"alias":"Administrator","password":"{h}"}},"bob":{{"password":"{h}"}}}}}}"#
        );
        write(root.path(), "Settings/directory.json", directory.as_bytes());
    }
    let home = tempfile::tempdir().unwrap();
    let env = Environment::portable(home.path());
    let server = rt
        .block_on(Server::start(ServerOptions {
            project: root.path().to_path_buf(),
            config: ServerConfig {
                port: Some(0),
                bind: vec!["127.0.0.1".parse().unwrap()],
                publish: false,
                watch: false,
                ..ServerConfig::default()
            },
            env: env.clone(),
            build_progress: None,
        }))
        .unwrap();
    let app = AdminApp::new(env.clone(), launch(server.port()));
    let mut h = Harness {
        rt,
        server: Some(server),
        env,
        app,
        root,
        _home: home,
        exited: false,
    };
    h.send(Message::Tick);
    h
}

fn local(port: u16) -> Launch {
    Launch {
        target: Some(Target::Local { port }),
        ..Launch::default()
    }
}

impl Harness {
    fn port(&self) -> u16 {
        self.server.as_ref().unwrap().port()
    }

    fn api(&self) -> ApiClient {
        let s = self.server.as_ref().unwrap();
        ApiClient::new(
            &format!("127.0.0.1:{}", s.port()),
            Some(&s.info().fingerprint),
        )
        .unwrap()
    }

    /// Applies `message` and carries out every effect it leads to.
    fn send(&mut self, message: Message) {
        let mut effect = self.app.handle(message);
        while let Some(e) = effect {
            let next = match e {
                Effect::Open(target) => {
                    Message::Opened(self.rt.block_on(data::open(self.env.clone(), target)))
                }
                Effect::Fetch {
                    client,
                    after_activity,
                    after_log,
                } => Message::Fetched(self.rt.block_on(data::fetch(
                    client,
                    after_activity,
                    after_log,
                ))),
                Effect::Perform(client, request) => {
                    Message::Done(self.rt.block_on(data::perform(client, request)))
                }
                Effect::Exit => {
                    self.exited = true;
                    return;
                }
            };
            effect = self.app.handle(next);
        }
    }

    /// Reads the server again (what the window's one-second tick does).
    fn refresh(&mut self) {
        self.send(Message::Tick);
    }

    /// Clicks and types in the window's view, then applies what that said.
    fn act(&mut self, f: impl FnOnce(&mut iced_test::Simulator<'_, Message>)) {
        let messages: Vec<Message> = {
            let mut ui = simulator(self.app.view());
            f(&mut ui);
            ui.into_messages().collect()
        };
        for m in messages {
            self.send(m);
        }
    }

    fn click(&mut self, label: &str) {
        self.act(|ui| {
            ui.click(label)
                .unwrap_or_else(|_| panic!("no {label:?} to click"));
        });
    }

    fn shows(&self, text: &str) -> bool {
        simulator(self.app.view()).find(text).is_ok()
    }

    /// Opens a client session as `user` from `machine`.
    fn login(&self, machine: &str, user: Option<(&str, &str)>) -> Result<(String, String), String> {
        let request = OpenSession {
            user_name: user.map(|u| u.0.to_owned()),
            password: user.map(|u| u.1.to_owned()),
            password_hash: None,
            machine_name: machine.into(),
            system_user_name: "tester".into(),
            host_type: Some(HostType::current()),
            client_id: format!("client-{machine}"),
            client_version: env!("CARGO_PKG_VERSION").into(),
            challenge: None,
            resume: None,
            user_param: None,
            hard_link: None,
        };
        match self.rt.block_on(self.api().json::<_, OpenSessionResponse>(
            reqwest::Method::POST,
            paths::SESSIONS,
            Some(&request),
        )) {
            Ok(OpenSessionResponse::Opened(o)) => Ok((o.session.id, o.token)),
            Ok(other) => Err(format!("{other:?}")),
            Err(RequestError::Api(e)) => Err(e.message),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

#[test]
fn the_monitor_follows_the_server_and_its_traffic() {
    let mut h = harness(false, local);
    assert!(h.app.problem.is_none(), "{:?}", h.app.problem);
    assert!(h.shows("Monitor") && h.shows("Up for"));
    assert!(h.shows("0 now, 0 at most"));
    assert!(
        h.app.title().starts_with("Shop — Remote4D Server"),
        "{}",
        h.app.title()
    );
    // A client downloads the archive: the next reading counts it and the graph has a sample.
    let api = h.api();
    let body =
        h.rt.block_on(async {
            api.request(reqwest::Method::GET, paths::ARCHIVE)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
        })
        .unwrap();
    assert!(!body.is_empty());
    h.refresh();
    assert!(h.shows("1 archives, 0 deltas"), "archives served");
    assert_eq!(h.app.model.traffic.len(), 1);
    assert!(h.app.model.traffic[0].bytes_out > 0.0);
    #[cfg(any(target_os = "linux", windows))]
    assert!(h.app.model.cpu_percent.is_some());
    assert!(h.shows("none since the server started"));
}

#[test]
fn sessions_appear_are_messaged_and_dropped_and_leave() {
    let mut h = harness(false, local);
    let (alice, alice_token) = h.login("alice-pc", None).unwrap();
    let (_bob, _) = h.login("bob-laptop", None).unwrap();
    h.click("Users");
    h.refresh();
    assert!(h.shows("alice-pc") && h.shows("bob-laptop"));
    assert!(h.shows("Sessions (2)"));
    // The filter keeps matching rows only.
    h.act(|ui| {
        ui.click(iced_test::selector::id("admin-filter")).unwrap();
        ui.typewrite("laptop");
    });
    assert!(h.shows("bob-laptop") && !h.shows("alice-pc"));
    h.act(|ui| {
        ui.click(iced_test::selector::id("admin-filter")).unwrap();
        for _ in 0.."laptop".len() {
            ui.tap_key(iced::keyboard::key::Named::Backspace);
        }
    });
    assert!(h.shows("alice-pc"));

    // A message to alice reaches her session (sent again until her event stream, opened in
    // the background, is there to receive it).
    let (_follower, mut events) = {
        let _guard = h.rt.enter();
        follow(
            h.api().with_token(alice_token.clone()),
            alice.clone(),
            alice_token.clone(),
        )
    };
    h.send(Message::Users(users::Message::Select(alice.clone(), true)));
    let mut got = None;
    for _ in 0..20 {
        h.act(|ui| {
            ui.click(iced_test::selector::id("admin-message")).unwrap();
            ui.typewrite("Server maintenance at noon");
        });
        h.click("Send to 1");
        assert_eq!(
            h.app.notice,
            Some((false, "message sent to 1 session".into()))
        );
        got = h.rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(500), async {
                while let Some(u) = events.next().await {
                    if let SessionUpdate::Event(SessionEvent::Message { text, .. }) = u {
                        return Some(text);
                    }
                }
                None
            })
            .await
            .ok()
            .flatten()
        });
        if got.is_some() {
            break;
        }
    }
    assert_eq!(got.as_deref(), Some("Server maintenance at noon"));

    // Dropping her (ticked, no delay) ends her session; bob stays.
    h.click("Drop");
    assert_eq!(h.app.notice, Some((false, "1 session dropped".into())));
    h.refresh();
    assert!(!h.shows("alice-pc") && h.shows("bob-laptop"));
    let api = h.api();
    let resp = h.rt.block_on(async {
        api.request(reqwest::Method::GET, &paths::session(&alice))
            .bearer_auth(&alice_token)
            .send()
            .await
    });
    assert_ne!(resp.unwrap().status(), reqwest::StatusCode::OK);

    // Drop with nothing ticked, or a bad delay: said under the form, nothing sent.
    h.click("Drop");
    assert!(h.shows("tick the sessions to drop first"));
}

#[test]
fn refusing_new_connections_keeps_the_connected_and_publishing_is_switched() {
    let mut h = harness(false, local);
    let _first = h.login("first", None).unwrap();
    h.click("Application Server");
    assert!(h.shows("New connections are accepted."));
    assert!(h.shows("Not published: clients type its address."));
    // The first "Turn off" is the accepting switch (publication is off: its button says on).
    h.click("Turn off");
    assert!(h.shows("New connections are refused; connected users stay, the Designer and the Administrator may still log in."));
    let refused = h.login("second", None);
    assert!(refused.is_err(), "{refused:?}");
    h.click("Users");
    assert!(h.shows("first") && !h.shows("second"));
    // Accepted again (the switch's message; the test never publishes: no multicast here).
    h.click("Application Server");
    h.send(Message::Ask(Request::Accept(true)));
    assert_eq!(
        h.app.notice,
        Some((false, "new connections are accepted".into()))
    );
    assert!(h.login("second", None).is_ok());
}

#[test]
fn reload_now_changes_the_stamp_and_the_history_keeps_the_previous_build() {
    let mut h = harness(false, local);
    let before = h.app.model.status.as_ref().unwrap().stamp.clone();
    write(
        h.root.path(),
        "Project/Sources/Methods/hello.4dm",
        b"ALERT(\"changed\")\n",
    );
    h.click("Maintenance");
    h.click("Reload now");
    let (failed, said) = h.app.notice.clone().unwrap();
    assert!(!failed && said.starts_with("project reloaded in"), "{said}");
    let after = h.app.model.status.as_ref().unwrap().stamp.clone();
    assert_ne!(before, after);
    assert_eq!(h.app.model.builds.len(), 2);
    assert!(h.shows(&format!("{} (current)", &after[..12])));
    assert!(
        h.shows("not asked yet"),
        "no client asked for the delta yet"
    );
    // Activity says so too, and the window's coming to the front checks quietly.
    h.click("Activity");
    assert!(h.shows("reload"));
    h.app.notice = None;
    h.send(Message::Window(window::Event::Focused));
    assert_eq!(h.app.notice, None, "nothing changed: nothing said");
    // A shutdown countdown that is not a number is refused before anything is sent.
    h.click("Maintenance");
    h.act(|ui| {
        ui.click(iced_test::selector::id("admin-shutdown-delay"))
            .unwrap();
        ui.typewrite("soon");
    });
    h.click("Shut down");
    assert!(h.shows("the countdown is a number of seconds, from 0 to 86400"));
    assert!(h.server.as_ref().unwrap().info().stamp.to_string() == after);
}

#[test]
fn closing_the_window_of_a_running_server_asks_and_stop_stops_it() {
    let stopped = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stopped);
    let mut h = harness(false, move |port| Launch {
        target: Some(Target::Local { port }),
        server_stopped: Some(flag),
        ..Launch::default()
    });
    let _alice = h.login("alice-pc", None).unwrap();
    h.refresh();
    h.send(Message::Window(window::Event::CloseRequested));
    assert!(h.app.closing && !h.exited);
    assert!(h.shows("Stop the server?"));
    assert!(h.shows("1 user is connected: they will be told and disconnected."));
    h.click("Cancel");
    assert!(!h.app.closing && !h.exited);
    h.send(Message::Window(window::Event::CloseRequested));
    h.click("Stop the server");
    assert!(h.exited, "the window closes once the server is told");
    let server = h.server.as_ref().unwrap();
    h.rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), server.stopped())
            .await
            .expect("the server stopped");
    });
    // When the server stops by other means, the window closes at the next tick.
    stopped.store(true, Ordering::SeqCst);
    h.exited = false;
    h.send(Message::Tick);
    assert!(h.exited);
}

#[test]
fn a_window_elsewhere_logs_in_as_the_administrator_only() {
    let mut h = harness(true, |_| Launch::default());
    // Pinned as a first connection would (the window trusts only a known identity).
    let info = h.server.as_ref().unwrap().info();
    let address = format!("127.0.0.1:{}", h.port());
    remote4d_core::client::trust::TrustStore::new(&h.env.data_dir)
        .trust(
            &info.server_id,
            &address,
            &info.publication_name,
            &info.fingerprint,
        )
        .unwrap();
    assert!(h.shows("Administer a server"));
    let fill = |h: &mut Harness, user: &str| {
        h.app.login = Some(login::Login::new(Some(address.clone()), Some(user.into())));
        h.act(|ui| {
            ui.click(iced_test::selector::id("admin-password")).unwrap();
            ui.typewrite("s3cret");
        });
        h.click("Log in");
    };
    fill(&mut h, "bob");
    // bob logs in, but may not administer: the first reading is refused.
    assert!(
        h.app
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("may not administer")),
        "{:?} {:?}",
        h.app.problem,
        h.app.login.as_ref().and_then(|l| l.problem.clone())
    );
    assert!(h.app.model.status.is_none(), "bob got nothing");
    h.app = AdminApp::new(h.env.clone(), Launch::default());
    fill(&mut h, "Administrator");
    assert!(h.app.problem.is_none(), "{:?}", h.app.problem);
    assert!(h.app.model.status.is_some());
    assert!(
        h.app
            .title()
            .contains(&format!("{address} as Administrator"))
    );
}
