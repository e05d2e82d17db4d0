//! Styles shared by the app's screens.

use iced::Theme;
use iced::widget::button;

/// A row of a list that is not selected: flat, with the hover and press shade desktop lists
/// have (the selected row uses the primary style).
pub fn list_row(theme: &Theme, status: button::Status) -> button::Style {
    let p = theme.extended_palette();
    let base = button::Style {
        text_color: p.background.base.text,
        border: iced::Border {
            radius: 4.0.into(),
            ..iced::Border::default()
        },
        ..button::Style::default()
    };
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
