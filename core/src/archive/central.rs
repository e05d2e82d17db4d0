//! Reading a zip's end records and central directory straight from their bytes: for the
//! archives this program wrote (one read, no per-entry allocation but the name) and for the
//! download plan (which sees only the archive's last bytes).
//!
//! Every field is read with bounds checks: a short or malformed directory gives `None`, never
//! a panic, and the caller falls back to the general reader or plans nothing.

use super::write::{CENTRAL_SIG, EOCD_SIG, ZIP64_EOCD_SIG, ZIP64_LOCATOR_SIG};

/// What the end records say about the central directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct End {
    /// Offset of the directory's first record.
    pub offset: u64,
    /// Records it holds.
    pub entries: u64,
}

/// The end records found in an archive's last bytes `last` (the archive is `size` bytes long);
/// `None` when they hold none, or a directory past the end of the archive.
pub(crate) fn end_records(last: &[u8], size: u64) -> Option<End> {
    let first = size.checked_sub(last.len() as u64)?;
    let at = (0..=last.len().checked_sub(22)?)
        .rev()
        .find(|&i| u32_at(last, i) == Some(EOCD_SIG))?;
    let mut offset = u64::from(u32_at(last, at + 16)?);
    let mut entries = u64::from(u16_at(last, at + 10)?);
    if offset == 0xFFFF_FFFF || entries == 0xFFFF {
        let locator = at.checked_sub(20)?;
        if u32_at(last, locator)? != ZIP64_LOCATOR_SIG {
            return None;
        }
        let record = usize::try_from(u64_at(last, locator + 8)?.checked_sub(first)?).ok()?;
        if u32_at(last, record)? != ZIP64_EOCD_SIG {
            return None;
        }
        entries = u64_at(last, record + 32)?;
        offset = u64_at(last, record + 48)?;
    }
    (offset <= size).then_some(End { offset, entries })
}

/// One record of a central directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record<'a> {
    /// The name's bytes, as stored.
    pub name: &'a [u8],
    /// "Version made by": the high byte is the system (3: Unix).
    pub made_by: u16,
    /// General purpose flags (bit 0: encrypted, bit 11: UTF-8 name).
    pub flags: u16,
    /// Compression method number.
    pub method: u16,
    /// CRC-32 of the content.
    pub crc32: u32,
    /// Uncompressed size.
    pub size: u64,
    /// Size of the data in the archive.
    pub compressed_size: u64,
    /// External attributes (a Unix mode in the high 16 bits when made on Unix).
    pub external: u32,
    /// Offset of the entry's local header.
    pub header_start: u64,
}

/// The records of the central directory `central` (bytes from its first record on, possibly
/// followed by the end records), and the offset in `central` just past the last one; `None`
/// when a record is cut short or its large-value field is missing.
pub(crate) fn records(central: &[u8]) -> Option<(Vec<Record<'_>>, usize)> {
    records_up_to(central, usize::MAX)
}

/// [`records`], stopping after `max` records.
fn records_up_to(central: &[u8], max: usize) -> Option<(Vec<Record<'_>>, usize)> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while out.len() < max && u32_at(central, at) == Some(CENTRAL_SIG) {
        let mut size = u64::from(u32_at(central, at + 24)?);
        let mut compressed_size = u64::from(u32_at(central, at + 20)?);
        let name_len = usize::from(u16_at(central, at + 28)?);
        let extra_len = usize::from(u16_at(central, at + 30)?);
        let comment_len = usize::from(u16_at(central, at + 32)?);
        let mut header_start = u64::from(u32_at(central, at + 42)?);
        let name_at = at + 46;
        let name = central.get(name_at..name_at + name_len)?;
        let extra = central.get(name_at + name_len..name_at + name_len + extra_len)?;
        if [size, compressed_size, header_start].contains(&0xFFFF_FFFF) {
            [size, compressed_size, header_start] =
                zip64(extra, [size, compressed_size, header_start])?;
        }
        out.push(Record {
            name,
            made_by: u16_at(central, at + 4)?,
            flags: u16_at(central, at + 8)?,
            method: u16_at(central, at + 10)?,
            crc32: u32_at(central, at + 16)?,
            size,
            compressed_size,
            external: u32_at(central, at + 38)?,
            header_start,
        });
        at = name_at + name_len + extra_len + comment_len;
    }
    Some((out, at))
}

