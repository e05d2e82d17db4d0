//! Headless UI tests (iced_test Simulator): interactions produce messages, `update` applies
//! them, the rebuilt view shows the result. No X server, no network: tasks do not run.

use iced_test::simulator;
use remote4d_core::client::{Mode, Progress};
use remote4d_core::discovery::{DiscoveredServer, DiscoveryEvent};
use remote4d_core::protocol::SessionEvent;

use super::dialog::Dialog;
use super::services::{ConnectUpdate, Outcome};
use super::*;

fn app() -> (App, tempfile::TempDir) {
    // SAFETY-free: the simulator renders with the software renderer.
    let home = tempfile::tempdir().unwrap();
    (App::for_tests(home.path()), home)
}

/// Clicks/types in the app's current view and applies the resulting messages.
fn act(app: &mut App, f: impl FnOnce(&mut iced_test::Simulator<'_, Message>)) {
    let messages: Vec<Message> = {
        let mut ui = simulator(app.view());
        f(&mut ui);
        ui.into_messages().collect()
    };
    for m in messages {
        let _ = app.update(m);
    }
}

fn shows(app: &App, text: &str) -> bool {
    simulator(app.view()).find(text).is_ok()
}

fn server() -> DiscoveredServer {
    DiscoveredServer {
        fullname: "Shop._remote4d._tcp.local.".into(),
        publication_name: "Shop".into(),
        host: "srv.local.".into(),
        addresses: vec!["192.0.2.7".parse().unwrap()],
        port: 19813,
        server_id: Some("id-1".into()),
        fingerprint: Some("ab".repeat(32).parse().unwrap()),
        stamp: None,
        protocol_version: Some(1),
    }
}

#[test]
fn tabs_switch_and_the_custom_address_is_validated_as_typed() {
    let (mut app, _home) = app();
    assert!(shows(
        &app,
        "No recent projects yet. Connect from the Available or Custom tab."
    ));
    act(&mut app, |ui| {
        ui.click("Available").unwrap();
    });
    assert_eq!(app.connect.tab(), connect::Tab::Available);
    assert!(shows(&app, "Looking for servers on the network…"));
    act(&mut app, |ui| {
        ui.click("Custom").unwrap();
    });
    assert_eq!(app.connect.tab(), connect::Tab::Custom);
    act(&mut app, |ui| {
        ui.click(iced_test::selector::id("address")).unwrap();
        ui.typewrite("server.lan:99999");
    });
    assert!(shows(
        &app,
        "the port 99999 is out of range (expected 1 to 65535)"
    ));
    act(&mut app, |ui| {
        ui.click(iced_test::selector::id("address")).unwrap();
        for _ in 0.."server.lan:99999".len() {
            ui.tap_key(key::Named::Backspace);
        }
        ui.typewrite("[fd00::1]:19820");
    });
    assert!(!shows(
        &app,
        "the port 99999 is out of range (expected 1 to 65535)"
    ));
    act(&mut app, |ui| {
        ui.click("OK").unwrap();
    });
    let Screen::Connecting(c) = app.screen() else {
        panic!("expected the progress view")
    };
    assert_eq!(c.target, "fd00::1");
}

#[test]
fn a_discovered_server_is_selected_and_connected() {
    let (mut app, _home) = app();
    let _ = app.update(Message::Discovery(DiscoveryEvent::Added(server())));
    act(&mut app, |ui| {
        ui.click("Available").unwrap();
    });
    assert_eq!(app.connect.servers().len(), 1);
    assert!(shows(&app, "192.0.2.7:19813"));
    assert!(shows(&app, "new"), "a server never trusted is marked new");
    act(&mut app, |ui| {
        ui.click("Shop").unwrap();
    });
    act(&mut app, |ui| {
        ui.click("OK").unwrap();
    });
    assert!(matches!(app.screen(), Screen::Connecting(_)));
    let attempt = app.attempt.as_ref().unwrap();
    assert_eq!(attempt.opts.project.as_deref(), Some("Shop"));
    // The announced fingerprint is a hint, never a pin: the connection will ask.
    assert_eq!(attempt.opts.expected_fingerprint, None);
    // In the one form every program shows.
    assert_eq!(
        attempt.opts.announced_fingerprint.as_deref(),
        Some(["AB"; 32].join(":").as_str())
    );
    // The server leaves: it stays listed, marked, until it answers again.
    let _ = app.update(Message::Discovery(DiscoveryEvent::Removed {
        fullname: server().fullname,
    }));
    assert_eq!(app.connect.servers().len(), 1);
    assert!(app.connect.gone().contains(&server().fullname));
    let _ = app.update(Message::Discovery(DiscoveryEvent::Added(server())));
    assert!(app.connect.gone().is_empty());
}

/// A key press as the window delivers it, with no text field taking it.
fn press(app: &mut App, key: Key, modifiers: keyboard::Modifiers) {
    let event = iced::Event::Keyboard(keyboard::Event::KeyPressed {
        key: key.clone(),
        modified_key: key,
        physical_key: key::Physical::Unidentified(key::NativeCode::Unidentified),
        location: keyboard::Location::Standard,
        modifiers,
        text: None,
        repeat: false,
    });
    if let Some(m) = shortcut(event, event::Status::Ignored, window::Id::unique()) {
        let _ = app.update(m);
    }
}

fn named_server(name: &str, last: u8) -> DiscoveredServer {
    DiscoveredServer {
        fullname: format!("{name}._remote4d._tcp.local."),
        publication_name: name.into(),
        addresses: vec![format!("192.0.2.{last}").parse().unwrap()],
        server_id: Some(format!("id-{name}")),
        ..server()
    }
}

#[test]
fn the_keyboard_moves_through_the_list_and_enter_connects() {
    let (mut app, _home) = app();
    for (i, name) in ["Shop", "Billing", "Archive"].iter().enumerate() {
        let _ = app.update(Message::Discovery(DiscoveryEvent::Added(named_server(
            name,
            10 + i as u8,
        ))));
    }
    press(
        &mut app,
        Key::Character("2".into()),
        keyboard::Modifiers::COMMAND,
    );
    assert_eq!(app.connect.tab(), connect::Tab::Available);
    let selected = |app: &App| app.connect.selection().1.map(str::to_owned);
    let down = Key::Named(key::Named::ArrowDown);
    let none = keyboard::Modifiers::empty();
    press(&mut app, down.clone(), none);
    assert_eq!(
        selected(&app).as_deref(),
        Some("Shop._remote4d._tcp.local.")
    );
    press(&mut app, down.clone(), none);
    assert_eq!(
        selected(&app).as_deref(),
        Some("Billing._remote4d._tcp.local.")
    );
    press(&mut app, Key::Named(key::Named::End), none);
    assert_eq!(
        selected(&app).as_deref(),
        Some("Archive._remote4d._tcp.local.")
    );
    press(&mut app, down, none);
    assert_eq!(
        selected(&app).as_deref(),
        Some("Archive._remote4d._tcp.local."),
        "the selection stops at the end"
    );
    press(&mut app, Key::Named(key::Named::Home), none);
    assert_eq!(
        selected(&app).as_deref(),
        Some("Shop._remote4d._tcp.local.")
    );
    press(&mut app, Key::Named(key::Named::ArrowUp), none);
    assert_eq!(
        selected(&app).as_deref(),
        Some("Shop._remote4d._tcp.local.")
    );
    // Type to select: the next entry starting with the letter.
    press(&mut app, Key::Character("b".into()), none);
    assert_eq!(
        selected(&app).as_deref(),
        Some("Billing._remote4d._tcp.local.")
    );
    press(&mut app, Key::Character("A".into()), none);
    assert_eq!(
        selected(&app).as_deref(),
        Some("Archive._remote4d._tcp.local.")
    );
    // Enter opens the selected server (it asks first: the development-mode dialog or a connect).
    press(&mut app, Key::Named(key::Named::Enter), none);
    let attempt = app.attempt.as_ref().expect("Enter connects");
    assert_eq!(attempt.opts.project.as_deref(), Some("Archive"));
}

#[test]
fn lists_take_no_keys_under_a_dialog() {
    let (mut app, _home) = app();
    let _ = app.update(Message::Discovery(DiscoveryEvent::Added(server())));
    let _ = app.update(Message::Connect(connect::Message::TabSelected(
        connect::Tab::Available,
    )));
    app.dialog = Some(Dialog::Error(dialog::error::ErrorDialog {
        message: "something".into(),
        offline: false,
        select: false,
    }));
    press(
        &mut app,
        Key::Named(key::Named::ArrowDown),
        keyboard::Modifiers::empty(),
    );
    assert_eq!(app.connect.selection().1, None);
}

#[test]
fn available_says_when_nothing_was_found_and_what_to_check() {
    let (mut app, _home) = app();
    let _ = app.update(Message::Connect(connect::Message::TabSelected(
        connect::Tab::Available,
    )));
    assert!(shows(&app, "Looking for servers on the network…"));
    let _ = app.update(Message::Connect(connect::Message::SearchSettled));
    assert!(shows(&app, "No servers found on this network"));
    assert!(shows(&app, app.tr.no_servers_hint));
    assert!(app.tr.no_servers_hint.contains("Custom tab"));
    // A server that appears later is listed as usual; one that leaves is marked, not dropped.
    let _ = app.update(Message::Discovery(DiscoveryEvent::Added(server())));
    assert!(!shows(&app, "No servers found on this network"));
    assert!(shows(&app, "Shop") && !shows(&app, "not answering"));
    let _ = app.update(Message::Discovery(DiscoveryEvent::Removed {
        fullname: server().fullname,
    }));
    assert!(shows(&app, "Shop") && shows(&app, "not answering"));
}

#[test]
fn the_first_run_opens_on_available() {
    let (mut app, _home) = app();
    assert_eq!(app.connect.tab(), connect::Tab::Recent);
    let _ = app.update(Message::Connect(connect::Message::RecentLoaded(Ok(
        Vec::new(),
    ))));
    assert_eq!(app.connect.tab(), connect::Tab::Available);
    // Once the user chose a tab, a reload of Recent leaves it alone.
    let _ = app.update(Message::Connect(connect::Message::TabSelected(
        connect::Tab::Custom,
    )));
    let _ = app.update(Message::Connect(connect::Message::RecentLoaded(Ok(
        Vec::new(),
    ))));
    assert_eq!(app.connect.tab(), connect::Tab::Custom);
}

#[test]
fn progress_view_follows_the_download() {
    let (mut app, _home) = app();
    let _ = app.update(Message::Connect(connect::Message::TabSelected(
        connect::Tab::Custom,
    )));
    let _ = app.update(Message::Connect(connect::Message::CustomAddressChanged(
        "10.0.0.5".into(),
    )));
    let _ = app.update(Message::Connect(connect::Message::Ok));
    let g = app.generation;
    let _ = app.update(Message::Connecting(
        g,
        ConnectUpdate::Progress(Progress::Downloading {
            done: 25_000_000,
            total: 50_000_000,
            bytes_per_sec: 5_000_000,
        }),
    ));
    assert!(shows(
        &app,
        "Downloading the project: 25.0 / 50.0 MB, 5.0 MB/s, 5 s left"
    ));
    // A stale attempt's messages are ignored.
    let _ = app.update(Message::Connecting(
        g - 1,
        ConnectUpdate::Progress(Progress::Unpacking),
    ));
    assert!(shows(
        &app,
        "Downloading the project: 25.0 / 50.0 MB, 5.0 MB/s, 5 s left"
    ));
    act(&mut app, |ui| {
        ui.click("Cancel").unwrap();
    });
    assert!(matches!(app.screen(), Screen::Connect));
}

#[test]
fn identity_dialogs_trust_new_and_refuse_changed_unless_accepted() {
    let (mut app, _home) = app();
    let _ = app.update(Message::Connect(connect::Message::TabSelected(
        connect::Tab::Custom,
    )));
    let _ = app.update(Message::Connect(connect::Message::CustomAddressChanged(
        "10.0.0.5".into(),
    )));
    let _ = app.update(Message::Connect(connect::Message::Ok));
    let fp = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89".to_owned();
    let _ = app.update(Message::Connecting(
        app.generation,
        ConnectUpdate::Done(Outcome::NewIdentity {
            name: "Shop".into(),
            fingerprint: fp.clone(),
        }),
    ));
    assert!(matches!(app.dialog(), Some(Dialog::NewIdentity(_))));
    assert!(
        shows(&app, "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"),
        "the fingerprint is shown"
    );
    act(&mut app, |ui| {
        ui.click("Trust and connect").unwrap();
    });
    assert!(app.dialog().is_none());
    assert!(
        app.attempt.as_ref().unwrap().opts.trust_new,
        "connects again, trusting it"
    );
    assert!(matches!(app.screen(), Screen::Connecting(_)));

    let _ = app.update(Message::Connecting(
        app.generation,
        ConnectUpdate::Done(Outcome::IdentityChanged {
            expected: fp,
            presented: "11:22".into(),
        }),
    ));
    assert!(matches!(app.dialog(), Some(Dialog::Changed(_))));
    // Connecting is disabled until the change is explicitly accepted.
    act(&mut app, |ui| {
        let _ = ui.click("Connect");
    });
    assert!(matches!(app.dialog(), Some(Dialog::Changed(_))));
    act(&mut app, |ui| {
        ui.click("I have checked it: accept the new identity")
            .unwrap();
    });
    act(&mut app, |ui| {
        ui.click("Connect").unwrap();
    });
    assert!(app.attempt.as_ref().unwrap().opts.accept_changed_identity);
}

#[test]
fn login_and_challenge_dialogs_answer_the_server() {
    let (mut app, _home) = app();
    let _ = app.update(Message::Connect(connect::Message::TabSelected(
        connect::Tab::Custom,
    )));
    let _ = app.update(Message::Connect(connect::Message::CustomAddressChanged(
        "10.0.0.5".into(),
    )));
    let _ = app.update(Message::Connect(connect::Message::Ok));
    let _ = app.update(Message::Connecting(
        app.generation,
        ConnectUpdate::Done(Outcome::Login {
            message: "unknown user or wrong password".into(),
        }),
    ));
    assert!(shows(&app, "unknown user or wrong password"));
    act(&mut app, |ui| {
        ui.click(iced_test::selector::id("login-user")).unwrap();
        ui.typewrite("alice");
    });
    act(&mut app, |ui| {
        ui.click(iced_test::selector::id("login-password")).unwrap();
        ui.typewrite("s3cret");
    });
    act(&mut app, |ui| {
        ui.click("Log in").unwrap();
    });
    let opts = &app.attempt.as_ref().unwrap().opts;
    assert_eq!(
        (opts.user.as_deref(), opts.password.as_deref()),
        (Some("alice"), Some("s3cret"))
    );

    let _ = app.update(Message::Connecting(
        app.generation,
        ConnectUpdate::Done(Outcome::Challenge {
            id: "c1".into(),
            prompt: "Enter the code sent to your phone".into(),
        }),
    ));
    assert!(shows(&app, "Enter the code sent to your phone"));
    act(&mut app, |ui| {
        ui.click(iced_test::selector::id("challenge-answer"))
            .unwrap();
        ui.typewrite("424242");
    });
    act(&mut app, |ui| {
        ui.click("Send").unwrap();
    });
    let c = app
        .attempt
        .as_ref()
        .unwrap()
        .opts
        .challenge
        .clone()
        .unwrap();
    assert_eq!((c.id.as_str(), c.answer.as_str()), ("c1", "424242"));

    let _ = app.update(Message::Connecting(
        app.generation,
        ConnectUpdate::Done(Outcome::Failed {
            message: "cannot reach 10.0.0.5:19813: connection refused. Check that the server runs"
                .into(),
            offline: true,
        }),
    ));
    assert!(shows(&app, "Could not connect"));
    act(&mut app, |ui| {
        ui.click("Open the last version (offline)").unwrap();
    });
    assert!(app.attempt.as_ref().unwrap().opts.allow_offline);
}

#[test]
fn a_shortcut_that_asks_for_the_login_asks_before_connecting() {
    let (mut app, home) = app();
    // 4D's open_login_dialog="true": the dialog first, the link's user filled in, its password
    // not used; the connection starts with what was typed.
    let link = home.path().join("HR.4DLink");
    std::fs::write(
        &link,
        r#"<database_shortcut is_remote="true" server_database_name="HR" server_path="192.0.2.10" user_name="alice" password="from-link" open_login_dialog="true"/>"#,
    )
    .unwrap();
    let _ = app.open_link_file(&link);
    assert!(
        matches!(app.screen(), Screen::Connect),
        "not connecting yet"
    );
    assert!(shows(
        &app,
        "This shortcut asks for your name and password."
    ));
    let Some(Dialog::Login(login)) = app.dialog() else {
        panic!("no login dialog")
    };
    assert_eq!(login.user, "alice");
    let generation = app.generation;
    act(&mut app, |ui| {
        ui.click(iced_test::selector::id("login-password")).unwrap();
        ui.typewrite("typed");
    });
    act(&mut app, |ui| {
        ui.click("Log in").unwrap();
    });
    assert!(app.generation > generation, "the connection started");
    let opts = &app.attempt.as_ref().unwrap().opts;
    assert_eq!(
        (opts.user.as_deref(), opts.password.as_deref()),
        (Some("alice"), Some("typed"))
    );
    assert!(matches!(app.screen(), Screen::Connecting(_)));
    // Without the attribute, no dialog: the link's own credentials are used.
    let (mut plain, home) = self::app();
    let link = home.path().join("Plain.4DLink");
    std::fs::write(
        &link,
        r#"<database_shortcut is_remote="true" server_database_name="HR" server_path="192.0.2.10" user_name="alice" password="from-link"/>"#,
    )
    .unwrap();
    let _ = plain.open_link_file(&link);
    assert!(plain.dialog().is_none());
    assert!(matches!(plain.screen(), Screen::Connecting(_)));
}

fn project_app(mode: Mode) -> (App, tempfile::TempDir) {
    let (app, home) = app();
    let root = home.path().join("Shop");
    (project_app_at(app, &root, mode, None), home)
}

/// The project window on a small project at `root` (written when missing), keeping the
/// developer's state in `folder` when given.
fn project_app_at(
    mut app: App,
    root: &std::path::Path,
    mode: Mode,
    folder: Option<remote4d_core::cache::SystemFolder>,
) -> App {
    let root = root.to_path_buf();
    let w = |rel: &str, c: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, c).unwrap();
    };
    w("Project/Shop.4DProject", "{}");
    w("Project/Sources/Methods/hello.4dm", "ALERT(\"hello\")\n");
    w(
        "Project/Sources/catalog.4DCatalog",
        "<base><table name=\"Customers\" id=\"1\"><field name=\"Name\" type=\"10\" id=\"1\"/></table></base>",
    );
    let mut view = project::ProjectView::new(
        "Shop".into(),
        "127.0.0.1:19813".into(),
        mode,
        root.clone(),
        None,
        serde_json::json!({}),
    );
    if let Some(f) = folder {
        view = view.with_folder(f);
    }
    app.screen = Screen::Project(Box::new(view));
    // The project is read off the UI thread (project::load); until then the window says so.
    assert!(shows(&app, "Reading the project…"));
    let read = remote4d_core::project::Project::open(&root).map_err(|e| e.to_string());
    let _ = app.update(Message::Project(project::Message::Loaded(
        std::sync::Arc::new(read),
    )));
    app
}

