//! The connection window, as 4D's "Connect to 4D Server" dialog: Recent / Available / Custom
//! tabs, "Activate development mode", OK / Cancel.

use std::path::PathBuf;

use iced::widget::{
    button, checkbox, column, container, row, rule, scrollable, space, text, text_input,
};
use iced::{Alignment, Element, Length, Task};
use remote4d_core::link::{Link, ServerPath};
use remote4d_core::recent::{Recent, RecentEntry};

/// The three tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Recent projects.
    Recent,
    /// Servers found on the network.
    Available,
    /// A typed address.
    Custom,
}

impl Tab {
    const ALL: [Tab; 3] = [Tab::Recent, Tab::Available, Tab::Custom];

    fn label(self) -> &'static str {
        match self {
            Tab::Recent => "Recent",
            Tab::Available => "Available",
            Tab::Custom => "Custom",
        }
    }
}

/// What the user asked to connect to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A link (from Recent, a file, or the Custom tab).
    Link {
        /// Local display name.
        name: String,
        /// The link.
        link: Box<Link>,
        /// "Activate development mode" was checked.
        development: bool,
    },
}

/// The connection window's state.
#[derive(Debug)]
pub struct Connect {
    tab: Tab,
    development: bool,
    custom_name: String,
    custom_address: String,
    recent: Vec<RecentEntry>,
    recent_error: Option<String>,
    selected_recent: Option<usize>,
}

/// Messages of the connection window.
#[derive(Debug, Clone)]
pub enum Message {
    /// A tab was clicked.
    TabSelected(Tab),
    /// The development-mode box was toggled.
    DevelopmentToggled(bool),
    /// The Custom tab's project name changed.
    CustomNameChanged(String),
    /// The Custom tab's address changed.
    CustomAddressChanged(String),
    /// The Recent list was read.
    RecentLoaded(Result<Vec<RecentEntry>, String>),
    /// A Recent entry was clicked.
    RecentSelected(usize),
    /// OK.
    Ok,
    /// Cancel.
    Cancel,
}

/// What the window tells its parent.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Connect to this.
    Connect(Target),
    /// The window was cancelled.
    Cancelled,
}

impl Connect {
    /// A window reading Recent from `favorites`; a launch link pre-fills the Custom tab.
    pub fn new(favorites: PathBuf, link: Option<Link>) -> (Self, Task<Message>) {
        let mut state = Self {
            tab: Tab::Recent,
            development: false,
            custom_name: String::new(),
            custom_address: String::new(),
            recent: Vec::new(),
            recent_error: None,
            selected_recent: None,
        };
        if let Some(link) = link {
            state.tab = Tab::Custom;
            state.custom_name = link.server_database_name.clone().unwrap_or_default();
            state.custom_address = link.address().to_string();
        }
        let load = Task::perform(
            async move { Recent::new(favorites).list().map_err(|e| e.to_string()) },
            Message::RecentLoaded,
        );
        (state, load)
    }

    /// The tab shown.
    #[cfg(test)]
    pub fn tab(&self) -> Tab {
        self.tab
    }

    /// The Custom address, parsed, or why it is invalid.
    pub fn custom_address(&self) -> Result<ServerPath, String> {
        if self.custom_address.trim().is_empty() {
            return Err("type the server's address, e.g. 192.168.1.10 or server.lan:19813".into());
        }
        ServerPath::parse(&self.custom_address).map_err(|e| e.to_string())
    }

    /// Applies a message; returns follow-up work and, maybe, an event for the parent.
    pub fn update(&mut self, message: Message) -> (Task<Message>, Option<Event>) {
        match message {
            Message::TabSelected(tab) => self.tab = tab,
            Message::DevelopmentToggled(on) => self.development = on,
            Message::CustomNameChanged(s) => self.custom_name = s,
            Message::CustomAddressChanged(s) => self.custom_address = s,
            Message::RecentLoaded(Ok(list)) => {
                self.recent = list;
                self.recent_error = None;
            }
            Message::RecentLoaded(Err(e)) => self.recent_error = Some(e),
            Message::RecentSelected(i) => self.selected_recent = Some(i),
            Message::Cancel => return (Task::none(), Some(Event::Cancelled)),
            Message::Ok => return (Task::none(), self.target().map(Event::Connect)),
        }
        (Task::none(), None)
    }

    fn target(&self) -> Option<Target> {
        match self.tab {
            Tab::Custom => {
                let address = self.custom_address().ok()?;
                let name = self.custom_name.trim();
                let name = if name.is_empty() {
                    address.host.clone()
                } else {
                    name.to_owned()
                };
                Some(Target::Link {
                    link: Box::new(Link::remote(name.clone(), address)),
                    name,
                    development: self.development,
                })
            }
            Tab::Recent => {
                let e = self.recent.get(self.selected_recent?)?;
                Some(Target::Link {
                    name: e.name.clone(),
                    link: Box::new(e.link.clone()),
                    development: self.development,
                })
            }
            Tab::Available => None,
        }
    }

