//! Unsaved development-mode edits: Save all, Discard or Cancel, before the project is left
//! (quit, close the window, disconnect, reconnect, open another server).

use iced::Element;
use iced::widget::{button, column, text};

use super::Event;
use crate::gui::i18n::Strings;

/// The question, with the files not saved yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsaved {
    /// The changed files (project-relative).
    pub files: Vec<String>,
}

/// Messages of the dialog.
#[derive(Debug, Clone)]
pub enum Message {
    /// Save all, then go on.
    Save,
    /// Drop the edits, then go on.
    Discard,
    /// Stay.
    Cancel,
}

impl Unsaved {
    /// Applies a message.
    pub fn update(&mut self, message: Message) -> Option<Event> {
        Some(match message {
            Message::Save => Event::SaveThenLeave,
            Message::Discard => Event::DiscardThenLeave,
            Message::Cancel => Event::Cancelled,
        })
    }

    /// The dialog: Save all is the default (Enter), Cancel is Escape.
    pub fn view(&self, tr: &'static Strings) -> Element<'_, Message> {
        let mut list = column![].spacing(2);
        for f in self.files.iter().take(8) {
            list = list.push(text(format!("• {f}")).size(13));
        }
        if self.files.len() > 8 {
            list = list.push(text(format!("… (+{})", self.files.len() - 8)).size(13));
        }
        column![
            text(tr.unsaved_title).size(20),
            text(tr.unsaved_text),
            list,
            super::buttons(
                Some(
                    button(text(tr.discard))
                        .on_press(Message::Discard)
                        .style(button::danger)
                        .into()
                ),
                button(text(tr.cancel))
                    .on_press(Message::Cancel)
                    .style(button::secondary)
                    .into(),
                button(text(tr.save_all)).on_press(Message::Save).into(),
            )
        ]
        .spacing(12)
        .into()
    }
}
