//! Preparing one entry's data: read, checksum, compress (or reuse raw bytes).

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::DeflateEncoder;

use super::write::Method;

/// An entry's bytes as they go into the archive.
pub(crate) struct Compressed {
    pub method: Method,
    pub crc32: u32,
    pub size: u64,
    pub data: Vec<u8>,
}

/// Extensions of formats that are already compressed: stored as is, not deflated again.
const PRECOMPRESSED: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "webp", "heic", "zip", "4dz", "gz", "tgz", "bz2", "xz", "zst",
    "7z", "rar", "mp3", "mp4", "m4a", "m4v", "mov", "avi", "woff", "woff2", "jar", "docx", "xlsx",
    "pptx", "odt", "ods", "pdf",
];

pub(crate) fn precompressed(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| PRECOMPRESSED.iter().any(|p| p.eq_ignore_ascii_case(ext)))
}

/// Compresses `content` (deflate at `level`), falling back to stored when that is not smaller
/// or when the name says the format is already compressed.
pub(crate) fn compress(name: &str, content: Vec<u8>, level: u32) -> std::io::Result<Compressed> {
    let crc32 = crc32fast::hash(&content);
    let size = content.len() as u64;
    if content.is_empty() || level == 0 || precompressed(name) {
        return Ok(Compressed {
            method: Method::Stored,
            crc32,
            size,
            data: content,
        });
    }
    let mut encoder = DeflateEncoder::new(
        Vec::with_capacity(content.len() / 2 + 64),
        Compression::new(level),
    );
    encoder.write_all(&content)?;
    let deflated = encoder.finish()?;
    Ok(if deflated.len() < content.len() {
        Compressed {
            method: Method::Deflated,
            crc32,
            size,
            data: deflated,
        }
    } else {
        Compressed {
            method: Method::Stored,
            crc32,
            size,
            data: content,
        }
    })
}

/// Reads and compresses a file.
pub(crate) fn compress_file(name: &str, path: &Path, level: u32) -> std::io::Result<Compressed> {
    compress(name, std::fs::read(path)?, level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_deflated_and_images_stored() {
        let text = b"Case of\n  : (True)\nEnd case\n".repeat(50);
        let c = compress("Project/Sources/Methods/m.4dm", text.clone(), 6).unwrap();
        assert_eq!(c.method, Method::Deflated);
        assert!(c.data.len() < text.len());
        assert_eq!(c.crc32, crc32fast::hash(&text));
        let c = compress("Project/x.PNG", text.clone(), 6).unwrap();
        assert_eq!(c.method, Method::Stored);
        assert_eq!(c.data, text);
        let c = compress("Project/empty.4dm", Vec::new(), 6).unwrap();
        assert_eq!((c.method, c.size, c.crc32), (Method::Stored, 0, 0));
        // Incompressible data is stored.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        let c = compress("Project/noise.bin", noise.clone(), 6).unwrap();
        assert_eq!(c.method, Method::Stored);
        assert_eq!(c.data, noise);
    }
}
