//! What a project's sources contain: methods, classes, forms.

use std::path::Path;

use serde::Serialize;

/// The source files of a project, by kind, as paths relative to `Project/Sources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Content {
    /// Project methods (`Methods/*.4dm`), by name.
    pub methods: Vec<String>,
    /// Classes (`Classes/*.4dm`), by name.
    pub classes: Vec<String>,
    /// Database methods (`DatabaseMethods/*.4dm`), by name.
    pub database_methods: Vec<String>,
    /// Triggers (`Triggers/*.4dm`), by name.
    pub triggers: Vec<String>,
    /// Project forms (`Forms/<name>/`), by name.
    pub forms: Vec<String>,
    /// Table forms (`TableForms/<table>/<name>`), as `<table>/<name>`.
    pub table_forms: Vec<String>,
}

/// The kind of a source file, which decides where it lives under `Project/Sources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// `Methods/<name>.4dm`.
    Method,
    /// `Classes/<name>.4dm`.
    Class,
    /// `DatabaseMethods/<name>.4dm`.
    DatabaseMethod,
    /// `Triggers/<name>.4dm`.
    Trigger,
}

impl SourceKind {
    /// The folder under `Project/Sources`.
    pub fn folder(self) -> &'static str {
        match self {
            Self::Method => "Methods",
            Self::Class => "Classes",
            Self::DatabaseMethod => "DatabaseMethods",
            Self::Trigger => "Triggers",
        }
    }

    /// The path of source `name` relative to `Project/Sources`.
    pub fn relative_path(self, name: &str) -> String {
        format!("{}/{name}.4dm", self.folder())
    }
}

fn names(dir: &Path, ext: Option<&str>, dirs: bool) -> Vec<String> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = read
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir() == dirs))
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            match ext {
                Some(ext) => name.strip_suffix(ext).map(str::to_owned),
                None => Some(name),
            }
        })
        .filter(|n| !n.starts_with('.') && !crate::archive::is_excluded(n))
        .collect();
    out.sort();
    out
}

impl Content {
    /// Lists the sources under `sources` (a `Project/Sources` folder). Missing folders are empty.
    pub fn scan(sources: &Path) -> Self {
        let mut table_forms = Vec::new();
        for table in names(&sources.join("TableForms"), None, true) {
            for form in names(&sources.join("TableForms").join(&table), None, true) {
                table_forms.push(format!("{table}/{form}"));
            }
        }
        Self {
            methods: names(&sources.join("Methods"), Some(".4dm"), false),
            classes: names(&sources.join("Classes"), Some(".4dm"), false),
            database_methods: names(&sources.join("DatabaseMethods"), Some(".4dm"), false),
            triggers: names(&sources.join("Triggers"), Some(".4dm"), false),
            forms: names(&sources.join("Forms"), None, true),
            table_forms,
        }
    }
}
