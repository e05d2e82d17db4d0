//! The Users page (4D Server's Users): the sessions — user, machine, address, mode, connected
//! since, idle, edit locks — sortable and filterable; a message to one, some or all; a drop after
//! an optional delay.

use std::collections::BTreeSet;

use iced::widget::{button, checkbox, column, row, scrollable, text, text_input};
use iced::{Alignment, Element, Length};
use remote4d_core::protocol::paths::AdminSession;

use super::data::Request;
use super::{hm, section};
use crate::gui::clock;

/// The columns it sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// 4D user.
    User,
    /// Machine.
    Machine,
    /// Connected since.
    Since,
    /// Idle time.
    Idle,
}

/// The page's state.
#[derive(Debug, Default)]
pub struct Users {
    filter: String,
    sort: Option<(Column, bool)>,
    selected: BTreeSet<String>,
    message: String,
    delay: String,
    reason: String,
    /// A mistake in the form, said under it.
    problem: Option<String>,
}

/// What the page says.
#[derive(Debug, Clone)]
pub enum Message {
    /// The filter was typed.
    Filter(String),
    /// A column's header was clicked.
    Sort(Column),
    /// A session was ticked or unticked.
    Select(String, bool),
    /// The message was typed.
    Text(String),
    /// Send the message.
    Send,
    /// The delay was typed.
    Delay(String),
    /// The reason was typed.
    Reason(String),
    /// Drop the ticked sessions.
    Drop,
}

impl Users {
    /// The ticked sessions still connected.
    pub fn selected(&self, sessions: &[AdminSession]) -> Vec<String> {
        sessions
            .iter()
            .filter(|s| self.selected.contains(&s.info.id))
            .map(|s| s.info.id.clone())
            .collect()
    }

    /// Applies `message`; what to ask of the server, if anything.
    pub fn update(&mut self, message: Message, sessions: &[AdminSession]) -> Option<Request> {
        self.problem = None;
        match message {
            Message::Filter(f) => self.filter = f,
            Message::Sort(c) => {
                self.sort = match self.sort {
                    Some((s, down)) if s == c => Some((c, !down)),
                    _ => Some((c, false)),
                };
            }
            Message::Select(id, on) => {
                if on {
                    self.selected.insert(id);
                } else {
                    self.selected.remove(&id);
                }
            }
            Message::Text(t) => self.message = t,
            Message::Delay(d) => self.delay = d,
            Message::Reason(r) => self.reason = r,
            Message::Send => {
                let text = self.message.trim().to_owned();
                if text.is_empty() {
                    self.problem = Some("type the message first".into());
                    return None;
                }
                self.message.clear();
                return Some(Request::Message {
                    text,
                    sessions: self.selected(sessions),
                });
            }
            Message::Drop => {
                let chosen = self.selected(sessions);
                if chosen.is_empty() {
                    self.problem = Some("tick the sessions to drop first".into());
                    return None;
                }
                let Some(in_seconds) = super::seconds(&self.delay) else {
                    self.problem = Some(format!("the delay {}", super::SECONDS_EXPECTED));
                    return None;
                };
                let reason = Some(self.reason.trim().to_owned()).filter(|r| !r.is_empty());
                self.selected.clear();
                return Some(Request::Drop {
                    sessions: chosen,
                    in_seconds,
                    reason,
                });
            }
        }
        None
    }

