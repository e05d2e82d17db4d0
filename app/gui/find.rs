//! Find in project (Ctrl/Cmd+Shift+F): a field over the project's sources and the lines that
//! hold the text, case-insensitive. The word index behind it lives in the system folder's
//! `DerivedDataRemote/` and is refreshed before each search, reading only the files changed
//! since; a click on a line opens its source there.

use std::path::PathBuf;
use std::sync::Arc;

use iced::widget::{button, column, row, scrollable, text, text_input};
use iced::{Alignment, Element, Length, Task};
use remote4d_core::cache::SystemFolder;
use remote4d_core::project::search::{Hit, SearchIndex};

use super::focus::focusable;
use super::i18n::Strings;

/// The id of the field (focused by Ctrl/Cmd+Shift+F).
pub const INPUT: &str = "find-in-project";

/// At most this many lines are listed.
const LIMIT: usize = 1000;

/// What a search found.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The text searched for.
    pub query: String,
    /// The lines.
    pub hits: Vec<Hit>,
    /// Files in the index.
    pub files: usize,
    /// Files read to refresh the index (new or changed since the last search).
    pub refreshed: usize,
}

/// The panel's state.
#[derive(Debug, Default)]
pub struct FindPanel {
    /// The text typed.
    pub query: String,
    /// The last search's result (`None`: no search shown; the sources are listed).
    pub found: Option<Result<Found, String>>,
    /// A search is running.
    pub searching: bool,
}

/// What the panel does.
#[derive(Debug, Clone)]
pub enum Message {
    /// The text changed.
    Changed(String),
    /// Enter: search.
    Submit,
    /// A search finished.
    Found(Arc<Result<Found, String>>),
    /// A line was clicked.
    Open(usize),
    /// Back to the list of sources.
    Close,
}

/// What the panel asks the project window.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Search for this text.
    Search(String),
    /// Open this line's source at the line.
    Open(Hit),
}

impl FindPanel {
    /// True while it lists a search's lines (instead of the sources).
    pub fn is_open(&self) -> bool {
        self.found.is_some() || self.searching
    }

    /// Applies a message.
    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Changed(q) => self.query = q,
            Message::Submit => {
                let q = self.query.trim();
                if q.is_empty() {
                    self.found = None;
                } else {
                    self.searching = true;
                    return Some(Event::Search(q.to_owned()));
                }
            }
            Message::Found(found) => {
                self.searching = false;
                self.found = Some(Arc::unwrap_or_clone(found));
            }
            Message::Open(i) => {
                if let Some(Ok(f)) = &self.found {
                    return f.hits.get(i).cloned().map(Event::Open);
                }
            }
            Message::Close => {
                self.found = None;
                self.searching = false;
            }
        }
        None
    }

    /// The field, with Close when lines are listed.
    pub fn field(&self, tr: &'static Strings) -> Element<'_, Message> {
        let input = text_input(tr.find_hint, &self.query)
            .id(INPUT)
            .on_input(Message::Changed)
            .on_submit(Message::Submit)
            .size(13);
        if self.is_open() {
            row![
                input,
                focusable(
                    button(text(tr.find_close).size(12))
                        .on_press(Message::Close)
                        .style(button::secondary)
                )
            ]
            .spacing(4)
            .align_y(Alignment::Center)
            .into()
        } else {
            input.into()
        }
    }

    /// The lines found (or why not).
    pub fn results(&self, tr: &'static Strings) -> Element<'_, Message> {
        if self.searching {
            return text(tr.find_searching).size(13).into();
        }
        let found = match &self.found {
            None => return column![].into(),
            Some(Err(e)) => return text(e.as_str()).size(13).into(),
            Some(Ok(f)) => f,
        };
        let summary = if found.hits.is_empty() {
            format!("{} “{}”", tr.find_nothing, found.query)
        } else {
            let files: std::collections::BTreeSet<&str> =
                found.hits.iter().map(|h| h.path.as_str()).collect();
            let more = if found.hits.len() >= LIMIT { "+" } else { "" };
            format!(
                "{}{more} {} · {} {} · “{}”",
                found.hits.len(),
                tr.find_lines,
                files.len(),
                tr.find_files,
                found.query
            )
        };
        let mut list = column![text(summary).size(12)].spacing(2);
        for (i, hit) in found.hits.iter().enumerate() {
            let name = display_name(&hit.path);
            list = list.push(
                button(
                    column![
                        text(format!("{name}:{}", hit.line)).size(12),
                        text(hit.text.as_str()).size(12).style(text::secondary),
                    ]
                    .spacing(1),
                )
                .width(Length::Fill)
                .on_press(Message::Open(i))
                .style(super::style::list_row),
            );
        }
        scrollable(list).height(Length::Fill).into()
    }
}

/// How a file is named in the list: a method or class by its name, a form by its folder.
fn display_name(path: &str) -> &str {
    let mut parts = path.rsplit('/');
    let file = parts.next().unwrap_or(path);
    if file.eq_ignore_ascii_case("form.4DForm") {
        return parts.next().unwrap_or(file);
    }
    file.rsplit_once('.').map_or(file, |(stem, _)| stem)
}

/// Searches the project at `root` for `query` off the UI thread, with the index kept in
/// `folder`'s `DerivedDataRemote/` (refreshed first), or built in memory without a folder.
pub fn search(folder: Option<SystemFolder>, root: PathBuf, query: String) -> Task<Message> {
    Task::perform(
        async move {
            tokio::task::spawn_blocking(move || {
                let (index, stats) = match &folder {
                    Some(f) => f.search_index(&root).map_err(|e| e.to_string())?,
                    None => SearchIndex::build(&root),
                };
                Ok(Found {
                    hits: index.find(&root, &query, LIMIT),
                    query,
                    files: index.files.len(),
                    refreshed: stats.read,
                })
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
        },
        |r| Message::Found(Arc::new(r)),
    )
}
