//! The server's log as its administrator reads it (4D Server's log, live in its window and over
//! the administration API): the last lines of this process's log, numbered.
//!
//! Core writes its log with `tracing` and installs no subscriber: the program that runs the
//! server feeds this ring from its own (the `remote4d` app does, for info and above).

use super::activity::Ring;
use crate::protocol::paths::{LogLevel, LogLine};

/// How many lines are kept.
const KEPT: usize = 2000;

static LOG: Ring<LogLine> = Ring::new(KEPT);

/// Adds a line to the server log (called by the program's log subscriber).
pub fn record(level: LogLevel, target: &str, text: String) {
    let target = target.to_owned();
    LOG.push(|seq| LogLine {
        seq,
        at_ms: crate::time::now_ms(),
        level,
        target,
        text,
    });
}

/// The lines after number `after` (0: all kept), oldest first.
pub(crate) fn since(after: u64) -> Vec<LogLine> {
    LOG.since(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_and_read_from_a_point() {
        record(LogLevel::Info, "t", "first".into());
        record(LogLevel::Warn, "t", "second".into());
        let all = since(0);
        let second = all.iter().rfind(|l| l.text == "second").unwrap();
        let first = all.iter().rfind(|l| l.text == "first").unwrap();
        assert!(second.seq > first.seq);
        assert!(since(second.seq).iter().all(|l| l.seq > second.seq));
    }
}
