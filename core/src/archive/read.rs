//! Reading a `.4dz` (or any zip): its entries, checked for safety and limits before any data
//! is used, and entry data decompressed with size and CRC checks.

use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use super::Limits;
use super::central;
use super::error::{ArchiveError, Result};
pub(crate) use super::inflate::inflate_entry;
use super::names::{TOP_FOLDER, check_name};
use super::write::{FLAG_UTF8, Method, local_header_len_of};
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

/// An entry as the central directory lists it, before any check.
struct Listed {
    name: String,
    is_dir: bool,
    symlink: bool,
    encrypted: bool,
    method: u16,
    size: u64,
    compressed_size: u64,
    crc32: u32,
    header_start: u64,
}

/// The archive file, open for reading, and its length.
fn open_file(path: &Path) -> Result<(File, u64)> {
    let file = File::open(path).map_err(ArchiveError::io(path))?;
    let length = file.metadata().map_err(ArchiveError::io(path))?.len();
    Ok((file, length))
}

/// Refuses more entries than `limits` accept, before any is listed.
fn too_many(count: u64, limits: &Limits) -> Result<()> {
    if count > limits.max_entries {
        return Err(ArchiveError::TooManyEntries {
            count,
            limit: limits.max_entries,
        });
    }
    Ok(())
}

/// The entries of any zip, as the `zip` crate reads its central directory.
fn listed_by_zip(path: &Path, file: &File, limits: &Limits) -> Result<Vec<Listed>> {
    let zip_err = |source| ArchiveError::Zip {
        path: path.to_path_buf(),
        source,
    };
    let reader = BufReader::new(file.try_clone().map_err(ArchiveError::io(path))?);
    let zip = zip::ZipArchive::new(reader).map_err(zip_err)?;
    too_many(zip.len() as u64, limits)?;
    let mut listed = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        // Central directory data only: the local headers are read, if at all, with one small
        // positioned read each (no buffered seeks over the whole file).
        let f = zip.by_index_data(i).map_err(zip_err)?;
        let name = f.name().map_err(zip_err)?.into_owned();
        #[allow(deprecated)]
        let method = f.compression().to_u16();
        listed.push(Listed {
            name,
            is_dir: f.is_dir(),
            symlink: f.is_symlink(),
            encrypted: f.encrypted(),
            method,
            size: f.size(),
            compressed_size: f.compressed_size(),
            crc32: f.crc32(),
            header_start: f.header_start(),
        });
    }
    if zip.has_duplicate_names() {
        return Err(ArchiveError::DuplicateName {
            name: "(an entry)".into(),
        });
    }
    Ok(listed)
}

/// The largest central directory read in one piece (about 2 MB per 20,000 entries).
const MAX_CENTRAL: u64 = 256 << 20;

/// The entries of an archive written here, read from its central directory in one piece;
/// `None` when the directory is not one this program writes.
fn listed_here(
    path: &Path,
    file: &File,
    length: u64,
    limits: &Limits,
) -> Result<Option<Vec<Listed>>> {
    let read = |len: u64, at: u64| -> Result<Vec<u8>> {
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
        read_exact_at(file, &mut buf, at).map_err(ArchiveError::io(path))?;
        Ok(buf)
    };
    // The end record, with the longest comment a zip may have.
    let tail_len = length.min(22 + 0xFFFF);
    let tail = read(tail_len, length - tail_len)?;
    let Some(end) = central::end_records(&tail, length) else {
        return Ok(None);
    };
    too_many(end.entries, limits)?;
    if length - end.offset > MAX_CENTRAL {
        return Ok(None);
    }
    let bytes = read(length - end.offset, end.offset)?;
    let Some(records) = central::directory(&bytes, end) else {
        return Ok(None);
    };
    let mut listed = Vec::with_capacity(records.len());
    for r in records {
        let Some(name) = (r.flags & FLAG_UTF8 != 0 && r.made_by >> 8 == 3)
            .then(|| std::str::from_utf8(r.name).ok())
            .flatten()
        else {
            return Ok(None);
        };
        listed.push(Listed {
            name: name.to_owned(),
            is_dir: name.ends_with('/'),
            symlink: central::is_symlink(&r),
            encrypted: r.flags & 1 != 0,
            method: r.method,
            size: r.size,
            compressed_size: r.compressed_size,
            crc32: r.crc32,
            header_start: r.header_start,
        });
    }
    Ok(Some(listed))
}

/// Checks one listed entry on its own: a safe name, no link, no encryption, stored or deflate,
/// sizes that agree, a plausible ratio, data inside the file. Its data starts after the local
/// header read from `headers` (the archive), or, with `None`, after a header as this program
/// writes it. Returns the entry and its [`case_key`].
fn check_entry(
    l: Listed,
    headers: Option<&File>,
    length: u64,
    limits: &Limits,
) -> Result<(Entry, String)> {
    let Listed {
        name,
        is_dir,
        symlink,
        encrypted,
        method,
        size,
        compressed_size,
        crc32,
        header_start,
    } = l;
    check_name(&name)?;
    if symlink {
        return Err(ArchiveError::Symlink { name });
    }
    if encrypted {
        return Err(ArchiveError::Encrypted { name });
    }
    let method = match method {
        0 => Method::Stored,
        8 => Method::Deflated,
        method => return Err(ArchiveError::UnsupportedMethod { name, method }),
    };
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
    let data_start = match headers {
        Some(file) => local_data_start(file, header_start),
        None => header_start.checked_add(local_header_len_of(&name, size, compressed_size)),
    };
    let Some(data_start) = data_start else {
        return Err(ArchiveError::Corrupt {
            name,
            reason: "its local header could not be located".into(),
        });
    };
    if data_start.saturating_add(compressed_size) > length {
        return Err(ArchiveError::Corrupt {
            name,
            reason: "its data runs past the end of the file".into(),
        });
    }
    // Case-insensitively: on Windows and macOS `a.4dm` and `A.4dm` are one file, and unpacking
    // both would silently keep one of them.
    let key = case_key(name.trim_end_matches('/'));
    let entry = Entry {
        name,
        is_dir,
        size,
        compressed_size,
        method,
        crc32,
        data_start,
    };
    Ok((entry, key))
}