#[test]
fn project_window_shows_content_sources_and_the_update_banner() {
    let (mut app, _home) = project_app(Mode::Remote);
    assert!(shows(&app, "▼ Customers"));
    assert!(shows(&app, "      Name  (Text)"));
    act(&mut app, |ui| {
        ui.click("▼ Customers").unwrap();
    });
    assert!(
        shows(&app, "▶ Customers"),
        "collapsed: the triangle points right"
    );
    assert!(!shows(&app, "      Name  (Text)"));
    act(&mut app, |ui| {
        ui.click("▶ Customers").unwrap();
    });
    assert!(shows(&app, "▼ Customers") && shows(&app, "      Name  (Text)"));
    assert!(shows(
        &app,
        "Server: 127.0.0.1:19813   ·   Remote (read-only copy)"
    ));
    act(&mut app, |ui| {
        ui.click("hello").unwrap();
    });
    assert!(
        shows(&app, "ALERT(\"hello\")"),
        "the source, with line numbers"
    );
    assert!(shows(&app, "1"));
    let _ = app.update(Message::Session(SessionUpdate::Event(
        SessionEvent::ProjectUpdated {
            stamp: remote4d_core::archive::Stamp::of_bytes(b"x"),
            archive_size: 1,
        },
    )));
    assert!(shows(&app, "A new version of this project is available —"));
    let _ = app.update(Message::Session(SessionUpdate::Event(
        SessionEvent::Message {
            text: "Restart at noon".into(),
        },
    )));
    assert!(shows(&app, "Message from the server: Restart at noon"));
    let _ = app.update(Message::Session(SessionUpdate::Event(
        SessionEvent::Shutdown {
            in_seconds: 30,
            message: None,
        },
    )));
    assert!(shows(&app, "The server stops in 30 s"));
    // Read-only: typing does not change anything.
    let Screen::Project(v) = app.screen() else {
        panic!()
    };
    assert!(v.edits.is_empty());
}

