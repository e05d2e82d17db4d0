//! The project window: what is open (name, server, mode, session, storage), the project's
//! content (tables and fields, methods, classes, forms) with a source viewer — an editor in
//! development mode, with Save all — and what the server says (new version, messages, countdown).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use iced::widget::{
    button, column, container, row, rule, scrollable, space, text, text_editor, text_input, tooltip,
};
use iced::{Alignment, Element, Font, Length, Task};
use remote4d_core::archive::Stamp;
use remote4d_core::cache::{ProjectPreferences, SystemFolder};
use remote4d_core::client::Mode;
use remote4d_core::project::{Project, SourceKind};
use remote4d_core::protocol::{LockInfo, SessionInfo};

use super::connect::Move;
use super::find;
use super::focus::focusable;
use super::i18n::Strings;

/// A source file of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Display name.
    pub name: String,
    /// Path relative to the project root (`Project/Sources/...`).
    pub rel: String,
    /// Methods and classes are editable in development mode; forms are shown.
    pub editable: bool,
}

/// The server's `Resources/` folder changed during the session (4D's "Update Resources
/// folder during a session"): what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourcesNews {
    /// The policy is Ask: the user may copy it now.
    Offered,
    /// The policy is Never: copied at the next connection.
    Later,
    /// Being copied.
    Copying,
    /// Copied.
    Copied,
    /// The copy failed (the previous copy is intact).
    Failed(String),
}

/// The project window's state.
#[derive(Debug)]
pub struct ProjectView {
    /// Display name.
    pub name: String,
    /// host:port.
    pub address: String,
    /// How it is open.
    pub mode: Mode,
    /// The project root (containing `Project/`).
    pub root: PathBuf,
    /// This client's session.
    pub session: Option<SessionInfo>,
    /// The session storage.
    pub storage: serde_json::Value,
    /// Tables whose fields are hidden.
    collapsed: std::collections::BTreeSet<String>,
    /// The project as read from its folder (off the UI thread); `None` while it is read.
    project: Option<Result<Project, String>>,
    selected: Option<Source>,
    original: String,
    editor: text_editor::Content,
    /// Modified files: relative path → text.
    pub edits: BTreeMap<String, String>,
    /// Edit locks on the server.
    pub locks: Vec<LockInfo>,
    /// A new stamp announced by the server.
    pub new_version: bool,
    /// What became of the server's changed `Resources/` during the session.
    pub resources: Option<ResourcesNews>,
    /// The build the user's own last Save all made (its announcement is no news).
    own_build: Option<Stamp>,
    /// A build announced while a Save all was running: news only if it is not the save's.
    announced_while_saving: Option<Stamp>,
    /// Messages from the server, newest first.
    pub messages: Vec<String>,
    /// Seconds before the server stops.
    pub shutdown_in: Option<u64>,
    /// Why the server ended the session.
    pub dropped: Option<String>,
    /// The connection is being re-established.
    pub reconnecting: bool,
    /// Save all in progress.
    pub saving: bool,
    /// The last Save all's result.
    pub save_status: Option<Result<String, String>>,
    /// The "Open with…" program.
    pub open_with: String,
    /// Find in project.
    pub find: find::FindPanel,
    /// The line a Find result pointed at (from 1), marked in a read-only source.
    marked_line: Option<usize>,
    /// The connection's system folder: where the developer's state (`userPreferences/`) and
    /// the Find index (`DerivedDataRemote/`) are kept.
    pub folder: Option<SystemFolder>,
    /// The developer's state for this project, restored when the window opens.
    prefs: ProjectPreferences,
}

/// The id of the read-only source's scrollable (scrolled to a Find result's line).
pub const SOURCE_LINES: &str = "source-lines";

/// The height of a read-only source line (size-13 monospace text, iced's line height 1.3).
pub const LINE_HEIGHT: f32 = 13.0 * 1.3;

