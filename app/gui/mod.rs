//! The desktop app (iced): one top-level state routing messages to its screens and dialogs, and
//! the glue to core's services (discovery, connection, session events).

pub mod admin;
mod clock;
pub mod connect;
mod desktop;
pub mod dialog;
mod errors;
mod find;
mod focus;
pub mod i18n;
mod icon;
pub mod menu;
pub mod prefs;
pub mod progress;
pub mod project;
pub mod services;
mod style;

use std::path::PathBuf;

use iced::keyboard::{self, Key, key};
use iced::widget::{column, container, rule};
use iced::{Element, Point, Size, Subscription, Task, event, window};
use remote4d_core::client::devmode::DevProject;
use remote4d_core::client::session::SessionUpdate;
use remote4d_core::client::{self, ConnectOptions, Connection, Mode};
use remote4d_core::discovery::DiscoveryEvent;
use remote4d_core::environment::Environment;
use remote4d_core::link::{Link, ServerPath};
use remote4d_core::protocol::{ChallengeAnswer, ResourcesUpdate, SessionEvent};

use dialog::Dialog;
use i18n::Strings;
use prefs::Prefs;
use services::{ConnHandle, ConnectUpdate, Outcome, SessionKey, Step};

/// How the app was started.
#[derive(Debug, Default, Clone)]
pub struct Launch {
    /// A `.4DLink` file to open (a double-click on it): connect straight away.
    pub link: Option<PathBuf>,
    /// Connect to this address at once (`remote4d demo`), trusting its identity.
    pub auto: Option<AutoConnect>,
    /// A merged client: connect to its server at once.
    pub merged: Option<MergedClient>,
    /// The desktop's look, read before the window opens.
    pub look: desktop::Look,
}

/// A merged client's server (see `merged.rs`).
#[derive(Debug, Clone)]
pub struct MergedClient {
    /// Application name.
    pub name: String,
    /// Its server's link.
    pub link: Box<Link>,
    /// The last server it reached, tried when the link fails (4D's `lastServer.xml`).
    pub last_server: Option<Box<Link>>,
    /// Where the last server is remembered.
    pub last_server_file: PathBuf,
    /// "Select…" is offered when both fail.
    pub selection_allowed: bool,
}

/// An immediate connection (the demo's own server).
#[derive(Debug, Clone)]
pub struct AutoConnect {
    /// host:port.
    pub address: String,
    /// Publication name.
    pub project: String,
}

/// Runs the app until its window closes.
pub fn run(launch: Launch) -> anyhow::Result<()> {
    check_display()?;
    let env = Environment::from_system()?;
    let prefs = Prefs::load(&env.config_dir);
    let size = Size::new(prefs.width, prefs.height);
    let position = match (prefs.x, prefs.y) {
        (Some(x), Some(y)) => {
            // Where the window was, kept on the screen it opens on (a smaller monitor, another
            // scale factor): the position is decided once the monitor is known.
            let _ = SAVED_POSITION.set(Point::new(x, y));
            window::Position::SpecificWith(|window, monitor| {
                keep_on_screen(
                    SAVED_POSITION.get().copied().unwrap_or(Point::ORIGIN),
                    window,
                    monitor,
                )
            })
        }
        _ => window::Position::Centered,
    };
    // The desktop's UI font and size, read once: iced cannot change them in a running app.
    let look = desktop::Look::read();
    let settings = app_settings(&look);
    let launch = Launch { look, ..launch };
    iced::application(
        move || App::boot(env.clone(), prefs.clone(), launch.clone()),
        App::update,
        App::view,
    )
    .settings(settings)
    .title(App::title)
    .theme(App::theme)
    .subscription(App::subscription)
    .window(window_settings(size, Size::new(560.0, 420.0), position))
    .run()?;
    Ok(())
}

/// iced's settings for the desktop's look: its UI font and text size.
pub(crate) fn app_settings(look: &desktop::Look) -> iced::Settings {
    let mut settings = iced::Settings::default();
    if let Some(size) = look.text_size() {
        settings.default_text_size = size.into();
    }
    if let Some(family) = &look.font_family {
        // iced keeps font names for the program's life.
        settings.default_font = iced::Font::with_name(Box::leak(family.clone().into_boxed_str()));
    }
    settings
}

/// A Remote4D window: its size, smallest size and position, the icon, closing asked of the app.
pub(crate) fn window_settings(
    size: Size,
    min_size: Size,
    position: window::Position,
) -> window::Settings {
    window::Settings {
        size,
        position,
        min_size: Some(min_size),
        exit_on_close_request: false,
        icon: icon::window_icon(),
        // WM_CLASS (X11) and app id (Wayland) = the desktop entry's name: the dock and the
        // task switcher group the window under remote4d.desktop, with its icon.
        #[cfg(all(unix, not(target_os = "macos")))]
        platform_specific: window::settings::PlatformSpecific {
            application_id: "remote4d".into(),
            ..window::settings::PlatformSpecific::default()
        },
        ..window::Settings::default()
    }
}

/// How often the desktop's look is read again.
const LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The window's last position, for [`keep_on_screen`] (iced takes a plain function).
static SAVED_POSITION: std::sync::OnceLock<Point> = std::sync::OnceLock::new();

/// `saved` moved as little as needed for a `window` to be wholly on a `monitor` of that size
/// (logical pixels); a window larger than the monitor starts at its top left.
fn keep_on_screen(saved: Point, window: Size, monitor: Size) -> Point {
    let max_x = (monitor.width - window.width).max(0.0);
    let max_y = (monitor.height - window.height).max(0.0);
    Point::new(saved.x.clamp(0.0, max_x), saved.y.clamp(0.0, max_y))
}