    /// The window's content.
    pub fn view(&self) -> Element<'_, Message> {
        let tabs = row(Tab::ALL.iter().map(|&t| {
            let b = button(text(t.label())).on_press(Message::TabSelected(t));
            let b = if t == self.tab {
                b.style(button::primary)
            } else {
                b.style(button::secondary)
            };
            b.into()
        }))
        .spacing(4);
        let body: Element<'_, Message> = match self.tab {
            Tab::Recent => self.recent_view(),
            Tab::Available => text("Looking for servers on the network…").into(),
            Tab::Custom => self.custom_view(),
        };
        let ok_enabled = self.target().is_some();
        let footer = row![
            checkbox(self.development)
                .label("Activate development mode")
                .on_toggle(Message::DevelopmentToggled),
            space::horizontal(),
            button(text("Cancel"))
                .on_press(Message::Cancel)
                .style(button::secondary),
            button(text("OK")).on_press_maybe(ok_enabled.then_some(Message::Ok)),
        ]
        .spacing(8)
        .align_y(Alignment::Center);
        container(
            column![
                tabs,
                rule::horizontal(1),
                container(body).height(Length::Fill).width(Length::Fill),
                footer
            ]
            .spacing(12),
        )
        .padding(16)
        .into()
    }

    fn recent_view(&self) -> Element<'_, Message> {
        if let Some(e) = &self.recent_error {
            return text(format!("The Recent projects could not be read: {e}")).into();
        }
        if self.recent.is_empty() {
            return text("No recent projects yet. Connect from the Available or Custom tab.")
                .into();
        }
        let items = column(self.recent.iter().enumerate().map(|(i, e)| {
            let b = button(text(e.name.as_str()))
                .width(Length::Fill)
                .on_press(Message::RecentSelected(i));
            let b = if self.selected_recent == Some(i) {
                b.style(button::primary)
            } else {
                b.style(button::text)
            };
            b.into()
        }))
        .spacing(2);
        scrollable(items).into()
    }

    fn custom_view(&self) -> Element<'_, Message> {
        let validation = match self.custom_address() {
            Ok(_) => text(""),
            Err(e) if self.custom_address.is_empty() => text(e),
            Err(e) => text(e).style(text::danger),
        };
        column![
            text("Project name"),
            text_input("Name shown in Recent", &self.custom_name)
                .id("project-name")
                .on_input(Message::CustomNameChanged),
            text("Network address"),
            text_input("host[:port], e.g. 192.168.1.10:19813", &self.custom_address)
                .id("address")
                .on_input(Message::CustomAddressChanged)
                .on_submit(Message::Ok),
            validation,
        ]
        .spacing(6)
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> Connect {
        Connect::new(PathBuf::from("/nonexistent"), None).0
    }

    #[test]
    fn custom_tab_validates_and_connects() {
        let mut w = window();
        assert_eq!(w.tab(), Tab::Recent);
        let _ = w.update(Message::TabSelected(Tab::Custom));
        assert_eq!(w.tab(), Tab::Custom);
        assert_eq!(w.update(Message::Ok).1, None, "no address: OK does nothing");
        let _ = w.update(Message::CustomAddressChanged("server.lan:99999".into()));
        assert!(w.custom_address().unwrap_err().contains("out of range"));
        let _ = w.update(Message::CustomAddressChanged("[fd00::1]:19820".into()));
        let _ = w.update(Message::CustomNameChanged("Shop".into()));
        let _ = w.update(Message::DevelopmentToggled(true));
        let (_, event) = w.update(Message::Ok);
        let Some(Event::Connect(Target::Link {
            name,
            link,
            development,
        })) = event
        else {
            panic!("expected a connection, got {event:?}");
        };
        assert_eq!(name, "Shop");
        assert_eq!(link.address().authority(), "[fd00::1]:19820");
        assert!(development);
        assert_eq!(w.update(Message::Cancel).1, Some(Event::Cancelled));
    }

    #[test]
    fn a_launch_link_fills_the_custom_tab() {
        let link = Link::remote("Invoices", ServerPath::parse("10.0.0.5:20000").unwrap());
        let (w, _) = Connect::new(PathBuf::from("/nonexistent"), Some(link));
        assert_eq!(w.tab(), Tab::Custom);
        assert_eq!(w.custom_address().unwrap().port(), 20000);
    }
}
