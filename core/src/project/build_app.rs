//! `Settings/buildApp.4DSettings`: the settings of 4D's Build Application dialog
//! (`<Preferences4D><BuildApp>…`), so that a project already set up to build its client and
//! server applications with 4D builds the same ones with `remote4d build`.
//!
//! Read: `BuildApplicationName`, and under `CS/`: `IPAddress`, `PortNumber`, `CurrentVers`,
//! `RangeVersMin`, `RangeVersMax`, `HardLink`, `ServerSelectionAllowed`,
//! `ClientServerSystemFolderName`, `ServerStructureFolderName`. Every other key (licences,
//! signing, excluded modules, platform folders, …) is about 4D's own runtime and is ignored.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::Result;
use super::xmlread::walk_with_text;

/// The settings file's name in the project's `Settings/` folder (matched case-insensitively:
/// 4D writes `buildApp.4DSettings`, its documentation says `BuildApp.4DSettings`).
pub const BUILD_APP_FILE: &str = "buildApp.4DSettings";

/// What Remote4D uses of `buildApp.4DSettings`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BuildAppSettings {
    /// `BuildApplicationName`: the applications' name.
    pub application_name: Option<String>,
    /// `CS/IPAddress`: the server the client connects to.
    pub server_address: Option<String>,
    /// `CS/PortNumber`: its port.
    pub server_port: Option<u16>,
    /// `CS/CurrentVers`: the version of the applications built.
    pub current_version: Option<String>,
    /// `CS/RangeVersMin`: the oldest client version the server accepts.
    pub range_min: Option<String>,
    /// `CS/RangeVersMax`: the newest client version the server accepts.
    pub range_max: Option<String>,
    /// `CS/HardLink`: the string that pairs a client with its server.
    pub hard_link: Option<String>,
    /// `CS/ServerSelectionAllowed`: the client offers the connection window when its server
    /// cannot be reached.
    pub server_selection_allowed: Option<bool>,
    /// `CS/ClientServerSystemFolderName`: the client's cache folder name.
    pub client_system_folder_name: Option<String>,
    /// `CS/ServerStructureFolderName`: the server's project folder name.
    pub server_structure_folder_name: Option<String>,
    /// `CS/ShareLocalResourcesOnWindowsClient`: the Windows client keeps its system folder
    /// in the machine's shared `ProgramData` (the link's `remote_shared_resources`).
    pub share_local_resources: Option<bool>,
}

/// `True`/`False` as 4D writes them (any case; `1`/`0` too).
fn boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

impl BuildAppSettings {
    /// Reads one `buildApp.4DSettings` file.
    ///
    /// # Errors
    /// [`super::ProjectError::Io`] or [`super::ProjectError::Xml`] with line and column.
    pub fn read(path: &Path) -> Result<Self> {
        let mut s = Self::default();
        walk_with_text(
            path,
            |_| {},
            |_| {},
            |at, text| {
                let names: Vec<&str> = at.iter().map(String::as_str).collect();
                let value = Some(text.trim().to_owned()).filter(|v| !v.is_empty());
                match names.as_slice() {
                    ["Preferences4D", "BuildApp", "BuildApplicationName"] => {
                        s.application_name = value;
                    }
                    ["Preferences4D", "BuildApp", "CS", key] => match *key {
                        "IPAddress" => s.server_address = value,
                        "PortNumber" => {
                            s.server_port = value.and_then(|v| v.parse().ok()).filter(|&p| p != 0);
                        }
                        "CurrentVers" => s.current_version = value,
                        "RangeVersMin" => s.range_min = value,
                        "RangeVersMax" => s.range_max = value,
                        "HardLink" => s.hard_link = value,
                        "ServerSelectionAllowed" => {
                            s.server_selection_allowed = value.as_deref().and_then(boolean);
                        }
                        "ClientServerSystemFolderName" => s.client_system_folder_name = value,
                        "ServerStructureFolderName" => s.server_structure_folder_name = value,
                        "ShareLocalResourcesOnWindowsClient" => {
                            s.share_local_resources = value.as_deref().and_then(boolean);
                        }
                        _ => {}
                    },
                    _ => {}
                }
            },
        )?;
        Ok(s)
    }