    /// The sessions shown: filtered (user, machine, address) and sorted.
    fn shown<'a>(&self, sessions: &'a [AdminSession]) -> Vec<&'a AdminSession> {
        let needle = self.filter.trim().to_lowercase();
        let mut list: Vec<&AdminSession> = sessions
            .iter()
            .filter(|s| {
                needle.is_empty()
                    || [&s.info.user_name, &s.info.machine_name, &s.info.ip_address]
                        .iter()
                        .any(|f| f.to_lowercase().contains(&needle))
            })
            .collect();
        if let Some((column, down)) = self.sort {
            list.sort_by(|a, b| {
                let order = match column {
                    Column::User => a.info.user_name.cmp(&b.info.user_name),
                    Column::Machine => a.info.machine_name.cmp(&b.info.machine_name),
                    Column::Since => a.info.creation_date_time.cmp(&b.info.creation_date_time),
                    Column::Idle => a.idle_secs.cmp(&b.idle_secs),
                };
                if down { order.reverse() } else { order }
            });
        }
        list
    }

    /// The page.
    pub fn view<'a>(&'a self, sessions: &'a [AdminSession]) -> Element<'a, Message> {
        let header = |label: &'static str, column: Column| {
            let mark = match self.sort {
                Some((c, false)) if c == column => " ▲",
                Some((c, true)) if c == column => " ▼",
                _ => "",
            };
            button(text(format!("{label}{mark}")).size(13))
                .on_press(Message::Sort(column))
                .style(button::text)
                .padding(2)
                .width(Length::FillPortion(2))
        };
        let mut table = column![
            row![
                text("").width(24),
                header("User", Column::User),
                header("Machine", Column::Machine),
                text("Address").size(13).width(Length::FillPortion(2)),
                text("Mode").size(13).width(Length::FillPortion(2)),
                header("Since", Column::Since),
                header("Idle", Column::Idle),
                text("Locks").size(13).width(Length::FillPortion(1)),
            ]
            .align_y(Alignment::Center)
        ]
        .spacing(4);
        let shown = self.shown(sessions);
        if shown.is_empty() {
            table = table.push(text(if sessions.is_empty() {
                "No one is connected."
            } else {
                "No session matches the filter."
            }));
        }
        for s in shown {
            let i = &s.info;
            let since = clock::parse_utc(&i.creation_date_time)
                .map_or_else(|| i.creation_date_time.clone(), |t| hm(t as u64 * 1000));
            let id = i.id.clone();
            table = table.push(
                row![
                    checkbox(self.selected.contains(&i.id))
                        .on_toggle(move |on| Message::Select(id.clone(), on))
                        .width(24),
                    text(&i.user_name).width(Length::FillPortion(2)),
                    text(&i.machine_name).width(Length::FillPortion(2)),
                    text(&i.ip_address).width(Length::FillPortion(2)),
                    text(if s.development {
                        "development"
                    } else {
                        "remote"
                    })
                    .width(Length::FillPortion(2)),
                    text(since).width(Length::FillPortion(2)),
                    text(crate::cli::output::duration_secs(s.idle_secs))
                        .width(Length::FillPortion(2)),
                    text(s.locks.len().to_string()).width(Length::FillPortion(1)),
                ]
                .align_y(Alignment::Center),
            );
        }
        let ticked = self.selected(sessions).len();
        let to = if ticked == 0 {
            "Send to all".to_owned()
        } else {
            format!("Send to {ticked}")
        };
        let mut actions = column![
            row![
                text_input("A message to the users…", &self.message)
                    .id("admin-message")
                    .on_input(Message::Text)
                    .on_submit(Message::Send),
                button(text(to)).on_press(Message::Send),
            ]
            .spacing(8)
            .align_y(Alignment::Center),
            row![
                text("Drop the ticked sessions in"),
                text_input("0", &self.delay)
                    .id("admin-delay")
                    .on_input(Message::Delay)
                    .width(60),
                text("s, because"),
                text_input("(optional)", &self.reason)
                    .id("admin-reason")
                    .on_input(Message::Reason),
                button(text("Drop"))
                    .on_press(Message::Drop)
                    .style(button::danger),
            ]
            .spacing(8)
            .align_y(Alignment::Center),
        ]
        .spacing(8);
        if let Some(p) = &self.problem {
            actions = actions.push(text(p).style(text::danger));
        }
        column![
            text_input("Filter by user, machine or address", &self.filter)
                .id("admin-filter")
                .on_input(Message::Filter),
            section(
                format!("Sessions ({})", sessions.len()),
                scrollable(table).height(Length::Fill)
            ),
            actions,
        ]
        .spacing(12)
        .into()
    }
}
