//! The connection window, as 4D's "Connect to 4D Server" dialog: Recent / Available / Custom
//! tabs, "Activate development mode", OK / Cancel.

use std::path::PathBuf;

use iced::widget::{
    button, checkbox, column, container, mouse_area, row, rule, scrollable, space, text, text_input,
};
use iced::{Alignment, Element, Length, Task};
use remote4d_core::client::trust::{TrustStore, Verdict};
use remote4d_core::discovery::{DiscoveredServer, DiscoveryEvent};
use remote4d_core::link::{Link, ServerPath};
use remote4d_core::recent::{Recent, RecentEntry};

use super::focus::focusable;
use super::i18n::Strings;

/// The three tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Recent projects.
    Recent,
    /// Servers found on the network.
    Available,
    /// A typed address.
    Custom,
}

impl Tab {
    const ALL: [Tab; 3] = [Tab::Recent, Tab::Available, Tab::Custom];

    fn label(self, tr: &'static Strings) -> &'static str {
        match self {
            Tab::Recent => tr.recent,
            Tab::Available => tr.available,
            Tab::Custom => tr.custom,
        }
    }
}

/// What the user asked to connect to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A link (from Recent, a file, or the Custom tab), with the local name for Recent.
    Link {
        /// Local display name.
        name: String,
        /// The link.
        link: Box<Link>,
        /// "Activate development mode" was checked.
        development: bool,
    },
    /// A server found on the network.
    Discovered {
        /// The server.
        server: Box<DiscoveredServer>,
        /// "Activate development mode" was checked.
        development: bool,
    },
}

/// The connection window's state.
#[derive(Debug)]
pub struct Connect {
    tab: Tab,
    development: bool,
    custom_name: String,
    custom_address: String,
    recent: Vec<RecentEntry>,
    recent_error: Option<String>,
    selected_recent: Option<usize>,
    servers: Vec<DiscoveredServer>,
    selected_server: Option<String>,
    favorites: PathBuf,
    trust: TrustStore,
    /// The trust store's verdict on each listed server (by full name), judged when the server
    /// appears or changes, and again when Recent reloads (after a connection) — never while
    /// drawing.
    verdicts: std::collections::HashMap<String, Verdict>,
    /// Servers that said goodbye or stopped answering (by full name): kept in the list, marked,
    /// until they come back.
    gone: std::collections::HashSet<String>,
    /// The search has run long enough for an empty Available list to mean "none found".
    search_settled: bool,
    /// The user chose a tab (the first-run choice of Available then stays out of the way).
    tab_chosen: bool,
}

/// A move of the selection in a list, from the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// ↑: the previous entry.
    Up,
    /// ↓: the next entry.
    Down,
    /// Home: the first entry.
    First,
    /// End: the last entry.
    Last,
}

/// How long Available waits before saying that no server was found.
pub const SEARCH_SETTLES: std::time::Duration = std::time::Duration::from_secs(5);

/// Messages of the connection window.
#[derive(Debug, Clone)]
pub enum Message {
    /// A tab was clicked.
    TabSelected(Tab),
    /// The development-mode box was toggled.
    DevelopmentToggled(bool),
    /// The Custom tab's project name changed.
    CustomNameChanged(String),
    /// The Custom tab's address changed.
    CustomAddressChanged(String),
    /// The Recent list was read.
    RecentLoaded(Result<Vec<RecentEntry>, String>),
    /// A Recent entry was clicked.
    RecentSelected(usize),
    /// A Recent entry was double-clicked.
    RecentActivated(usize),
    /// Remove the selected Recent entry.
    RemoveRecent,
    /// Show the selected Recent entry's file.
    ShowRecentFile,
    /// A server was clicked in Available.
    ServerSelected(String),
    /// A server was double-clicked in Available.
    ServerActivated(String),
    /// Arrow keys, Home, End in the current tab's list.
    Move(Move),
    /// A letter typed over a list: the next entry whose name starts with it.
    TypeAhead(char),
    /// The search ran for [`SEARCH_SETTLES`].
    SearchSettled,
    /// OK.
    Ok,
    /// Cancel.
    Cancel,
}

