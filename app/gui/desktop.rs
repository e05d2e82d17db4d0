//! The desktop's look, read from its own settings: the UI font (family and size) and the accent
//! colour. On Linux: GNOME's `org.gnome.desktop.interface` (`font-name`, `accent-color`) through
//! `gsettings`, KDE's `kdeglobals` (`[General] font=`, `AccentColor=`), the family resolved by
//! fontconfig (`fc-match`) to the font actually installed. Read only inside a desktop session
//! (`XDG_CURRENT_DESKTOP` set). On Windows: Segoe UI, Windows' own UI font. Elsewhere iced's own
//! look stays.
//!
//! The font is applied at start (iced 0.14 cannot change the default font of a running app); the
//! accent is read again every few seconds, and light/dark follows the system as it changes.

use std::path::Path;
use std::process::Command;

use iced::{Color, Theme};

/// What the desktop says of its look (each part only when it says it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Look {
    /// The UI font's family, as installed.
    pub font_family: Option<String>,
    /// The UI font's size, in points.
    pub font_points: Option<f32>,
    /// The accent colour.
    pub accent: Option<Color>,
}

impl Look {
    /// Reads the current desktop's settings (runs `gsettings` / `fc-match`: call it off the UI
    /// thread once running). Empty outside a desktop session.
    pub fn read() -> Self {
        if cfg!(windows) {
            return windows();
        }
        let Some(desktop) = std::env::var_os("XDG_CURRENT_DESKTOP") else {
            return Self::default();
        };
        let desktop = desktop.to_string_lossy().to_uppercase();
        let mut look = if desktop.contains("KDE") {
            kde_config_home()
                .and_then(|dir| std::fs::read_to_string(dir.join("kdeglobals")).ok())
                .map(|text| parse_kdeglobals(&text))
                .unwrap_or_default()
        } else {
            gnome()
        };
        look.font_family = look.font_family.and_then(|f| installed_family(&f));
        look
    }

    /// The UI font's size in logical pixels (points at 96 dpi).
    pub fn text_size(&self) -> Option<f32> {
        self.font_points.map(|pt| pt * 96.0 / 72.0)
    }

    /// `base` (light or dark) with the desktop's accent as its primary colour, or `None` to keep
    /// iced's own theme (no accent known, or `ICED_THEME` chosen by the user).
    pub fn theme(&self, dark: bool) -> Option<Theme> {
        let accent = self.accent?;
        if std::env::var_os("ICED_THEME").is_some() {
            return None;
        }
        let base = if dark { Theme::Dark } else { Theme::Light };
        let mut palette = base.palette();
        palette.primary = accent;
        let name = format!(
            "{}-{:02x}{:02x}{:02x}",
            if dark { "dark" } else { "light" },
            (accent.r * 255.0) as u8,
            (accent.g * 255.0) as u8,
            (accent.b * 255.0) as u8
        );
        Some(Theme::custom(name, palette))
    }
}

/// Windows' UI font, Segoe UI, where it is installed (every Windows since Vista; not Wine).
fn windows() -> Look {
    let fonts = std::env::var_os("WINDIR")
        .map(|dir| Path::new(&dir).join("Fonts"))
        .unwrap_or_default();
    Look {
        font_family: fonts
            .join("segoeui.ttf")
            .is_file()
            .then(|| "Segoe UI".to_owned()),
        ..Look::default()
    }
}

fn kde_config_home() -> Option<std::path::PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(Into::into)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
}