    /// The project's `Settings/buildApp.4DSettings` (any case) under `root`, read; `None`
    /// when it has none.
    ///
    /// # Errors
    /// As [`BuildAppSettings::read`].
    pub fn find(root: &Path) -> Result<Option<(PathBuf, Self)>> {
        let dir = root.join("Settings");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(None);
        };
        let file = entries.flatten().map(|e| e.path()).find(|p| {
            p.is_file()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case(BUILD_APP_FILE))
        });
        match file {
            Some(f) => Ok(Some((f.clone(), Self::read(&f)?))),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(xml: &str) -> BuildAppSettings {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("b.4DSettings");
        std::fs::write(&f, xml).unwrap();
        BuildAppSettings::read(&f).unwrap()
    }

    #[test]
    fn a_real_file_of_4d_reads_its_name_and_version() {
        // The shape of 4D-JP/4d-tips-build-client-app simple-startup-project/Settings/buildApp.4DSettings.
        let s = read(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="no" ?>
<Preferences4D>
  <BuildApp>
    <BuildCompiled>True</BuildCompiled>
    <SourcesFiles><CS><ServerIncludeIt>False</ServerIncludeIt></CS></SourcesFiles>
    <CS>
      <BuildServerApplication>False</BuildServerApplication>
      <CurrentVers>1</CurrentVers>
      <HardLink></HardLink>
    </CS>
    <BuildApplicationName>simple-startup-project</BuildApplicationName>
    <ArrayExcludedComponentName><ItemsCount>1</ItemsCount><Item1>4D SVG</Item1></ArrayExcludedComponentName>
  </BuildApp>
</Preferences4D>"#,
        );
        assert_eq!(
            s.application_name.as_deref(),
            Some("simple-startup-project")
        );
        assert_eq!(s.current_version.as_deref(), Some("1"));
        assert_eq!(s.hard_link, None, "empty is unset");
        assert_eq!(s.server_address, None);
    }

    #[test]
    fn the_client_server_keys_are_read_with_references_resolved() {
        let s = read(
            r#"<Preferences4D><BuildApp>
  <BuildApplicationName>Ventes &amp; Stocks</BuildApplicationName>
  <CS>
    <IPAddress>192.168.1.10</IPAddress><PortNumber>20000</PortNumber>
    <RangeVersMin>3</RangeVersMin><RangeVersMax>5</RangeVersMax><CurrentVers>5</CurrentVers>
    <HardLink>shop-2026</HardLink><ServerSelectionAllowed>True</ServerSelectionAllowed>
    <ClientServerSystemFolderName>Shop&#233;</ClientServerSystemFolderName>
    <ServerStructureFolderName>ShopData</ServerStructureFolderName>
  </CS>
</BuildApp></Preferences4D>"#,
        );
        assert_eq!(s.application_name.as_deref(), Some("Ventes & Stocks"));
        assert_eq!(s.server_address.as_deref(), Some("192.168.1.10"));
        assert_eq!(s.server_port, Some(20000));
        assert_eq!(
            (s.range_min.as_deref(), s.range_max.as_deref()),
            (Some("3"), Some("5"))
        );
        assert_eq!(s.hard_link.as_deref(), Some("shop-2026"));
        assert_eq!(s.server_selection_allowed, Some(true));
        assert_eq!(s.client_system_folder_name.as_deref(), Some("Shopé"));
        assert_eq!(s.server_structure_folder_name.as_deref(), Some("ShopData"));
    }

    #[test]
    fn a_damaged_file_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("b.4DSettings");
        std::fs::write(&f, "<Preferences4D><BuildApp>\n<CS></BuildApp>").unwrap();
        let err = BuildAppSettings::read(&f).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn it_is_found_in_settings_whatever_its_case() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(BuildAppSettings::find(dir.path()).unwrap(), None);
        std::fs::create_dir_all(dir.path().join("Settings")).unwrap();
        std::fs::write(
            dir.path().join("Settings/BuildApp.4DSettings"),
            "<Preferences4D><BuildApp><CS><IPAddress>srv</IPAddress></CS></BuildApp></Preferences4D>",
        )
        .unwrap();
        let (_, s) = BuildAppSettings::find(dir.path()).unwrap().unwrap();
        assert_eq!(s.server_address.as_deref(), Some("srv"));
    }
}