/// What the window tells its parent.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Connect to this.
    Connect(Target),
    /// The window was cancelled.
    Cancelled,
    /// Show this file in the file manager.
    Reveal(PathBuf),
}

/// A tab of a tab bar, as desktop tab controls draw it (GTK notebook / Adwaita view switcher,
/// KDE, Windows): flat, its label strong when selected and muted otherwise, a hover shade, and
/// the selected one underlined in the accent colour.
fn tab(label: &str, selected: bool, on_press: Message) -> Element<'_, Message> {
    let b = button(text(label))
        .padding([6, 14])
        .on_press(on_press)
        .style(move |theme: &iced::Theme, status| {
            let p = theme.extended_palette();
            let mut style = button::Style {
                text_color: if selected {
                    p.background.base.text
                } else {
                    p.background.base.text.scale_alpha(0.65)
                },
                ..button::Style::default()
            };
            if !selected && matches!(status, button::Status::Hovered | button::Status::Pressed) {
                style.background = Some(p.background.weak.color.into());
                style.border.radius = 4.0.into();
                style.text_color = p.background.base.text;
            }
            style
        });
    let underline =
        container(space().height(3))
            .width(Length::Fill)
            .style(move |theme: &iced::Theme| container::Style {
                background: selected.then(|| theme.extended_palette().primary.base.color.into()),
                ..container::Style::default()
            });
    column![focusable(b), underline]
        .width(Length::Shrink)
        .into()
}

impl Connect {
    /// A window reading Recent from `favorites` and pinned servers from `data_dir`.
    pub fn new(favorites: PathBuf, data_dir: &std::path::Path) -> (Self, Task<Message>) {
        let state = Self {
            tab: Tab::Recent,
            development: false,
            custom_name: String::new(),
            custom_address: String::new(),
            recent: Vec::new(),
            recent_error: None,
            selected_recent: None,
            servers: Vec::new(),
            selected_server: None,
            favorites,
            trust: TrustStore::new(data_dir),
            verdicts: std::collections::HashMap::new(),
            gone: std::collections::HashSet::new(),
            search_settled: false,
            tab_chosen: false,
        };
        let load = state.reload_recent();
        // The timer is made when the task first runs (on the app's runtime), not here.
        let settle = Task::perform(async { tokio::time::sleep(SEARCH_SETTLES).await }, |()| {
            Message::SearchSettled
        });
        (state, Task::batch([load, settle]))
    }

    /// Reads the Recent list again.
    pub fn reload_recent(&self) -> Task<Message> {
        let favorites = self.favorites.clone();
        Task::perform(
            async move { Recent::new(favorites).list().map_err(|e| e.to_string()) },
            Message::RecentLoaded,
        )
    }

    /// Removes `entry` from Recent, then reads the list again (off the UI thread).
    fn remove_recent(&self, entry: RecentEntry) -> Task<Message> {
        let favorites = self.favorites.clone();
        Task::perform(
            async move {
                let recent = Recent::new(favorites);
                if let Err(err) = recent.remove(&entry) {
                    tracing::warn!(%err, "could not remove the Recent entry");
                }
                recent.list().map_err(|e| e.to_string())
            },
            Message::RecentLoaded,
        )
    }

    /// The Recent entries (for the menu).
    pub fn recent(&self) -> &[RecentEntry] {
        &self.recent
    }

    /// The tab shown.
    #[cfg(test)]
    pub fn tab(&self) -> Tab {
        self.tab
    }

    /// The servers listed in Available, in order of appearance.
    #[cfg(test)]
    pub fn servers(&self) -> &[DiscoveredServer] {
        &self.servers
    }

    /// The selected Recent entry and Available server.
    #[cfg(test)]
    pub fn selection(&self) -> (Option<usize>, Option<&str>) {
        (self.selected_recent, self.selected_server.as_deref())
    }

    /// Servers marked as not answering.
    #[cfg(test)]
    pub fn gone(&self) -> &std::collections::HashSet<String> {
        &self.gone
    }

