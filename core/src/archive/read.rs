//! Reading a `.4dz` (or any zip): its entries, checked for safety and limits before any data
//! is used, and entry data decompressed with size and CRC checks.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use super::Limits;
use super::error::{ArchiveError, Result};
pub(crate) use super::inflate::inflate_entry;
use super::names::{TOP_FOLDER, check_name};
use super::write::{Method, local_header_len_of};
use crate::fsutil::read_exact_at;

/// An entry of an archive, as its central directory describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Entry name, `/`-separated; folders end with `/`.
    pub name: String,
    /// A folder entry.
    pub is_dir: bool,
    /// Uncompressed size.
    pub size: u64,
    /// Size of the data in the archive.
    pub compressed_size: u64,
    /// Compression method.
    pub method: Method,
    /// CRC-32 of the content.
    pub crc32: u32,
    /// Offset of the data in the archive file.
    #[serde(skip)]
    pub(crate) data_start: u64,
}

/// An open archive whose entry list passed the safety checks.
#[derive(Debug)]
pub struct Archive {
    path: PathBuf,
    file: File,
    entries: Vec<Entry>,
    length: u64,
}

/// What [`Archive::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// File entries checked.
    pub files: usize,
    /// Folder entries.
    pub folders: usize,
    /// Total uncompressed bytes checked.
    pub bytes: u64,
}

/// The offset of an entry's data: after its local header (signature, 26 bytes of fields, the
/// name and the local extra field, whose lengths may differ from the central directory's).
fn local_data_start(file: &File, header_start: u64) -> Option<u64> {
    let mut h = [0u8; 30];
    read_exact_at(file, &mut h, header_start).ok()?;
    if h[..4] != [0x50, 0x4b, 0x03, 0x04] {
        return None;
    }
    let name_len = u64::from(u16::from_le_bytes([h[26], h[27]]));
    let extra_len = u64::from(u16::from_le_bytes([h[28], h[29]]));
    header_start.checked_add(30 + name_len + extra_len)
}

impl Archive {
    /// Opens `path` and checks every entry: safe relative names (no `..`, absolute paths, drive
    /// letters), no symbolic links, no duplicates, no encryption, stored or deflate only, and the
    /// entry count, total size and compression ratios within `limits`.
    ///
    /// # Errors
    /// [`ArchiveError::Io`] or [`ArchiveError::Zip`] when it cannot be read; the variant naming
    /// the refused entry otherwise.
    pub fn open(path: &Path, limits: &Limits) -> Result<Self> {
        Self::open_with(path, limits, true)
    }

    /// [`Archive::open`] for an archive this program wrote (a build, a delta or the cached
    /// archive, each proved by its SHA-256 before use): the same checks, but the local headers
    /// are not read — their length is the one this program writes — which saves a positioned
    /// read per entry (20,000 for a large project). Should the archive have been written
    /// otherwise, the bytes read as an entry's are wrong, which its CRC or the stamp check of
    /// what is built from it catches.
    ///
    /// # Errors
    /// As [`Archive::open`].
    pub fn open_written_here(path: &Path, limits: &Limits) -> Result<Self> {
        Self::open_with(path, limits, false)
    }

    // Long: one pass over the central directory, each refusal next to the field it checks, so
    // that no entry can be used before every check on it ran.
    fn open_with(path: &Path, limits: &Limits, read_local_headers: bool) -> Result<Self> {
        let file = File::open(path).map_err(ArchiveError::io(path))?;
        let length = file.metadata().map_err(ArchiveError::io(path))?.len();
        let zip_err = |source| ArchiveError::Zip {
            path: path.to_path_buf(),
            source,
        };
        let reader = BufReader::new(file.try_clone().map_err(ArchiveError::io(path))?);
        let zip = zip::ZipArchive::new(reader).map_err(zip_err)?;
        let count = zip.len() as u64;
        if count > limits.max_entries {
            return Err(ArchiveError::TooManyEntries {
                count,
                limit: limits.max_entries,
            });
        }
        let mut entries = Vec::with_capacity(zip.len());
        let mut total: u64 = 0;
        let mut seen: HashSet<String> = HashSet::with_capacity(zip.len());
        for i in 0..zip.len() {
            // Central directory data only; the local header is read below with one small
            // positioned read (no buffered seeks over the whole file).
            let f = zip.by_index_data(i).map_err(zip_err)?;
            let name = match f.name() {
                Ok(n) => n.into_owned(),
                Err(source) => return Err(zip_err(source)),
            };
            check_name(&name)?;
            let is_dir = f.is_dir();
            if f.is_symlink() {
                return Err(ArchiveError::Symlink { name });
            }
            if f.encrypted() {
                return Err(ArchiveError::Encrypted { name });
            }
            let method = match f.compression() {
                zip::CompressionMethod::Stored => Method::Stored,
                zip::CompressionMethod::Deflated => Method::Deflated,
                other => {
                    #[allow(deprecated)]
                    let method = other.to_u16();
                    return Err(ArchiveError::UnsupportedMethod { name, method });
                }
            };
            let size = f.size();
            let compressed_size = f.compressed_size();
            total = total.saturating_add(size);
            if total > limits.max_total_size {
                return Err(ArchiveError::TooLarge {
                    total,
                    limit: limits.max_total_size,
                });
            }
            if method == Method::Stored && size != compressed_size {
                return Err(ArchiveError::Corrupt {
                    name,
                    reason: format!("stored with {compressed_size} bytes but declares {size}"),
                });
            }
            if size > limits.ratio_floor && size / compressed_size.max(1) > limits.max_ratio {
                return Err(ArchiveError::SuspiciousRatio {
                    name,
                    size,
                    compressed: compressed_size,
                });
            }
            let data_start = if read_local_headers {
                local_data_start(&file, f.header_start())
            } else {
                let len = local_header_len_of(&name, size, compressed_size);
                f.header_start().checked_add(len)
            };
            let data_start = data_start.ok_or_else(|| ArchiveError::Corrupt {
                name: name.clone(),
                reason: "its local header could not be located".into(),
            })?;
            if data_start.saturating_add(compressed_size) > length {
                return Err(ArchiveError::Corrupt {
                    name,
                    reason: "its data runs past the end of the file".into(),
                });
            }
            // Case-insensitively: on Windows and macOS `a.4dm` and `A.4dm` are one file, and
            // unpacking both would silently keep one of them.
            let key = name.trim_end_matches('/').to_lowercase();
            if !seen.insert(key) {
                return Err(ArchiveError::DuplicateName { name });
            }
            entries.push(Entry {
                name,
                is_dir,
                size,
                compressed_size,
                method,
                crc32: f.crc32(),
                data_start,
            });
        }
        if zip.has_duplicate_names() {
            return Err(ArchiveError::DuplicateName {
                name: "(an entry)".into(),
            });
        }
        // A file and a folder of the same name, or a file used as a folder.
        let files: HashSet<String> = entries
            .iter()
            .filter(|e| !e.is_dir)
            .map(|e| e.name.to_lowercase())
            .collect();
        for e in &entries {
            let lower = e.name.to_lowercase();
            let mut prefix = lower.trim_end_matches('/');
            while let Some((parent, _)) = prefix.rsplit_once('/') {
                if files.contains(parent) {
                    return Err(ArchiveError::DuplicateName {
                        name: parent.to_owned(),
                    });
                }
                prefix = parent;
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            entries,
            length,
        })
    }

