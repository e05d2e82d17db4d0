//! Long work on standard error: one line redrawn in place on a terminal (indicatif), plain lines
//! at most every few seconds otherwise, so that logs and CI output stay short.
//!
//! A phase ("connecting to …") replaces the line; an amount of bytes shows a bar, the rate and
//! the time left; a note is a lasting line printed above the in-place one.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::output;

/// Plain progress lines of one phase are at least this far apart.
pub const PLAIN_EVERY: Duration = Duration::from_secs(5);
/// Work shorter than this prints no plain amount at all.
pub const PLAIN_AFTER: Duration = Duration::from_secs(1);

/// Where a progress line goes.
pub struct StatusLine {
    mode: Mode,
}

enum Mode {
    /// A terminal: the line redrawn in place (a new one after each [`StatusLine::finish`]).
    Line(Mutex<ProgressBar>),
    /// Anything else: throttled plain lines.
    Plain(Mutex<Plain>),
}

#[derive(Default)]
struct Plain {
    /// The phase of the last line, and when the amount was last printed.
    phase: String,
    printed: Option<Instant>,
    started: Option<(Instant, u64)>,
    /// The 100 % line was printed.
    closed: bool,
}

impl StatusLine {
    /// A line in place when standard error is a terminal (and not `TERM=dumb`), plain lines
    /// otherwise.
    pub fn new() -> Self {
        let terminal =
            std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
        if terminal {
            Self {
                mode: Mode::Line(Mutex::new(new_bar())),
            }
        } else {
            Self::plain()
        }
    }

    /// Plain lines, whatever standard error is.
    pub fn plain() -> Self {
        Self {
            mode: Mode::Plain(Mutex::new(Plain::default())),
        }
    }

    /// A lasting line ("ready: …"), above the line in place.
    pub fn note(&self, text: &str) {
        match &self.mode {
            Mode::Line(bar) => lock(bar).suspend(|| crate::errln!("{text}")),
            Mode::Plain(_) => crate::errln!("{text}"),
        }
    }

    /// The current phase, without an amount ("unpacking…").
    pub fn phase(&self, text: &str) {
        let text = output::clean(text).into_owned();
        match &self.mode {
            Mode::Line(bar) => {
                let bar = lock(bar);
                bar.set_style(spinner_style());
                bar.set_message(text);
                bar.enable_steady_tick(Duration::from_millis(120));
            }
            Mode::Plain(plain) => {
                let mut p = lock(plain);
                if p.phase != text {
                    crate::errln!("{text}");
                    *p = Plain {
                        phase: text,
                        ..Plain::default()
                    };
                }
            }
        }
    }

    /// `done` of `total` bytes of `phase` ("downloading").
    pub fn bytes(&self, phase: &str, done: u64, total: u64) {
        match &self.mode {
            Mode::Line(bar) => {
                let bar = lock(bar);
                let phase = output::clean(phase).into_owned();
                if bar.length() != Some(total) || bar.message() != phase {
                    bar.disable_steady_tick();
                    bar.set_style(bytes_style());
                    bar.set_length(total);
                    bar.reset();
                    bar.set_message(phase);
                }
                bar.set_position(done);
            }
            Mode::Plain(plain) => {
                let mut p = lock(plain);
                let now = Instant::now();
                let new_phase = p.phase != phase;
                if new_phase {
                    *p = Plain {
                        phase: phase.to_owned(),
                        ..Plain::default()
                    };
                }
                let (start, from) = *p.started.get_or_insert((now, done));
                let due = match p.printed {
                    None => now.duration_since(start) >= PLAIN_AFTER,
                    Some(t) => now.duration_since(t) >= PLAIN_EVERY,
                };
                // The last amount closes what was shown; quick work shows nothing.
                let last = done >= total && p.printed.is_some() && !p.closed;
                if (due && done < total) || last {
                    p.closed = done >= total;
                    p.printed = Some(now);
                    crate::errln!(
                        "{}",
                        plain_line(phase, done, total, now - start, done - from)
                    );
                }
            }
        }
    }

    /// Removes the line in place (the work is over, or a question or an error is to be printed
    /// on its own line); plain lines stay as they are. The next phase starts a new line.
    pub fn finish(&self) {
        if let Mode::Line(bar) = &self.mode {
            let mut bar = lock(bar);
            bar.finish_and_clear();
            *bar = new_bar();
        }
    }
}

impl Drop for StatusLine {
    fn drop(&mut self) {
        if let Mode::Line(bar) = &self.mode {
            lock(bar).finish_and_clear();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn new_bar() -> ProgressBar {
    ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8))
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bytes_style() -> ProgressStyle {
    let template = if super::colour::on_stderr() {
        "{msg} [{bar:30.cyan/blue}] {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec}, {eta} left"
    } else {
        "{msg} [{bar:30}] {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec}, {eta} left"
    };
    ProgressStyle::with_template(template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// "downloading: 12.0 MB of 40.0 MB (30 %), 8.0 MB/s, 4 s left".
pub fn plain_line(phase: &str, done: u64, total: u64, elapsed: Duration, moved: u64) -> String {
    let percent = done.saturating_mul(100).checked_div(total).unwrap_or(100);
    let mut line = format!(
        "{phase}: {} of {} ({percent} %)",
        output::bytes(done),
        output::bytes(total)
    );
    let secs = elapsed.as_secs_f64();
    if secs >= 0.5 && moved > 0 {
        let rate = moved as f64 / secs;
        line.push_str(&format!(", {}/s", output::bytes(rate as u64)));
        if done < total {
            let left = (total - done) as f64 / rate;
            line.push_str(&format!(", {} left", duration(left)));
        }
    }
    line
}

/// "4 s", "2 min 05 s".
fn duration(secs: f64) -> String {
    let s = secs.ceil() as u64;
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_say_amount_rate_and_time_left() {
        assert_eq!(
            plain_line(
                "downloading",
                12_000_000,
                40_000_000,
                Duration::from_secs(2),
                12_000_000
            ),
            "downloading: 12.0 MB of 40.0 MB (30 %), 6.0 MB/s, 5 s left"
        );
        assert_eq!(
            plain_line("building", 0, 40_000_000, Duration::ZERO, 0),
            "building: 0 B of 40.0 MB (0 %)"
        );
        assert_eq!(
            plain_line(
                "building",
                40_000_000,
                40_000_000,
                Duration::from_secs(200),
                40_000_000
            ),
            "building: 40.0 MB of 40.0 MB (100 %), 200.0 KB/s"
        );
        assert_eq!(duration(125.2), "2 min 06 s");
    }
}