/// Messages of the project window.
#[derive(Debug, Clone)]
pub enum Message {
    /// A source was clicked.
    Select(Source),
    /// The editor changed (or the cursor moved).
    Edit(text_editor::Action),
    /// Save all (Ctrl/Cmd+S).
    SaveAll,
    /// Reconnect (to get the new version).
    Reconnect,
    /// Copy the server's changed `Resources/` now (the project's policy is Ask).
    UpdateResources,
    /// Find in project.
    Find(find::Message),
    /// Disconnect.
    Disconnect,
    /// "Open with…".
    OpenWith,
    /// The program of "Open with…" typed.
    OpenWithChanged(String),
    /// Dismiss the messages.
    ClearMessages,
    /// The project was read from its folder (see [`load`]).
    Loaded(Arc<Result<Project, String>>),
    /// A table's fields shown or hidden.
    ToggleTable(String),
    /// ↑ ↓ Home End in the list of sources (when the editor does not have the keyboard).
    Move(Move),
    /// A letter typed over the list: the next source whose name starts with it.
    TypeAhead(char),
}

/// What the window asks its parent.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Save these files (relative path, content).
    SaveAll(Vec<(String, Vec<u8>)>),
    /// Reconnect.
    Reconnect,
    /// Copy the server's `Resources/` again now.
    UpdateResources,
    /// Find this text in the project (see [`find::search`]).
    Find(String),
    /// Show this line (from 1) of the source shown.
    ShowLine(usize),
    /// Disconnect.
    Disconnect,
    /// Launch this program on the project folder.
    OpenWith(String, PathBuf),
    /// The "Open with…" program changed.
    OpenWithChanged(String),
}

/// The session storage in a few words: empty, its keys (the first three in order), or its value.
fn storage_summary(storage: &serde_json::Value, tr: &'static Strings) -> String {
    match storage {
        serde_json::Value::Null => tr.storage_empty.to_owned(),
        serde_json::Value::Object(map) if map.is_empty() => tr.storage_empty.to_owned(),
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
            keys.sort_unstable();
            keys.truncate(3);
            let more = map.len().saturating_sub(3);
            if more > 0 {
                format!("{} (+{more})", keys.join(", "))
            } else {
                keys.join(", ")
            }
        }
        other => {
            let text = other.to_string();
            match text.char_indices().nth(40) {
                Some((i, _)) => format!("{}…", &text[..i]),
                None => text,
            }
        }
    }
}

/// Reads the project at `root` on a blocking thread (a large project's catalog and sources take
/// a while: never on the UI thread); the window gets it as [`Message::Loaded`].
pub fn load(root: PathBuf) -> Task<Message> {
    Task::perform(
        async move {
            tokio::task::spawn_blocking(move || Project::open(&root).map_err(|e| e.to_string()))
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
        },
        |r| Message::Loaded(Arc::new(r)),
    )
}

impl ProjectView {
    /// The window for a project open at `root`.
    pub fn new(
        name: String,
        address: String,
        mode: Mode,
        root: PathBuf,
        session: Option<SessionInfo>,
        storage: serde_json::Value,
    ) -> Self {
        Self {
            name,
            address,
            mode,
            root,
            session,
            storage,
            project: None,
            collapsed: std::collections::BTreeSet::new(),
            selected: None,
            original: String::new(),
            editor: text_editor::Content::new(),
            edits: BTreeMap::new(),
            locks: Vec::new(),
            new_version: false,
            resources: None,
            own_build: None,
            announced_while_saving: None,
            messages: Vec::new(),
            shutdown_in: None,
            dropped: None,
            reconnecting: false,
            saving: false,
            save_status: None,
            open_with: String::new(),
            find: find::FindPanel::default(),
            marked_line: None,
            folder: None,
            prefs: ProjectPreferences::default(),
        }
    }

    /// Keeps the developer's state in `folder` (the connection's system folder), restoring
    /// what was saved there: the tables folded, the "Open with…" program; the source shown is
    /// restored once the project is read.
    pub fn with_folder(mut self, folder: SystemFolder) -> Self {
        self.prefs = folder.preferences();
        self.collapsed = self.prefs.collapsed.iter().cloned().collect();
        if let Some(p) = &self.prefs.open_with {
            self.open_with.clone_from(p);
        }
        if let Some(q) = self.prefs.searches.first() {
            self.find.query.clone_from(q);
        }
        self.folder = Some(folder);
        self
    }

