//! Printing results for people (aligned text) or scripts (JSON).
//!
//! Everything the command line prints goes through [`line`] / [`err_line`] (the `outln!` and
//! `errln!` macros): control characters are removed from the text first, so a hostile server's
//! names, messages or errors cannot drive the terminal (escape sequences, cursor moves, title
//! changes), and a reader that goes away (`remote4d … | head`) ends the command quietly instead of
//! killing it with SIGPIPE — a signal the process ignores, so that a peer resetting a socket can
//! never kill a server.

use std::borrow::Cow;
use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use super::colour::Paint;

/// Prints a line on standard output (see the module documentation).
#[macro_export]
macro_rules! outln {
    () => { $crate::cli::output::line(format_args!("")) };
    ($($t:tt)*) => { $crate::cli::output::line(format_args!($($t)*)) };
}

/// Prints a line on standard error (see the module documentation).
#[macro_export]
macro_rules! errln {
    ($($t:tt)*) => { $crate::cli::output::err_line(format_args!($($t)*)) };
}

/// `text` without control characters (but newlines and tabs): what a terminal shows as text.
pub fn clean(text: &str) -> Cow<'_, str> {
    let bad = |c: char| c.is_control() && c != '\n' && c != '\t';
    if text.chars().any(bad) {
        Cow::Owned(text.chars().filter(|c| !bad(*c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// Writes `args` and a newline on standard output, cleaned; exits quietly (status 0) when the
/// reader has gone away, as `head` expects.
pub fn line(args: fmt::Arguments<'_>) {
    let text = fmt::format(args);
    let mut out = std::io::stdout().lock();
    let result = out
        .write_all(clean(&text).as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(err) = result {
        exit_if_gone(&err);
    }
}

/// Writes `text` as is (no newline added), cleaned; as [`line`] otherwise.
pub fn raw(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(err) = out
        .write_all(clean(text).as_bytes())
        .and_then(|()| out.flush())
    {
        exit_if_gone(&err);
    }
}

/// Writes `args` and a newline on standard error, cleaned; a closed standard error is ignored
/// (a server keeps running when its terminal goes away).
pub fn err_line(args: fmt::Arguments<'_>) {
    let text = fmt::format(args);
    let mut err = std::io::stderr().lock();
    let _ = err
        .write_all(clean(&text).as_bytes())
        .and_then(|()| err.write_all(b"\n"));
}

/// What a labelled message on standard error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// `error:` — the command failed.
    Error,
    /// `note:` — worth knowing.
    Note,
}

/// `error: text` (or `warning:`, `note:`) on standard error, the label painted when standard
/// error has colour, the text cleaned and starting with a capital letter.
pub fn labelled(label: Label, text: &str) {
    let (word, paint) = match label {
        Label::Error => ("error:", Paint::Error),
        Label::Note => ("note:", Paint::Note),
    };
    let word = super::colour::paint(word, paint, super::colour::on_stderr());
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{word} {}", clean(&sentence(text)));
}

static JSON_ERRORS: AtomicBool = AtomicBool::new(false);

/// From now on, errors are printed as one JSON object (the command was asked for `--json`, so
/// its streams carry JSON only).
pub fn json_errors() {
    JSON_ERRORS.store(true, Ordering::Relaxed);
}

/// Prints `err` on standard error: `error: …` and each cause once (a cause already said by the
/// line above is skipped), as sentences; or, after [`json_errors`],
/// `{"error": "…", "causes": ["…"]}` on one line.
pub fn error(err: &(dyn std::error::Error + 'static)) {
    let mut said = err.to_string();
    let mut causes = Vec::new();
    let mut cause = err.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !said.contains(&text) {
            causes.push(sentence(&text));
            said = text;
        }
        cause = c.source();
    }
    let message = sentence(&err.to_string());
    if JSON_ERRORS.load(Ordering::Relaxed) {
        let value = serde_json::json!({ "error": message, "causes": causes });
        crate::errln!("{value}");
        return;
    }
    labelled(Label::Error, &message);
    for c in causes {
        crate::errln!("  because: {c}");
    }
}

/// A prompt on standard error, without a newline.
pub fn prompt(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err
        .write_all(clean(text).as_bytes())
        .and_then(|()| err.write_all(b" "))
        .and_then(|()| err.flush());
}

fn exit_if_gone(err: &std::io::Error) {
    if reader_gone(err) {
        std::process::exit(0);
    }
}

/// The reader of a pipe went away: `BrokenPipe`, and on Windows also "the pipe is being closed"
/// (232) and "no process is on the other end of the pipe" (233), which Rust does not count as
/// broken pipes (and which Wine gives where Windows gives 232).
fn reader_gone(err: &std::io::Error) -> bool {
    const ERROR_NO_DATA: i32 = 232;
    const ERROR_PIPE_NOT_CONNECTED: i32 = 233;
    err.kind() == std::io::ErrorKind::BrokenPipe
        || (cfg!(windows)
            && matches!(
                err.raw_os_error(),
                Some(ERROR_NO_DATA | ERROR_PIPE_NOT_CONNECTED)
            ))
}

/// True when `err` (an error of the command line) is a reader of standard output that went away.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(reader_gone)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// `text` with its first letter capitalised (messages are sentences).
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Prints `value` as pretty JSON on stdout.
pub fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    // Serialised first, so that a closed pipe is an io::Error [`is_broken_pipe`] can read.
    let mut text = serde_json::to_vec_pretty(value)?;
    text.push(b'\n');
    let mut out = std::io::stdout().lock();
    out.write_all(&text)?;
    out.flush()?;
    Ok(())
}

/// A table as lines: a header row, then the rows, each column as wide as its widest cell
/// (counted in characters, so accented names align); the last column is not padded.
pub fn table_lines<S: AsRef<str>>(header: &[&str], rows: &[Vec<S>]) -> Vec<String> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.as_ref().chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        let cells: Vec<&str> = cells.collect();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                out.push_str(cell);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.trim_end().to_owned()
    };
    let mut lines = vec![line(&mut header.iter().copied())];
    for row in rows {
        lines.push(line(&mut row.iter().map(AsRef::as_ref)));
    }
    lines
}

/// Prints a table (see [`table_lines`]), its header row in bold when standard output has colour.
pub fn table<S: AsRef<str>>(header: &[&str], rows: &[Vec<S>]) {
    for (i, l) in table_lines(header, rows).into_iter().enumerate() {
        if i == 0 && super::colour::on_stdout() {
            let bold = super::colour::paint(&clean(&l), Paint::Header, true);
            let mut out = std::io::stdout().lock();
            if let Err(err) = writeln!(out, "{bold}") {
                exit_if_gone(&err);
            }
        } else {
            crate::outln!("{l}");
        }
    }
}

/// Prints `label: value` rows with the labels aligned.
pub fn rows<S: AsRef<str>>(rows: &[(S, String)]) {
    let width = rows
        .iter()
        .map(|(l, _)| l.as_ref().chars().count())
        .max()
        .unwrap_or(0);
    for (label, value) in rows {
        let label = label.as_ref();
        crate::outln!("{label:<width$}  {value}");
    }
}

/// A length of time for people: `3 d 4 h`, `2 h 5 min`, `4 min 2 s`, `12 s`.
pub fn duration_secs(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min {s} s")
    } else {
        format!("{s} s")
    }
}

/// Human-readable byte count.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_a_header_and_align_by_characters() {
        let lines = table_lines(
            &["NAME", "ADDRESS", "FILE"],
            &[
                vec!["Démo", "10.0.0.1:19813", "/a/Démo.4DLink"],
                vec!["Shop (remote)", "[fd00::1]:19813", "/a/Shop.4DLink"],
            ],
        );
        assert_eq!(
            lines,
            [
                "NAME           ADDRESS          FILE",
                "Démo           10.0.0.1:19813   /a/Démo.4DLink",
                "Shop (remote)  [fd00::1]:19813  /a/Shop.4DLink",
            ]
        );
    }

    #[test]
    fn control_characters_are_removed_but_lines_and_tabs_kept() {
        assert_eq!(clean("plain"), "plain");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
        assert_eq!(
            clean("a\u{1b}[2J\u{1b}]0;owned\u{7}b\n\tc\r\u{9b}d"),
            "a[2J]0;ownedb\n\tcd"
        );
    }
}
