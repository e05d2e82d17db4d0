//! The server window (4D Server's administration window): Monitor, Users, Application Server,
//! Maintenance and Activity pages over core's administration API — of the server this process
//! runs (`remote4d serve --window`, a merged server), of one on this machine, or of one
//! elsewhere (`remote4d admin --window`, File > Administer Server…).
//!
//! `update` is `handle` (state changes, and the [`Effect`] wanted) plus the task that carries
//! the effect out: tests run `handle` with a real server and carry effects out themselves.

pub mod activity;
pub mod application;
pub mod data;
pub mod login;
pub mod maintenance;
pub mod model;
pub mod monitor;
pub mod users;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use iced::widget::{button, column, container, row, rule, space, text};
use iced::{Alignment, Element, Length, Size, Subscription, Task, window};
use remote4d_core::client::admin::AdminClient;
use remote4d_core::environment::Environment;

use data::{Request, Snapshot, Target};

/// How the window starts.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// The server to administer; none: the login form.
    pub target: Option<Target>,
    /// The login form's address and user (administering a server elsewhere).
    pub address: Option<String>,
    /// The login form's user.
    pub user: Option<String>,
    /// Set when this process runs the server: closing asks whether to stop it, and the window
    /// closes when the server has stopped.
    pub server_stopped: Option<Arc<AtomicBool>>,
}

/// The pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Uptime, sessions, CPU, memory, traffic, the last reload.
    Monitor,
    /// The sessions.
    Users,
    /// Publication and connections.
    Application,
    /// Reload, history, restart, shutdown, the log.
    Maintenance,
    /// Events.
    Activity,
}

impl Page {
    const ALL: [Self; 5] = [
        Self::Monitor,
        Self::Users,
        Self::Application,
        Self::Maintenance,
        Self::Activity,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Monitor => "Monitor",
            Self::Users => "Users",
            Self::Application => "Application Server",
            Self::Maintenance => "Maintenance",
            Self::Activity => "Activity",
        }
    }
}

/// What closing the window does, when this process runs the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseChoice {
    /// Stop the server (its users are told), then close.
    Stop,
    /// Close the window; the server keeps running.
    KeepRunning,
    /// Do not close.
    Cancel,
}

/// Every message of the window.
#[derive(Debug, Clone)]
pub enum Message {
    /// Time to read the server again.
    Tick,
    /// The administration client is ready, or could not be made.
    Opened(Result<AdminClient, String>),
    /// A reading arrived.
    Fetched(Result<Snapshot, String>),
    /// A page was chosen.
    Page(Page),
    /// The Users page.
    Users(users::Message),
    /// The Maintenance page.
    Maintenance(maintenance::Message),
    /// The Activity page.
    Activity(activity::Message),
    /// The login form.
    Login(login::Message),
    /// Ask this of the server.
    Ask(Request),
    /// A request was answered.
    Done(Result<Option<String>, String>),
    /// The window came to the front, was closed…
    Window(window::Event),
    /// The answer to "stop the server?".
    Close(CloseChoice),
}

/// What `handle` wants done outside the state.
#[derive(Debug)]
pub enum Effect {
    /// Make the administration client.
    Open(Target),
    /// Read the server.
    Fetch {
        /// The client.
        client: AdminClient,
        /// The last activity event seen.
        after_activity: u64,
        /// The last log line seen.
        after_log: u64,
    },
    /// Ask something of the server.
    Perform(AdminClient, Request),
    /// Close the window.
    Exit,
}

/// The window's state.
pub struct AdminApp {
    env: Environment,
    target: Option<Target>,
    client: Option<AdminClient>,
    opening: bool,
    fetching: bool,
    login: Option<login::Login>,
    /// The page shown.
    pub page: Page,
    /// What is known of the server.
    pub model: model::Model,
    users: users::Users,
    maintenance: maintenance::Maintenance,
    activity: activity::Activity,
    /// The last answer to a request: (failed, sentence).
    pub notice: Option<(bool, String)>,
    /// Why the server cannot be read now.
    pub problem: Option<String>,
    server_stopped: Option<Arc<AtomicBool>>,
    /// The "stop the server?" question is shown.
    pub closing: bool,
    stopping: bool,
}

