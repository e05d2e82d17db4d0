//! Help > About.

use iced::Element;
use iced::widget::{button, column, row, space, text};

use super::Message;
use crate::gui::i18n::Strings;

/// The About box: name, version, commit.
pub fn view(tr: &'static Strings) -> Element<'static, Message> {
    column![
        text("Remote4D").size(24),
        text(tr.about_text),
        text(format!(
            "version {} (commit {})",
            env!("CARGO_PKG_VERSION"),
            env!("REMOTE4D_COMMIT")
        )),
        row![
            space::horizontal(),
            crate::gui::focus::focusable(button(text(tr.ok)).on_press(Message::CloseAbout))
        ],
    ]
    .spacing(10)
    .into()
}
