//! A deterministic zip writer: fixed timestamps and permissions, UTF-8 names, zip64 only when
//! sizes or offsets need it. The same entries always give the same bytes.

use std::io::{self, Write};

use super::stamp::{HashingWriter, Stamp};

/// Compression method of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Stored as is (zip method 0).
    Stored,
    /// Deflate (zip method 8).
    Deflated,
}

impl Method {
    /// The zip method number.
    pub fn number(self) -> u16 {
        match self {
            Self::Stored => 0,
            Self::Deflated => 8,
        }
    }
}

/// What the headers of an entry say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub name: String,
    pub is_dir: bool,
    pub method: Method,
    pub crc32: u32,
    pub size: u64,
    pub compressed_size: u64,
}

const LOCAL_SIG: u32 = 0x0403_4b50;
pub(crate) const CENTRAL_SIG: u32 = 0x0201_4b50;
pub(crate) const EOCD_SIG: u32 = 0x0605_4b50;
pub(crate) const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
pub(crate) const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
/// Bit 11: names are UTF-8.
pub(crate) const FLAG_UTF8: u16 = 0x0800;
/// 1980-01-01 00:00:00 in MS-DOS format.
const DOS_DATE: u16 = (1 << 5) | 1;
const DOS_TIME: u16 = 0;
/// "Made by" Unix, spec 4.5.
const MADE_BY: u16 = (3 << 8) | 45;
const FILE_MODE: u32 = 0o100_644;
const DIR_MODE: u32 = 0o040_755;
const U32_MAX: u64 = 0xFFFF_FFFF;

/// Writes a zip archive entry by entry, hashing everything it writes.
pub(crate) struct ZipWriter<W: Write> {
    out: HashingWriter<W>,
    central: Central,
}

impl<W: Write> ZipWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        Self {
            out: HashingWriter::new(out),
            central: Central::default(),
        }
    }

    /// Writes one entry: its local header, then `data` (already compressed per `header`).
    /// Returns the offset of the entry's data in the archive.
    pub(crate) fn add(&mut self, header: &Header, data: &[u8]) -> io::Result<u64> {
        let offset = self.out.written();
        if data.len() as u64 != header.compressed_size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "entry data does not match its header",
            ));
        }
        self.out.write_all(&local_header(header)?)?;
        let data_offset = self.out.written();
        self.out.write_all(data)?;
        self.central.push(header, offset)?;
        Ok(data_offset)
    }

    /// Writes one entry whose data is read from `data`: exactly `header.compressed_size` bytes
    /// are copied. Returns the offset of the entry's data in the archive.
    ///
    /// # Errors
    /// `UnexpectedEof` when `data` ends before that; the read or write error otherwise.
    pub(crate) fn add_stream(
        &mut self,
        header: &Header,
        data: &mut dyn io::Read,
    ) -> io::Result<u64> {
        let offset = self.out.written();
        self.out.write_all(&local_header(header)?)?;
        let data_offset = self.out.written();
        let mut buf = vec![0u8; 256 * 1024];
        let mut left = header.compressed_size;
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = match data.read(&mut buf[..want]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "entry data shorter than its header says",
                    ));
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.out.write_all(&buf[..n])?;
            left -= n as u64;
        }
        self.central.push(header, offset)?;
        Ok(data_offset)
    }

    /// Writes the central directory and end records. Returns the inner writer, the stamp
    /// (SHA-256 of every byte written) and the archive length.
    pub(crate) fn finish(mut self) -> io::Result<(W, Stamp, u64)> {
        let end = std::mem::take(&mut self.central).end(self.out.written());
        self.out.write_all(&end)?;
        self.out.flush()?;
        Ok(self.out.finish())
    }
}

fn name_len(header: &Header) -> io::Result<u16> {
    u16::try_from(header.name.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "entry name longer than 65535 bytes",
        )
    })
}

fn is_large(header: &Header) -> bool {
    header.size >= U32_MAX || header.compressed_size >= U32_MAX
}

/// The local header of an entry, exactly as [`ZipWriter::add`] writes it.
pub(crate) fn local_header(header: &Header) -> io::Result<Vec<u8>> {
    let name = header.name.as_bytes();
    let name_len = name_len(header)?;
    let large = is_large(header);
    let version = if large { 45 } else { 20 };
    let mut local_extra = Vec::new();
    if large {
        local_extra.extend_from_slice(&1u16.to_le_bytes());
        local_extra.extend_from_slice(&16u16.to_le_bytes());
        local_extra.extend_from_slice(&header.size.to_le_bytes());
        local_extra.extend_from_slice(&header.compressed_size.to_le_bytes());
    }
    let mut h = Vec::with_capacity(30 + name.len() + local_extra.len());
    h.extend_from_slice(&LOCAL_SIG.to_le_bytes());
    h.extend_from_slice(&(version as u16).to_le_bytes());
    h.extend_from_slice(&FLAG_UTF8.to_le_bytes());
    h.extend_from_slice(&header.method.number().to_le_bytes());
    h.extend_from_slice(&DOS_TIME.to_le_bytes());
    h.extend_from_slice(&DOS_DATE.to_le_bytes());
    h.extend_from_slice(&header.crc32.to_le_bytes());
    h.extend_from_slice(&clamp32(header.compressed_size, large).to_le_bytes());
    h.extend_from_slice(&clamp32(header.size, large).to_le_bytes());
    h.extend_from_slice(&name_len.to_le_bytes());
    h.extend_from_slice(&(local_extra.len() as u16).to_le_bytes());
    h.extend_from_slice(name);
    h.extend_from_slice(&local_extra);
    Ok(h)
}