    /// Saves the developer's state (the cursor of the source shown included).
    pub fn remember(&mut self) {
        let Some(folder) = &self.folder else { return };
        if let Some(s) = &self.selected {
            let p = self.editor.cursor().position;
            self.prefs.cursors.remove(&s.rel);
            self.prefs.cursors.insert(s.rel.clone(), (p.line, p.column));
        }
        self.prefs.collapsed = self.collapsed.iter().cloned().collect();
        if let Err(err) = folder.save_preferences(&self.prefs) {
            tracing::warn!(%err, "the project's preferences could not be saved");
        }
    }

    /// Every source, in the list's order (none until the project is read).
    fn all_sources(&self) -> Vec<Source> {
        match &self.project {
            Some(Ok(p)) => source_lists(p).into_iter().flatten().collect(),
            _ => Vec::new(),
        }
    }

    /// Where the selected source is in `all`.
    fn selected_index(&self, all: &[Source]) -> Option<usize> {
        let s = self.selected.as_ref()?;
        all.iter().position(|x| x.rel == s.rel)
    }

    /// The source selected.
    pub fn selected(&self) -> Option<&Source> {
        self.selected.as_ref()
    }

    /// The editor's text.
    #[cfg(test)]
    pub fn editor_text(&self) -> String {
        self.editor.text()
    }

    /// The editor's cursor: (line, column), from 0.
    #[cfg(test)]
    pub fn cursor(&self) -> (usize, usize) {
        let p = self.editor.cursor().position;
        (p.line, p.column)
    }

    /// Who else holds the lock of `rel`, if anyone.
    pub fn locked_by(&self, rel: &str) -> Option<&LockInfo> {
        let own = self.session.as_ref().map(|s| s.id.as_str());
        self.locks
            .iter()
            .find(|l| l.path == rel && Some(l.session_id.as_str()) != own)
    }

    fn writable(&self) -> bool {
        self.mode == Mode::Development
            && self
                .selected
                .as_ref()
                .is_some_and(|s| s.editable && self.locked_by(&s.rel).is_none())
    }

