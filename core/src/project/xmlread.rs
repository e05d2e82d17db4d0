//! A small event-driven XML walker for the project's XML files (catalog, settings).

use std::path::Path;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::error::{ProjectError, Result};
use crate::xml::{doctype_declares_entities, line_col, strip_bom};

/// The largest project XML file read, in bytes.
const MAX_XML: u64 = 64 << 20;

/// An element start: its path of ancestor names (including itself) and its attributes.
pub(super) struct Element<'a> {
    pub path: &'a [String],
    pub attributes: Vec<(String, String)>,
}

impl Element<'_> {
    pub fn name(&self) -> &str {
        self.path.last().map_or("", String::as_str)
    }
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads `path` and calls `on_start` for every element start, then `on_end` with the depth
/// after each element ends. DTDs declaring entities are refused.
pub(super) fn walk(
    path: &Path,
    on_start: impl FnMut(&Element<'_>),
    on_end: impl FnMut(&[String]),
) -> Result<()> {
    walk_with_text(path, on_start, on_end, |_, _| {})
}

/// [`walk`], also calling `on_text` with the path of the element that holds a text and the text
/// (references resolved; whitespace-only text between elements skipped).
pub(super) fn walk_with_text(
    path: &Path,
    mut on_start: impl FnMut(&Element<'_>),
    mut on_end: impl FnMut(&[String]),
    mut on_text: impl FnMut(&[String], &str),
) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(ProjectError::io(path))?;
    if meta.len() > MAX_XML {
        return Err(xml_error(
            path,
            "",
            0,
            format!("larger than {MAX_XML} bytes"),
        ));
    }
    let bytes = std::fs::read(path).map_err(ProjectError::io(path))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
        xml_error(path, valid, valid.len(), "not UTF-8 text".into())
    })?;
    let body = strip_bom(text);
    let mut reader = Reader::from_str(body);
    let mut stack: Vec<String> = Vec::new();
    // The text of the element being read, pieces and references joined.
    let mut text = String::new();
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| {
            let pos = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
            xml_error(path, body, pos, e.to_string())
        })?;
        match event {
            Event::Eof => break,
            Event::DocType(d) if doctype_declares_entities(d.as_ref().as_bytes()) => {
                return Err(xml_error(
                    path,
                    body,
                    at,
                    "entity declarations are refused".into(),
                ));
            }
            Event::Start(e) => {
                flush(&stack, &mut text, &mut on_text);
                stack.push(e.name().as_ref().to_owned());
                let attributes = attributes(path, body, at, &e)?;
                on_start(&Element {
                    path: &stack,
                    attributes,
                });
            }
            Event::Empty(e) => {
                flush(&stack, &mut text, &mut on_text);
                stack.push(e.name().as_ref().to_owned());
                let attributes = attributes(path, body, at, &e)?;
                on_start(&Element {
                    path: &stack,
                    attributes,
                });
                stack.pop();
                on_end(&stack);
            }
            Event::End(_) => {
                flush(&stack, &mut text, &mut on_text);
                stack.pop();
                on_end(&stack);
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                // `&amp;`, `&#233;`…: the character it stands for (other names are not defined
                // without a DTD, and DTD entities are refused).
                let ch = r
                    .resolve_char_ref()
                    .map_err(|e| xml_error(path, body, at, e.to_string()))?
                    .or(match r.xml10_content().as_ref() {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    });
                if let Some(ch) = ch {
                    text.push(ch);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Hands the text read so far to `on_text` (unless it is only whitespace between elements).
fn flush(stack: &[String], text: &mut String, on_text: &mut impl FnMut(&[String], &str)) {
    if !text.trim().is_empty() {
        on_text(stack, text);
    }
    text.clear();
}

fn attributes(
    path: &Path,
    body: &str,
    at: usize,
    e: &BytesStart<'_>,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| xml_error(path, body, at, err.to_string()))?;
        let value = attr
            .normalized_value(XmlVersion::Explicit1_0)
            .map_err(|err| xml_error(path, body, at, err.to_string()))?;
        out.push((attr.key.as_ref().to_owned(), value.into_owned()));
    }
    Ok(out)
}

fn xml_error(path: &Path, body: &str, offset: usize, message: String) -> ProjectError {
    let lc = line_col(body, offset);
    ProjectError::Xml {
        path: path.to_path_buf(),
        line: lc.line,
        column: lc.column,
        message,
    }
}
