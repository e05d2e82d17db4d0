//! Server identity dialogs: a new server (trust on first use) and a changed identity.

use iced::widget::{button, checkbox, column, text};
use iced::{Element, Font};

use super::Event;
use crate::gui::i18n::Strings;

/// First contact with a server.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIdentity {
    /// Publication name.
    pub name: String,
    /// The fingerprint it presented.
    pub fingerprint: String,
    /// When the dialog appeared: Enter trusts only once it could have been read.
    pub shown: std::time::Instant,
}

/// How long the first-contact dialog is shown before Enter may trust (an Enter meant for the
/// window behind it, or typed ahead, never trusts a server).
pub const READ_FIRST: std::time::Duration = std::time::Duration::from_millis(700);

/// The identity changed since the last connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    /// Trusted before.
    pub expected: String,
    /// Presented now.
    pub presented: String,
    /// "I have checked it".
    pub confirmed: bool,
}

/// Messages of both identity dialogs.
#[derive(Debug, Clone)]
pub enum Message {
    /// Trust (new) / accept (changed).
    Accept,
    /// Cancel.
    Cancel,
    /// The confirmation box of the changed-identity dialog.
    Confirm(bool),
}

fn fingerprint(fp: &str) -> Element<'_, Message> {
    // Two lines of 16 bytes, monospace, as administrators read them aloud.
    let parts: Vec<&str> = fp.split(':').collect();
    let (a, b) = parts.split_at(parts.len().div_ceil(2));
    column![
        text(a.join(":")).font(Font::MONOSPACE),
        text(b.join(":")).font(Font::MONOSPACE)
    ]
    .into()
}

impl NewIdentity {
    /// Applies a message.
    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Accept => Some(Event::Trust),
            Message::Cancel => Some(Event::Cancelled),
            Message::Confirm(_) => None,
        }
    }

    /// The dialog.
    pub fn view(&self, tr: &'static Strings) -> Element<'_, Message> {
        column![
            text(tr.new_identity_title).size(20),
            text(self.name.as_str()).size(16),
            text(tr.new_identity_text),
            fingerprint(&self.fingerprint),
            super::buttons(
                None,
                button(text(tr.cancel))
                    .on_press(Message::Cancel)
                    .style(button::secondary)
                    .into(),
                button(text(tr.trust)).on_press(Message::Accept).into(),
            ),
        ]
        .spacing(12)
        .into()
    }
}

impl Changed {
    /// Applies a message.
    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Accept if self.confirmed => Some(Event::AcceptChanged),
            Message::Accept => None,
            Message::Cancel => Some(Event::Cancelled),
            Message::Confirm(on) => {
                self.confirmed = on;
                None
            }
        }
    }

    /// The dialog: refused unless explicitly accepted.
    pub fn view(&self, tr: &'static Strings) -> Element<'_, Message> {
        column![
            text(tr.changed_identity_title).size(20).style(text::danger),
            text(tr.changed_identity_text),
            text(tr.previous_fingerprint),
            fingerprint(&self.expected),
            text(tr.new_fingerprint),
            fingerprint(&self.presented),
            crate::gui::focus::focusable(
                checkbox(self.confirmed)
                    .label(tr.accept_new_identity)
                    .on_toggle(Message::Confirm)
            ),
            // Refusing is the default here: Cancel keeps the primary style, the dangerous
            // choice is red and needs the box ticked.
            super::buttons(
                None,
                button(text(tr.connect_anyway))
                    .on_press_maybe(self.confirmed.then_some(Message::Accept))
                    .style(button::danger)
                    .into(),
                button(text(tr.cancel)).on_press(Message::Cancel).into(),
            ),
        ]
        .spacing(10)
        .into()
    }
}
