//! `catalog.4DCatalog`: the project's tables and fields.

use std::path::Path;

use serde::Serialize;

use super::error::Result;
use super::xmlread::walk;

/// The structure's tables, as `Project/Sources/catalog.4DCatalog` describes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Catalog {
    /// The `name` of the `<base>` element.
    pub name: Option<String>,
    /// The `uuid` of the `<base>` element.
    pub uuid: Option<String>,
    /// Tables, in file order.
    pub tables: Vec<Table>,
}

/// A table of the catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    /// Table name.
    pub name: String,
    /// Table number (`id`).
    pub id: Option<u32>,
    /// Table UUID.
    pub uuid: Option<String>,
    /// Fields, in file order.
    pub fields: Vec<Field>,
    /// Name of the primary key field.
    pub primary_key: Option<String>,
}

/// A field of a table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Field number (`id`).
    pub id: Option<u32>,
    /// Field UUID.
    pub uuid: Option<String>,
    /// The catalog's storage type code (`type` attribute).
    pub type_code: Option<u32>,
    /// A readable name for the type.
    pub type_name: &'static str,
    /// Maximum length of an alpha field (`limiting_length`).
    pub limiting_length: Option<u32>,
    /// Values are unique.
    pub unique: bool,
    /// Automatic sequence number.
    pub autosequence: bool,
    /// Mandatory (`not_null`).
    pub not_null: bool,
}

/// A readable name for a catalog storage type code (best effort; `"unknown"` otherwise).
pub fn type_name(code: u32, limiting_length: Option<u32>) -> &'static str {
    match code {
        1 => "Boolean",
        3 => "Integer",
        4 => "Longint",
        5 => "Integer 64 bits",
        6 => "Real",
        7 => "Float",
        8 => "Date",
        9 => "Time",
        10 if limiting_length.is_some() => "Alpha",
        10 | 14 => "Text",
        12 => "Picture",
        13 => "UUID",
        18 => "BLOB",
        21 => "Object",
        _ => "unknown",
    }
}

fn flag(value: Option<&str>) -> bool {
    value == Some("true")
}

impl Catalog {
    /// Reads a catalog file.
    ///
    /// # Errors
    /// [`super::ProjectError::Io`] or [`super::ProjectError::Xml`] with line and column.
    pub fn read(path: &Path) -> Result<Self> {
        let mut catalog = Self::default();
        walk(
            path,
            |e| match (e.path.len(), e.name()) {
                (1, "base") => {
                    catalog.name = e.attr("name").map(str::to_owned);
                    catalog.uuid = e.attr("uuid").map(str::to_owned);
                }
                (2, "table") => catalog.tables.push(Table {
                    name: e.attr("name").unwrap_or_default().to_owned(),
                    id: e.attr("id").and_then(|v| v.parse().ok()),
                    uuid: e.attr("uuid").map(str::to_owned),
                    ..Table::default()
                }),
                (3, "field") if e.path[1] == "table" => {
                    if let Some(table) = catalog.tables.last_mut() {
                        let type_code = e.attr("type").and_then(|v| v.parse().ok());
                        let limiting_length =
                            e.attr("limiting_length").and_then(|v| v.parse().ok());
                        table.fields.push(Field {
                            name: e.attr("name").unwrap_or_default().to_owned(),
                            id: e.attr("id").and_then(|v| v.parse().ok()),
                            uuid: e.attr("uuid").map(str::to_owned),
                            type_code,
                            type_name: type_code
                                .map_or("unknown", |c| type_name(c, limiting_length)),
                            limiting_length,
                            unique: flag(e.attr("unique")),
                            autosequence: flag(e.attr("autosequence")),
                            not_null: flag(e.attr("not_null")),
                        });
                    }
                }
                (3, "primary_key") if e.path[1] == "table" => {
                    if let Some(table) = catalog.tables.last_mut() {
                        table.primary_key = e.attr("field_name").map(str::to_owned);
                    }
                }
                _ => {}
            },
            |_| {},
        )?;
        Ok(catalog)
    }
}
