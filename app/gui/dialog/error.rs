//! Errors in plain words, with what to do next.

use iced::Element;
use iced::widget::{button, column, row, space, text};

use super::Event;
use crate::gui::focus::focusable;
use crate::gui::i18n::Strings;

/// An error to show.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDialog {
    /// What happened and what to do (never a debug string).
    pub message: String,
    /// The last good version may be opened offline.
    pub offline: bool,
    /// Offer "Select…" (the connection window) — merged clients that allow it.
    pub select: bool,
}

/// Messages of the error dialog.
#[derive(Debug, Clone)]
pub enum Message {
    /// OK.
    Close,
    /// Open the offline copy.
    Offline,
    /// Choose another server.
    Select,
}

impl ErrorDialog {
    /// Applies a message.
    pub fn update(&mut self, message: Message) -> Option<Event> {
        Some(match message {
            Message::Close => Event::Cancelled,
            Message::Offline => Event::OpenOffline,
            Message::Select => Event::Select,
        })
    }

    /// The dialog.
    pub fn view(&self, tr: &'static Strings) -> Element<'_, Message> {
        let mut buttons = row![space::horizontal()].spacing(8);
        if self.offline {
            buttons = buttons.push(focusable(
                button(text(tr.open_offline))
                    .on_press(Message::Offline)
                    .style(button::secondary),
            ));
        }
        if self.select {
            buttons = buttons.push(focusable(
                button(text(tr.select))
                    .on_press(Message::Select)
                    .style(button::secondary),
            ));
        }
        buttons = buttons.push(focusable(button(text(tr.ok)).on_press(Message::Close)));
        column![
            text(tr.error_title).size(20),
            text(self.message.as_str()),
            buttons
        ]
        .spacing(12)
        .into()
    }
}
