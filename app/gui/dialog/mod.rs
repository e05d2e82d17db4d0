//! Modal dialogs: each one module with its state, `Message`, `Event`, `update` and `view`.

pub mod about;
pub mod challenge;
pub mod error;
pub mod identity;
pub mod login;
pub mod unsaved;
pub mod update;

use iced::widget::{center, container, opaque, row, space, stack};
use iced::{Color, Element, Length};

use super::i18n::Strings;

/// A dialog's buttons, right-aligned in the platform's order — the default (affirmative) button
/// last on Linux and macOS (GNOME HIG "Dialogs", KDE HIG, Apple HIG "Alerts"), first on Windows
/// (Windows "Dialog boxes" guidelines: OK, then Cancel) — with an `extra` action (a destructive
/// one: Discard) apart at the left. The default button keeps the primary style and Enter
/// triggers it ([`Dialog::submit`]) — a first contact's Trust only once the dialog has been on
/// screen for [`identity::READ_FIRST`], never from a held key; installing an update stays a
/// click; where the safe choice is the default (a changed identity), Enter refuses. Escape is
/// Cancel.
pub fn buttons<'a, M: 'a>(
    extra: Option<Element<'a, M>>,
    cancel: Element<'a, M>,
    default: Element<'a, M>,
) -> Element<'a, M> {
    use super::focus::focusable;
    let mut r = row![].spacing(8);
    if let Some(extra) = extra {
        r = r.push(focusable(extra));
    }
    r = r.push(space::horizontal());
    let (cancel, default) = (focusable(cancel), focusable(default));
    r = if cfg!(windows) {
        r.push(default).push(cancel)
    } else {
        r.push(cancel).push(default)
    };
    r.into()
}

/// The dialog shown over the window.
#[derive(Debug)]
pub enum Dialog {
    /// First contact with a server.
    NewIdentity(identity::NewIdentity),
    /// The server's identity changed.
    Changed(identity::Changed),
    /// User and password.
    Login(login::Login),
    /// The server hook's question.
    Challenge(challenge::Challenge),
    /// An error in plain words.
    Error(error::ErrorDialog),
    /// The server needs a newer client.
    Update(update::UpdateDialog),
    /// Development-mode edits not saved yet, before leaving the project.
    Unsaved(unsaved::Unsaved),
    /// About Remote4D.
    About,
}

/// Messages of the dialogs.
#[derive(Debug, Clone)]
pub enum Message {
    /// Identity dialogs.
    Identity(identity::Message),
    /// Login dialog.
    Login(login::Message),
    /// Challenge dialog.
    Challenge(challenge::Message),
    /// Error dialog.
    Error(error::Message),
    /// Update dialog.
    Update(update::Message),
    /// Unsaved edits dialog.
    Unsaved(unsaved::Message),
    /// About dialog closed.
    CloseAbout,
}

/// What a dialog decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Closed without deciding (Cancel, Esc).
    Cancelled,
    /// Trust the new server.
    Trust,
    /// Accept the changed identity.
    AcceptChanged,
    /// Log in with these.
    Login {
        /// User name.
        user: String,
        /// Password.
        password: String,
        /// Remember the user name.
        remember: bool,
    },
    /// The answer to the challenge.
    Answer(String),
    /// Open the offline copy.
    OpenOffline,
    /// Choose another server (merged clients that allow it).
    Select,
    /// Install the offered client build.
    Update,
    /// Save the edits, then do what was asked.
    SaveThenLeave,
    /// Drop the edits, then do what was asked.
    DiscardThenLeave,
}

impl Dialog {
    /// Applies a message.
    pub fn update(&mut self, message: Message) -> Option<Event> {
        match (self, message) {
            (Dialog::NewIdentity(d), Message::Identity(m)) => d.update(m),
            (Dialog::Changed(d), Message::Identity(m)) => d.update(m),
            (Dialog::Login(d), Message::Login(m)) => d.update(m),
            (Dialog::Challenge(d), Message::Challenge(m)) => d.update(m),
            (Dialog::Error(d), Message::Error(m)) => d.update(m),
            (Dialog::Update(d), Message::Update(m)) => d.update(m),
            (Dialog::Unsaved(d), Message::Unsaved(m)) => d.update(m),
            (Dialog::About, Message::CloseAbout) => Some(Event::Cancelled),
            _ => None,
        }
    }

    /// Enter: the dialog's default action.
    pub fn submit(&mut self) -> Option<Event> {
        match self {
            // Trust and connect is the default, once the dialog could have been read.
            Dialog::NewIdentity(d) => {
                (d.shown.elapsed() >= identity::READ_FIRST).then_some(Event::Trust)
            }
            // Refusing is the default: Enter never accepts a changed identity.
            Dialog::Changed(_) => Some(Event::Cancelled),
            Dialog::Login(d) => d.update(login::Message::Submit),
            Dialog::Challenge(d) => d.update(challenge::Message::Submit),
            Dialog::Error(_) | Dialog::About => Some(Event::Cancelled),
            Dialog::Update(_) => None,
            Dialog::Unsaved(d) => d.update(unsaved::Message::Save),
        }
    }

    /// The dialog's content.
    pub fn view<'a>(&'a self, tr: &'static Strings) -> Element<'a, Message> {
        match self {
            Dialog::NewIdentity(d) => d.view(tr).map(Message::Identity),
            Dialog::Changed(d) => d.view(tr).map(Message::Identity),
            Dialog::Login(d) => d.view(tr).map(Message::Login),
            Dialog::Challenge(d) => d.view(tr).map(Message::Challenge),
            Dialog::Error(d) => d.view(tr).map(Message::Error),
            Dialog::Update(d) => d.view(tr).map(Message::Update),
            Dialog::Unsaved(d) => d.view(tr).map(Message::Unsaved),
            Dialog::About => about::view(tr),
        }
    }
}

/// `dialog` centred over `base`, which is dimmed and does not react.
/// The id of the dialog's container: Tab moves the focus inside it only.
pub const DIALOG: &str = "dialog";

pub fn modal<'a, M: Clone + 'a>(base: Element<'a, M>, dialog: Element<'a, M>) -> Element<'a, M> {
    stack![
        base,
        opaque(
            center(opaque(
                container(dialog)
                    .id(DIALOG)
                    .max_width(560)
                    .padding(20)
                    .style(container::bordered_box)
            ))
            .width(Length::Fill)
            .height(Length::Fill)
            .style(|_theme| container::Style {
                background: Some(
                    Color {
                        a: 0.55,
                        ..Color::BLACK
                    }
                    .into()
                ),
                ..container::Style::default()
            })
        )
    ]
    .into()
}
