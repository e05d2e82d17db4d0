//! Build-time work of the `remote4d` application: version and commit for the About box, the
//! server link of a merged client embedded from `REMOTE4D_EMBED_LINK=path/to/EnginedServer.4DLink`,
//! and for Windows the executable's icon and version information (a resource compiled by
//! mingw's windres), the icon drawn by the same code as the window icon.

use std::path::Path;
use std::process::Command;

#[path = "app/icon_pixels.rs"]
#[allow(dead_code)]
mod icon_pixels;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The commit moves when the branch HEAD names moves: its ref file (or packed-refs).
    println!("cargo:rerun-if-changed=.git/HEAD");
    if let Some(branch) = std::fs::read_to_string(".git/HEAD")
        .ok()
        .and_then(|head| head.strip_prefix("ref: ").map(|r| r.trim().to_owned()))
    {
        // Only files that exist: a missing one would rerun this script on every build.
        for file in [format!(".git/{branch}"), ".git/packed-refs".to_owned()] {
            if Path::new(&file).exists() {
                println!("cargo:rerun-if-changed={file}");
            }
        }
    }
    println!("cargo:rerun-if-env-changed=REMOTE4D_EMBED_LINK");
    println!("cargo:rustc-check-cfg=cfg(remote4d_embedded_link)");
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=REMOTE4D_COMMIT={commit}");

    if let Ok(path) = std::env::var("REMOTE4D_EMBED_LINK") {
        println!("cargo:rerun-if-changed={path}");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("REMOTE4D_EMBED_LINK={path}: cannot read the link to embed: {e}")
        });
        assert!(
            text.contains("database_shortcut") && text.contains("server_database_name"),
            "REMOTE4D_EMBED_LINK={path} is not a remote .4DLink (no database_shortcut with server_database_name)"
        );
        let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("embedded.4DLink");
        std::fs::write(&out, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
        println!(
            "cargo:rustc-env=REMOTE4D_EMBEDDED_LINK_PATH={}",
            out.display()
        );
        println!("cargo:rustc-cfg=remote4d_embedded_link");
    }

    println!("cargo:rerun-if-changed=app/icon_pixels.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        windows_resources();
    }
}

/// `remote4d.ico` (16 to 256 pixels) and a resource script with it and the version information
/// Explorer and Task Manager show, compiled into the Windows executables.
fn windows_resources() {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let ico = out.join("remote4d.ico");
    std::fs::write(&ico, ico_file(&[16, 24, 32, 48, 64, 256]))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", ico.display()));
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let numbers: Vec<u16> = version
        .split(['.', '-'])
        .take(3)
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    let numeric = format!(
        "{},{},{},0",
        numbers.first().unwrap_or(&0),
        numbers.get(1).unwrap_or(&0),
        numbers.get(2).unwrap_or(&0)
    );
    let rc = out.join("remote4d.rc");
    std::fs::write(&rc, resource_script(&ico, &version, &numeric))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", rc.display()));
    embed_resource::compile(&rc, embed_resource::NONE)
        .manifest_required()
        .unwrap_or_else(|e| {
            panic!("cannot compile the Windows resources (mingw-w64's windres): {e}")
        });
}

fn resource_script(ico: &Path, version: &str, numeric: &str) -> String {
    let ico = ico.display().to_string().replace('\\', "/");
    format!(
        r#"1 ICON "{ico}"
1 VERSIONINFO
FILEVERSION {numeric}
PRODUCTVERSION {numeric}
FILEOS 0x40004
FILETYPE 0x1
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904B0"
    BEGIN
      VALUE "CompanyName", "Remote4D developers"
      VALUE "FileDescription", "Remote4D"
      VALUE "FileVersion", "{version}"
      VALUE "InternalName", "remote4d"
      VALUE "LegalCopyright", "MIT OR Apache-2.0"
      VALUE "OriginalFilename", "remote4d.exe"
      VALUE "ProductName", "Remote4D"
      VALUE "ProductVersion", "{version}"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
"#
    )
}

/// An `.ico` file with one 32-bit image per size (BMP form: a BITMAPINFOHEADER, BGRA rows
/// bottom-up, then the 1-bit AND mask, unused with alpha but required).
fn ico_file(sizes: &[u32]) -> Vec<u8> {
    let images: Vec<Vec<u8>> = sizes.iter().map(|&s| ico_image(s)).collect();
    let mut out = Vec::new();
    out.extend_from_slice(&0u16.to_le_bytes()); // reserved
    out.extend_from_slice(&1u16.to_le_bytes()); // icon
    out.extend_from_slice(&(sizes.len() as u16).to_le_bytes());
    let mut offset = 6 + 16 * sizes.len() as u32;
    for (&size, image) in sizes.iter().zip(&images) {
        let side = if size >= 256 { 0 } else { size as u8 }; // 0 means 256
        out.extend_from_slice(&[side, side, 0, 0]);
        out.extend_from_slice(&1u16.to_le_bytes()); // planes
        out.extend_from_slice(&32u16.to_le_bytes()); // bits per pixel
        out.extend_from_slice(&(image.len() as u32).to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        offset += image.len() as u32;
    }
    for image in images {
        out.extend_from_slice(&image);
    }
    out
}

fn ico_image(size: u32) -> Vec<u8> {
    let rgba = icon_pixels::rgba(size);
    let mask_row = size.div_ceil(32) * 4;
    let mut out = Vec::new();
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&(size * 2).to_le_bytes()); // colour + mask
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&32u16.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // BI_RGB
    out.extend_from_slice(&(size * size * 4 + mask_row * size).to_le_bytes());
    out.extend_from_slice(&[0; 16]); // resolution, palette
    for y in (0..size).rev() {
        for x in 0..size {
            let i = ((y * size + x) * 4) as usize;
            out.extend_from_slice(&[rgba[i + 2], rgba[i + 1], rgba[i], rgba[i + 3]]);
        }
    }
    out.resize(out.len() + (mask_row * size) as usize, 0);
    out
}