    fn read(&self, rel: &str) -> String {
        if let Some(t) = self.edits.get(rel) {
            return t.clone();
        }
        std::fs::read(self.root.join(rel))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Applies a message.
    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Loaded(project) => {
                self.project = Some(Arc::unwrap_or_clone(project));
                // The source shown when the project was last left.
                if self.selected.is_none()
                    && let Some(rel) = self.prefs.selected.clone()
                    && let Some(s) = self.all_sources().into_iter().find(|s| s.rel == rel)
                {
                    return self.update(Message::Select(s));
                }
            }
            Message::ToggleTable(name) => {
                if !self.collapsed.remove(&name) {
                    self.collapsed.insert(name);
                }
                self.remember();
            }
            Message::Find(m) => match self.find.update(m)? {
                find::Event::Search(q) => {
                    self.prefs.searches.retain(|s| *s != q);
                    self.prefs.searches.insert(0, q.clone());
                    self.remember();
                    return Some(Event::Find(q));
                }
                find::Event::Open(hit) => {
                    let source = self
                        .all_sources()
                        .into_iter()
                        .find(|s| s.rel == hit.path)
                        .unwrap_or_else(|| Source {
                            name: hit.path.rsplit('/').next().unwrap_or_default().to_owned(),
                            rel: hit.path.clone(),
                            editable: false,
                        });
                    if self.selected.as_ref().map(|s| &s.rel) != Some(&source.rel) {
                        let _ = self.update(Message::Select(source));
                    }
                    self.editor.move_to(text_editor::Cursor {
                        position: text_editor::Position {
                            line: hit.line.saturating_sub(1),
                            column: 0,
                        },
                        selection: None,
                    });
                    self.marked_line = Some(hit.line);
                    return Some(Event::ShowLine(hit.line));
                }
            },
            Message::Move(step) => {
                let all = self.all_sources();
                let at = self.selected_index(&all);
                let last = all.len().checked_sub(1)?;
                let i = match (step, at) {
                    (Move::First, _) | (Move::Down, None) => 0,
                    (Move::Last, _) | (Move::Up, None) => last,
                    (Move::Up, Some(i)) => i.saturating_sub(1),
                    (Move::Down, Some(i)) => (i + 1).min(last),
                };
                return self.update(Message::Select(all[i].clone()));
            }
            Message::TypeAhead(c) => {
                let all = self.all_sources();
                let start = self.selected_index(&all).map_or(0, |i| i + 1);
                let n = all.len();
                let hit = (0..n).map(|k| (start + k) % n).find(|&i| {
                    all[i]
                        .name
                        .chars()
                        .next()
                        .is_some_and(|f| f.to_lowercase().eq(c.to_lowercase()))
                });
                if let Some(i) = hit {
                    return self.update(Message::Select(all[i].clone()));
                }
            }
            Message::Select(source) => {
                self.store_edit();
                if let Some(previous) = &self.selected {
                    let p = self.editor.cursor().position;
                    self.prefs
                        .cursors
                        .insert(previous.rel.clone(), (p.line, p.column));
                }
                let text = self.read(&source.rel);
                self.original = std::fs::read(self.root.join(&source.rel))
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                self.editor = text_editor::Content::with_text(&text);
                // Where the cursor was when this source was last left.
                if let Some(&(line, column)) = self.prefs.cursors.get(&source.rel) {
                    self.editor.move_to(text_editor::Cursor {
                        position: text_editor::Position { line, column },
                        selection: None,
                    });
                }
                self.marked_line = None;
                self.prefs.selected = Some(source.rel.clone());
                self.selected = Some(source);
                self.remember();
            }
            Message::Edit(action) => {
                if action.is_edit() && !self.writable() {
                    return None;
                }
                let edit = action.is_edit();
                self.editor.perform(action);
                if edit {
                    self.store_edit();
                }
            }
            Message::SaveAll => {
                self.store_edit();
                if self.mode != Mode::Development || self.edits.is_empty() || self.saving {
                    return None;
                }
                self.saving = true;
                self.save_status = None;
                let files = self
                    .edits
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                    .collect();
                return Some(Event::SaveAll(files));
            }
            Message::Reconnect => return Some(Event::Reconnect),
            Message::UpdateResources => {
                self.resources = Some(ResourcesNews::Copying);
                return Some(Event::UpdateResources);
            }
            Message::Disconnect => return Some(Event::Disconnect),
            Message::OpenWith if !self.open_with.trim().is_empty() => {
                return Some(Event::OpenWith(
                    self.open_with.trim().to_owned(),
                    self.root.clone(),
                ));
            }
            Message::OpenWith => {}
            Message::OpenWithChanged(p) => {
                self.open_with = p.clone();
                self.prefs.open_with = Some(p.clone());
                self.remember();
                return Some(Event::OpenWithChanged(p));
            }
            Message::ClearMessages => self.messages.clear(),
        }
        None
    }

    /// Records the editor's text as an edit when it differs from the file.
    fn store_edit(&mut self) {
        let Some(s) = &self.selected else { return };
        let text = self.editor.text();
        // The editor always ends with a newline; compare without it.
        if text.trim_end_matches('\n') == self.original.trim_end_matches('\n') {
            self.edits.remove(&s.rel);
        } else {
            self.edits.insert(s.rel.clone(), text);
        }
    }

    /// Save all finished.
    pub fn saved(&mut self, result: Result<Stamp, String>) {
        self.saving = false;
        let announced = self.announced_while_saving.take();
        if let Ok(stamp) = &result {
            self.edits.clear();
            if let Some(s) = self.selected.clone() {
                self.original = self.read(&s.rel);
            }
            self.own_build = Some(*stamp);
        }
        if announced.is_some_and(|a| result.as_ref().ok() != Some(&a)) {
            self.new_version = true;
        }
        self.save_status = Some(result.map(|s| s.short()));
    }

    /// The server announced build `stamp` (the project or its Resources changed): a new
    /// version to reconnect to — unless it is the build of the user's own Save all.
    pub fn project_updated(&mut self, stamp: Stamp) {
        if self.saving {
            self.announced_while_saving = Some(stamp);
        } else if self.own_build != Some(stamp) {
            self.new_version = true;
        }
    }

    /// The window's content: header, banners, the project (sidebar and source), footer.
    pub fn view(&self, tr: &'static Strings) -> Element<'_, Message> {
        let body = row![
            container(self.sidebar(tr))
                .width(Length::Fixed(280.0))
                .height(Length::Fill),
            rule::vertical(1),
            container(self.source(tr))
                .width(Length::Fill)
                .height(Length::Fill),
        ]
        .spacing(8);

        column![
            self.header(tr),
            self.banners(tr),
            rule::horizontal(1),
            body,
            rule::horizontal(1),
            self.footer(tr)
        ]
        .spacing(8)
        .padding(12)
        .into()
    }

    /// The project's name, server and mode; Save all (development mode) and Disconnect.
    fn header(&self, tr: &'static Strings) -> Element<'_, Message> {
        let mode = match self.mode {
            Mode::Remote => tr.mode_remote,
            Mode::Development => tr.mode_development,
            Mode::Offline => tr.mode_offline,
        };
        // The title takes the room the buttons leave (and wraps); the buttons stay whole down
        // to the minimum window size.
        let mut header = row![
            column![
                text(self.name.as_str()).size(22),
                text(format!("{}: {}   ·   {mode}", tr.server, self.address)).size(13),
            ]
            .spacing(2)
            .width(Length::Fill),
        ]
        .spacing(8)
        .align_y(Alignment::Center);
        if self.mode == Mode::Development {
            let label = if self.edits.is_empty() {
                tr.save_all.to_owned()
            } else {
                format!("{} ({})", tr.save_all, self.edits.len())
            };
            header = header.push(focusable(button(text(label)).on_press_maybe(
                (!self.edits.is_empty() && !self.saving).then_some(Message::SaveAll),
            )));
        }
        header = header.push(focusable(
            button(text(tr.disconnect))
                .on_press(Message::Disconnect)
                .style(button::secondary),
        ));
        header.into()
    }

    /// What the server said: a new version, a shutdown, a drop, reconnecting, its messages;
    /// and the state of a Save all.
    fn banners(&self, tr: &'static Strings) -> Element<'_, Message> {
        let mut banners = column![].spacing(6);
        if self.new_version {
            banners = banners.push(
                container(
                    row![
                        text(format!("{} —", tr.new_version)),
                        focusable(button(text(tr.reconnect)).on_press(Message::Reconnect))
                    ]
                    .spacing(10)
                    .align_y(Alignment::Center),
                )
                .padding(8)
                .width(Length::Fill)
                .style(container::primary),
            );
        }
        if let Some(news) = &self.resources {
            let line: Element<'_, Message> = match news {
                ResourcesNews::Offered => row![
                    text(format!("{} —", tr.resources_offered)),
                    focusable(
                        button(text(tr.resources_update_now)).on_press(Message::UpdateResources)
                    )
                ]
                .spacing(10)
                .align_y(Alignment::Center)
                .into(),
                ResourcesNews::Later => text(tr.resources_later).into(),
                ResourcesNews::Copying => text(tr.resources_copying).into(),
                ResourcesNews::Copied => text(tr.resources_copied).into(),
                ResourcesNews::Failed(e) => text(format!("{}: {e}", tr.resources_failed)).into(),
            };
            let style = if matches!(news, ResourcesNews::Failed(_)) {
                container::danger
            } else {
                container::secondary
            };
            banners = banners.push(container(line).padding(8).width(Length::Fill).style(style));
        }
        if let Some(s) = self.shutdown_in {
            banners = banners.push(
                container(text(format!("{} {s} s", tr.shutdown_in)))
                    .padding(8)
                    .width(Length::Fill)
                    .style(container::danger),
            );
        }
        if let Some(r) = &self.dropped {
            banners = banners.push(
                container(text(format!("{}: {r}", tr.dropped)))
                    .padding(8)
                    .width(Length::Fill)
                    .style(container::danger),
            );
        }
        if self.reconnecting {
            banners = banners.push(
                container(text(tr.reconnecting))
                    .padding(8)
                    .width(Length::Fill)
                    .style(container::secondary),
            );
        }
        if !self.messages.is_empty() {
            banners = banners.push(
                container(row![
                    column(
                        self.messages.iter().map(|m| text(format!(
                            "{}: {m}",
                            tr.message_from_server
                        ))
                        .into())
                    ),
                    space::horizontal(),
                    focusable(
                        button(text("×"))
                            .on_press(Message::ClearMessages)
                            .style(button::text)
                    ),
                ])
                .padding(8)
                .width(Length::Fill)
                .style(container::secondary),
            );
        }
        if self.saving {
            banners = banners.push(text(tr.saving));
        }
        match &self.save_status {
            Some(Ok(s)) => banners = banners.push(text(format!("{} ({s})", tr.saved))),
            Some(Err(e)) => banners = banners.push(text(e.as_str()).style(text::danger)),
            None => {}
        }
        banners.into()
    }

    /// The session, its storage, and "Open with".
    fn footer(&self, tr: &'static Strings) -> Element<'_, Message> {
        // The status takes the room the "Open with" controls leave (and wraps), so that the
        // controls stay whole down to the minimum window size.
        let mut status = column![].spacing(2).width(Length::Fill);
        if let Some(s) = &self.session {
            // Who, since when (local time), and the session's id in a tooltip.
            let since = super::clock::parse_utc(&s.creation_date_time)
                .map_or_else(|| s.creation_date_time.clone(), super::clock::local_hm);
            let who = text(format!("{} · {} {since}", s.user_name, tr.connected_since)).size(12);
            status = status.push(tooltip(
                who,
                container(text(format!("{} {}", tr.session, s.id)).size(12))
                    .padding(6)
                    .style(container::rounded_box),
                tooltip::Position::Top,
            ));
        }
        status = status.push(
            text(format!(
                "{}: {}",
                tr.storage,
                storage_summary(&self.storage, tr)
            ))
            .size(12),
        );
        row![
            status,
            text_input(tr.open_with_hint, &self.open_with)
                .on_input(Message::OpenWithChanged)
                .width(Length::Fixed(200.0))
                .size(12),
            focusable(
                button(text(tr.open_with).size(12))
                    .on_press(Message::OpenWith)
                    .style(button::secondary)
            ),
        ]
        .spacing(8)
        .align_y(Alignment::Center)
        .into()
    }

    fn sidebar(&self, tr: &'static Strings) -> Element<'_, Message> {
        let field = self.find.field(tr).map(Message::Find);
        let below = if self.find.is_open() {
            self.find.results(tr).map(Message::Find)
        } else {
            self.sources(tr)
        };
        column![field, below].spacing(6).into()
    }

    /// Tables and fields, then the sources by kind.
    fn sources(&self, tr: &'static Strings) -> Element<'_, Message> {
        let project = match &self.project {
            Some(Ok(p)) => p,
            Some(Err(e)) => return text(e.as_str()).into(),
            None => return text(tr.reading_project).into(),
        };
        let mut list = column![].spacing(2);
        list = list.push(text(tr.tables).size(16));
        for t in &project.catalog.tables {
            // ▶ collapsed, ▼ expanded (the disclosure triangles of GNOME, macOS and Windows
            // tree views); a click toggles.
            let open = !self.collapsed.contains(&t.name);
            list = list.push(
                button(text(format!("{} {}", if open { "▼" } else { "▶" }, t.name)))
                    .on_press(Message::ToggleTable(t.name.clone()))
                    .padding([2, 4])
                    .style(button::text),
            );
            if open {
                for f in &t.fields {
                    list = list.push(text(format!("      {}  ({})", f.name, f.type_name)).size(12));
                }
            }
        }
        let titles = [tr.methods, tr.classes, tr.database_methods, tr.forms];
        for (title, items) in titles.into_iter().zip(source_lists(project)) {
            list = list.push(space().height(6));
            list = list.push(text(title).size(16));
            for s in items {
                let mut label = s.name.clone();
                if self.edits.contains_key(&s.rel) {
                    label = format!("● {label}");
                }
                if self.locked_by(&s.rel).is_some() {
                    label = format!("🔒 {label}");
                }
                let selected = self.selected.as_ref().is_some_and(|x| x.rel == s.rel);
                let b = button(text(label).size(13))
                    .width(Length::Fill)
                    .on_press(Message::Select(s));
                list = list.push(if selected {
                    b.style(button::primary)
                } else {
                    b.style(super::style::list_row)
                });
            }
        }
        scrollable(list).height(Length::Fill).into()
    }

    fn source(&self, tr: &'static Strings) -> Element<'_, Message> {
        let Some(s) = &self.selected else {
            return text(tr.select_source).into();
        };
        let mut status = format!("{}  ", s.rel);
        if let Some(l) = self.locked_by(&s.rel) {
            status.push_str(&format!(
                "— {} {} ({})",
                tr.locked_by, l.user_name, l.machine_name
            ));
        } else if !self.writable() {
            status.push_str(&format!("— {}", tr.read_only));
        } else if self.edits.contains_key(&s.rel) {
            status.push_str(&format!("— {}", tr.modified));
        }
        if self.writable() {
            let position = self.editor.cursor().position;
            let (line, col) = (position.line, position.column);
            column![
                text(status).size(12),
                text_editor(&self.editor)
                    .on_action(Message::Edit)
                    .font(Font::MONOSPACE)
                    .height(Length::Fill),
                text(format!("Ln {}, Col {}", line + 1, col + 1)).size(12),
            ]
            .spacing(4)
            .into()
        } else {
            // Read-only: numbered lines.
            let text_value = self.editor.text();
            let width = text_value.lines().count().to_string().len();
            let marked = self.marked_line;
            let lines = column(text_value.lines().enumerate().map(|(i, l)| {
                // The line a Find result pointed at is marked, in a column of its own (the
                // numbers stay aligned).
                let mut line = row![];
                if let Some(m) = marked {
                    line = line.push(
                        text(if m == i + 1 { "▶" } else { "" })
                            .size(13)
                            .width(Length::Fixed(14.0)),
                    );
                }
                line.push(
                    text(format!("{:>width$}", i + 1))
                        .font(Font::MONOSPACE)
                        .size(13)
                        .style(text::secondary),
                )
                // A long line scrolls sideways, as in a code editor, instead of wrapping.
                .push(
                    text(l.replace('\t', "    "))
                        .font(Font::MONOSPACE)
                        .size(13)
                        .wrapping(text::Wrapping::None),
                )
                .spacing(12)
                .into()
            }));
            column![
                text(status).size(12),
                scrollable(lines)
                    .id(SOURCE_LINES)
                    .direction(scrollable::Direction::Both {
                        vertical: scrollable::Scrollbar::default(),
                        horizontal: scrollable::Scrollbar::default(),
                    })
                    .height(Length::Fill)
                    .width(Length::Fill)
            ]
            .spacing(4)
            .into()
        }
    }
}

/// The project's sources as the list shows them: methods, classes, database methods, forms.
fn source_lists(project: &Project) -> [Vec<Source>; 4] {
    let sources = |kind: SourceKind, names: &[String]| -> Vec<Source> {
        names
            .iter()
            .map(|n| Source {
                name: n.clone(),
                rel: format!("Project/Sources/{}", kind.relative_path(n)),
                editable: true,
            })
            .collect()
    };
    [
        sources(SourceKind::Method, &project.content.methods),
        sources(SourceKind::Class, &project.content.classes),
        sources(
            SourceKind::DatabaseMethod,
            &project.content.database_methods,
        ),
        project
            .content
            .forms
            .iter()
            .map(|f| Source {
                name: f.clone(),
                rel: format!("Project/Sources/Forms/{f}/form.4DForm"),
                editable: false,
            })
            .collect(),
    ]
}

/// Launches `program` on `folder` (detached).
pub fn open_with(program: &str, folder: &Path) -> std::io::Result<()> {
    std::process::Command::new(program)
        .arg(folder)
        .spawn()
        .map(|_| ())
}
