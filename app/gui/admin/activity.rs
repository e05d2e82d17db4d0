//! The Activity page (4D Server's Real Time Monitor): the server's events as they come —
//! connections, logins refused, reloads, administration, errors — newest first, filterable.

use iced::widget::{column, row, scrollable, text, text_input};
use iced::{Element, Length};
use remote4d_core::protocol::paths::{ActivityEntry, ActivityKind};

use super::hm;

/// The page's state.
#[derive(Debug, Default)]
pub struct Activity {
    filter: String,
}

/// What the page says.
#[derive(Debug, Clone)]
pub enum Message {
    /// The filter was typed.
    Filter(String),
}

/// Events drawn at most, newest first (the filter finds older ones).
const SHOWN: usize = 300;

fn kind(k: ActivityKind) -> &'static str {
    match k {
        ActivityKind::Session => "session",
        ActivityKind::Refused => "refused",
        ActivityKind::Reload => "reload",
        ActivityKind::Admin => "admin",
        ActivityKind::Error => "error",
    }
}

impl Activity {
    /// Applies `message`.
    pub fn update(&mut self, message: Message) {
        match message {
            Message::Filter(f) => self.filter = f,
        }
    }

    /// The page.
    pub fn view<'a>(
        &'a self,
        events: &'a std::collections::VecDeque<ActivityEntry>,
    ) -> Element<'a, Message> {
        let needle = self.filter.trim().to_lowercase();
        let mut list = column![].spacing(2);
        let mut any = false;
        for e in events
            .iter()
            .rev()
            .filter(|e| {
                needle.is_empty()
                    || e.text.to_lowercase().contains(&needle)
                    || kind(e.kind).contains(&needle)
            })
            .take(SHOWN)
        {
            any = true;
            let error = e.kind == ActivityKind::Error;
            let style = move |theme: &iced::Theme| {
                if error {
                    text::danger(theme)
                } else {
                    text::Style::default()
                }
            };
            list = list.push(
                row![
                    text(hm(e.at_ms)).width(70),
                    text(kind(e.kind)).width(80).style(style),
                    text(&e.text).width(Length::Fill).style(style),
                ]
                .spacing(8),
            );
        }
        if !any {
            list = list.push(text(if events.is_empty() {
                "Nothing has happened yet."
            } else {
                "No event matches the filter."
            }));
        }
        column![
            text_input("Filter the events", &self.filter)
                .id("admin-activity-filter")
                .on_input(Message::Filter),
            scrollable(list).height(Length::Fill),
        ]
        .spacing(12)
        .into()
    }
}