    /// The archive's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The archive's length in bytes.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// The entries, in archive order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Total uncompressed size.
    pub fn total_size(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// Checks that every entry lies in the single top folder `Project/`.
    ///
    /// # Errors
    /// [`ArchiveError::NotProjectArchive`] naming the first entry outside it.
    pub fn check_project_layout(&self) -> Result<()> {
        let prefix = format!("{TOP_FOLDER}/");
        match self.entries.iter().find(|e| !e.name.starts_with(&prefix)) {
            Some(e) => Err(ArchiveError::NotProjectArchive {
                name: e.name.clone(),
            }),
            None if self.entries.is_empty() => Err(ArchiveError::NotProjectArchive {
                name: "(empty archive)".into(),
            }),
            None => Ok(()),
        }
    }

    /// The open archive file (read with positioned reads; a user that seeks it must not rely
    /// on its position afterwards).
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// The raw (compressed) bytes of entry `index`.
    ///
    /// # Errors
    /// [`ArchiveError::Io`] when the archive cannot be read.
    pub fn raw(&self, index: usize) -> Result<Vec<u8>> {
        let e = self.entry(index)?;
        let len = usize::try_from(e.compressed_size).map_err(|_| ArchiveError::TooLarge {
            total: e.compressed_size,
            limit: usize::MAX as u64,
        })?;
        let mut buf = vec![0u8; len];
        read_exact_at(&self.file, &mut buf, e.data_start).map_err(ArchiveError::io(&self.path))?;
        Ok(buf)
    }

    /// The raw (compressed) bytes of entry `index` into `buf` (reused: no allocation when it is
    /// large enough).
    ///
    /// # Errors
    /// [`ArchiveError::Io`] when the archive cannot be read.
    pub fn raw_into(&self, index: usize, buf: &mut Vec<u8>) -> Result<()> {
        let e = self.entry(index)?;
        let len = usize::try_from(e.compressed_size).map_err(|_| ArchiveError::TooLarge {
            total: e.compressed_size,
            limit: usize::MAX as u64,
        })?;
        buf.clear();
        buf.resize(len, 0);
        read_exact_at(&self.file, buf, e.data_start).map_err(ArchiveError::io(&self.path))
    }

    /// Decompresses entry `index` into `out`, checking its size and CRC-32.
    ///
    /// # Errors
    /// [`ArchiveError::Corrupt`] when the data does not match the header (the bytes already
    /// written to `out` must then be discarded), [`ArchiveError::Io`] naming the archive on a read
    /// error, or with an empty path on a write error (the caller knows what `out` is).
    pub fn copy_entry(&self, index: usize, out: &mut dyn Write) -> Result<u64> {
        let e = self.entry(index)?;
        inflate_entry(&self.file, &self.path, e, out)
    }

    /// Decompresses every entry (in parallel) and checks sizes and CRCs.
    ///
    /// # Errors
    /// The first [`ArchiveError::Corrupt`] or [`ArchiveError::Io`] found.
    pub fn verify(&self) -> Result<VerifyReport> {
        let bytes: Result<Vec<u64>> = (0..self.entries.len())
            .into_par_iter()
            .map(|i| {
                if self.entries[i].is_dir {
                    Ok(0)
                } else {
                    self.copy_entry(i, &mut io::sink())
                }
            })
            .collect();
        let bytes = bytes?;
        let folders = self.entries.iter().filter(|e| e.is_dir).count();
        Ok(VerifyReport {
            files: self.entries.len() - folders,
            folders,
            bytes: bytes.iter().sum(),
        })
    }

    fn entry(&self, index: usize) -> Result<&Entry> {
        self.entries
            .get(index)
            .ok_or_else(|| ArchiveError::Corrupt {
                name: format!("#{index}"),
                reason: "no such entry".into(),
            })
    }
}