    /// A discovery event: servers appear, change, disappear.
    pub fn discovered(&mut self, event: DiscoveryEvent) {
        match event {
            DiscoveryEvent::Added(s) => {
                self.judge(&s);
                self.gone.remove(&s.fullname);
                self.servers.retain(|x| x.fullname != s.fullname);
                self.servers.push(s);
            }
            DiscoveryEvent::Updated(s) => {
                self.judge(&s);
                self.gone.remove(&s.fullname);
                match self.servers.iter_mut().find(|x| x.fullname == s.fullname) {
                    Some(x) => *x = s,
                    None => self.servers.push(s),
                }
            }
            DiscoveryEvent::Removed { fullname } => {
                // Said goodbye or stopped answering: marked, not dropped silently (it may be
                // restarting); it is listed normally again when it answers.
                if self.servers.iter().any(|x| x.fullname == fullname) {
                    self.gone.insert(fullname);
                }
            }
        }
    }

    /// The Custom address, parsed, or why it is invalid.
    pub fn custom_address(&self, tr: &'static Strings) -> Result<ServerPath, String> {
        if self.custom_address.trim().is_empty() {
            return Err(tr.address_needed.into());
        }
        ServerPath::parse(&self.custom_address).map_err(|e| e.to_string())
    }

    /// Applies a message; returns follow-up work and, maybe, an event for the parent.
    pub fn update(
        &mut self,
        message: Message,
        tr: &'static Strings,
    ) -> (Task<Message>, Option<Event>) {
        match message {
            Message::TabSelected(tab) => {
                self.tab = tab;
                self.tab_chosen = true;
            }
            Message::Move(step) => self.move_selection(step),
            Message::TypeAhead(c) => self.type_ahead(c),
            Message::SearchSettled => self.search_settled = true,
            Message::DevelopmentToggled(on) => self.development = on,
            Message::CustomNameChanged(s) => self.custom_name = s,
            Message::CustomAddressChanged(s) => self.custom_address = s,
            Message::RecentLoaded(Ok(list)) => {
                // First run: nothing recent yet, so the servers on the network come first.
                if list.is_empty() && self.recent.is_empty() && !self.tab_chosen {
                    self.tab = Tab::Available;
                }
                self.recent = list;
                self.recent_error = None;
                // Recent reloads after a connection, which may have pinned a server.
                self.judge_all();
                if self.selected_recent.is_some_and(|i| i >= self.recent.len()) {
                    self.selected_recent = None;
                }
            }
            Message::RecentLoaded(Err(e)) => self.recent_error = Some(e),
            Message::RecentSelected(i) => self.selected_recent = Some(i),
            Message::RecentActivated(i) => {
                self.selected_recent = Some(i);
                return (Task::none(), self.target(tr).map(Event::Connect));
            }
            Message::RemoveRecent => {
                if let Some(e) = self.selected_recent.and_then(|i| self.recent.get(i)) {
                    self.selected_recent = None;
                    return (self.remove_recent(e.clone()), None);
                }
            }
            Message::ShowRecentFile => {
                if let Some(e) = self.selected_recent.and_then(|i| self.recent.get(i)) {
                    return (Task::none(), Some(Event::Reveal(e.path.clone())));
                }
            }
            Message::ServerSelected(f) => self.selected_server = Some(f),
            Message::ServerActivated(f) => {
                self.selected_server = Some(f);
                return (Task::none(), self.target(tr).map(Event::Connect));
            }
            Message::Cancel => return (Task::none(), Some(Event::Cancelled)),
            Message::Ok => return (Task::none(), self.target(tr).map(Event::Connect)),
        }
        (Task::none(), None)
    }

    /// The names of the current tab's list, in order, and the selected position.
    fn list(&self) -> (Vec<&str>, Option<usize>) {
        match self.tab {
            Tab::Recent => (
                self.recent.iter().map(|e| e.name.as_str()).collect(),
                self.selected_recent,
            ),
            Tab::Available => (
                self.servers
                    .iter()
                    .map(|s| s.publication_name.as_str())
                    .collect(),
                self.selected_server
                    .as_deref()
                    .and_then(|f| self.servers.iter().position(|s| s.fullname == f)),
            ),
            Tab::Custom => (Vec::new(), None),
        }
    }

    /// Selects entry `i` of the current tab's list.
    fn select(&mut self, i: usize) {
        match self.tab {
            Tab::Recent => self.selected_recent = Some(i),
            Tab::Available => {
                self.selected_server = self.servers.get(i).map(|s| s.fullname.clone());
            }
            Tab::Custom => {}
        }
    }