#[test]
fn development_mode_edits_are_marked_and_saved_with_save_all() {
    let (mut app, _home) = project_app(Mode::Development);
    act(&mut app, |ui| {
        ui.click("hello").unwrap();
    });
    let Screen::Project(v) = app.screen() else {
        panic!()
    };
    assert_eq!(
        v.selected().unwrap().rel,
        "Project/Sources/Methods/hello.4dm"
    );
    // Type in the editor (move to the end first).
    let _ = app.update(Message::Project(project::Message::Edit(
        iced::widget::text_editor::Action::Move(iced::widget::text_editor::Motion::DocumentEnd),
    )));
    for c in "ALERT(\"world\")".chars() {
        let _ = app.update(Message::Project(project::Message::Edit(
            iced::widget::text_editor::Action::Edit(iced::widget::text_editor::Edit::Insert(c)),
        )));
    }
    let Screen::Project(v) = app.screen() else {
        panic!()
    };
    assert!(v.editor_text().contains("ALERT(\"world\")"));
    assert_eq!(v.edits.len(), 1);
    assert!(shows(&app, "● hello"), "modified files are marked");
    assert!(shows(&app, "Save all (1)"));
    act(&mut app, |ui| {
        ui.click("Save all (1)").unwrap();
    });
    let Screen::Project(v) = app.screen() else {
        panic!()
    };
    assert!(v.saving, "waits for the server's reload");
    assert!(shows(&app, "Saving… waiting for the server to reload"));
    // The server announces the build of this very save (here before the save's own answer):
    // no "new version" banner for it.
    let own = remote4d_core::archive::Stamp::of_bytes(b"saved build");
    let _ = app.update(Message::Session(SessionUpdate::Event(
        SessionEvent::ProjectUpdated {
            stamp: own,
            archive_size: 1,
        },
    )));
    let _ = app.update(Message::Saved(Ok(own)));
    assert!(shows(
        &app,
        &format!("Saved; the server reloaded the project ({})", own.short())
    ));
    let Screen::Project(v) = app.screen() else {
        panic!()
    };
    assert!(v.edits.is_empty());
    assert!(!v.new_version, "one's own save is no news");
    // Announced again after the answer: still no news; another build is.
    for (stamp, news) in [
        (own, false),
        (remote4d_core::archive::Stamp::of_bytes(b"other"), true),
    ] {
        let _ = app.update(Message::Session(SessionUpdate::Event(
            SessionEvent::ProjectUpdated {
                stamp,
                archive_size: 1,
            },
        )));
        let Screen::Project(v) = app.screen() else {
            panic!()
        };
        assert_eq!(v.new_version, news);
    }
    // A file someone else is editing is read-only and says who.
    let _ = app.update(Message::Locks(vec![remote4d_core::protocol::LockInfo {
        path: "Project/Sources/Methods/hello.4dm".into(),
        session_id: "other".into(),
        user_name: "bob".into(),
        machine_name: "pc-7".into(),
    }]));
    assert!(shows(&app, "🔒 hello"));
    assert!(shows(
        &app,
        "Project/Sources/Methods/hello.4dm  — being edited by bob (pc-7)"
    ));
}

