//! Log lines on standard error. By default only warnings and errors, written as the rest of the
//! command line's messages (`warning: …`, no time, no source), so that normal output stays
//! clean; `-v`, `REMOTE4D_LOG` or `RUST_LOG` ask for the full lines (time, level, source).

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = if detailed {
        builder.try_init()
    } else {
        builder.event_format(Plain { ansi }).try_init()
    };
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