/// Refuses to start without a graphical session, with one line that says what to do (the
/// windowing library would panic instead).
pub(crate) fn check_display() -> anyhow::Result<()> {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let (display, wayland) = (var("DISPLAY"), var("WAYLAND_DISPLAY"));
        if display.is_none() && wayland.is_none() {
            anyhow::bail!(
                "no display: the desktop app needs a graphical session (DISPLAY or WAYLAND_DISPLAY is not set); \
                 every action is also a command, see 'remote4d --help'"
            );
        }
        // A Wayland socket that exists is good enough; else the X server must answer.
        let wayland_ok = wayland.is_some_and(|w| {
            let path = PathBuf::from(&w);
            path.is_absolute()
                || var("XDG_RUNTIME_DIR")
                    .is_some_and(|d| std::path::Path::new(&d).join(&w).exists())
        });
        if !wayland_ok {
            if let Some(d) = display {
                if let Err(err) = x11rb::connect(None) {
                    anyhow::bail!(
                        "no display: cannot open the display {} ({err}); every action is also a command, see 'remote4d --help'",
                        d.to_string_lossy()
                    );
                }
            }
        }
    }
    Ok(())
}

/// Which screen is shown.
#[derive(Debug)]
pub enum Screen {
    /// The connection window.
    Connect,
    /// A connection in progress.
    Connecting(progress::Connecting),
    /// A project is open.
    Project(Box<project::ProjectView>),
}

/// A connection being attempted (kept to try again with the user's answers).
#[derive(Debug, Clone)]
struct Attempt {
    opts: ConnectOptions,
    label: String,
}

/// The app's state.
pub struct App {
    tr: &'static Strings,
    env: Environment,
    prefs: Prefs,
    screen: Screen,
    connect: connect::Connect,
    dialog: Option<Dialog>,
    attempt: Option<Attempt>,
    generation: u64,
    abort: Option<iced::task::Handle>,
    conn: Option<ConnHandle>,
    session: Option<SessionKey>,
    window: Option<window::Id>,
    merged: Option<MergedClient>,
    /// What the user asked for while development-mode edits were unsaved (done after the
    /// Save all / Discard question).
    leaving: Option<Leave>,
    /// The source shown before a reconnect, shown again after it.
    reselect: Option<project::Source>,
    /// The desktop's look (accent colour; the font was applied at start).
    look: desktop::Look,
    /// The system's light/dark preference, followed as it changes.
    dark: bool,
}

/// Something that leaves the open project: asked first when edits are not saved.
#[derive(Debug, Clone)]
enum Leave {
    /// Quit the app (menu, Ctrl+Q, closing the window).
    Quit,
    /// Disconnect (back to the connection window).
    Disconnect,
    /// Connect again (the update banner).
    Reconnect,
    /// File > Close.
    Close,
    /// File > Open > Remote Project…: the connection window.
    OpenRemote,
    /// A Recent project from the menu.
    OpenRecent(usize),
    /// A shortcut file picked in the dialog.
    OpenShortcut(PathBuf),
}

/// Keyboard shortcuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    /// Ctrl/Cmd+O.
    Open,
    /// Ctrl/Cmd+S.
    Save,
    /// Ctrl/Cmd+Shift+F: Find in project.
    Find,
    /// Ctrl/Cmd+Q.
    Quit,
    /// Esc.
    Escape,
    /// Enter.
    Enter,
    /// Tab / Shift+Tab.
    Focus(bool),
    /// Ctrl/Cmd+1, 2, 3: the connection window's tabs.
    Tab(connect::Tab),
    /// ↑ ↓ Home End over a list.
    Move(connect::Move),
    /// A letter over a list (no text field has the focus).
    TypeAhead(char),
}

/// Every message of the app.
#[derive(Debug, Clone)]
pub enum Message {
    /// Connection window.
    Connect(connect::Message),
    /// Menu bar.
    Menu(menu::Action),
    /// Discovery.
    Discovery(DiscoveryEvent),
    /// A connection attempt (by generation) progressed or ended.
    Connecting(u64, ConnectUpdate),
    /// Progress view.
    Progress(progress::Message),
    /// A dialog.
    Dialog(dialog::Message),
    /// Project window.
    Project(project::Message),
    /// The session's events.
    Session(SessionUpdate),
    /// The shortcut-file dialog answered.
    ShortcutPicked(Option<PathBuf>),
    /// Save all finished.
    Saved(Result<remote4d_core::archive::Stamp, String>),
    /// `Resources/` was copied again during the session (true: it had changed), or not.
    ResourcesCopied(Result<bool, String>),
    /// Edit locks read.
    Locks(Vec<remote4d_core::protocol::LockInfo>),
    /// The client update went on (a mirror tried or skipped), finished (the new version was
    /// started) or failed.
    Updating(services::UpdateStep),
    /// A keyboard shortcut.
    Key(Shortcut),
    /// The window moved, was resized, or asked to close.
    Window(window::Id, window::Event),
    /// The system switched between light and dark.
    SystemMode(iced::theme::Mode),
    /// Time to read the desktop's look again.
    CheckLook,
    /// The desktop's look, read again.
    Look(desktop::Look),
    /// Nothing.
    Done,
}