#[test]
fn french_strings_are_complete() {
    assert_ne!(i18n::FR.recent, i18n::EN.recent);
    assert_eq!(i18n::FR.custom, "Personnalisée");
}

#[test]
fn a_required_client_update_is_offered_and_installed_on_request() {
    let (mut app, _home) = app();
    let _ = app.update(Message::Connect(connect::Message::TabSelected(
        connect::Tab::Custom,
    )));
    let _ = app.update(Message::Connect(connect::Message::CustomAddressChanged(
        "10.0.0.5".into(),
    )));
    let _ = app.update(Message::Connect(connect::Message::Ok));
    let info = services::UpdateInfo {
        message: "this server accepts Remote4D clients 9.0.0 to any; this one is 0.1.0".into(),
        update: client::update::OfferedUpdate {
            offer: remote4d_core::protocol::UpdateOffer {
                version: "9.0.0".into(),
                sha256: "00".repeat(32),
                size: 10,
                min_version: Some("9.0.0".into()),
                max_version: None,
                signature: None,
            },
            address: "10.0.0.5:19813".into(),
            fingerprint: "AA".into(),
            token: None,
            mirrors: Vec::new(),
        },
    };
    let _ = app.update(Message::Connecting(
        app.generation,
        ConnectUpdate::Done(Outcome::Update(Box::new(info))),
    ));
    assert!(shows(&app, "A newer Remote4D is needed"));
    assert!(shows(&app, "The server offers version 9.0.0"));
    act(&mut app, |ui| {
        ui.click("Update and restart").unwrap();
    });
    let Some(Dialog::Update(d)) = app.dialog() else {
        panic!("the dialog stays while installing")
    };
    assert!(d.busy);
    assert!(shows(&app, "Updating…"));
    // A mirror that fails is shown, with why, while the download goes on elsewhere.
    let _ = app.update(Message::Updating(Step::Progress(Progress::MirrorSkipped {
        url: "https://cache.site-b.example".into(),
        reason: "the mirror served other bytes than the server's".into(),
    })));
    assert!(shows(
        &app,
        "Mirror skipped, the next source is used: https://cache.site-b.example — the mirror served other bytes than the server's"
    ));
    assert!(shows(&app, "Updating…"));
    // A failed install says why; the installed program is unchanged (core tests cover the swap).
    let _ = app.update(Message::Updating(Step::Done(Err(
        "the update is damaged; nothing was replaced".into(),
    ))));
    assert!(shows(&app, "the update is damaged; nothing was replaced"));
}

/// A development-mode project with one unsaved edit.
fn edited_app() -> (App, tempfile::TempDir) {
    let (mut app, home) = project_app(Mode::Development);
    act(&mut app, |ui| {
        ui.click("hello").unwrap();
    });
    let _ = app.update(Message::Project(project::Message::Edit(
        iced::widget::text_editor::Action::Edit(iced::widget::text_editor::Edit::Insert('!')),
    )));
    assert!(shows(&app, "Save all (1)"));
    (app, home)
}

fn edits(app: &App) -> usize {
    match app.screen() {
        Screen::Project(v) => v.edits.len(),
        _ => 0,
    }
}