    /// Arrow keys, Home and End: the selection moves, and stops at the ends.
    fn move_selection(&mut self, step: Move) {
        let (names, at) = self.list();
        let Some(last) = names.len().checked_sub(1) else {
            return;
        };
        let i = match (step, at) {
            (Move::First, _) | (Move::Down, None) => 0,
            (Move::Last, _) | (Move::Up, None) => last,
            (Move::Up, Some(i)) => i.saturating_sub(1),
            (Move::Down, Some(i)) => (i + 1).min(last),
        };
        self.select(i);
    }

    /// The next entry after the selection whose name starts with `c` (case-insensitive),
    /// wrapping around, as file managers do.
    fn type_ahead(&mut self, c: char) {
        let (names, at) = self.list();
        let n = names.len();
        let start = at.map_or(0, |i| i + 1);
        let hit = (0..n).map(|k| (start + k) % n).find(|&i| {
            names[i]
                .chars()
                .next()
                .is_some_and(|f| f.to_lowercase().eq(c.to_lowercase()))
        });
        if let Some(i) = hit {
            self.select(i);
        }
    }

    fn target(&self, tr: &'static Strings) -> Option<Target> {
        match self.tab {
            Tab::Custom => {
                let address = self.custom_address(tr).ok()?;
                let name = self.custom_name.trim();
                Some(Target::Link {
                    link: Box::new(Link {
                        is_remote: Some(true),
                        server_path: Some(address.clone()),
                        ..Link::default()
                    }),
                    name: if name.is_empty() {
                        address.host
                    } else {
                        name.to_owned()
                    },
                    development: self.development,
                })
            }
            Tab::Recent => {
                let e = self.recent.get(self.selected_recent?)?;
                Some(Target::Link {
                    name: e.name.clone(),
                    link: Box::new(e.link.clone()),
                    // The entry's own opening options are applied when it is opened.
                    development: self.development,
                })
            }
            Tab::Available => {
                let wanted = self.selected_server.as_deref()?;
                let s = self.servers.iter().find(|s| s.fullname == wanted)?;
                Some(Target::Discovered {
                    server: Box::new(s.clone()),
                    development: self.development,
                })
            }
        }
    }

    /// The window's content.
    pub fn view(&self, tr: &'static Strings) -> Element<'_, Message> {
        let tabs = row(Tab::ALL
            .iter()
            .map(|&t| tab(t.label(tr), t == self.tab, Message::TabSelected(t))))
        .spacing(2);
        let body: Element<'_, Message> = match self.tab {
            Tab::Recent => self.recent_view(tr),
            Tab::Available => self.available_view(tr),
            Tab::Custom => self.custom_view(tr),
        };
        let ok_enabled = self.target(tr).is_some();
        let footer = row![
            focusable(
                checkbox(self.development)
                    .label(tr.development_mode)
                    .on_toggle(Message::DevelopmentToggled)
            ),
            space::horizontal(),
            focusable(
                button(text(tr.cancel))
                    .on_press(Message::Cancel)
                    .style(button::secondary)
            ),
            focusable(button(text(tr.ok)).on_press_maybe(ok_enabled.then_some(Message::Ok))),
        ]
        .spacing(8)
        .align_y(Alignment::Center);
        container(
            column![
                text(tr.connect_title).size(20),
                // The tabs sit on the line under them, the selected one's underline on it.
                column![tabs, rule::horizontal(1)],
                container(body).height(Length::Fill).width(Length::Fill),
                footer
            ]
            .spacing(12),
        )
        .padding(16)
        .into()
    }