fn shortcut(event: iced::Event, status: event::Status, _window: window::Id) -> Option<Message> {
    let iced::Event::Keyboard(keyboard::Event::KeyPressed {
        key,
        modifiers,
        repeat,
        ..
    }) = event
    else {
        return None;
    };
    let s = match key.as_ref() {
        Key::Character("o") if modifiers.command() => Shortcut::Open,
        Key::Character("f" | "F") if modifiers.command() && modifiers.shift() => Shortcut::Find,
        Key::Character("s") if modifiers.command() => Shortcut::Save,
        Key::Character("q") if modifiers.command() => Shortcut::Quit,
        Key::Character("1") if modifiers.command() => Shortcut::Tab(connect::Tab::Recent),
        Key::Character("2") if modifiers.command() => Shortcut::Tab(connect::Tab::Available),
        Key::Character("3") if modifiers.command() => Shortcut::Tab(connect::Tab::Custom),
        Key::Named(key::Named::Escape) => Shortcut::Escape,
        // A held Enter acts once.
        Key::Named(key::Named::Enter) if status == event::Status::Ignored && !repeat => {
            Shortcut::Enter
        }
        Key::Named(key::Named::Tab) if status == event::Status::Ignored => {
            Shortcut::Focus(!modifiers.shift())
        }
        // Keys a focused text field did not take: they act on the list of the current tab.
        Key::Named(named) if status == event::Status::Ignored => match named {
            key::Named::ArrowUp => Shortcut::Move(connect::Move::Up),
            key::Named::ArrowDown => Shortcut::Move(connect::Move::Down),
            key::Named::Home => Shortcut::Move(connect::Move::First),
            key::Named::End => Shortcut::Move(connect::Move::Last),
            _ => return None,
        },
        Key::Character(c)
            if status == event::Status::Ignored
                && !modifiers.command()
                && !modifiers.alt()
                && c.chars().count() == 1 =>
        {
            Shortcut::TypeAhead(c.chars().next()?)
        }
        _ => return None,
    };
    Some(Message::Key(s))
}

impl App {
    /// The first state, and the work to start.
    pub fn boot(env: Environment, prefs: Prefs, launch: Launch) -> (Self, Task<Message>) {
        let (connect, load) = connect::Connect::new(env.favorites_dir(), &env.data_dir);
        let mut app = Self {
            tr: i18n::from_env(),
            env,
            prefs,
            screen: Screen::Connect,
            connect,
            dialog: None,
            attempt: None,
            generation: 0,
            abort: None,
            conn: None,
            session: None,
            window: None,
            merged: launch.merged.clone(),
            leaving: None,
            reselect: None,
            look: launch.look.clone(),
            dark: false,
        };
        let mut tasks = vec![
            load.map(Message::Connect),
            iced::system::theme().map(Message::SystemMode),
        ];
        if let Some(m) = launch.merged {
            let mut opts = app.options(client::Target::Link(m.link.clone()));
            opts.trust_new = m.link.remote4d_fingerprint.is_none();
            opts.display_name = Some(m.name.clone());
            // An application built for end users: the server's build, never development mode.
            opts.force_remote = true;
            tasks.push(app.start(opts, m.name));
        } else if let Some(path) = launch.link {
            tasks.push(app.open_link_file(&path));
        } else if let Some(auto) = launch.auto {
            if let Ok(address) = ServerPath::parse(&auto.address) {
                let mut opts = app.options(client::Target::Address(address));
                opts.project = Some(auto.project.clone());
                opts.trust_new = true;
                tasks.push(app.start(opts, auto.project));
            }
        }
        (app, Task::batch(tasks))
    }

    /// For tests: the app with a portable environment.
    #[cfg(test)]
    pub fn for_tests(home: &std::path::Path) -> Self {
        Self::boot(
            Environment::portable(home),
            Prefs::default(),
            Launch::default(),
        )
        .0
    }

    /// The screen shown.
    #[cfg(test)]
    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    /// The dialog shown.
    #[cfg(test)]
    pub fn dialog(&self) -> Option<&Dialog> {
        self.dialog.as_ref()
    }

    /// The window title.
    pub fn title(&self) -> String {
        match &self.screen {
            Screen::Project(p) => format!("{} — Remote4D", p.name),
            _ => format!("Remote4D — {}", self.tr.connect_title),
        }
    }

    fn options(&self, target: client::Target) -> ConnectOptions {
        ConnectOptions::new(target, self.env.clone())
    }

    fn open_link_file(&mut self, path: &std::path::Path) -> Task<Message> {
        match Link::read(path) {
            Ok(link) => {
                let name = link.server_database_name.clone().unwrap_or_default();
                let mut opts = self.options(client::Target::Link(Box::new(link)));
                opts.apply_link_opening_options();
                self.start(opts, name)
            }
            Err(e) => {
                self.dialog = Some(Dialog::Error(dialog::error::ErrorDialog {
                    message: format!("{}: {e}", path.display()),
                    offline: false,
                    select: false,
                }));
                Task::none()
            }
        }
    }

    /// Starts a connection attempt (a new generation; older attempts' messages are ignored).
    fn start(&mut self, opts: ConnectOptions, label: String) -> Task<Message> {
        if let Some(h) = self.abort.take() {
            h.abort();
        }
        // A shortcut with open_login_dialog="true" asks for the name and password first, as
        // 4D does, even when it carries them (the name is filled in).
        if let client::Target::Link(link) = &opts.target {
            if link.open_login_dialog == Some(true)
                && opts.password.is_none()
                && opts.password_hash.is_none()
            {
                let user = opts
                    .user
                    .clone()
                    .or_else(|| link.user_name.clone())
                    .unwrap_or_default();
                self.attempt = Some(Attempt { opts, label });
                self.dialog = Some(Dialog::Login(dialog::login::Login {
                    message: self.tr.login_asked_by_link.to_owned(),
                    user,
                    password: String::new(),
                    remember: false,
                }));
                return Task::none();
            }
        }
        self.generation += 1;
        let generation = self.generation;
        self.attempt = Some(Attempt {
            opts: opts.clone(),
            label: label.clone(),
        });
        self.screen = Screen::Connecting(progress::Connecting::new(label));
        let (task, handle) = Task::run(services::connecting(opts, self.tr), move |u| {
            Message::Connecting(generation, u)
        })
        .abortable();
        self.abort = Some(handle);
        task
    }