impl AdminApp {
    /// The window for `launch`.
    pub fn new(env: Environment, launch: Launch) -> Self {
        let login = launch
            .target
            .is_none()
            .then(|| login::Login::new(launch.address, launch.user));
        Self {
            env,
            target: launch.target,
            client: None,
            opening: false,
            fetching: false,
            login,
            page: Page::Monitor,
            model: model::Model::default(),
            users: users::Users::default(),
            maintenance: maintenance::Maintenance::default(),
            activity: activity::Activity::default(),
            notice: None,
            problem: None,
            server_stopped: launch.server_stopped,
            closing: false,
            stopping: false,
        }
    }

    fn boot(env: Environment, launch: Launch) -> (Self, Task<Message>) {
        let mut app = Self::new(env, launch);
        let task = app
            .handle(Message::Tick)
            .map_or_else(Task::none, |e| app.run(e));
        (app, task)
    }

    /// The window's title: the server's name, and where it is.
    pub fn title(&self) -> String {
        match (&self.model.status, &self.target) {
            (Some(s), Some(t)) => {
                format!("{} — Remote4D Server ({})", s.publication_name, t.label())
            }
            _ => "Remote4D Server".to_owned(),
        }
    }

    /// True when this process runs the server.
    fn runs_server(&self) -> bool {
        self.server_stopped.is_some()
    }

    /// Applies `message`; what must be done outside the state.
    pub fn handle(&mut self, message: Message) -> Option<Effect> {
        match message {
            Message::Tick => {
                if self
                    .server_stopped
                    .as_ref()
                    .is_some_and(|s| s.load(Ordering::SeqCst))
                {
                    return Some(Effect::Exit);
                }
                if let Some(client) = &self.client {
                    if !self.fetching {
                        self.fetching = true;
                        return Some(Effect::Fetch {
                            client: client.clone(),
                            after_activity: self.model.activity_seq(),
                            after_log: self.model.log_seq(),
                        });
                    }
                } else if let Some(target) = &self.target {
                    if !self.opening {
                        self.opening = true;
                        return Some(Effect::Open(target.clone()));
                    }
                }
            }
            Message::Opened(result) => {
                self.opening = false;
                match result {
                    Ok(client) => {
                        self.client = Some(client);
                        self.problem = None;
                        // Logged in from the form: the target stays, to log in again after
                        // a restart.
                        self.login = None;
                        return self.handle(Message::Tick);
                    }
                    Err(err) => {
                        if let Some(form) = &mut self.login {
                            form.busy = false;
                            form.problem = Some(err);
                            self.target = None;
                        } else {
                            self.problem = Some(format!("cannot reach the server: {err}"));
                        }
                    }
                }
            }
            Message::Fetched(result) => {
                self.fetching = false;
                match result {
                    Ok(snapshot) => {
                        self.problem = None;
                        self.model.apply(snapshot);
                    }
                    Err(err) => {
                        // A restarted server has a new token (locally) and no session of ours
                        // (remotely): the next tick logs in again.
                        self.client = None;
                        self.problem = Some(format!("cannot reach the server: {err}"));
                    }
                }
            }
            Message::Page(p) => self.page = p,
            Message::Users(m) => {
                if let Some(r) = self.users.update(m, &self.model.sessions) {
                    return self.ask(r);
                }
            }
            Message::Maintenance(m) => {
                if let Some(r) = self.maintenance.update(m) {
                    return self.ask(r);
                }
            }
            Message::Activity(m) => self.activity.update(m),
            Message::Login(m) => {
                let form = self.login.as_mut()?;
                if let Some(target) = form.update(m) {
                    self.target = Some(target.clone());
                    self.opening = true;
                    return Some(Effect::Open(target));
                }
            }
            Message::Ask(r) => return self.ask(r),
            Message::Done(result) => {
                match result {
                    Ok(Some(said)) => self.notice = Some((false, said)),
                    Ok(None) => {}
                    Err(err) => {
                        self.notice = Some((true, err));
                        self.stopping = false;
                    }
                }
                if self.stopping {
                    return Some(Effect::Exit);
                }
                // Show the change at once.
                return self.handle(Message::Tick);
            }
            Message::Window(window::Event::Focused) => {
                // As 4D Server: the project is checked for changes when the window comes to the
                // front (said only when it changed).
                if self.client.is_some() {
                    return self.ask(Request::Reload { quiet: true });
                }
            }
            Message::Window(window::Event::CloseRequested) => {
                if self.runs_server() && self.client.is_some() {
                    self.closing = true;
                } else {
                    return Some(Effect::Exit);
                }
            }
            Message::Window(_) => {}
            Message::Close(choice) => {
                self.closing = false;
                match choice {
                    CloseChoice::Cancel => {}
                    CloseChoice::KeepRunning => {
                        crate::errln!(
                            "the window is closed; the server keeps running (stop it with Ctrl+C, or remote4d admin shutdown)"
                        );
                        return Some(Effect::Exit);
                    }
                    CloseChoice::Stop => {
                        self.stopping = true;
                        return self.ask(Request::Shutdown {
                            in_seconds: 0,
                            message: Some("the server was stopped from its window".into()),
                        });
                    }
                }
            }
        }
        None
    }

