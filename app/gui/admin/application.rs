//! The Application Server page (4D Server's Application Server): how clients find and reach
//! the server — publication, port, addresses, identity — publishing on the network, accepting
//! new connections, the accepted client versions.

use iced::widget::{button, column, row, text};
use iced::{Alignment, Element};

use super::data::Request;
use super::model::Model;
use super::{Message, fact, section};
use crate::cli::output::bytes;

/// The page.
pub fn view(model: &Model) -> Element<'_, Message> {
    let Some(s) = &model.status else {
        return text("Reading the server…").into();
    };
    let versions = match &s.client_versions {
        None => "any".to_owned(),
        Some(r) => format!(
            "from {} to {}",
            r.min.as_deref().unwrap_or("any"),
            r.max.as_deref().unwrap_or("any")
        ),
    };
    let switch = |on: bool, yes: &'static str, no: &'static str, ask: fn(bool) -> Request| {
        row![
            text(if on { yes } else { no }),
            button(text(if on { "Turn off" } else { "Turn on" })).on_press(Message::Ask(ask(!on))),
        ]
        .spacing(12)
        .align_y(Alignment::Center)
    };
    column![
        section(
            "Publication",
            column![
                fact("Name", s.publication_name.clone()),
                fact("Port", s.port.to_string()),
                fact("Listening on", s.addresses.join(", ")),
                switch(
                    s.published,
                    "Published on the network: clients see it in Available.",
                    "Not published: clients type its address.",
                    Request::Publish
                ),
            ]
        ),
        section(
            "Connections",
            column![switch(
                s.accepting,
                "New connections are accepted.",
                "New connections are refused; connected users stay, the Designer and the Administrator may still log in.",
                Request::Accept
            )]
        ),
        section(
            "Identity and project",
            column![
                fact("Fingerprint", s.fingerprint.clone()),
                fact(
                    "Stamp",
                    format!("{} ({})", s.stamp, bytes(s.archive_size))
                ),
                fact("Server version", s.server_version.clone()),
            ]
        ),
        section(
            "Clients",
            column![
                fact("Versions accepted", versions),
                fact(
                    "Update offered",
                    s.update_offered.clone().unwrap_or_else(|| "none".into())
                ),
            ]
        ),
    ]
    .spacing(12)
    .into()
}