    fn retry(&mut self, change: impl FnOnce(&mut ConnectOptions)) -> Task<Message> {
        let Some(mut attempt) = self.attempt.clone() else {
            return Task::none();
        };
        change(&mut attempt.opts);
        self.start(attempt.opts, attempt.label)
    }

    fn connect_to(&mut self, target: connect::Target) -> Task<Message> {
        match target {
            connect::Target::Link {
                name,
                link,
                development,
            } => {
                let mut opts = self.options(client::Target::Link(link));
                opts.apply_link_opening_options();
                if development {
                    (opts.development, opts.force_remote) = (true, false);
                }
                opts.display_name = Some(name.clone());
                self.start(opts, name)
            }
            connect::Target::Discovered {
                server,
                development,
            } => {
                let Some(address) = server.address() else {
                    return Task::none();
                };
                let mut opts = self.options(client::Target::Address(address));
                opts.project = Some(server.publication_name.clone());
                opts.announced_fingerprint = server.fingerprint.map(|f| f.to_string());
                opts.development = development;
                self.start(opts, server.publication_name.clone())
            }
        }
    }

    fn close_connection(&mut self) -> Task<Message> {
        self.session = None;
        let Some(conn) = self.conn.take().and_then(|h| h.take()) else {
            return Task::none();
        };
        Task::perform(
            async move {
                conn.close().await;
                // After deltas grew large, the new archive may be being written (in the
                // background): finish it before the app can quit.
                let _ = tokio::task::spawn_blocking(move || conn.settle_archive()).await;
            },
            |()| Message::Done,
        )
    }

    fn connected(&mut self, handle: ConnHandle) -> Task<Message> {
        if let Some(m) = &self.merged {
            let file = m.last_server_file.clone();
            handle.with(|c| {
                if let Some(dir) = file.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                if let Err(err) = c.link.write(&file) {
                    tracing::warn!(%err, "could not remember the last server");
                }
            });
        }
        let Some(view) = handle.with(|c| {
            let mut v = project::ProjectView::new(
                c.name.clone(),
                c.address.clone(),
                c.mode,
                c.project_root.clone(),
                c.session.as_ref().map(|s| s.session.clone()),
                c.session
                    .as_ref()
                    .map_or(serde_json::Value::Null, |s| s.storage.clone()),
            );
            v.open_with = self.prefs.open_with.clone();
            v.with_folder(c.folder.clone())
        }) else {
            return Task::none();
        };
        self.session = handle
            .with(|c| {
                let s = c.session.as_ref()?;
                let api = c.api.as_ref()?;
                Some(SessionKey {
                    authority: api.authority().to_owned(),
                    fingerprint: api
                        .seen_fingerprint()
                        .or_else(|| c.link.remote4d_fingerprint.clone())
                        .unwrap_or_default(),
                    session_id: s.session.id.clone(),
                    token: s.token.clone(),
                })
            })
            .flatten();
        self.conn = Some(handle);
        self.dialog = None;
        let show = self.show_project(view);
        let reload = self.connect.reload_recent().map(Message::Connect);
        Task::batch([show, reload])
    }

    /// Shows the project window `view` — with the source shown before a reconnect, if the
    /// new version still has it — and starts reading the project (and its locks).
    fn show_project(&mut self, mut view: project::ProjectView) -> Task<Message> {
        if let Some(source) = self.reselect.take()
            && view.root.join(&source.rel).is_file()
        {
            let _ = view.update(project::Message::Select(source));
        }
        let dev = view.mode == Mode::Development;
        let read = project::load(view.root.clone()).map(Message::Project);
        self.screen = Screen::Project(Box::new(view));
        if dev {
            Task::batch([read, self.load_locks()])
        } else {
            read
        }
    }

    fn dev_project(&self) -> Option<DevProject> {
        self.conn
            .as_ref()?
            .with(|c| Some(DevProject::new(c.api.clone()?, c.project_root.clone())))
            .flatten()
    }

    fn load_locks(&self) -> Task<Message> {
        let Some(dev) = self.dev_project() else {
            return Task::none();
        };
        Task::perform(
            async move { dev.locks().await.unwrap_or_default() },
            Message::Locks,
        )
    }

    fn on_outcome(&mut self, outcome: Outcome) -> Task<Message> {
        self.abort = None;
        match outcome {
            Outcome::Connected(handle) => return self.connected(handle),
            Outcome::NewIdentity { name, fingerprint } => {
                self.dialog = Some(Dialog::NewIdentity(dialog::identity::NewIdentity {
                    name,
                    fingerprint,
                    shown: std::time::Instant::now(),
                }));
            }
            Outcome::IdentityChanged {
                expected,
                presented,
            } => {
                self.dialog = Some(Dialog::Changed(dialog::identity::Changed {
                    expected,
                    presented,
                    confirmed: false,
                }));
            }
            Outcome::Login { message } => {
                let user = self
                    .attempt
                    .as_ref()
                    .and_then(|a| a.opts.user.clone())
                    .or_else(|| self.prefs.last_user.clone())
                    .unwrap_or_default();
                self.dialog = Some(Dialog::Login(dialog::login::Login {
                    message,
                    user,
                    password: String::new(),
                    remember: self.prefs.last_user.is_some(),
                }));
            }
            Outcome::Challenge { id, prompt } => {
                self.dialog = Some(Dialog::Challenge(dialog::challenge::Challenge {
                    id,
                    prompt,
                    answer: String::new(),
                }));
            }
            Outcome::Update(info) => {
                self.dialog = Some(Dialog::Update(dialog::update::UpdateDialog {
                    info: *info,
                    busy: false,
                    skipped: Vec::new(),
                }));
            }
            Outcome::Failed { message, offline } => {
                // A merged client tries the last server it reached before giving up.
                if let Some(last) = self.merged.as_mut().and_then(|m| m.last_server.take()) {
                    let label = self
                        .attempt
                        .as_ref()
                        .map(|a| a.label.clone())
                        .unwrap_or_default();
                    let mut opts = self.options(client::Target::Link(last));
                    opts.force_remote = true;
                    return self.start(opts, label);
                }
                let select = self.merged.as_ref().is_some_and(|m| m.selection_allowed);
                self.dialog = Some(Dialog::Error(dialog::error::ErrorDialog {
                    message,
                    offline,
                    select,
                }));
            }
        }
        self.screen = Screen::Connect;
        Task::none()
    }

