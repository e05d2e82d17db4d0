//! The connecting screen: the phase, a progress bar for the download, Cancel.

use iced::widget::{button, center, column, progress_bar, text};
use iced::{Element, Length};
use remote4d_core::client::Progress;

use super::i18n::Strings;

/// What the progress view shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Connecting {
    /// The server being connected to.
    pub target: String,
    /// The last phase reported.
    pub phase: Option<Progress>,
}

/// Messages of the progress view.
#[derive(Debug, Clone)]
pub enum Message {
    /// Cancel the connection.
    Cancel,
}

fn mb(n: u64) -> String {
    format!("{:.1}", n as f64 / 1e6)
}

impl Connecting {
    /// A new attempt on `target`.
    pub fn new(target: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            phase: None,
        }
    }

    /// A phase arrived.
    pub fn progress(&mut self, p: Progress) {
        self.phase = Some(p);
    }

    /// The phase in words, and the fraction done when known.
    pub fn describe(&self, tr: &'static Strings) -> (String, Option<f32>) {
        match &self.phase {
            None => (tr.phase_connecting.into(), None),
            Some(p) => match p {
                Progress::LookingUp { name } => {
                    (format!("{} ({name})…", tr.phase_looking_up), None)
                }
                Progress::Connecting { address } => {
                    (format!("{} ({address})…", tr.phase_connecting), None)
                }
                Progress::CheckingIdentity { .. } => (format!("{}…", tr.phase_identity), None),
                Progress::LoggingIn { user } => (format!("{} ({user})…", tr.phase_login), None),
                Progress::UpToDate => (tr.phase_up_to_date.into(), Some(1.0)),
                Progress::Repairing { reason } => {
                    (format!("{}: {reason}", tr.phase_repairing), None)
                }
                Progress::Resources { folder, bytes, .. } => (
                    format!("{} {folder} ({} KB)", tr.phase_resources, bytes / 1000),
                    Some(1.0),
                ),
                Progress::Delta { bytes } => (
                    format!("{} ({} KB)", tr.phase_downloading, bytes / 1000),
                    Some(1.0),
                ),
                Progress::FromMirror { url } => {
                    (format!("{} ({url})…", tr.phase_downloading), None)
                }
                Progress::MirrorSkipped { url, .. } => {
                    (format!("{} ({url} ✗)…", tr.phase_downloading), None)
                }
                Progress::Downloading {
                    done,
                    total,
                    bytes_per_sec,
                } => {
                    let left = if *bytes_per_sec > 0 {
                        let secs = total.saturating_sub(*done) as f64 / *bytes_per_sec as f64;
                        format!(", {secs:.0} s {}", tr.left)
                    } else {
                        String::new()
                    };
                    let fraction = if *total > 0 {
                        *done as f32 / *total as f32
                    } else {
                        0.0
                    };
                    (
                        format!(
                            "{}: {} / {} MB, {} MB/s{left}",
                            tr.phase_downloading,
                            mb(*done),
                            mb(*total),
                            mb(*bytes_per_sec)
                        ),
                        Some(fraction),
                    )
                }
                Progress::Retrying {
                    attempt, reason, ..
                } => (format!("{} ({attempt}): {reason}", tr.phase_retrying), None),
                Progress::Verifying => (format!("{}…", tr.phase_verifying), Some(1.0)),
                Progress::Unpacking => (format!("{}…", tr.phase_unpacking), Some(1.0)),
                Progress::CheckingSameMachine => (format!("{}…", tr.phase_same_machine), None),
                Progress::Ready { .. } => (tr.phase_ready.into(), Some(1.0)),
            },
        }
    }

    /// The view.
    pub fn view(&self, tr: &'static Strings) -> Element<'_, Message> {
        let (phase, fraction) = self.describe(tr);
        let bar = progress_bar(0.0..=1.0, fraction.unwrap_or(0.0)).length(Length::Fixed(420.0));
        center(
            column![
                text(self.target.as_str()).size(20),
                text(phase),
                bar,
                super::focus::focusable(
                    button(text(tr.cancel))
                        .on_press(Message::Cancel)
                        .style(button::secondary)
                ),
            ]
            .spacing(14)
            .align_x(iced::Alignment::Center),
        )
        .into()
    }
}
