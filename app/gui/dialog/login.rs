//! The login dialog: user, password, remember.

use iced::Element;
use iced::widget::{button, checkbox, column, text, text_input};

use super::Event;
use crate::gui::i18n::Strings;

/// Login state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Login {
    /// What the server said (e.g. wrong password).
    pub message: String,
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
    /// Remember the user name.
    pub remember: bool,
}

/// Messages of the login dialog.
#[derive(Debug, Clone)]
pub enum Message {
    /// User typed.
    User(String),
    /// Password typed.
    Password(String),
    /// Remember toggled.
    Remember(bool),
    /// OK / Enter.
    Submit,
    /// Cancel.
    Cancel,
}

impl Login {
    /// Applies a message.
    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::User(u) => self.user = u,
            Message::Password(p) => self.password = p,
            Message::Remember(r) => self.remember = r,
            Message::Submit => {
                return Some(Event::Login {
                    user: self.user.trim().to_owned(),
                    password: self.password.clone(),
                    remember: self.remember,
                });
            }
            Message::Cancel => return Some(Event::Cancelled),
        }
        None
    }

    /// The dialog.
    pub fn view(&self, tr: &'static Strings) -> Element<'_, Message> {
        column![
            text(tr.login_title).size(20),
            text(self.message.as_str()),
            text(tr.user),
            text_input(tr.user, &self.user)
                .id("login-user")
                .on_input(Message::User)
                .on_submit(Message::Submit),
            text(tr.password),
            text_input(tr.password, &self.password)
                .id("login-password")
                .secure(true)
                .on_input(Message::Password)
                .on_submit(Message::Submit),
            crate::gui::focus::focusable(
                checkbox(self.remember)
                    .label(tr.remember)
                    .on_toggle(Message::Remember)
            ),
            super::buttons(
                None,
                button(text(tr.cancel))
                    .on_press(Message::Cancel)
                    .style(button::secondary)
                    .into(),
                button(text(tr.log_in)).on_press(Message::Submit).into(),
            ),
        ]
        .spacing(8)
        .into()
    }
}