    fn recent_view(&self, tr: &'static Strings) -> Element<'_, Message> {
        if let Some(e) = &self.recent_error {
            return text(e.as_str()).into();
        }
        if self.recent.is_empty() {
            return text(tr.no_recent).into();
        }
        let items = column(self.recent.iter().enumerate().map(|(i, e)| {
            let address = e.link.address();
            let address = if address.find_by_name() {
                format!(":{}", address.port())
            } else {
                address.authority()
            };
            let b = button(
                row![
                    text(e.name.as_str()),
                    space::horizontal(),
                    text(address).size(12)
                ]
                .spacing(8),
            )
            .width(Length::Fill)
            .on_press(Message::RecentSelected(i));
            let b = if self.selected_recent == Some(i) {
                b.style(button::primary)
            } else {
                b.style(super::style::list_row)
            };
            mouse_area(b)
                .on_double_click(Message::RecentActivated(i))
                .into()
        }))
        .spacing(2);
        let selected = self.selected_recent.is_some();
        column![
            scrollable(items).height(Length::Fill),
            row![
                focusable(
                    button(text(tr.remove))
                        .on_press_maybe(selected.then_some(Message::RemoveRecent))
                        .style(button::secondary)
                ),
                focusable(
                    button(text(tr.show_file))
                        .on_press_maybe(selected.then_some(Message::ShowRecentFile))
                        .style(button::secondary)
                ),
            ]
            .spacing(8)
        ]
        .spacing(8)
        .into()
    }

    /// Judges a server's announced identity against the trust store (a file read: done when
    /// the server appears or changes, not while drawing).
    fn judge(&mut self, s: &DiscoveredServer) {
        match (s.server_id.as_deref(), s.fingerprint) {
            (Some(id), Some(fp)) => {
                let v = self.trust.verdict(
                    id,
                    &s.authority().unwrap_or_default(),
                    &s.publication_name,
                    &fp.to_string(),
                    true,
                );
                self.verdicts.insert(s.fullname.clone(), v);
            }
            _ => {
                self.verdicts.remove(&s.fullname);
            }
        }
    }

    /// Judges every listed server again (the trust store may have changed).
    fn judge_all(&mut self) {
        let servers = std::mem::take(&mut self.servers);
        for s in &servers {
            self.judge(s);
        }
        self.servers = servers;
    }

    fn marker(&self, s: &DiscoveredServer, tr: &'static Strings) -> &'static str {
        match self.verdicts.get(&s.fullname) {
            Some(Verdict::Trusted) => tr.pinned,
            Some(Verdict::New) => tr.new_identity_marker,
            Some(Verdict::Changed { .. }) => tr.changed_marker,
            None => "",
        }
    }

    fn available_view(&self, tr: &'static Strings) -> Element<'_, Message> {
        if self.servers.is_empty() {
            if !self.search_settled {
                return text(tr.looking_for_servers).into();
            }
            return column![
                text(tr.no_servers_found).size(16),
                text(tr.no_servers_hint).size(13),
            ]
            .spacing(6)
            .into();
        }
        let items = column(self.servers.iter().map(|s| {
            let selected = self.selected_server.as_deref() == Some(s.fullname.as_str());
            let b = button(
                row![
                    text(s.publication_name.as_str()),
                    space::horizontal(),
                    text(s.authority().unwrap_or_default()).size(12),
                    text(self.marker(s, tr)).size(12),
                    text(if self.gone.contains(&s.fullname) {
                        tr.not_answering
                    } else {
                        ""
                    })
                    .size(12),
                ]
                .spacing(12),
            )
            .width(Length::Fill)
            .on_press(Message::ServerSelected(s.fullname.clone()));
            let b = if selected {
                b.style(button::primary)
            } else {
                b.style(super::style::list_row)
            };
            mouse_area(b)
                .on_double_click(Message::ServerActivated(s.fullname.clone()))
                .into()
        }))
        .spacing(2);
        scrollable(items).height(Length::Fill).into()
    }

    fn custom_view(&self, tr: &'static Strings) -> Element<'_, Message> {
        let validation = match self.custom_address(tr) {
            Ok(_) => text(""),
            Err(e) if self.custom_address.is_empty() => text(e),
            Err(e) => text(e).style(text::danger),
        };
        column![
            text(tr.project_name),
            text_input(tr.project_name_hint, &self.custom_name)
                .id("project-name")
                .on_input(Message::CustomNameChanged)
                .on_submit(Message::Ok),
            text(tr.network_address),
            text_input(tr.address_hint, &self.custom_address)
                .id("address")
                .on_input(Message::CustomAddressChanged)
                .on_submit(Message::Ok),
            validation,
        ]
        .spacing(6)
        .into()
    }
}