    fn on_dialog(&mut self, event: dialog::Event) -> Task<Message> {
        let dialog = self.dialog.take();
        if matches!(dialog, Some(Dialog::Unsaved(_))) && event == dialog::Event::Cancelled {
            self.leaving = None;
        }
        match event {
            // A merged client without server selection has nothing else to offer.
            dialog::Event::Cancelled
                if self.conn.is_none()
                    && self.merged.as_ref().is_some_and(|m| !m.selection_allowed)
                    && matches!(dialog, Some(Dialog::Error(_))) =>
            {
                self.quit()
            }
            dialog::Event::Cancelled => Task::none(),
            dialog::Event::Update => {
                let Some(Dialog::Update(d)) = dialog else {
                    return Task::none();
                };
                let info = d.info.clone();
                self.dialog = Some(Dialog::Update(d));
                Task::run(services::updating(info), Message::Updating)
            }
            dialog::Event::Select => {
                self.merged = None;
                self.screen = Screen::Connect;
                Task::none()
            }
            dialog::Event::Trust => self.retry(|o| o.trust_new = true),
            dialog::Event::AcceptChanged => self.retry(|o| o.accept_changed_identity = true),
            dialog::Event::Login {
                user,
                password,
                remember,
            } => {
                self.prefs.last_user = remember.then(|| user.clone());
                let _ = self.prefs.save(&self.env.config_dir);
                self.retry(|o| {
                    o.user = Some(user);
                    o.password = Some(password);
                    o.challenge = None;
                })
            }
            dialog::Event::Answer(answer) => {
                let Some(Dialog::Challenge(c)) = dialog else {
                    return Task::none();
                };
                self.retry(|o| o.challenge = Some(ChallengeAnswer { id: c.id, answer }))
            }
            dialog::Event::OpenOffline => self.retry(|o| o.allow_offline = true),
            dialog::Event::SaveThenLeave => {
                // Leaves once the save succeeded (see `Message::Saved`).
                self.update(Message::Project(project::Message::SaveAll))
            }
            dialog::Event::DiscardThenLeave => {
                if let Screen::Project(view) = &mut self.screen {
                    view.edits.clear();
                }
                match self.leaving.take() {
                    Some(action) => self.perform_leave(action),
                    None => Task::none(),
                }
            }
        }
    }

    /// Does `action`, after asking Save all / Discard / Cancel when development-mode edits are
    /// not saved yet (as every editor does): nothing typed is lost without the user's word.
    fn leave(&mut self, action: Leave) -> Task<Message> {
        if let Screen::Project(view) = &self.screen {
            if !view.edits.is_empty() {
                self.dialog = Some(Dialog::Unsaved(dialog::unsaved::Unsaved {
                    files: view.edits.keys().cloned().collect(),
                }));
                self.leaving = Some(action);
                return Task::none();
            }
        }
        self.perform_leave(action)
    }

    fn perform_leave(&mut self, action: Leave) -> Task<Message> {
        if let Screen::Project(view) = &mut self.screen {
            view.remember();
        }
        match action {
            Leave::Quit => self.quit(),
            Leave::Disconnect => {
                self.screen = Screen::Connect;
                self.close_connection()
            }
            Leave::Reconnect => self.reconnect(),
            Leave::Close => {
                if self.conn.is_some() {
                    self.screen = Screen::Connect;
                    self.close_connection()
                } else {
                    self.quit()
                }
            }
            Leave::OpenRemote => {
                let _ = self.cancel_attempt();
                self.screen = Screen::Connect;
                self.connect.reload_recent().map(Message::Connect)
            }
            Leave::OpenRecent(i) => match self.connect.recent().get(i).cloned() {
                Some(e) => {
                    let close = self.close_connection();
                    let mut opts = self.options(client::Target::Link(Box::new(e.link.clone())));
                    opts.apply_link_opening_options();
                    opts.display_name = Some(e.name.clone());
                    Task::batch([close, self.start(opts, e.name)])
                }
                None => Task::none(),
            },
            Leave::OpenShortcut(path) => {
                let close = self.close_connection();
                Task::batch([close, self.open_link_file(&path)])
            }
        }
    }

    fn on_session(&mut self, update: SessionUpdate) -> Task<Message> {
        let Screen::Project(view) = &mut self.screen else {
            return Task::none();
        };
        match update {
            SessionUpdate::Event(e) => match e {
                SessionEvent::ProjectUpdated { stamp, .. } => view.project_updated(stamp),
                SessionEvent::ResourcesUpdated { .. } => return self.resources_changed(),
                // Components, plug-ins and libraries are copied at a connection, as in 4D.
                SessionEvent::FolderUpdated { .. } => view.new_version = true,
                SessionEvent::Message { text } => view.messages.insert(0, text),
                SessionEvent::Shutdown { in_seconds, .. } => view.shutdown_in = Some(in_seconds),
                SessionEvent::Dropped { reason } => view.dropped = Some(reason),
                SessionEvent::StorageChanged { storage } => view.storage = storage,
                SessionEvent::Heartbeat => {}
            },
            SessionUpdate::Reconnecting { .. } => view.reconnecting = true,
            SessionUpdate::Resumed => view.reconnecting = false,
            SessionUpdate::Ended { reason } => {
                view.reconnecting = false;
                view.dropped.get_or_insert(reason);
                self.session = None;
            }
        }
        Task::none()
    }