/// The length of [`local_header`] for `header`, without building it.
pub(crate) fn local_header_len(header: &Header) -> u64 {
    local_header_len_of(&header.name, header.size, header.compressed_size)
}

/// [`local_header_len`] of an entry named `name` with these sizes.
pub(crate) fn local_header_len_of(name: &str, size: u64, compressed_size: u64) -> u64 {
    let large = size >= U32_MAX || compressed_size >= U32_MAX;
    30 + name.len() as u64 + if large { 20 } else { 0 }
}

/// The central directory of an archive being written, record by record.
#[derive(Default)]
pub(crate) struct Central {
    bytes: Vec<u8>,
    entries: u64,
}

impl Central {
    /// Adds the record of the entry whose local header is at `offset`.
    pub(crate) fn push(&mut self, header: &Header, offset: u64) -> io::Result<()> {
        let name = header.name.as_bytes();
        let name_len = name_len(header)?;
        let large = is_large(header);
        let offset_large = offset >= U32_MAX;
        let mut extra = Vec::new();
        if large || offset_large {
            let mut fields = Vec::new();
            if large {
                fields.extend_from_slice(&header.size.to_le_bytes());
                fields.extend_from_slice(&header.compressed_size.to_le_bytes());
            }
            if offset_large {
                fields.extend_from_slice(&offset.to_le_bytes());
            }
            extra.extend_from_slice(&1u16.to_le_bytes());
            extra.extend_from_slice(&(fields.len() as u16).to_le_bytes());
            extra.extend_from_slice(&fields);
        }
        let version_needed: u16 = if large || offset_large { 45 } else { 20 };
        let mode = if header.is_dir { DIR_MODE } else { FILE_MODE };
        let external = (mode << 16) | if header.is_dir { 0x10 } else { 0 };
        let c = &mut self.bytes;
        c.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
        c.extend_from_slice(&MADE_BY.to_le_bytes());
        c.extend_from_slice(&version_needed.to_le_bytes());
        c.extend_from_slice(&FLAG_UTF8.to_le_bytes());
        c.extend_from_slice(&header.method.number().to_le_bytes());
        c.extend_from_slice(&DOS_TIME.to_le_bytes());
        c.extend_from_slice(&DOS_DATE.to_le_bytes());
        c.extend_from_slice(&header.crc32.to_le_bytes());
        c.extend_from_slice(&clamp32(header.compressed_size, large).to_le_bytes());
        c.extend_from_slice(&clamp32(header.size, large).to_le_bytes());
        c.extend_from_slice(&name_len.to_le_bytes());
        c.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes()); // comment length
        c.extend_from_slice(&0u16.to_le_bytes()); // disk number
        c.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        c.extend_from_slice(&external.to_le_bytes());
        c.extend_from_slice(&clamp32(offset, offset_large).to_le_bytes());
        c.extend_from_slice(name);
        c.extend_from_slice(&extra);
        self.entries += 1;
        Ok(())
    }

    /// Adds the records of `after` (entries whose local headers follow these).
    pub(crate) fn append(&mut self, after: Central) {
        self.bytes.extend_from_slice(&after.bytes);
        self.entries += after.entries;
    }

    /// The central directory and end records, for a directory starting at `cd_offset`.
    pub(crate) fn end(self, cd_offset: u64) -> Vec<u8> {
        let cd_size = self.bytes.len() as u64;
        let entries = self.entries;
        let mut r = self.bytes;
        let needs64 = entries >= 0xFFFF || cd_offset >= U32_MAX || cd_size >= U32_MAX;
        if needs64 {
            let eocd64_offset = cd_offset + cd_size;
            r.extend_from_slice(&ZIP64_EOCD_SIG.to_le_bytes());
            r.extend_from_slice(&44u64.to_le_bytes());
            r.extend_from_slice(&MADE_BY.to_le_bytes());
            r.extend_from_slice(&45u16.to_le_bytes());
            r.extend_from_slice(&0u32.to_le_bytes());
            r.extend_from_slice(&0u32.to_le_bytes());
            r.extend_from_slice(&entries.to_le_bytes());
            r.extend_from_slice(&entries.to_le_bytes());
            r.extend_from_slice(&cd_size.to_le_bytes());
            r.extend_from_slice(&cd_offset.to_le_bytes());
            r.extend_from_slice(&ZIP64_LOCATOR_SIG.to_le_bytes());
            r.extend_from_slice(&0u32.to_le_bytes());
            r.extend_from_slice(&eocd64_offset.to_le_bytes());
            r.extend_from_slice(&1u32.to_le_bytes());
        }
        let count16 = if needs64 { 0xFFFF } else { entries as u16 };
        r.extend_from_slice(&EOCD_SIG.to_le_bytes());
        r.extend_from_slice(&0u16.to_le_bytes());
        r.extend_from_slice(&0u16.to_le_bytes());
        r.extend_from_slice(&count16.to_le_bytes());
        r.extend_from_slice(&count16.to_le_bytes());
        r.extend_from_slice(&clamp32(cd_size, needs64).to_le_bytes());
        r.extend_from_slice(&clamp32(cd_offset, needs64).to_le_bytes());
        r.extend_from_slice(&0u16.to_le_bytes());
        r
    }
}

fn clamp32(value: u64, large: bool) -> u32 {
    if large { 0xFFFF_FFFF } else { value as u32 }
}
