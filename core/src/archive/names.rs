//! Entry names: what the archive leaves out, and which names are safe to unpack.

use super::error::ArchiveError;

/// The single top folder of a 4D project archive.
pub const TOP_FOLDER: &str = "Project";

/// True when the project-relative path `rel` (`/`-separated, e.g. `Project/DerivedData/x`)
/// is left out of the archives: `Project/DerivedData`, `Project/Trash`, the server's TLS
/// identity (`Resources/key.pem`, `Resources/cert.pem`: a private key never leaves the server),
/// `userPreferences.*`, version-control folders, editor back-ups and desktop clutter.
///
/// The file watcher uses the same rule, so changes there never trigger a rebuild.
pub fn is_excluded(rel: &str) -> bool {
    let rel = rel.trim_start_matches("./").trim_end_matches('/');
    // Case-insensitively: on macOS and Windows `Resources/Key.pem` is the same file.
    if ["Resources/key.pem", "Resources/cert.pem"]
        .iter()
        .any(|identity| rel.eq_ignore_ascii_case(identity))
    {
        return true;
    }
    let mut parts = rel.split('/');
    if parts.next() == Some(TOP_FOLDER) && matches!(parts.next(), Some("DerivedData" | "Trash")) {
        return true;
    }
    rel.split('/').any(is_excluded_component)
}

fn is_excluded_component(name: &str) -> bool {
    const VCS: &[&str] = &[".git", ".svn", ".hg", ".bzr", "CVS", "_darcs", ".fossil"];
    const CLUTTER: &[&str] = &[".DS_Store", "Thumbs.db", "desktop.ini", ".directory"];
    if VCS.contains(&name) || CLUTTER.contains(&name) {
        return true;
    }
    if name.starts_with("userPreferences.") {
        return true;
    }
    // Editor back-ups, swap and lock files; temporary files of Remote4D's own atomic writes.
    name.ends_with('~')
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#') && name.len() > 1)
        || [".bak", ".orig", ".swp", ".swo", ".tmp"]
            .iter()
            .any(|ext| name.len() > ext.len() && name.to_ascii_lowercase().ends_with(ext))
        || name.starts_with("._")
}

/// Checks that an entry name is a safe relative path.
///
/// # Errors
/// [`ArchiveError::UnsafeName`] for empty names, absolute paths, drive letters, `..` or `.`
/// components, backslashes, NUL or control characters, and Windows device names.
pub(crate) fn check_name(name: &str) -> Result<(), ArchiveError> {
    let refuse = |reason: &'static str| ArchiveError::UnsafeName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() || name == "/" {
        return Err(refuse("is empty"));
    }
    if name.starts_with('/') {
        return Err(refuse("is an absolute path"));
    }
    if name.contains('\\') {
        return Err(refuse("contains a backslash"));
    }
    if name.chars().any(char::is_control) {
        return Err(refuse("contains control characters"));
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(refuse("starts with a drive letter"));
    }
    if name.contains(':') {
        return Err(refuse("contains a colon (drive or alternate stream)"));
    }
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    for part in trimmed.split('/') {
        match part {
            "" => return Err(refuse("has an empty path component")),
            "." => return Err(refuse("has a '.' component")),
            ".." => return Err(refuse("goes up with '..'")),
            p if is_windows_device(p) => return Err(refuse("names a Windows device")),
            p if p.ends_with(' ') || (p.ends_with('.') && p.len() > 1) => {
                return Err(refuse("has a component ending with a space or dot"));
            }
            _ => {}
        }
    }
    Ok(())
}

fn is_windows_device(part: &str) -> bool {
    let stem = part.split('.').next().unwrap_or(part).as_bytes();
    let is = |s: &[u8], device: &str| s.eq_ignore_ascii_case(device.as_bytes());
    ["CON", "PRN", "AUX", "NUL"].iter().any(|d| is(stem, d))
        || (stem.len() == 4
            && (is(&stem[..3], "COM") || is(&stem[..3], "LPT"))
            && stem[3].is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusions() {
        for rel in [
            "Project/DerivedData",
            "Project/DerivedData/CompiledCode/x",
            "Project/Trash/(m).4dm",
            "userPreferences.bob/workspace.json",
            "Project/Sources/.git/config",
            "Project/.svn",
            "Project/Sources/Methods/a.4dm~",
            "Project/Sources/Methods/.#a.4dm",
            "Project/Sources/Methods/#a.4dm#",
            "Project/Sources/Methods/a.4dm.bak",
            "Project/Sources/Methods/a.4dm.ORIG",
            "Project/Sources/Methods/.a.4dm.swp",
            "Project/.DS_Store",
            "Project/._a.4dm",
            "Resources/key.pem",
            "Resources/cert.pem",
            "Resources/Key.pem",
            "resources/KEY.PEM",
            "Resources/Cert.PEM",
        ] {
            assert!(is_excluded(rel), "{rel} must be excluded");
        }
        for rel in [
            "Resources/Images/key.pem.png",
            "Project",
            "Project/Sources/Methods/a.4dm",
            "Project/Sources/DerivedData/x",
            "Project/Sources/Forms/Trash/form.4DForm",
            "Project/Sources/catalog.4DCatalog",
            "Project/Sources/Methods/bak",
            "Project/Sources/Methods/.bak",
        ] {
            assert!(!is_excluded(rel), "{rel} must be kept");
        }
    }

    #[test]
    fn safe_names() {
        for good in [
            "Project/",
            "Project/Sources/été.4dm",
            "Project/Sources/CONTEXT.4dm",
        ] {
            assert!(check_name(good).is_ok(), "{good:?} must be accepted");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "Project/../../x",
            "Project/./x",
            "C:/x",
            "c:x",
            "Project\\..\\x",
            "Project//x",
            "a\0b",
            "Project/CON",
            "Project/lpt1.txt",
            "Project/x:stream",
            "Project/a ",
            "Project/a.",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