/// The records of an archive's whole central directory `bytes` (from its first record to the
/// end of the archive), as its end records `end` describe it; `None` when they do not add up:
/// another count of records, or something else than the end records after them.
pub(crate) fn directory(bytes: &[u8], end: End) -> Option<Vec<Record<'_>>> {
    // No more records read than the end records announce (a bounded count: see the caller).
    let (records, after) = records_up_to(bytes, usize::try_from(end.entries).ok()?)?;
    let next = u32_at(bytes, after)?;
    (records.len() as u64 == end.entries && (next == EOCD_SIG || next == ZIP64_EOCD_SIG))
        .then_some(records)
}

/// The values of a record whose fields are full (`0xFFFF_FFFF`) taken from its zip64 extra
/// field, which holds them in this order (uncompressed size, compressed size, offset), each
/// only when its field is full.
fn zip64(extra: &[u8], values: [u64; 3]) -> Option<[u64; 3]> {
    let mut rest = extra;
    while rest.len() >= 4 {
        let id = u16_at(rest, 0)?;
        let len = usize::from(u16_at(rest, 2)?);
        let body = rest.get(4..4 + len)?;
        if id == 1 {
            let mut i = 0;
            let mut out = values;
            for v in &mut out {
                if *v == 0xFFFF_FFFF {
                    *v = u64_at(body, i)?;
                    i += 8;
                }
            }
            return Some(out);
        }
        rest = &rest[4 + len..];
    }
    None
}

/// True when the record is a symbolic link: made on Unix with a link mode.
pub(crate) fn is_symlink(r: &Record<'_>) -> bool {
    const S_IFMT: u32 = 0o170_000;
    const S_IFLNK: u32 = 0o120_000;
    r.made_by >> 8 == 3 && (r.external >> 16) & S_IFMT == S_IFLNK
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::write::{Central, Header, Method};

    fn header(name: &str, size: u64) -> Header {
        Header {
            name: name.into(),
            is_dir: name.ends_with('/'),
            method: Method::Stored,
            crc32: 7,
            size,
            compressed_size: size,
        }
    }

    #[test]
    fn records_are_read_as_written_past_four_gibibytes() {
        let mut c = Central::default();
        c.push(&header("Project/", 0), 0).unwrap();
        c.push(&header("Project/a.txt", 1), 40).unwrap();
        c.push(&header("Project/big.bin", 5_000_000_000), 5_000_000_000)
            .unwrap();
        let cd_offset = 10_000_000_100u64;
        let bytes = c.end(cd_offset);
        let size = cd_offset + bytes.len() as u64;
        assert_eq!(
            end_records(&bytes, size),
            Some(End {
                offset: cd_offset,
                entries: 3
            })
        );
        let (records, end) = records(&bytes).unwrap();
        assert_eq!(u32_at(&bytes, end), Some(ZIP64_EOCD_SIG));
        let seen: Vec<_> = records
            .iter()
            .map(|r| (r.name, r.size, r.compressed_size, r.header_start, r.crc32))
            .collect();
        assert_eq!(
            seen,
            [
                (&b"Project/"[..], 0, 0, 0, 7),
                (b"Project/a.txt", 1, 1, 40, 7),
                (
                    b"Project/big.bin",
                    5_000_000_000,
                    5_000_000_000,
                    5_000_000_000,
                    7
                ),
            ]
        );
        assert!(
            records
                .iter()
                .all(|r| r.flags & 0x0800 != 0 && !is_symlink(r))
        );
    }

    #[test]
    fn a_directory_must_hold_what_its_end_records_announce() {
        let mut c = Central::default();
        c.push(&header("Project/a.txt", 1), 0).unwrap();
        c.push(&header("Project/b.txt", 1), 40).unwrap();
        let bytes = c.end(100);
        let end = end_records(&bytes, 100 + bytes.len() as u64).unwrap();
        assert_eq!(directory(&bytes, end).map(|r| r.len()), Some(2));
        for entries in [0, 1, 3] {
            assert_eq!(directory(&bytes, End { entries, ..end }), None, "{entries}");
        }
    }

    #[test]
    fn every_cut_of_a_directory_is_refused_or_short() {
        let mut c = Central::default();
        c.push(&header("Project/a.txt", 1), 0).unwrap();
        c.push(&header("Project/b.txt", 5_000_000_000), 5_000_000_000)
            .unwrap();
        let bytes = c.end(6_000_000_000);
        for cut in 0..bytes.len() {
            let part = &bytes[..cut];
            if let Some((records, end)) = records(part) {
                assert!(end <= cut && records.len() <= 2);
            }
            let _ = end_records(part, 6_000_000_000 + cut as u64);
            let _ = end_records(&bytes[cut..], 6_000_000_000 + bytes.len() as u64);
        }
    }
}