/// The name under which two entries are one file on a case-insensitive file system.
fn case_key(name: &str) -> String {
    if name.is_ascii() {
        name.to_ascii_lowercase()
    } else {
        name.to_lowercase()
    }
}

/// Refuses two entries that are one file on Windows or macOS (`keys`: their [`case_key`]s),
/// and a file used as a folder (a file and a folder of the same name, or a file with entries
/// under it).
fn check_no_clash(entries: &[Entry], keys: &[String]) -> Result<()> {
    let mut seen = foldhash::HashSet::with_capacity_and_hasher(keys.len(), Default::default());
    for (e, key) in entries.iter().zip(keys) {
        if !seen.insert(key.as_str()) {
            return Err(ArchiveError::DuplicateName {
                name: e.name.clone(),
            });
        }
    }
    let files: foldhash::HashSet<&str> = entries
        .iter()
        .zip(keys)
        .filter(|(e, _)| !e.is_dir)
        .map(|(_, k)| k.as_str())
        .collect();
    // Folders already found clear of files: most entries share their parent with the last.
    let mut clear = foldhash::HashSet::default();
    for key in keys {
        let mut prefix = key.as_str();
        while let Some((parent, _)) = prefix.rsplit_once('/') {
            if clear.contains(parent) {
                break;
            }
            if files.contains(parent) {
                return Err(ArchiveError::DuplicateName {
                    name: parent.to_owned(),
                });
            }
            clear.insert(parent);
            prefix = parent;
        }
    }
    Ok(())
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
        let (file, length) = open_file(path)?;
        let listed = listed_by_zip(path, &file, limits)?;
        Self::checked(path, file, length, listed, limits, true)
    }

    /// [`Archive::open`] for an archive this program wrote (a build, a delta or the cached
    /// archive, each proved by its SHA-256 before use): the same checks, but the central
    /// directory is read in one piece and parsed here (see [`super::central`]), and the local
    /// headers are not read — their length is the one this program writes — which saves a
    /// positioned read per entry (20,000 for a large project). A directory this program would
    /// not have written (names not flagged UTF-8, not made on Unix, records that do not add up)
    /// is read as [`Archive::open`] reads any archive. Should the archive have been written
    /// otherwise all the same, the bytes read as an entry's are wrong, which its CRC or the
    /// stamp check of what is built from it catches.
    ///
    /// # Errors
    /// As [`Archive::open`].
    pub fn open_written_here(path: &Path, limits: &Limits) -> Result<Self> {
        let (file, length) = open_file(path)?;
        match listed_here(path, &file, length, limits)? {
            Some(listed) => Self::checked(path, file, length, listed, limits, false),
            None => {
                tracing::debug!(path = %path.display(), "not an archive written here: read as any");
                let listed = listed_by_zip(path, &file, limits)?;
                Self::checked(path, file, length, listed, limits, true)
            }
        }
    }

    /// Checks every listed entry (on all cores: 20,000 names for a large project), then their
    /// total size and names against each other, so that no entry can be used before every
    /// check on it ran. The first refused entry, in archive order, is the error.
    fn checked(
        path: &Path,
        file: File,
        length: u64,
        listed: Vec<Listed>,
        limits: &Limits,
        read_local_headers: bool,
    ) -> Result<Self> {
        let headers = read_local_headers.then_some(&file);
        let checked: Vec<Result<(Entry, String)>> = listed
            .into_par_iter()
            .with_min_len(1024)
            .map(|l| check_entry(l, headers, length, limits))
            .collect();
        let mut entries = Vec::with_capacity(checked.len());
        let mut keys = Vec::with_capacity(checked.len());
        let mut total: u64 = 0;
        for c in checked {
            let (entry, key) = c?;
            total = total.saturating_add(entry.size);
            if total > limits.max_total_size {
                return Err(ArchiveError::TooLarge {
                    total,
                    limit: limits.max_total_size,
                });
            }
            entries.push(entry);
            keys.push(key);
        }
        check_no_clash(&entries, &keys)?;
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

    /// True when the archive's path still names the file this archive read, unchanged (not
    /// replaced or rewritten since it was opened).
    pub fn is_current(&self) -> bool {
        let (Ok(now), Ok(read)) = (std::fs::metadata(&self.path), self.file.metadata()) else {
            return false;
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if (now.dev(), now.ino()) != (read.dev(), read.ino()) {
                return false;
            }
        }
        now.len() == self.length
            && read.len() == self.length
            && now.modified().ok() == read.modified().ok()
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
