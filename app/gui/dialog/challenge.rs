//! The server hook's question (e.g. "Enter the code sent to your phone").

use iced::Element;
use iced::widget::{button, column, text, text_input};

use super::Event;
use crate::gui::i18n::Strings;

/// Challenge state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Challenge {
    /// The challenge id.
    pub id: String,
    /// The question.
    pub prompt: String,
    /// The answer typed.
    pub answer: String,
}

/// Messages of the challenge dialog.
#[derive(Debug, Clone)]
pub enum Message {
    /// Typed.
    Answer(String),
    /// OK / Enter.
    Submit,
    /// Cancel.
    Cancel,
}

impl Challenge {
    /// Applies a message.
    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Answer(a) => {
                self.answer = a;
                None
            }
            Message::Submit if !self.answer.trim().is_empty() => {
                Some(Event::Answer(self.answer.trim().to_owned()))
            }
            Message::Submit => None,
            Message::Cancel => Some(Event::Cancelled),
        }
    }

    /// The dialog.
    pub fn view(&self, tr: &'static Strings) -> Element<'_, Message> {
        column![
            text(tr.challenge_title).size(20),
            text(self.prompt.as_str()),
            text_input(tr.answer, &self.answer)
                .id("challenge-answer")
                .on_input(Message::Answer)
                .on_submit(Message::Submit),
            super::buttons(
                None,
                button(text(tr.cancel))
                    .on_press(Message::Cancel)
                    .style(button::secondary)
                    .into(),
                button(text(tr.send)).on_press(Message::Submit).into(),
            ),
        ]
        .spacing(10)
        .into()
    }
}