#[test]
fn unsaved_edits_are_never_lost_without_asking() {
    // Every way out of the project asks first: Ctrl+Q, closing the window, File > Quit and
    // Close, Disconnect, Reconnect. Cancel (or Escape) keeps everything as it was.
    let ways: Vec<(&str, Message)> = vec![
        ("Ctrl+Q", Message::Key(Shortcut::Quit)),
        ("File > Quit", Message::Menu(menu::Action::Quit)),
        ("File > Close", Message::Menu(menu::Action::Close)),
        ("File > Open", Message::Menu(menu::Action::OpenRemote)),
        (
            "close the window",
            Message::Window(window::Id::unique(), window::Event::CloseRequested),
        ),
        ("Disconnect", Message::Project(project::Message::Disconnect)),
        ("Reconnect", Message::Project(project::Message::Reconnect)),
    ];
    for (what, message) in ways {
        let (mut app, _home) = edited_app();
        let _ = app.update(message);
        assert!(
            matches!(app.dialog(), Some(Dialog::Unsaved(d)) if d.files == ["Project/Sources/Methods/hello.4dm"]),
            "{what}: asks first"
        );
        assert!(shows(&app, "Save your changes?"), "{what}");
        assert!(
            matches!(app.screen(), Screen::Project(_)),
            "{what}: still open"
        );
        act(&mut app, |ui| {
            ui.click("Cancel").unwrap();
        });
        assert!(app.dialog().is_none(), "{what}");
        assert!(matches!(app.screen(), Screen::Project(_)), "{what}: stays");
        assert_eq!(edits(&app), 1, "{what}: the edit is kept");
        assert!(app.leaving.is_none(), "{what}: nothing pending");
        // Escape cancels too; a later Save all does not leave.
        let _ = app.update(Message::Project(project::Message::Disconnect));
        let _ = app.update(Message::Key(Shortcut::Escape));
        assert!(app.leaving.is_none(), "{what}: Escape cancels");
    }
}

#[test]
fn discard_leaves_and_save_all_leaves_once_saved() {
    let (mut app, _home) = edited_app();
    let _ = app.update(Message::Project(project::Message::Disconnect));
    act(&mut app, |ui| {
        ui.click("Discard").unwrap();
    });
    assert!(matches!(app.screen(), Screen::Connect), "disconnected");

    let (mut app, _home) = edited_app();
    let _ = app.update(Message::Project(project::Message::Disconnect));
    // Enter is the default button: Save all.
    let _ = app.update(Message::Key(Shortcut::Enter));
    let Screen::Project(v) = app.screen() else {
        panic!("waits for the save")
    };
    assert!(v.saving);
    // A failed save keeps the project open, with the edit and the error.
    let _ = app.update(Message::Saved(Err("the disk is full".into())));
    assert!(matches!(app.screen(), Screen::Project(_)));
    assert_eq!(edits(&app), 1);
    assert!(app.leaving.is_none());
    // Asked again, saved this time: then it disconnects.
    let _ = app.update(Message::Project(project::Message::Disconnect));
    act(&mut app, |ui| {
        ui.click("Save all").unwrap();
    });
    let _ = app.update(Message::Saved(Ok(remote4d_core::archive::Stamp::of_bytes(
        b"saved",
    ))));
    assert!(matches!(app.screen(), Screen::Connect), "left after saving");
}

#[test]
fn without_unsaved_edits_nothing_is_asked() {
    let (mut app, _home) = project_app(Mode::Development);
    let _ = app.update(Message::Project(project::Message::Disconnect));
    assert!(app.dialog().is_none());
    assert!(matches!(app.screen(), Screen::Connect));
}

#[test]
fn available_markers_are_judged_when_servers_change_not_while_drawing() {
    let (mut app, home) = app();
    let _ = app.update(Message::Discovery(DiscoveryEvent::Added(server())));
    let _ = app.update(Message::Connect(connect::Message::TabSelected(
        connect::Tab::Available,
    )));
    assert!(shows(&app, "new"));
    // A connection pins the server (the trust store changes on disk)...
    let env = Environment::portable(home.path());
    client::trust::TrustStore::new(&env.data_dir)
        .trust("id-1", "192.0.2.7:19813", "Shop", &"ab".repeat(32))
        .unwrap();
    assert!(shows(&app, "new"), "drawing does not read the store");
    // ... and Recent reloads after it: the markers are judged again.
    let _ = app.update(Message::Connect(connect::Message::RecentLoaded(Ok(
        Vec::new(),
    ))));
    assert!(shows(&app, "trusted"));
}

/// Where `label` is drawn, left to right, in the dialog shown.
fn x_of(app: &App, label: &str) -> f32 {
    let dialog = app.dialog().expect("a dialog");
    simulator(dialog.view(app.tr))
        .find(label)
        .unwrap()
        .bounds()
        .x
}

#[test]
fn dialog_buttons_follow_the_platform_and_enter_never_accepts_a_changed_identity() {
    let (mut app, _home) = app();
    let _ = app.update(Message::Connect(connect::Message::TabSelected(
        connect::Tab::Custom,
    )));
    let _ = app.update(Message::Connect(connect::Message::CustomAddressChanged(
        "10.0.0.5".into(),
    )));
    let _ = app.update(Message::Connect(connect::Message::Ok));
    let _ = app.update(Message::Connecting(
        app.generation,
        ConnectUpdate::Done(Outcome::Login {
            message: "who are you?".into(),
        }),
    ));
    // GNOME/KDE/macOS: the default (affirmative) button last, at the right; Windows: first.
    let (cancel, log_in) = (x_of(&app, "Cancel"), x_of(&app, "Log in"));
    if cfg!(windows) {
        assert!(log_in < cancel, "{log_in} {cancel}");
    } else {
        assert!(cancel < log_in, "{cancel} {log_in}");
    }
    press(
        &mut app,
        Key::Named(key::Named::Escape),
        keyboard::Modifiers::empty(),
    );
    assert!(app.dialog().is_none(), "Escape cancels");
    // A changed identity: Enter refuses; accepting needs the box and the red button.
    let _ = app.update(Message::Connect(connect::Message::Ok));
    let _ = app.update(Message::Connecting(
        app.generation,
        ConnectUpdate::Done(Outcome::IdentityChanged {
            expected: ["AB"; 32].join(":"),
            presented: ["CD"; 32].join(":"),
        }),
    ));
    assert!(matches!(app.dialog(), Some(Dialog::Changed(_))));
    press(
        &mut app,
        Key::Named(key::Named::Enter),
        keyboard::Modifiers::empty(),
    );
    assert!(app.dialog().is_none(), "Enter refused the changed identity");
    assert!(
        !app.attempt
            .as_ref()
            .is_some_and(|a| a.opts.accept_changed_identity)
    );
}

