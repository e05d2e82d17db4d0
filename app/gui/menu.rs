//! The menu bar (File, Help) and the toolbar's Open button.

use iced::widget::{button, row, text};
use iced::{Element, Length};
use iced_aw::menu::{Item, Menu, MenuBar};
use remote4d_core::recent::RecentEntry;

use super::i18n::Strings;

/// What a menu item does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// File > Open > Remote Project… (and the toolbar's Open, Ctrl/Cmd+O).
    OpenRemote,
    /// File > Open > Shortcut file…
    OpenShortcut,
    /// File > Open Recent Projects > entry.
    OpenRecent(usize),
    /// File > Close.
    Close,
    /// File > Quit (Ctrl/Cmd+Q).
    Quit,
    /// Help > About.
    About,
    /// A root (opens its menu).
    Noop,
}

fn item(label: &str, action: Action) -> Element<'_, Action> {
    button(text(label))
        .on_press(action)
        .width(Length::Fill)
        .style(button::text)
        .into()
}

/// The menu bar, with the Recent entries in File > Open Recent Projects.
pub fn bar<'a>(tr: &'static Strings, recent: &'a [RecentEntry]) -> Element<'a, Action> {
    let mut recent_items: Vec<Item<'a, Action, iced::Theme, iced::Renderer>> = recent
        .iter()
        .enumerate()
        .map(|(i, e)| Item::new(item(&e.name, Action::OpenRecent(i))))
        .collect();
    if recent_items.is_empty() {
        recent_items.push(Item::new(
            button(text(tr.no_recent).size(12)).style(button::text),
        ));
    }
    let open = Menu::new(vec![
        Item::new(item(tr.remote_project, Action::OpenRemote)),
        Item::new(item(tr.shortcut_file, Action::OpenShortcut)),
    ])
    .max_width(220.0)
    .offset(4.0);
    let file = Menu::new(vec![
        Item::with_menu(item(tr.open, Action::Noop), open),
        Item::with_menu(
            item(tr.open_recent, Action::Noop),
            Menu::new(recent_items).max_width(320.0).offset(4.0),
        ),
        Item::new(item(tr.close, Action::Close)),
        Item::new(item(tr.quit, Action::Quit)),
    ])
    .max_width(240.0)
    .offset(4.0);
    let help = Menu::new(vec![Item::new(item(tr.about, Action::About))])
        .max_width(220.0)
        .offset(4.0);
    let bar = MenuBar::new(vec![
        Item::with_menu(
            button(text(tr.file))
                .on_press(Action::Noop)
                .style(button::text),
            file,
        ),
        Item::with_menu(
            button(text(tr.help))
                .on_press(Action::Noop)
                .style(button::text),
            help,
        ),
    ])
    .close_on_item_click_global(true)
    .spacing(4.0);
    row![
        bar,
        button(text(tr.open))
            .on_press(Action::OpenRemote)
            .style(button::secondary)
    ]
    .spacing(12)
    .align_y(iced::Alignment::Center)
    .into()
}
