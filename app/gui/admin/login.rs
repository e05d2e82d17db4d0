//! The server window's login (administering a server elsewhere): its address, the Designer's or
//! the Administrator's name and password.

use iced::widget::{button, column, container, row, text, text_input};
use iced::{Alignment, Element, Length};

use super::data::Target;

/// The form.
#[derive(Debug, Clone, Default)]
pub struct Login {
    /// `host[:port]`.
    pub address: String,
    /// The 4D user.
    pub user: String,
    password: String,
    /// Why the last attempt failed.
    pub problem: Option<String>,
    /// An attempt is running.
    pub busy: bool,
}

/// What the form says.
#[derive(Debug, Clone)]
pub enum Message {
    /// The address was typed.
    Address(String),
    /// The user was typed.
    User(String),
    /// The password was typed.
    Password(String),
    /// Log in.
    Submit,
}

impl Login {
    /// A form for `address` and `user` (either may be empty).
    pub fn new(address: Option<String>, user: Option<String>) -> Self {
        Self {
            address: address.unwrap_or_default(),
            user: user.unwrap_or_else(|| "Administrator".into()),
            ..Self::default()
        }
    }

    /// Applies `message`; the server to log in to, on Submit with a complete form.
    pub fn update(&mut self, message: Message) -> Option<Target> {
        match message {
            Message::Address(a) => self.address = a,
            Message::User(u) => self.user = u,
            Message::Password(p) => self.password = p,
            Message::Submit => {
                if self.busy {
                    return None;
                }
                if self.address.trim().is_empty() || self.user.trim().is_empty() {
                    self.problem = Some("type the server's address and your user name".into());
                    return None;
                }
                self.problem = None;
                self.busy = true;
                return Some(Target::Remote {
                    address: self.address.trim().to_owned(),
                    user: self.user.trim().to_owned(),
                    password: self.password.clone(),
                });
            }
        }
        None
    }

    /// The form.
    pub fn view(&self) -> Element<'_, Message> {
        let mut form = column![
            text("Administer a server").size(20),
            text("As the project's Designer or Administrator. The server must have been connected to once from this machine (its identity is then known)."),
            text_input("server.lan or 192.168.1.20:19813", &self.address)
                .id("admin-address")
                .on_input(Message::Address)
                .on_submit(Message::Submit),
            text_input("User", &self.user)
                .id("admin-user")
                .on_input(Message::User)
                .on_submit(Message::Submit),
            text_input("Password", &self.password)
                .id("admin-password")
                .secure(true)
                .on_input(Message::Password)
                .on_submit(Message::Submit),
            row![button(text(if self.busy { "Logging in…" } else { "Log in" }))
                .on_press_maybe((!self.busy).then_some(Message::Submit))]
            .align_y(Alignment::Center),
        ]
        .spacing(10)
        .max_width(460);
        if let Some(p) = &self.problem {
            form = form.push(text(p).style(text::danger));
        }
        container(form).center_x(Length::Fill).padding(24).into()
    }
}
