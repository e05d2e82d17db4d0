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
    mut on_start: impl FnMut(&Element<'_>),
    mut on_end: impl FnMut(&[String]),
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
                stack.push(e.name().as_ref().to_owned());
                let attributes = attributes(path, body, at, &e)?;
                on_start(&Element {
                    path: &stack,
                    attributes,
                });
            }
            Event::Empty(e) => {
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
                stack.pop();
                on_end(&stack);
            }
            _ => {}
        }
    }
    Ok(())
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
