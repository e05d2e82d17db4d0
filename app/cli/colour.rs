//! Colour: only on a terminal, never in redirected output; `NO_COLOR` and `--color` honoured.
//!
//! The choice is made once at start ([`init`]) for each stream, then asked by whoever paints:
//! the error labels, table headers, the progress line, clap's help and the log lines.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use anstyle::{AnsiColor, Style};

/// `--color`: when to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set (or `TERM=dumb`).
    #[default]
    Auto,
    /// Always, even into a file or a pipe.
    Always,
    /// Never.
    Never,
}

static STDOUT: AtomicBool = AtomicBool::new(false);
static STDERR: AtomicBool = AtomicBool::new(false);

/// Whether `NO_COLOR` asks for no colour: set and not empty (<https://no-color.org>).
fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

fn dumb_terminal() -> bool {
    std::env::var_os("TERM").is_some_and(|t| t == "dumb")
}

/// Decides, for `choice`, whether a stream that `is_terminal` gets colour.
pub fn decide(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && !no_color_env() && !dumb_terminal(),
    }
}

/// Decides colour for standard output and standard error, once, at start.
pub fn init(choice: ColorChoice) {
    STDOUT.store(
        decide(choice, std::io::stdout().is_terminal()),
        Ordering::Relaxed,
    );
    STDERR.store(
        decide(choice, std::io::stderr().is_terminal()),
        Ordering::Relaxed,
    );
}

/// Colour on standard output.
pub fn on_stdout() -> bool {
    STDOUT.load(Ordering::Relaxed)
}

/// Colour on standard error.
pub fn on_stderr() -> bool {
    STDERR.load(Ordering::Relaxed)
}

/// `--color` as clap's own choice, for its help and its errors.
pub fn for_clap(choice: ColorChoice) -> clap::ColorChoice {
    match choice {
        ColorChoice::Auto if no_color_env() => clap::ColorChoice::Never,
        ColorChoice::Auto => clap::ColorChoice::Auto,
        ColorChoice::Always => clap::ColorChoice::Always,
        ColorChoice::Never => clap::ColorChoice::Never,
    }
}

/// `--color` as given on the command line, read before clap parses it (clap's own help and
/// errors need it): the last `--color WHEN` / `--color=WHEN` wins; anything unreadable is auto.
pub fn from_args(args: &[std::ffi::OsString]) -> ColorChoice {
    let mut choice = ColorChoice::Auto;
    let mut words = args.iter().map(|a| a.to_string_lossy());
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        let value = match word.strip_prefix("--color") {
            Some("") => words.next().map(|w| w.into_owned()),
            Some(rest) => rest.strip_prefix('=').map(str::to_owned),
            None => None,
        };
        if let Some(v) = value {
            choice = match v.as_str() {
                "always" => ColorChoice::Always,
                "never" => ColorChoice::Never,
                _ => ColorChoice::Auto,
            };
        }
    }
    choice
}

/// What a painted piece of text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    /// `error:`
    Error,
    /// `warning:`
    Warning,
    /// `note:`, `tip:`
    Note,
    /// A table's header row.
    Header,
}

fn style(paint: Paint) -> Style {
    let bold = Style::new().bold();
    match paint {
        Paint::Error => bold.fg_color(Some(AnsiColor::Red.into())),
        Paint::Warning => bold.fg_color(Some(AnsiColor::Yellow.into())),
        Paint::Note => bold.fg_color(Some(AnsiColor::Cyan.into())),
        Paint::Header => bold,
    }
}

/// `text` painted as `paint` when `colour`, else as is.
pub fn paint(text: &str, paint: Paint, colour: bool) -> String {
    if colour {
        let s = style(paint);
        format!("{s}{text}{s:#}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<std::ffi::OsString> {
        words.iter().map(Into::into).collect()
    }

    #[test]
    fn the_choice_is_read_before_clap() {
        assert_eq!(from_args(&args(&["remote4d", "recent"])), ColorChoice::Auto);
        assert_eq!(
            from_args(&args(&["remote4d", "--color", "never", "recent"])),
            ColorChoice::Never
        );
        assert_eq!(
            from_args(&args(&["remote4d", "recent", "--color=always"])),
            ColorChoice::Always
        );
        assert_eq!(
            from_args(&args(&["remote4d", "link", "--", "--color=always"])),
            ColorChoice::Auto
        );
    }

    #[test]
    fn never_and_always_win_over_the_terminal() {
        assert!(!decide(ColorChoice::Never, true));
        assert!(decide(ColorChoice::Always, false));
        assert!(
            !decide(ColorChoice::Auto, false),
            "never into a file or pipe"
        );
    }

    #[test]
    fn painted_text_is_plain_without_colour() {
        assert_eq!(paint("error:", Paint::Error, false), "error:");
        let p = paint("error:", Paint::Error, true);
        assert!(p.starts_with('\u{1b}') && p.contains("error:") && p.ends_with('m'));
    }
}