    fn ask(&mut self, request: Request) -> Option<Effect> {
        let Some(client) = &self.client else {
            self.notice = Some((true, "not connected to the server yet".into()));
            return None;
        };
        Some(Effect::Perform(client.clone(), request))
    }

    /// Carries `effect` out as a task.
    fn run(&self, effect: Effect) -> Task<Message> {
        match effect {
            Effect::Open(target) => {
                Task::perform(data::open(self.env.clone(), target), Message::Opened)
            }
            Effect::Fetch {
                client,
                after_activity,
                after_log,
            } => Task::perform(
                data::fetch(client, after_activity, after_log),
                Message::Fetched,
            ),
            Effect::Perform(client, request) => {
                Task::perform(data::perform(client, request), Message::Done)
            }
            Effect::Exit => {
                // A remote administrator's own session ends with the window.
                let close = self.client.clone();
                Task::future(async move {
                    if let Some(c) = close {
                        let _ = c.close().await;
                    }
                })
                .then(|()| iced::exit())
            }
        }
    }

    /// iced's update.
    pub fn update(&mut self, message: Message) -> Task<Message> {
        self.handle(message)
            .map_or_else(Task::none, |e| self.run(e))
    }

    /// The window.
    pub fn view(&self) -> Element<'_, Message> {
        if let Some(form) = &self.login {
            return form.view().map(Message::Login);
        }
        let mut tabs = row![].spacing(4);
        for p in Page::ALL {
            let b = button(text(p.label())).padding([6, 12]);
            let b = b.on_press(Message::Page(p));
            tabs = tabs.push(if p == self.page {
                b.style(button::primary)
            } else {
                b.style(button::text)
            });
        }
        let mut head = column![tabs].spacing(6);
        if let Some(p) = &self.problem {
            head = head.push(text(p).style(text::danger));
        }
        if let Some((failed, said)) = &self.notice {
            head = head.push(if *failed {
                text(said).style(text::danger)
            } else {
                text(said).style(text::success)
            });
        }
        let body: Element<'_, Message> = if self.closing {
            self.close_question()
        } else {
            match self.page {
                Page::Monitor => monitor::view(&self.model),
                Page::Users => self.users.view(&self.model.sessions).map(Message::Users),
                Page::Application => application::view(&self.model),
                Page::Maintenance => self
                    .maintenance
                    .view(&self.model.builds, &self.model.log)
                    .map(Message::Maintenance),
                Page::Activity => self
                    .activity
                    .view(&self.model.activity)
                    .map(Message::Activity),
            }
        };
        column![
            container(head).padding([10, 16]),
            rule::horizontal(1),
            container(body).padding(16).height(Length::Fill),
        ]
        .into()
    }

    fn close_question(&self) -> Element<'_, Message> {
        let users = self.model.sessions.len();
        let who = match users {
            0 => "No one is connected.".to_owned(),
            1 => "1 user is connected: they will be told and disconnected.".to_owned(),
            n => format!("{n} users are connected: they will be told and disconnected."),
        };
        container(
            column![
                text("Stop the server?").size(20),
                text(who),
                text("Or close this window and keep the server running; open it again with remote4d admin --window."),
                row![
                    button(text("Cancel"))
                        .on_press(Message::Close(CloseChoice::Cancel))
                        .style(button::secondary),
                    space::horizontal(),
                    button(text("Keep running"))
                        .on_press(Message::Close(CloseChoice::KeepRunning))
                        .style(button::secondary),
                    button(text("Stop the server"))
                        .on_press(Message::Close(CloseChoice::Stop))
                        .style(button::danger),
                ]
                .spacing(8)
                .align_y(Alignment::Center),
            ]
            .spacing(12)
            .max_width(520),
        )
        .center_x(Length::Fill)
        .into()
    }

    /// Reads the server every second; follows the window's events and shortcuts.
    pub fn subscription(&self) -> Subscription<Message> {
        Subscription::batch([
            iced::time::every(Duration::from_secs(1)).map(|_| Message::Tick),
            window::events().map(|(_, e)| Message::Window(e)),
            iced::event::listen_with(shortcut),
        ])
    }
}

