//! The Maintenance page (4D Server's Maintenance): reload now (RELOAD PROJECT), the build
//! history, restart, shut down with a countdown and a message, and the server log, live and
//! filterable.

use iced::widget::{button, column, row, scrollable, text, text_input};
use iced::{Alignment, Element, Length};
use remote4d_core::protocol::paths::{BuildRecord, LogLevel, LogLine};

use super::data::Request;
use super::{hm, section};
use crate::cli::output::bytes;

/// The page's state.
#[derive(Debug, Default)]
pub struct Maintenance {
    delay: String,
    message: String,
    log_filter: String,
    /// Lines below it are hidden (default: info and above).
    level: Option<LogLevel>,
    problem: Option<String>,
}

/// What the page says.
#[derive(Debug, Clone)]
pub enum Message {
    /// Reload now.
    Reload,
    /// Restart.
    Restart,
    /// The shutdown delay was typed.
    Delay(String),
    /// The shutdown message was typed.
    Notice(String),
    /// Shut down.
    Shutdown,
    /// The log filter was typed.
    LogFilter(String),
    /// Show log lines of this level and above.
    Level(LogLevel),
}

/// Log lines drawn at most (a page of text; the filter finds the rest).
const SHOWN: usize = 200;

fn level_name(l: LogLevel) -> &'static str {
    match l {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warning",
        LogLevel::Error => "error",
    }
}

impl Maintenance {
    /// Applies `message`; what to ask of the server, if anything.
    pub fn update(&mut self, message: Message) -> Option<Request> {
        self.problem = None;
        match message {
            Message::Reload => return Some(Request::Reload { quiet: false }),
            Message::Restart => return Some(Request::Restart),
            Message::Delay(d) => self.delay = d,
            Message::Notice(m) => self.message = m,
            Message::LogFilter(f) => self.log_filter = f,
            Message::Level(l) => self.level = Some(l),
            Message::Shutdown => {
                let Some(in_seconds) = super::seconds(&self.delay) else {
                    self.problem = Some(format!("the countdown {}", super::SECONDS_EXPECTED));
                    return None;
                };
                let message = Some(self.message.trim().to_owned()).filter(|m| !m.is_empty());
                return Some(Request::Shutdown {
                    in_seconds,
                    message,
                });
            }
        }
        None
    }

    /// The page.
    pub fn view<'a>(
        &'a self,
        builds: &'a [BuildRecord],
        log: &'a std::collections::VecDeque<LogLine>,
    ) -> Element<'a, Message> {
        let mut history = column![row![
            text("Built").size(13).width(70),
            text("Stamp").size(13).width(Length::FillPortion(3)),
            text("Size").size(13).width(Length::FillPortion(2)),
            text("Files").size(13).width(Length::FillPortion(1)),
            text("Changed").size(13).width(Length::FillPortion(1)),
            text("Delta kept").size(13).width(Length::FillPortion(2)),
        ]]
        .spacing(2);
        for b in builds {
            let stamp = b.stamp.get(..12).unwrap_or(&b.stamp);
            history = history.push(row![
                text(hm(b.built_at_ms)).width(70),
                text(if b.current {
                    format!("{stamp} (current)")
                } else {
                    stamp.to_owned()
                })
                .width(Length::FillPortion(3)),
                text(bytes(b.archive_size)).width(Length::FillPortion(2)),
                text(b.files.to_string()).width(Length::FillPortion(1)),
                text(
                    b.changed_files
                        .map_or_else(|| "—".into(), |n| n.to_string())
                )
                .width(Length::FillPortion(1)),
                text(if b.current {
                    "—".to_owned()
                } else {
                    b.delta_size.map_or_else(|| "not asked yet".into(), bytes)
                })
                .width(Length::FillPortion(2)),
            ]);
        }
        let mut stop = column![
            row![
                button(text("Reload now")).on_press(Message::Reload),
                button(text("Restart")).on_press(Message::Restart),
            ]
            .spacing(8),
            row![
                text("Shut down in"),
                text_input("0", &self.delay)
                    .id("admin-shutdown-delay")
                    .on_input(Message::Delay)
                    .width(60),
                text("s, telling the users"),
                text_input("(optional message)", &self.message)
                    .id("admin-shutdown-message")
                    .on_input(Message::Notice),
                button(text("Shut down"))
                    .on_press(Message::Shutdown)
                    .style(button::danger),
            ]
            .spacing(8)
            .align_y(Alignment::Center),
        ]
        .spacing(8);
        if let Some(p) = &self.problem {
            stop = stop.push(text(p).style(text::danger));
        }
        let min = self.level.unwrap_or(LogLevel::Info);
        let mut levels = row![text("Show")].spacing(6).align_y(Alignment::Center);
        for l in [
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warn,
            LogLevel::Error,
        ] {
            let b = button(text(level_name(l)).size(13))
                .padding([2, 8])
                .on_press(Message::Level(l));
            levels = levels.push(if l == min {
                b.style(button::primary)
            } else {
                b.style(button::secondary)
            });
        }
        levels = levels.push(text("and above"));
        let needle = self.log_filter.trim().to_lowercase();
        let matching: Vec<&LogLine> = log
            .iter()
            .rev()
            .filter(|l| {
                l.level >= min
                    && (needle.is_empty()
                        || l.text.to_lowercase().contains(&needle)
                        || l.target.to_lowercase().contains(&needle))
            })
            .collect();
        let mut lines = column![].spacing(1);
        if matching.len() > SHOWN {
            lines = lines.push(
                text(format!(
                    "the last {SHOWN} of {} lines, newest first: filter to find older ones",
                    matching.len()
                ))
                .size(12),
            );
        }
        for l in matching.into_iter().take(SHOWN) {
            let bad = l.level >= LogLevel::Warn;
            lines = lines.push(
                text(format!(
                    "{}  {:<7}  {}  {}",
                    hm(l.at_ms),
                    level_name(l.level),
                    l.target,
                    l.text
                ))
                .size(12)
                .font(iced::Font::MONOSPACE)
                .style(move |theme: &iced::Theme| {
                    if bad {
                        text::danger(theme)
                    } else {
                        text::Style::default()
                    }
                }),
            );
        }
        column![
            section("Server", stop),
            section("Build history", history),
            section(
                "Server log",
                column![
                    row![
                        levels,
                        text_input("Filter the log", &self.log_filter)
                            .id("admin-log-filter")
                            .on_input(Message::LogFilter),
                    ]
                    .spacing(12)
                    .align_y(Alignment::Center),
                    scrollable(lines).height(Length::Fill),
                ]
                .spacing(6)
            ),
        ]
        .spacing(12)
        .into()
    }
}
