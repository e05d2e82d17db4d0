//! The server needs a newer client: install the build it offers (the current one is kept), or
//! cancel (and not connect).

use iced::Element;
use iced::widget::{Column, button, column, text};

use super::Event;
use crate::gui::i18n::Strings;
use crate::gui::services::UpdateInfo;

/// Update dialog state.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateDialog {
    /// What the server offers.
    pub info: UpdateInfo,
    /// Installing.
    pub busy: bool,
    /// The mirrors skipped while installing (their URL, why), as the download went on.
    pub skipped: Vec<(String, String)>,
}

/// Messages of the update dialog.
#[derive(Debug, Clone)]
pub enum Message {
    /// Install it.
    Update,
    /// Do not.
    Cancel,
}

impl UpdateDialog {
    /// Applies a message.
    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Update if !self.busy => {
                self.busy = true;
                Some(Event::Update)
            }
            Message::Update => None,
            Message::Cancel => Some(Event::Cancelled),
        }
    }

    /// The dialog.
    pub fn view(&self, tr: &'static Strings) -> Element<'_, Message> {
        let skipped = self
            .skipped
            .iter()
            .map(|(url, reason)| text(format!("{} {url} — {reason}", tr.mirror_skipped)).into());
        column![
            text(tr.update_title).size(20),
            text(self.info.message.as_str()),
            text(format!(
                "{} {}",
                tr.update_version, self.info.update.offer.version
            )),
            Column::with_children(skipped).spacing(4),
            super::buttons(
                None,
                button(text(tr.cancel))
                    .on_press(Message::Cancel)
                    .style(button::secondary)
                    .into(),
                button(text(if self.busy {
                    tr.updating
                } else {
                    tr.update_now
                }))
                .on_press_maybe((!self.busy).then_some(Message::Update))
                .into(),
            ),
        ]
        .spacing(10)
        .into()
    }
}