    /// The server's `Resources/` changed: by the project's policy, copied at once (Always),
    /// offered (Ask), or left for the next connection (Never).
    fn resources_changed(&mut self) -> Task<Message> {
        let Screen::Project(view) = &mut self.screen else {
            return Task::none();
        };
        let policy = self
            .conn
            .as_ref()
            .and_then(|c| c.with(|c| c.resources_update()).flatten());
        match policy {
            Some(ResourcesUpdate::Always) => {
                view.resources = Some(project::ResourcesNews::Copying);
                self.copy_resources()
            }
            Some(ResourcesUpdate::Ask) => {
                view.resources = Some(project::ResourcesNews::Offered);
                Task::none()
            }
            Some(ResourcesUpdate::Never) => {
                view.resources = Some(project::ResourcesNews::Later);
                Task::none()
            }
            None => Task::none(),
        }
    }

    /// Copies the server's `Resources/` again, off the UI thread.
    fn copy_resources(&self) -> Task<Message> {
        let Some(updater) = self
            .conn
            .as_ref()
            .and_then(|c| c.with(Connection::resources_updater).flatten())
        else {
            return Task::none();
        };
        Task::perform(
            async move {
                updater
                    .update(&|_| {})
                    .await
                    .map_err(|e| services::with_causes(&e))
            },
            Message::ResourcesCopied,
        )
    }

    /// Applies a message.
    pub fn update(&mut self, message: Message) -> Task<Message> {
        let was_project = matches!(self.screen, Screen::Project(_));
        let before = (std::mem::discriminant(&self.screen), self.dialog.is_some());
        let mut task = self.handle(message);
        // A dialog that opens, or another screen, starts without a focused control: a button
        // focused behind a dialog must not take the Enter meant for the dialog.
        if before != (std::mem::discriminant(&self.screen), self.dialog.is_some()) {
            task = Task::batch([
                task,
                iced::advanced::widget::operate(
                    iced::advanced::widget::operation::focusable::unfocus(),
                ),
            ]);
        }
        if matches!(self.screen, Screen::Project(_)) == was_project {
            return task;
        }
        // Each window keeps its own size: the connection window's, the project window's.
        match (self.window, self.size_for_screen()) {
            (Some(id), Some(size)) => Task::batch([task, window::resize(id, size)]),
            _ => task,
        }
    }

    /// The size remembered for the window now shown (none yet for a first project window).
    fn size_for_screen(&self) -> Option<Size> {
        match self.screen {
            Screen::Project(_) => self.prefs.project_size.map(|(w, h)| Size::new(w, h)),
            _ => Some(Size::new(self.prefs.width, self.prefs.height)),
        }
    }