/// Ctrl/Cmd+1…5: the pages; Ctrl/Cmd+W or Q: close (asking first when the server runs here).
fn shortcut(event: iced::Event, _status: iced::event::Status, _id: window::Id) -> Option<Message> {
    use iced::keyboard::{self, Key};
    let iced::Event::Keyboard(keyboard::Event::KeyPressed { key, modifiers, .. }) = event else {
        return None;
    };
    if !modifiers.command() {
        return None;
    }
    match key.as_ref() {
        Key::Character("w" | "q") => Some(Message::Window(window::Event::CloseRequested)),
        Key::Character(c) => {
            let n: usize = c.parse().ok()?;
            Page::ALL.get(n.checked_sub(1)?).map(|p| Message::Page(*p))
        }
        _ => None,
    }
}

/// A titled, framed part of a page.
pub fn section<'a, M: 'a>(
    title: impl text::IntoFragment<'a>,
    content: impl Into<Element<'a, M>>,
) -> Element<'a, M> {
    column![
        text(title).size(15),
        container(content)
            .padding(10)
            .width(Length::Fill)
            .style(container::bordered_box),
    ]
    .spacing(4)
    .into()
}

/// A label and its value, on one line.
pub fn fact<'a, M: 'a>(label: &'a str, value: String) -> Element<'a, M> {
    row![text(label).width(150), text(value).width(Length::Fill)]
        .spacing(12)
        .into()
}

/// What a delay typed in seconds must be.
pub const SECONDS_EXPECTED: &str = "is a number of seconds, from 0 to 86400";

/// A delay typed in seconds (empty: none), at most a day.
pub fn seconds(typed: &str) -> Option<u64> {
    match typed.trim() {
        "" => Some(0),
        t => t.parse::<u64>().ok().filter(|n| *n <= 86_400),
    }
}

/// `HH:MM` in local time of a time in ms since the epoch.
pub fn hm(ms: u64) -> String {
    super::clock::local_hm((ms / 1000) as i64)
}

/// Opens the server window and runs it until it closes.
pub fn run(launch: Launch) -> anyhow::Result<()> {
    super::check_display()?;
    let env = Environment::from_system()?;
    let settings = super::app_settings(&super::desktop::Look::read());
    iced::application(
        move || AdminApp::boot(env.clone(), launch.clone()),
        AdminApp::update,
        AdminApp::view,
    )
    .settings(settings)
    .title(AdminApp::title)
    .subscription(AdminApp::subscription)
    .window(super::window_settings(
        Size::new(920.0, 660.0),
        Size::new(640.0, 480.0),
        window::Position::Centered,
    ))
    .run()?;
    Ok(())
}
