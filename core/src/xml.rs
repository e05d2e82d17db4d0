//! Small helpers shared by the XML formats (`.4DLink`, catalog, settings).

/// A 1-based line and column in a text, counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineCol {
    pub line: usize,
    pub column: usize,
}

/// The line and column of byte `offset` in `text` (clamped to its length).
pub(crate) fn line_col(text: &str, offset: usize) -> LineCol {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    LineCol { line, column }
}

/// Escapes a string for use inside a double-quoted XML attribute value.
///
/// Line breaks and tabs are written as character references so that they survive
/// attribute-value normalisation when read back.
pub(crate) fn escape_attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// Strips a UTF-8 byte-order mark, if any.
pub(crate) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// True when a DOCTYPE body declares entities (internal subset with `<!ENTITY`).
pub(crate) fn doctype_declares_entities(doctype: &[u8]) -> bool {
    doctype
        .windows(8)
        .any(|w| w.eq_ignore_ascii_case(b"<!ENTITY"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let t = "ab\ncdé\nf";
        assert_eq!(line_col(t, 0), LineCol { line: 1, column: 1 });
        assert_eq!(line_col(t, 3), LineCol { line: 2, column: 1 });
        // 'é' is two bytes; offset after it is column 4 of line 2.
        assert_eq!(line_col(t, 7), LineCol { line: 2, column: 4 });
        assert_eq!(line_col(t, 100), LineCol { line: 3, column: 2 });
    }

    #[test]
    fn escape_round_trips_specials() {
        assert_eq!(
            escape_attr("a&b<\"c\">\n"),
            "a&amp;b&lt;&quot;c&quot;&gt;&#10;"
        );
    }
}
