//! Styles shared by the app's screens.

use iced::Theme;
use iced::widget::button;

/// A row of a list that is not selected: flat, with the hover and press shade desktop lists
/// have (the selected row uses the primary style).
pub fn list_row(theme: &Theme, status: button::Status) -> button::Style {
    let p = theme.extended_palette();
    let base = flat(theme);
    match status {
        button::Status::Hovered => button::Style {
            background: Some(p.background.weak.color.into()),
            ..base
        },
        button::Status::Pressed => button::Style {
            background: Some(p.background.strong.color.into()),
            ..base
        },
        button::Status::Active | button::Status::Disabled => base,
    }
}

/// A button with no frame or fill at rest, rounded for its hover shade.
fn flat(theme: &Theme) -> button::Style {
    button::Style {
        text_color: theme.extended_palette().background.base.text,
        border: iced::Border {
            radius: 4.0.into(),
            ..iced::Border::default()
        },
        ..button::Style::default()
    }
}

/// A toolbar button: no frame at rest, a light frame and shade on hover and press (GNOME's
/// flat header-bar buttons, Windows' command bar).
pub fn toolbar_button(theme: &Theme, status: button::Status) -> button::Style {
    let p = theme.extended_palette();
    let base = flat(theme);
    match status {
        button::Status::Hovered | button::Status::Pressed => button::Style {
            background: Some(p.background.weak.color.into()),
            border: iced::Border {
                color: p.background.strong.color,
                width: 1.0,
                radius: 4.0.into(),
            },
            ..base
        },
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_shade_on_hover_and_press_only() {
        let t = Theme::Light;
        assert!(list_row(&t, button::Status::Active).background.is_none());
        let hover = list_row(&t, button::Status::Hovered).background;
        let press = list_row(&t, button::Status::Pressed).background;
        assert!(hover.is_some() && press.is_some() && hover != press);
    }
}
