//! The `.4DLink` reader.

use quick_xml::XmlVersion;
use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::{Link, LinkError, UnknownAttribute};
use crate::xml::{doctype_declares_entities, line_col, strip_bom};

/// Byte offset of `part` inside `whole`, when `part` is a sub-slice of it.
fn offset_in(whole: &str, part: &[u8]) -> Option<usize> {
    let start = whole.as_ptr() as usize;
    let p = part.as_ptr() as usize;
    (p >= start && p + part.len() <= start + whole.len()).then(|| p - start)
}

// Long: one match arm per `.4DLink` attribute, as 4D writes them; each arm is a line or two.
pub(super) fn parse(bytes: &[u8]) -> Result<Link, LinkError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let lc = line_col(valid, valid.len());
            return Err(LinkError::NotUtf8 {
                line: lc.line,
                column: lc.column,
            });
        }
    };
    let body = strip_bom(text);
    let at = |offset: usize| line_col(body, offset);
    let mut reader = Reader::from_str(body);
    let mut link: Option<Link> = None;
    let mut depth = 0usize;
    loop {
        let event_start = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| {
            let lc = at(usize::try_from(reader.error_position()).unwrap_or(usize::MAX));
            LinkError::Xml {
                line: lc.line,
                column: lc.column,
                message: e.to_string(),
            }
        })?;
        let unexpected = |what: String| {
            let lc = at(event_start);
            LinkError::UnexpectedContent {
                what,
                line: lc.line,
                column: lc.column,
            }
        };
        match event {
            Event::Eof => {
                if depth > 0 {
                    let lc = at(body.len());
                    return Err(LinkError::Xml {
                        line: lc.line,
                        column: lc.column,
                        message: "the file ends before </database_shortcut>".into(),
                    });
                }
                break;
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::DocType(d) => {
                if doctype_declares_entities(d.as_ref().as_bytes()) {
                    let lc = at(event_start);
                    return Err(LinkError::EntityDeclarations {
                        line: lc.line,
                        column: lc.column,
                    });
                }
            }
            Event::Text(t) => {
                if !t.as_ref().chars().all(|c| c.is_ascii_whitespace()) {
                    return Err(unexpected("text".into()));
                }
            }
            Event::CData(_) => return Err(unexpected("CDATA section".into())),
            Event::GeneralRef(r) => {
                return Err(unexpected(format!(
                    "entity reference &{};",
                    r.as_ref() as &str
                )));
            }
            Event::Start(e) | Event::Empty(e) if link.is_some() || depth > 0 => {
                let name = e.name().as_ref().to_owned();
                return Err(unexpected(format!("element <{name}>")));
            }
            Event::Start(e) => {
                link = Some(read_root(body, &e, event_start)?);
                depth = 1;
            }
            Event::Empty(e) => {
                link = Some(read_root(body, &e, event_start)?);
            }
            Event::End(_) => depth = depth.saturating_sub(1),
        }
    }
    link.ok_or_else(|| {
        let lc = at(body.len());
        LinkError::NoRoot {
            line: lc.line,
            column: lc.column,
        }
    })
}

fn read_root(body: &str, e: &BytesStart<'_>, tag_start: usize) -> Result<Link, LinkError> {
    let at = |offset: usize| line_col(body, offset);
    let name = e.name();
    if name.as_ref() != "database_shortcut" {
        let lc = at(tag_start);
        return Err(LinkError::WrongRoot {
            found: name.as_ref().to_owned(),
            line: lc.line,
            column: lc.column,
        });
    }
    let mut link = Link::default();
    let mut seen: Vec<String> = Vec::new();
    let mut attributes = e.attributes();
    attributes.with_checks(true);
    // Offset of the tag's content (after `<`) inside the document: attribute errors count from it.
    let attrs_base = offset_in(body, e.as_bytes()).unwrap_or(tag_start);
    for attr in attributes {
        let attr = attr.map_err(|err| attr_error(body, attrs_base, &err))?;
        let key = attr.key.as_ref().to_owned();
        let pos = offset_in(body, attr.key.as_ref().as_bytes()).unwrap_or(tag_start);
        let value = attr
            .normalized_value(XmlVersion::Explicit1_0)
            .map_err(|err| {
                let lc = at(pos);
                LinkError::Xml {
                    line: lc.line,
                    column: lc.column,
                    message: format!("in the value of {key}: {err}"),
                }
            })?;
        if seen.contains(&key) {
            let lc = at(pos);
            return Err(LinkError::DuplicateAttribute {
                name: key,
                line: lc.line,
                column: lc.column,
            });
        }
        match link.set_known(&key, &value) {
            Some(Ok(())) => {}
            Some(Err(reason)) => {
                let lc = at(pos);
                return Err(LinkError::InvalidValue {
                    name: key,
                    value: value.into_owned(),
                    reason,
                    line: lc.line,
                    column: lc.column,
                });
            }
            None => link.unknown.push(UnknownAttribute {
                name: key.clone(),
                value: value.into_owned(),
            }),
        }
        seen.push(key);
    }
    if link.is_remote == Some(true)
        && link
            .server_database_name
            .as_deref()
            .is_none_or(str::is_empty)
    {
        let lc = at(tag_start);
        return Err(LinkError::MissingDatabaseName {
            line: lc.line,
            column: lc.column,
        });
    }
    Ok(link)
}

fn attr_error(body: &str, base: usize, err: &AttrError) -> LinkError {
    let (relative, message) = match err {
        AttrError::Duplicated(pos, _) => {
            // The duplicate's name starts at `pos` (relative to the attribute text).
            let name: String = body[(base + pos).min(body.len())..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '=')
                .collect();
            let lc = line_col(body, base + pos);
            return LinkError::DuplicateAttribute {
                name,
                line: lc.line,
                column: lc.column,
            };
        }
        AttrError::ExpectedEq(p)
        | AttrError::ExpectedValue(p)
        | AttrError::UnquotedValue(p)
        | AttrError::ExpectedQuote(p, _) => (*p, err.to_string()),
    };
    let lc = line_col(body, base + relative);
    LinkError::Xml {
        line: lc.line,
        column: lc.column,
        message,
    }
}