    fn handle(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Connect(m) => self.on_connect_window(m),
            Message::Menu(action) => self.on_menu(action),
            Message::Discovery(e) => {
                self.connect.discovered(e);
                Task::none()
            }
            Message::Connecting(generation, update) if generation == self.generation => {
                self.on_connecting(update)
            }
            Message::Connecting(..) => Task::none(),
            Message::Progress(progress::Message::Cancel) => self.cancel_attempt(),
            Message::Dialog(m) => match self.dialog.as_mut().and_then(|d| d.update(m)) {
                Some(event) => self.on_dialog(event),
                None => Task::none(),
            },
            Message::Project(m) => self.on_project(m),
            Message::Session(u) => self.on_session(u),
            Message::ShortcutPicked(Some(path)) => self.leave(Leave::OpenShortcut(path)),
            Message::ShortcutPicked(None) | Message::Done => Task::none(),
            Message::Saved(result) => self.on_saved(result),
            Message::ResourcesCopied(result) => {
                if let Screen::Project(view) = &mut self.screen {
                    view.resources = Some(match result {
                        Ok(_) => project::ResourcesNews::Copied,
                        Err(e) => project::ResourcesNews::Failed(e),
                    });
                }
                Task::none()
            }
            Message::Locks(locks) => {
                if let Screen::Project(view) = &mut self.screen {
                    view.locks = locks;
                }
                Task::none()
            }
            Message::Updating(Step::Progress(client::Progress::MirrorSkipped { url, reason })) => {
                if let Some(Dialog::Update(d)) = &mut self.dialog {
                    d.skipped.push((url, reason));
                }
                Task::none()
            }
            Message::Updating(Step::Progress(_)) => Task::none(),
            Message::Updating(Step::Done(Ok(()))) => self.quit(),
            Message::Updating(Step::Done(Err(message))) => {
                self.show_error(message);
                Task::none()
            }
            Message::Key(s) => self.on_key(s),
            Message::Window(id, e) => self.on_window(id, e),
            Message::SystemMode(mode) => {
                self.dark = mode == iced::theme::Mode::Dark;
                Task::none()
            }
            Message::CheckLook => Task::perform(
                async {
                    tokio::task::spawn_blocking(desktop::Look::read)
                        .await
                        .unwrap_or_default()
                },
                Message::Look,
            ),
            Message::Look(look) => {
                self.look = look;
                Task::none()
            }
        }
    }

    /// The desktop's accent on the system's light or dark theme; `None`: iced's own theme
    /// (which follows the system's light/dark by itself).
    pub fn theme(&self) -> Option<iced::Theme> {
        self.look.theme(self.dark)
    }

    /// The connection window's events: cancel, connect, reveal a shortcut.
    fn on_connect_window(&mut self, m: connect::Message) -> Task<Message> {
        let (task, event) = self.connect.update(m, self.tr);
        let task = task.map(Message::Connect);
        match event {
            Some(connect::Event::Cancelled) => {
                if self.conn.is_some() {
                    // Back to the open project.
                    task
                } else {
                    Task::batch([task, iced::exit()])
                }
            }
            Some(connect::Event::Connect(target)) => {
                let close = self.close_connection();
                Task::batch([task, close, self.connect_to(target)])
            }
            Some(connect::Event::Reveal(path)) => {
                let dir = path
                    .parent()
                    .map(std::path::Path::to_path_buf)
                    .unwrap_or_default();
                let _ = reveal(&dir);
                task
            }
            None => task,
        }
    }

    /// Progress of the current attempt, then its outcome.
    fn on_connecting(&mut self, update: ConnectUpdate) -> Task<Message> {
        match update {
            ConnectUpdate::Progress(p) => {
                if let Screen::Connecting(c) = &mut self.screen {
                    c.progress(p);
                }
                Task::none()
            }
            ConnectUpdate::Done(outcome) => self.on_outcome(outcome),
        }
    }

    /// The project window's events: save all, reconnect, disconnect, open with.
    fn on_project(&mut self, m: project::Message) -> Task<Message> {
        let Screen::Project(view) = &mut self.screen else {
            return Task::none();
        };
        match view.update(m) {
            Some(project::Event::SaveAll(files)) => match self.dev_project() {
                Some(dev) => Task::perform(
                    async move {
                        dev.save_all(&files)
                            .await
                            .map(|r| r.stamp)
                            .map_err(|e| services::with_causes(&e))
                    },
                    Message::Saved,
                ),
                None => Task::none(),
            },
            Some(project::Event::Reconnect) => self.leave(Leave::Reconnect),
            Some(project::Event::UpdateResources) => self.copy_resources(),
            Some(project::Event::Find(query)) => {
                find::search(view.folder.clone(), view.root.clone(), query)
                    .map(|m| Message::Project(project::Message::Find(m)))
            }
            Some(project::Event::ShowLine(line)) => iced::widget::operation::scroll_to(
                project::SOURCE_LINES,
                iced::widget::scrollable::AbsoluteOffset {
                    x: 0.0,
                    // A few lines of context above the line.
                    y: (line.saturating_sub(4) as f32) * project::LINE_HEIGHT,
                },
            ),
            Some(project::Event::Disconnect) => self.leave(Leave::Disconnect),
            Some(project::Event::OpenWith(program, folder)) => {
                if let Err(e) = project::open_with(&program, &folder) {
                    self.show_error(format!("{program}: {e}"));
                }
                Task::none()
            }
            Some(project::Event::OpenWithChanged(p)) => {
                self.prefs.open_with = p;
                let _ = self.prefs.save(&self.env.config_dir);
                Task::none()
            }
            None => Task::none(),
        }
    }

    /// A Save all finished: shown in the project window; a pending departure goes on once saved
    /// (a failed save stays, with its error).
    fn on_saved(&mut self, result: Result<remote4d_core::archive::Stamp, String>) -> Task<Message> {
        let ok = result.is_ok();
        if let Screen::Project(view) = &mut self.screen {
            view.saved(result);
        }
        match self.leaving.take() {
            Some(action) if ok => self.perform_leave(action),
            _ => self.load_locks(),
        }
    }

    /// Shows `message` in the error dialog.
    fn show_error(&mut self, message: String) {
        self.dialog = Some(Dialog::Error(dialog::error::ErrorDialog {
            message,
            offline: false,
            select: false,
        }));
    }

    fn cancel_attempt(&mut self) -> Task<Message> {
        if let Some(h) = self.abort.take() {
            h.abort();
        }
        self.generation += 1;
        self.screen = Screen::Connect;
        Task::none()
    }

    fn reconnect(&mut self) -> Task<Message> {
        if let Screen::Project(view) = &self.screen {
            self.reselect = view.selected().cloned();
        }
        let link = self
            .conn
            .as_ref()
            .and_then(|h| h.with(|c| (c.link.clone(), c.name.clone(), c.mode)));
        let close = self.close_connection();
        let Some((link, name, mode)) = link else {
            return close;
        };
        let mut opts = self.options(client::Target::Link(Box::new(link)));
        opts.development = mode == Mode::Development;
        opts.display_name = Some(name.clone());
        Task::batch([close, self.start(opts, name)])
    }

    fn on_menu(&mut self, action: menu::Action) -> Task<Message> {
        match action {
            menu::Action::OpenRemote => self.leave(Leave::OpenRemote),
            menu::Action::OpenShortcut => Task::perform(
                async {
                    rfd::AsyncFileDialog::new()
                        .add_filter("4D shortcut", &["4DLink", "4dlink", "4DLINK"])
                        .pick_file()
                        .await
                        .map(|f| f.path().to_path_buf())
                },
                Message::ShortcutPicked,
            ),
            menu::Action::OpenRecent(i) => self.leave(Leave::OpenRecent(i)),
            menu::Action::Close => self.leave(Leave::Close),
            menu::Action::Administer => {
                // Its own process and window (iced runs one window here), logging in from the
                // window: the open project stays as it is.
                let started = std::env::current_exe().and_then(|exe| {
                    std::process::Command::new(exe)
                        .args(["admin", "--window"])
                        .stdin(std::process::Stdio::null())
                        .spawn()
                });
                match started {
                    // Reaped when it ends (no zombie while the app runs).
                    Ok(mut child) => {
                        std::thread::spawn(move || child.wait());
                    }
                    Err(err) => {
                        self.dialog = Some(Dialog::Error(dialog::error::ErrorDialog {
                            message: format!("the server window could not be opened: {err}"),
                            offline: false,
                            select: false,
                        }));
                    }
                }
                Task::none()
            }
            menu::Action::Quit => self.leave(Leave::Quit),
            menu::Action::About => {
                self.dialog = Some(Dialog::About);
                Task::none()
            }
            menu::Action::Noop => Task::none(),
        }
    }

    fn on_key(&mut self, s: Shortcut) -> Task<Message> {
        match s {
            Shortcut::Open => self.on_menu(menu::Action::OpenRemote),
            Shortcut::Quit => self.leave(Leave::Quit),
            Shortcut::Save => self.update(Message::Project(project::Message::SaveAll)),
            Shortcut::Find
                if matches!(self.screen, Screen::Project(_)) && self.dialog.is_none() =>
            {
                iced::widget::operation::focus(find::INPUT)
            }
            Shortcut::Find => Task::none(),
            Shortcut::Escape => {
                if self.dialog.take().is_some() {
                    // Escape cancels a dialog, and what it was asking about.
                    self.leaving = None;
                    return Task::none();
                }
                match self.screen {
                    Screen::Connecting(_) => self.cancel_attempt(),
                    _ => Task::none(),
                }
            }
            Shortcut::Enter => {
                if let Some(event) = self.dialog.as_mut().and_then(Dialog::submit) {
                    return self.on_dialog(event);
                }
                if matches!(self.screen, Screen::Connect) {
                    return self.update(Message::Connect(connect::Message::Ok));
                }
                Task::none()
            }
            Shortcut::Tab(tab) => self.update(Message::Connect(connect::Message::TabSelected(tab))),
            Shortcut::Move(step) if self.lists_have_the_keyboard() => {
                self.update(Message::Connect(connect::Message::Move(step)))
            }
            Shortcut::TypeAhead(c) if self.lists_have_the_keyboard() => {
                self.update(Message::Connect(connect::Message::TypeAhead(c)))
            }
            // The project window's list of sources, when the editor does not have the keyboard.
            Shortcut::Move(step) if self.sources_have_the_keyboard() => {
                self.update(Message::Project(project::Message::Move(step)))
            }
            Shortcut::TypeAhead(c) if self.sources_have_the_keyboard() => {
                self.update(Message::Project(project::Message::TypeAhead(c)))
            }
            Shortcut::Move(_) | Shortcut::TypeAhead(_) => Task::none(),
            Shortcut::Focus(forward) => {
                use iced::advanced::widget::operation::{focusable, scope};
                if self.dialog.is_none() {
                    return if forward {
                        iced::widget::operation::focus_next()
                    } else {
                        iced::widget::operation::focus_previous()
                    };
                }
                // Over a dialog, Tab goes round the dialog's own controls only.
                let dialog = iced::widget::Id::new(dialog::DIALOG);
                if forward {
                    iced::advanced::widget::operate(scope(dialog, focusable::focus_next()))
                } else {
                    iced::advanced::widget::operate(scope(dialog, focusable::focus_previous()))
                }
            }
        }
    }

    /// True when the connection window's lists take the arrow keys and letters (no dialog over
    /// them).
    fn lists_have_the_keyboard(&self) -> bool {
        matches!(self.screen, Screen::Connect) && self.dialog.is_none()
    }

    /// True when the project window's list of sources takes the arrow keys and letters.
    fn sources_have_the_keyboard(&self) -> bool {
        matches!(self.screen, Screen::Project(_)) && self.dialog.is_none()
    }

    fn on_window(&mut self, id: window::Id, e: window::Event) -> Task<Message> {
        self.window = Some(id);
        match e {
            window::Event::Resized(size) => {
                if matches!(self.screen, Screen::Project(_)) {
                    self.prefs.project_size = Some((size.width, size.height));
                } else {
                    self.prefs.width = size.width;
                    self.prefs.height = size.height;
                }
                Task::none()
            }
            window::Event::Moved(p) => {
                self.prefs.x = Some(p.x);
                self.prefs.y = Some(p.y);
                Task::none()
            }
            window::Event::CloseRequested => self.leave(Leave::Quit),
            _ => Task::none(),
        }
    }

    fn quit(&mut self) -> Task<Message> {
        let _ = self.prefs.save(&self.env.config_dir);
        let close = self.close_connection();
        close.chain(iced::exit())
    }

    /// The window's content.
    pub fn view(&self) -> Element<'_, Message> {
        let recent = self.connect.recent();
        let body: Element<'_, Message> = match &self.screen {
            Screen::Connect => self.connect.view(self.tr).map(Message::Connect),
            Screen::Connecting(c) => c.view(self.tr).map(Message::Progress),
            Screen::Project(p) => p.view(self.tr).map(Message::Project),
        };
        let base: Element<'_, Message> = column![
            container(menu::bar(self.tr, recent).map(Message::Menu)).padding([4, 8]),
            rule::horizontal(1),
            body
        ]
        .into();
        match &self.dialog {
            Some(d) => dialog::modal(base, d.view(self.tr).map(Message::Dialog)),
            None => base,
        }
    }

    /// Discovery while the connection window shows; the session's events while connected;
    /// keyboard shortcuts and window events always.
    pub fn subscription(&self) -> Subscription<Message> {
        let mut subs = vec![
            event::listen_with(shortcut),
            window::events().map(|(id, e)| Message::Window(id, e)),
        ];
        if matches!(self.screen, Screen::Connect) {
            subs.push(services::discovery().map(Message::Discovery));
        }
        if let Some(key) = &self.session {
            subs.push(services::session(key.clone()).map(Message::Session));
        }
        subs.push(iced::system::theme_changes().map(Message::SystemMode));
        if std::env::var_os("XDG_CURRENT_DESKTOP").is_some() {
            // The accent colour as the user changes it (GNOME and KDE say it in their settings).
            subs.push(iced::time::every(LOOK_EVERY).map(|_| Message::CheckLook));
        }
        Subscription::batch(subs)
    }
}

/// Opens a folder in the desktop's file manager.
fn reveal(dir: &std::path::Path) -> std::io::Result<()> {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(program)
        .arg(dir)
        .spawn()
        .map(|_| ())
}

#[cfg(test)]
mod tests;
