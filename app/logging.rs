//! Log lines on standard error. By default only warnings and errors, written as the rest of the
//! command line's messages (`warning: …`, no time, no source), so that normal output stays
//! clean; `-v`, `REMOTE4D_LOG` or `RUST_LOG` ask for the full lines (time, level, source).

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::cli::colour::{self, Paint};

/// The variable read first for the log filter; `RUST_LOG` (the Rust convention) after it.
pub const VARIABLE: &str = "REMOTE4D_LOG";

/// The filter the environment asks for, if any.
fn from_environment() -> Option<EnvFilter> {
    [VARIABLE, "RUST_LOG"]
        .iter()
        .find_map(|v| EnvFilter::try_from_env(v).ok())
}

/// Starts logging for `verbose` (-v: 1, -vv: 2).
pub fn init(verbose: u8) {
    let asked = from_environment();
    let detailed = verbose > 0 || asked.is_some();
    // rustls warns about what peers send (an IP address as SNI, say): a peer must not be able
    // to fill the server's log, so its warnings show only with -vv.
    let filter = asked.unwrap_or_else(|| {
        EnvFilter::new(match verbose {
            // What administrators do is always in a server's log (remote4d::audit).
            0 => "warn,rustls=error,remote4d::audit=info",
            1 => "info,rustls=error",
            _ => "debug",
        })
    });
    let ansi = colour::on_stderr();
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let stderr = if detailed {
        stderr.boxed()
    } else {
        stderr.event_format(Plain { ansi }).boxed()
    };
    // The server log its administrator reads (window, `remote4d admin log`): Remote4D's own
    // lines from info up, the libraries' warnings and errors (rustls: errors only, as peers can
    // provoke its warnings; winit: errors only, the window system is not the server), whatever
    // stderr shows.
    let ring = ServerLog.with_filter(EnvFilter::new(
        "warn,rustls=error,winit=error,remote4d=info,remote4d_core=info,remote4d::audit=info",
    ));
    let _ = tracing_subscriber::registry()
        .with(stderr.with_filter(filter))
        .with(ring)
        .try_init();
}

/// Feeds core's server log (`remote4d_core::server::log`).
struct ServerLog;

impl<S: Subscriber> Layer<S> for ServerLog {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        use remote4d_core::protocol::paths::LogLevel;
        let level = match *event.metadata().level() {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG | Level::TRACE => LogLevel::Debug,
        };
        let mut text = Text(String::new());
        event.record(&mut text);
        remote4d_core::server::log::record(level, event.metadata().target(), text.0);
    }
}

/// `message key=value …`.
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        use fmt::Write as _;
        let sep = if self.0.is_empty() { "" } else { " " };
        if field.name() == "message" {
            let _ = write!(self.0, "{sep}{value:?}");
        } else {
            let _ = write!(self.0, "{sep}{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        use fmt::Write as _;
        let sep = if self.0.is_empty() { "" } else { " " };
        if field.name() == "message" {
            let _ = write!(self.0, "{sep}{value}");
        } else {
            let _ = write!(self.0, "{sep}{}={value}", field.name());
        }
    }
}

/// `warning: message key=value` — a log event as the command line's other messages.
struct Plain {
    ansi: bool,
}

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let (word, paint) = match *event.metadata().level() {
            Level::ERROR => ("error:", Paint::Error),
            Level::WARN => ("warning:", Paint::Warning),
            Level::INFO => ("info:", Paint::Note),
            Level::DEBUG => ("debug:", Paint::Note),
            Level::TRACE => ("trace:", Paint::Note),
        };
        write!(writer, "{} ", colour::paint(word, paint, self.ansi))?;
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