#[test]
fn the_status_line_says_who_since_when_in_local_time_and_what_is_stored() {
    let (mut app, _home) = project_app(Mode::Remote);
    let Screen::Project(view) = &mut app.screen else {
        panic!()
    };
    let opened = "2026-11-30T21:05:00.000Z";
    view.session = Some(remote4d_core::protocol::SessionInfo {
        kind: "remote".into(),
        user_name: "Designer".into(),
        machine_name: "pc".into(),
        system_user_name: "ann".into(),
        ip_address: "192.0.2.9".into(),
        host_type: "linux".into(),
        creation_date_time: opened.into(),
        state: remote4d_core::protocol::SessionState::Active,
        id: "f70d492f-5cc7".into(),
        persistent_id: "c".into(),
        user_param: None,
    });
    view.storage = serde_json::json!({});
    let local = clock::local_hm(clock::parse_utc(opened).unwrap());
    assert!(shows(&app, &format!("Designer · connected since {local}")));
    assert!(shows(&app, "Storage: empty"));
    let _ = app.update(Message::Session(SessionUpdate::Event(
        SessionEvent::StorageChanged {
            storage: serde_json::json!({"cart": [1], "lang": "fr", "a": 1, "z": 2}),
        },
    )));
    assert!(shows(&app, "Storage: a, cart, lang (+1)"));
}

#[test]
fn the_source_shown_stays_shown_across_a_reconnect() {
    let (mut app, _home) = project_app(Mode::Remote);
    act(&mut app, |ui| {
        ui.click("hello").unwrap();
    });
    let Screen::Project(view) = app.screen() else {
        panic!()
    };
    let root = view.root.clone();
    let shown = view.selected().cloned().expect("hello is shown");
    let _ = app.update(Message::Project(project::Message::Reconnect));
    assert_eq!(app.reselect.as_ref(), Some(&shown));
    // The new connection's window (same project) shows it again.
    let fresh = project::ProjectView::new(
        "Shop".into(),
        "127.0.0.1:19813".into(),
        Mode::Remote,
        root,
        None,
        serde_json::json!({}),
    );
    let _ = app.show_project(fresh);
    let Screen::Project(view) = app.screen() else {
        panic!()
    };
    assert_eq!(view.selected(), Some(&shown));
    assert!(shows(&app, "ALERT(\"hello\")"));
    assert!(app.reselect.is_none());
}

#[test]
fn menus_show_their_shortcuts_and_the_toolbar_open_is_a_drop_down() {
    let (app, _home) = app();
    assert!(
        simulator(app.view()).find("Ctrl+Q").is_err(),
        "closed menus"
    );
    let mut ui = simulator(app.view());
    ui.click("File").unwrap();
    assert!(ui.find("Ctrl+Q").is_ok(), "Quit shows its shortcut");
    assert!(ui.find("▸").is_ok(), "submenus show their arrow");
    let mut ui = simulator(app.view());
    ui.click("Open ▾").unwrap();
    assert!(ui.find(app.tr.remote_project).is_ok());
    assert!(ui.find("Ctrl+O").is_ok());
    assert!(ui.find(app.tr.shortcut_file).is_ok());
}

/// Where `label` is drawn in `app`'s view rendered at `size` (logical pixels).
fn bounds_at(app: &App, size: Size, label: &str) -> iced::Rectangle {
    let mut ui =
        iced_test::Simulator::with_size(iced_test::core::Settings::default(), size, app.view());
    ui.find(label)
        .unwrap_or_else(|_| panic!("{label} is shown"))
        .bounds()
}

/// `label` is whole at `size`: as wide as on a large screen (not squeezed), inside the window.
fn whole_at(app: &App, size: Size, label: &str) -> Result<(), String> {
    let natural = bounds_at(app, Size::new(1600.0, 1000.0), label);
    let b = bounds_at(app, size, label);
    if b.width + 0.5 < natural.width || b.x + b.width > size.width {
        return Err(format!("{label}: {b:?} (whole: {natural:?}) at {size:?}"));
    }
    Ok(())
}

#[test]
fn every_screen_stays_whole_at_the_minimum_window_size() {
    let min = Size::new(560.0, 420.0);
    let (mut app, _home) = app();
    for tab in [
        connect::Tab::Recent,
        connect::Tab::Available,
        connect::Tab::Custom,
    ] {
        let _ = app.update(Message::Connect(connect::Message::TabSelected(tab)));
        for label in ["OK", "Cancel", "Open ▾", "Custom"] {
            whole_at(&app, min, label).unwrap();
        }
    }
    let (mut app, _home) = project_app(Mode::Development);
    let Screen::Project(view) = &mut app.screen else {
        panic!()
    };
    view.session = Some(remote4d_core::protocol::SessionInfo {
        kind: "remote".into(),
        user_name: "Designer".into(),
        machine_name: "pc".into(),
        system_user_name: "ann".into(),
        ip_address: "192.0.2.9".into(),
        host_type: "linux".into(),
        creation_date_time: "2026-11-30T21:05:00.000Z".into(),
        state: remote4d_core::protocol::SessionState::Active,
        id: "f70d492f-5cc7".into(),
        persistent_id: "c".into(),
        user_param: None,
    });
    for label in ["Disconnect", "Open with…", "Save all"] {
        whole_at(&app, min, label).unwrap();
    }
    // A dialog over the window.
    let (mut shown, _home2) = self::app();
    shown.dialog = Some(Dialog::Unsaved(dialog::unsaved::Unsaved {
        files: vec!["Project/Sources/Methods/a_method_with_a_rather_long_name.4dm".into()],
    }));
    for label in [shown.tr.discard, shown.tr.save_all] {
        whole_at(&shown, min, label).unwrap();
    }
}

#[test]
fn enter_trusts_a_new_server_only_once_its_fingerprint_could_be_read() {
    let (mut app, _home) = app();
    let _ = app.update(Message::Connect(connect::Message::TabSelected(
        connect::Tab::Custom,
    )));
    let _ = app.update(Message::Connect(connect::Message::CustomAddressChanged(
        "10.0.0.5".into(),
    )));
    let enter = |app: &mut App| {
        press(
            app,
            Key::Named(key::Named::Enter),
            keyboard::Modifiers::empty(),
        );
    };
    // The whole walk from the keyboard: Enter connects...
    enter(&mut app);
    assert!(matches!(app.screen(), Screen::Connecting(_)));
    let _ = app.update(Message::Connecting(
        app.generation,
        ConnectUpdate::Done(Outcome::NewIdentity {
            name: "Shop".into(),
            fingerprint: ["AB"; 32].join(":"),
        }),
    ));
    // ... an Enter at once (typed ahead, or meant for the window) does not trust ...
    enter(&mut app);
    assert!(matches!(app.dialog(), Some(Dialog::NewIdentity(_))));
    assert!(!app.attempt.as_ref().unwrap().opts.trust_new);
    // ... nor does a held Enter; once the dialog has been read, Enter is "Trust and connect".
    let Some(Dialog::NewIdentity(d)) = app.dialog.as_mut() else {
        panic!()
    };
    d.shown -= dialog::identity::READ_FIRST;
    let held = iced::Event::Keyboard(keyboard::Event::KeyPressed {
        key: Key::Named(key::Named::Enter),
        modified_key: Key::Named(key::Named::Enter),
        physical_key: key::Physical::Unidentified(key::NativeCode::Unidentified),
        location: keyboard::Location::Standard,
        modifiers: keyboard::Modifiers::empty(),
        text: None,
        repeat: true,
    });
    assert!(shortcut(held, event::Status::Ignored, window::Id::unique()).is_none());
    enter(&mut app);
    assert!(app.dialog().is_none());
    assert!(
        app.attempt.as_ref().unwrap().opts.trust_new,
        "connects again, trusting it"
    );
}