/// One key of `org.gnome.desktop.interface`, as `gsettings` prints it.
fn gsetting(key: &str) -> Option<String> {
    let out = Command::new("gsettings")
        .args(["get", "org.gnome.desktop.interface", key])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn gnome() -> Look {
    let font = gsetting("font-name").and_then(|f| parse_gnome_font(&f));
    Look {
        font_points: font.as_ref().map(|(_, size)| *size),
        font_family: font.map(|(family, _)| family),
        accent: gsetting("accent-color").and_then(|a| gnome_accent(&a)),
    }
}

/// `'Cantarell 11'` → ("Cantarell", 11.0); `'Noto Sans Bold 10.5'` keeps the style words in the
/// family (fontconfig resolves them).
pub fn parse_gnome_font(value: &str) -> Option<(String, f32)> {
    let value = value.trim().trim_matches('\'');
    let (family, size) = value.rsplit_once(' ')?;
    let size: f32 = size.parse().ok()?;
    (!family.is_empty() && size > 0.0).then(|| (family.to_owned(), size))
}

/// GNOME's named accent colours (`accent-color`, GNOME 47), as libadwaita draws them.
pub fn gnome_accent(value: &str) -> Option<Color> {
    let rgb = match value.trim().trim_matches('\'') {
        "blue" => 0x35_84_e4,
        "teal" => 0x21_90_a4,
        "green" => 0x3a_94_4a,
        "yellow" => 0xc8_88_00,
        "orange" => 0xed_5b_00,
        "red" => 0xe6_2d_42,
        "pink" => 0xd5_61_99,
        "purple" => 0x91_41_ac,
        "slate" => 0x6f_83_96,
        _ => return None,
    };
    Some(Color::from_rgb8(
        (rgb >> 16) as u8,
        (rgb >> 8 & 0xff) as u8,
        (rgb & 0xff) as u8,
    ))
}

/// KDE's `kdeglobals`: `[General]` `font=Noto Sans,10,-1,5,50,0,0,0,0,0` and
/// `AccentColor=61,174,233`.
pub fn parse_kdeglobals(text: &str) -> Look {
    let mut look = Look::default();
    let mut general = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            general = line == "[General]";
            continue;
        }
        let Some((key, value)) = line.split_once('=').filter(|_| general) else {
            continue;
        };
        match key.trim() {
            "font" => {
                let mut parts = value.split(',');
                look.font_family = parts.next().map(|f| f.trim().to_owned());
                look.font_points = parts.next().and_then(|s| s.trim().parse().ok());
            }
            "AccentColor" => {
                let rgb: Vec<u8> = value
                    .split(',')
                    .filter_map(|c| c.trim().parse::<u8>().ok())
                    .collect();
                if let [r, g, b] = rgb[..] {
                    look.accent = Some(Color::from_rgb8(r, g, b));
                }
            }
            _ => {}
        }
    }
    look
}

/// The family fontconfig draws for `family` (the family itself when installed, else the
/// substitute the desktop's other apps get).
fn installed_family(family: &str) -> Option<String> {
    let out = Command::new("fc-match")
        .args([family, "--format=%{family[0]}"])
        .output()
        .ok()?;
    let name = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnome_values_are_read() {
        assert_eq!(
            parse_gnome_font("'Cantarell 11'"),
            Some(("Cantarell".into(), 11.0))
        );
        assert_eq!(
            parse_gnome_font("'Noto Sans Medium 10.5'"),
            Some(("Noto Sans Medium".into(), 10.5))
        );
        assert_eq!(parse_gnome_font("''"), None);
        assert_eq!(
            gnome_accent("'teal'"),
            Some(Color::from_rgb8(0x21, 0x90, 0xa4))
        );
        assert_eq!(gnome_accent("'default'"), None);
    }

    #[test]
    fn kde_values_are_read_from_the_general_group_only() {
        let look = parse_kdeglobals(
            "[Colors:View]\nAccentColor=1,2,3\n[General]\nfont=Noto Sans,10,-1,5,50,0,0,0,0,0\nAccentColor=61,174,233\n",
        );
        assert_eq!(look.font_family.as_deref(), Some("Noto Sans"));
        assert_eq!(look.font_points, Some(10.0));
        assert_eq!(look.accent, Some(Color::from_rgb8(61, 174, 233)));
        assert_eq!(look.text_size().map(f32::round), Some(13.0));
    }

    #[test]
    fn the_accent_becomes_the_primary_colour_in_light_and_dark() {
        let look = Look {
            accent: Some(Color::from_rgb8(0x21, 0x90, 0xa4)),
            ..Look::default()
        };
        if std::env::var_os("ICED_THEME").is_some() {
            assert!(look.theme(false).is_none(), "the user's choice wins");
            return;
        }
        let light = look.theme(false).unwrap();
        let dark = look.theme(true).unwrap();
        assert_eq!(light.palette().primary, look.accent.unwrap());
        assert_eq!(dark.palette().primary, look.accent.unwrap());
        assert_eq!(dark.palette().background, Theme::Dark.palette().background);
        assert_ne!(light.to_string(), dark.to_string());
        assert!(
            Look::default().theme(false).is_none(),
            "no accent: iced's own theme"
        );
    }
}
