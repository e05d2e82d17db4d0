//! The menu bar (File, Help) and the toolbar's Open button.

use iced::widget::{button, row, space, text};
use iced::{Border, Element, Length, Shadow, Theme};
use iced_aw::menu::{Item, Menu, MenuBar};
use iced_aw::style::{Status, menu_bar};
use remote4d_core::recent::RecentEntry;

use super::i18n::Strings;

/// Menus as GNOME's popovers and Windows' menus draw them: the window's background, a thin
/// border, the hovered item in the accent's light shade. No shadow: the software renderer
/// redraws only the regions that changed, and a blurred shadow spills outside a menu's bounds,
/// so moving between submenus left darker and darker traces behind.
fn menu_style(theme: &Theme, _status: Status) -> menu_bar::Style {
    let p = theme.extended_palette();
    menu_bar::Style {
        bar_background: iced::Color::TRANSPARENT.into(),
        bar_border: Border::default(),
        bar_shadow: Shadow::default(),
        menu_background: p.background.base.color.into(),
        menu_border: Border {
            color: p.background.strong.color,
            width: 1.0,
            radius: 6.0.into(),
        },
        menu_shadow: Shadow::default(),
        path: p.primary.weak.color.into(),
        path_border: Border {
            radius: 4.0.into(),
            ..Border::default()
        },
    }
}

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
    /// File > Administer Server…: the server window, in a process of its own.
    Administer,
    /// File > Quit (Ctrl/Cmd+Q).
    Quit,
    /// Help > About.
    About,
    /// A root (opens its menu).
    Noop,
}

fn item(label: &str, action: Action) -> Element<'_, Action> {
    entry(label, None, action)
}

/// The keyboard shortcut of `key` as this platform writes it in menus: `Ctrl+O`, or `⌘O` on
/// macOS.
pub fn accelerator(key: char) -> String {
    if cfg!(target_os = "macos") {
        format!("⌘{key}")
    } else {
        format!("Ctrl+{key}")
    }
}

/// A menu entry: its label, and at the right its shortcut (muted) or, for a submenu, the
/// arrow that says it opens one.
fn entry(label: &str, trailing: Option<String>, action: Action) -> Element<'_, Action> {
    let mut line = row![text(label)]
        .spacing(24)
        .align_y(iced::Alignment::Center);
    if let Some(t) = trailing {
        line = line.push(space::horizontal());
        line = line.push(text(t).size(12).style(|theme: &Theme| {
            text::Style {
                color: Some(
                    theme
                        .extended_palette()
                        .background
                        .base
                        .text
                        .scale_alpha(0.6),
                ),
            }
        }));
    }
    button(line)
        .on_press(action)
        .width(Length::Fill)
        .style(button::text)
        .into()
}

/// A submenu's entry: the label and its arrow.
fn submenu(label: &str) -> Element<'_, Action> {
    entry(label, Some("▸".into()), Action::Noop)
}

/// The menu bar, with the Recent entries in File > Open Recent Projects.
pub fn bar<'a>(tr: &'static Strings, recent: &'a [RecentEntry]) -> Element<'a, Action> {
    let mut recent_items: Vec<Item<'a, Action, Theme, iced::Renderer>> = recent
        .iter()
        .enumerate()
        .map(|(i, e)| Item::new(item(&e.name, Action::OpenRecent(i))))
        .collect();
    if recent_items.is_empty() {
        recent_items.push(Item::new(
            button(text(tr.no_recent).size(12)).style(button::text),
        ));
    }
    let open_items = || {
        vec![
            Item::new(entry(
                tr.remote_project,
                Some(accelerator('O')),
                Action::OpenRemote,
            )),
            Item::new(item(tr.shortcut_file, Action::OpenShortcut)),
        ]
    };
    let open = Menu::new(open_items()).max_width(260.0).offset(4.0);
    let file = Menu::new(vec![
        Item::with_menu(submenu(tr.open), open),
        Item::with_menu(
            submenu(tr.open_recent),
            Menu::new(recent_items).max_width(320.0).offset(4.0),
        ),
        Item::new(item(tr.close, Action::Close)),
        Item::new(item(tr.administer, Action::Administer)),
        Item::new(entry(tr.quit, Some(accelerator('Q')), Action::Quit)),
    ])
    .max_width(260.0)
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
    .style(menu_style)
    .spacing(4.0);
    // The toolbar, apart at the right: Open as a toolbar button — flat, outlined on hover, with
    // the arrow of a drop-down — whose menu holds what Open means here.
    let toolbar = MenuBar::new(vec![Item::with_menu(
        button(text(format!("{} ▾", tr.open)))
            .on_press(Action::Noop)
            .style(super::style::toolbar_button),
        Menu::new(open_items()).max_width(260.0).offset(4.0),
    )])
    .close_on_item_click_global(true)
    .style(menu_style);
    row![bar, space::horizontal(), toolbar]
        .spacing(12)
        .align_y(iced::Alignment::Center)
        .into()
}