#[test]
fn a_remembered_position_is_kept_on_the_screen_the_window_opens_on() {
    let window = Size::new(800.0, 600.0);
    let big = Size::new(2560.0, 1440.0);
    let small = Size::new(1280.0, 720.0);
    // Where it was, when that fits.
    assert_eq!(
        keep_on_screen(Point::new(1500.0, 700.0), window, big),
        Point::new(1500.0, 700.0)
    );
    // Saved on a big monitor, opened on a small one: moved just enough.
    assert_eq!(
        keep_on_screen(Point::new(1500.0, 700.0), window, small),
        Point::new(480.0, 120.0)
    );
    // Off the left or top edge: back on screen.
    assert_eq!(
        keep_on_screen(Point::new(-300.0, -50.0), window, small),
        Point::ORIGIN
    );
    // Larger than the monitor: its top left.
    assert_eq!(
        keep_on_screen(Point::new(100.0, 100.0), Size::new(3000.0, 2000.0), small),
        Point::ORIGIN
    );
}

#[test]
fn the_connection_and_project_windows_keep_their_own_sizes() {
    let (mut app, _home) = app();
    let id = window::Id::unique();
    let resized = |w: f32, h: f32| Message::Window(id, window::Event::Resized(Size::new(w, h)));
    let _ = app.update(resized(700.0, 500.0));
    assert_eq!((app.prefs.width, app.prefs.height), (700.0, 500.0));
    // A first project window opens at the size the window has; resizing it is its own size.
    let (mut app, _home2) = {
        let (mut p, home) = project_app(Mode::Remote);
        p.prefs = app.prefs.clone();
        p.window = Some(id);
        (p, home)
    };
    assert_eq!(app.size_for_screen(), None);
    let _ = app.update(resized(1200.0, 800.0));
    assert_eq!(app.prefs.project_size, Some((1200.0, 800.0)));
    assert_eq!((app.prefs.width, app.prefs.height), (700.0, 500.0));
    // Back to the connection window: its own size again.
    let _ = app.update(Message::Project(project::Message::Disconnect));
    assert!(matches!(app.screen, Screen::Connect));
    assert_eq!(app.size_for_screen(), Some(Size::new(700.0, 500.0)));
}

#[test]
fn the_project_window_is_browsed_from_the_keyboard() {
    let (mut app, home) = project_app(Mode::Remote);
    let root = home.path().join("Shop");
    for (rel, body) in [
        ("Project/Sources/Methods/alpha.4dm", "// alpha\n"),
        ("Project/Sources/Classes/Invoice.4dm", "Class constructor\n"),
    ] {
        std::fs::write(root.join(rel), body).unwrap_or_else(|_| {
            std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
            std::fs::write(root.join(rel), body).unwrap();
        });
    }
    let read = remote4d_core::project::Project::open(&root).map_err(|e| e.to_string());
    let _ = app.update(Message::Project(project::Message::Loaded(
        std::sync::Arc::new(read),
    )));
    let selected = |app: &App| match &app.screen {
        Screen::Project(p) => p.selected().map(|s| s.name.clone()),
        _ => None,
    };
    let none = keyboard::Modifiers::default();
    // ↓ selects the first source (methods first, in order), and shows it.
    press(&mut app, Key::Named(key::Named::ArrowDown), none);
    assert_eq!(selected(&app).as_deref(), Some("alpha"));
    assert!(shows(&app, "// alpha"));
    press(&mut app, Key::Named(key::Named::ArrowDown), none);
    assert_eq!(selected(&app).as_deref(), Some("hello"));
    // End: the last (the class); Home: the first; a letter: the next starting with it.
    press(&mut app, Key::Named(key::Named::End), none);
    assert_eq!(selected(&app).as_deref(), Some("Invoice"));
    press(&mut app, Key::Named(key::Named::Home), none);
    assert_eq!(selected(&app).as_deref(), Some("alpha"));
    press(&mut app, Key::Character("i".into()), none);
    assert_eq!(selected(&app).as_deref(), Some("Invoice"));
    press(&mut app, Key::Named(key::Named::ArrowUp), none);
    assert_eq!(selected(&app).as_deref(), Some("hello"));
}

/// The messages `task` produces, run to its end on `rt` (a test has no iced runtime).
fn run_task(rt: &tokio::runtime::Runtime, task: Task<Message>) -> Vec<Message> {
    use futures::StreamExt;
    let Some(stream) = iced_runtime::task::into_stream(task) else {
        return Vec::new();
    };
    rt.block_on(stream.collect::<Vec<_>>())
        .into_iter()
        .filter_map(|a| match a {
            iced_runtime::Action::Output(m) => Some(m),
            _ => None,
        })
        .collect()
}

#[test]
fn the_projects_policy_decides_when_a_changed_resources_folder_is_copied() {
    use remote4d_core::protocol::ResourcesUpdate;
    use remote4d_core::server::{Server, ServerConfig, ServerOptions};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for policy in [
        ResourcesUpdate::Always,
        ResourcesUpdate::Ask,
        ResourcesUpdate::Never,
    ] {
        let root = tempfile::tempdir().unwrap();
        let w = |rel: &str, c: &str| {
            let p = root.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, c).unwrap();
        };
        w("Project/Shop.4DProject", "{}");
        w("Project/Sources/Methods/hello.4dm", "ALERT(\"hello\")\n");
        w("Resources/strings.xlf", "v1");
        let server_home = tempfile::tempdir().unwrap();
        let server = rt
            .block_on(Server::start(ServerOptions {
                project: root.path().to_path_buf(),
                config: ServerConfig {
                    port: Some(0),
                    bind: vec!["127.0.0.1".parse().unwrap()],
                    publish: false,
                    watch: false,
                    resources_update: policy,
                    ..ServerConfig::default()
                },
                env: Environment::portable(server_home.path()),
                build_progress: None,
            }))
            .unwrap();
        let (mut app, home) = project_app(Mode::Remote);
        let mut o = ConnectOptions::new(
            client::Target::Address(
                ServerPath::parse(&format!("127.0.0.1:{}", server.port())).unwrap(),
            ),
            Environment::portable(home.path()),
        );
        o.trust_new = true;
        o.force_remote = true;
        let conn = rt.block_on(client::connect(o, &|_| {})).unwrap();
        assert_eq!(conn.resources_update(), Some(policy));
        let copy = conn
            .folder
            .related_dir(remote4d_core::protocol::Related::Resources);
        assert_eq!(
            std::fs::read_to_string(copy.join("strings.xlf")).unwrap(),
            "v1"
        );
        app.conn = Some(ConnHandle(std::sync::Arc::new(std::sync::Mutex::new(
            Some(conn),
        ))));

        w("Resources/strings.xlf", "v2");
        rt.block_on(server.reload()).unwrap();
        let stamp = server.info().resources.map(|r| r.stamp);
        let task = app.update(Message::Session(SessionUpdate::Event(
            SessionEvent::ResourcesUpdated { stamp },
        )));
        let copied = match policy {
            ResourcesUpdate::Always => {
                assert!(shows(&app, "Copying the server's new Resources folder…"));
                run_task(&rt, task)
            }
            ResourcesUpdate::Ask => {
                assert!(shows(&app, "The server's Resources folder changed —"));
                assert_eq!(
                    std::fs::read_to_string(copy.join("strings.xlf")).unwrap(),
                    "v1"
                );
                let mut ui = simulator(app.view());
                ui.click("Update now").unwrap();
                let clicked: Vec<Message> = ui.into_messages().collect();
                let mut out = Vec::new();
                for m in clicked {
                    let task = app.update(m);
                    out.extend(run_task(&rt, task));
                }
                out
            }
            ResourcesUpdate::Never => {
                assert!(shows(
                    &app,
                    "The server's Resources folder changed: it will be copied at the next connection"
                ));
                assert!(run_task(&rt, task).is_empty());
                Vec::new()
            }
        };
        for m in copied {
            let _ = app.update(m);
        }
        let expected = if policy == ResourcesUpdate::Never {
            "v1"
        } else {
            assert!(
                shows(&app, "The Resources folder was updated from the server"),
                "{policy:?}"
            );
            "v2"
        };
        assert_eq!(
            std::fs::read_to_string(copy.join("strings.xlf")).unwrap(),
            expected,
            "{policy:?}"
        );
        if let Some(c) = app.conn.take().and_then(|h| h.take()) {
            rt.block_on(c.close());
        }
        rt.block_on(server.shutdown());
    }
}

fn view(app: &App) -> &project::ProjectView {
    let Screen::Project(v) = app.screen() else {
        panic!("not the project window")
    };
    v
}

/// Sends a Find message and runs the search it starts.
fn find(app: &mut App, rt: &tokio::runtime::Runtime, m: find::Message) {
    let task = app.update(Message::Project(project::Message::Find(m)));
    for m in run_task(rt, task) {
        let _ = app.update(m);
    }
}

#[test]
fn find_in_project_lists_the_lines_opens_them_and_the_window_remembers_how_it_was_left() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (app0, home) = app();
    let root = home.path().join("Shop");
    let w = |rel: &str, c: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, c).unwrap();
    };
    w(
        "Project/Sources/Methods/bye.4dm",
        "// leaving\nALERT(\"bye\")\n",
    );
    w(
        "Project/Sources/Methods/sum.4dm",
        "$t:=0\n$t:=$t+1\n$t:=$t+2\n",
    );
    let folder = remote4d_core::cache::SystemFolder::acquire(
        &home.path().join("cache"),
        &remote4d_core::cache::FolderSpec {
            project: "Shop".into(),
            host: "127.0.0.1".into(),
            port: 19813,
            cache_folder_name: None,
        },
        std::path::Path::new("/opt/remote4d-test"),
    )
    .unwrap();
    let mut app = project_app_at(app0, &root, Mode::Remote, Some(folder.clone()));
    assert!(shows(&app, "Find in project (Ctrl+Shift+F)"));

    // Typed in the field, Enter: the lines, from the index kept in DerivedDataRemote/.
    act(&mut app, |ui| {
        ui.click(iced_test::selector::id(find::INPUT)).unwrap();
        let _ = ui.typewrite("ALERT(");
    });
    assert_eq!(view(&app).find.query, "ALERT(");
    find(&mut app, &rt, find::Message::Submit);
    assert!(shows(&app, "2 lines · 2 files · “ALERT(”"), "both methods");
    assert!(shows(&app, "bye:2") && shows(&app, "hello:1"));
    let index = folder.derived_data_dir().join("search-index.json");
    assert!(
        index.is_file(),
        "the index is derived data of the system folder"
    );
    assert!(!root.join("DerivedDataRemote").exists() && !root.join("Project/DerivedData").exists());

    // A line clicked: its source opens there, the line marked.
    act(&mut app, |ui| {
        ui.click("bye:2").unwrap();
    });
    assert_eq!(
        view(&app).selected().unwrap().rel,
        "Project/Sources/Methods/bye.4dm"
    );
    assert_eq!(view(&app).cursor(), (1, 0));
    assert!(shows(&app, "▶"), "the line is marked");

    // A file changed since: only it is read again; nothing found says so.
    w(
        "Project/Sources/Methods/sum.4dm",
        "$t:=0\nALERT(String($t))\n",
    );
    find(&mut app, &rt, find::Message::Submit);
    let Some(Ok(found)) = &view(&app).find.found else {
        panic!("a result")
    };
    // (three methods and the catalog)
    assert_eq!((found.hits.len(), found.refreshed, found.files), (3, 1, 4));
    find(&mut app, &rt, find::Message::Changed("zebra".into()));
    find(&mut app, &rt, find::Message::Submit);
    assert!(shows(&app, "Nothing found for “zebra”"));
    act(&mut app, |ui| {
        ui.click("Close").unwrap();
    });
    assert!(shows(&app, "▼ Customers"), "the sources again");

    // Left with a table folded, a source open and its cursor moved: restored next time.
    act(&mut app, |ui| {
        ui.click("▼ Customers").unwrap();
        ui.click("sum").unwrap();
    });
    let _ = app.update(Message::Project(project::Message::Edit(
        iced::widget::text_editor::Action::Move(iced::widget::text_editor::Motion::Down),
    )));
    if let Screen::Project(v) = &mut app.screen {
        v.remember();
    }
    let prefs = folder.preferences();
    assert_eq!(
        prefs.selected.as_deref(),
        Some("Project/Sources/Methods/sum.4dm")
    );
    assert_eq!(prefs.collapsed, ["Customers"]);
    assert_eq!(prefs.searches, ["zebra", "ALERT("]);
    drop(app);
    let (again, _home2) = self::app();
    let app = project_app_at(again, &root, Mode::Remote, Some(folder.clone()));
    assert_eq!(
        view(&app).selected().unwrap().rel,
        "Project/Sources/Methods/sum.4dm"
    );
    assert_eq!(view(&app).cursor(), (1, 0));
    assert!(shows(&app, "▶ Customers"), "still folded");
    assert_eq!(view(&app).find.query, "zebra", "the last search");
    // Damaged preferences are no reason not to open.
    std::fs::write(folder.user_preferences_dir().join("remote4d.json"), "{oops").unwrap();
    let (third, _home3) = self::app();
    let app = project_app_at(third, &root, Mode::Remote, Some(folder));
    assert!(view(&app).selected().is_none());
}
