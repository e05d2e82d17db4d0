//! Planning the download of an archive in two parts at once, so that unpacking it keeps pace
//! with the bytes.
//!
//! Unpacking costs per byte and per file. An archive in name order may hold most of its files
//! in its last bytes (a 4D project's thousands of small methods sort last): downloaded from
//! the first byte, that work arrives at the very end and the unpack ends well after the
//! download. Fetching the last part at the same time as the first (two ranges of the same
//! stamped archive, sharing the link) brings that work forward without changing the archive.
//! The plan reads the central directory (fetched first, with a small range) to find where the
//! work lies, and picks the split that spreads it best over the download.

use super::central::{end_records, records};

/// Unpacking work of a file beyond its bytes, in bytes: creating a file costs about as much as
/// writing 16 KiB (measured on ext4).
const FILE_WORK: u64 = 16 * 1024;

/// How much faster than the bytes arrive the unpack is assumed to work at best, in the score.
const HEADROOM: f64 = 1.3;

/// A plan is taken only when it lowers the score by at least this much.
const WORTH: f64 = 0.02;

/// Split points tried.
const CANDIDATES: u64 = 64;

/// Where an archive's central directory starts, read from its last bytes `last` (the archive
/// is `size` bytes long); `None` when they hold no end record that says so.
pub fn central_directory_offset(last: &[u8], size: u64) -> Option<u64> {
    end_records(last, size).map(|end| end.offset)
}

/// An entry as the central directory lists it: where its local header starts, and the
/// unpacking work it takes.
struct Listed {
    offset: u64,
    work: u64,
}

/// The entries listed by the central directory `central` (bytes from its first record on).
fn listed(central: &[u8]) -> Option<Vec<Listed>> {
    let (records, _) = records(central)?;
    let work = |name: &[u8], size: u64| {
        if name.last() == Some(&b'/') {
            0
        } else {
            size.saturating_add(FILE_WORK)
        }
    };
    Some(
        records
            .iter()
            .map(|r| Listed {
                offset: r.header_start,
                work: work(r.name, r.size),
            })
            .collect(),
    )
}

/// Where to split the download of an archive whose central directory `central` starts at
/// `central_offset`: the offset of the local header where the second part starts, or `None`
/// when one part from the first byte spreads the work as well.
pub fn split_point(central: &[u8], central_offset: u64) -> Option<u64> {
    let entries = listed(central)?;
    if entries.len() < 2
        || entries.windows(2).any(|w| w[0].offset >= w[1].offset)
        || entries.last().is_some_and(|e| e.offset >= central_offset)
    {
        return None;
    }
    let work: u64 = entries.iter().map(|e| e.work).sum();
    if work == 0 {
        return None;
    }
    let whole = score(&entries, central_offset, work, central_offset);
    let mut best: Option<(f64, u64)> = None;
    for k in 1..=CANDIDATES {
        // Tails from 1/128 to half of the bytes.
        let wanted = central_offset - central_offset * k / (2 * CANDIDATES);
        let i = entries.partition_point(|e| e.offset < wanted);
        let Some(at) = entries.get(i).map(|e| e.offset) else {
            continue;
        };
        if at == 0 {
            continue;
        }
        let s = score(&entries, central_offset, work, at);
        // The smallest tail among the best (candidates come from the smallest).
        if best.is_none_or(|(b, _)| s < b - 1e-3) {
            best = Some((s, at));
        }
    }
    let (s, at) = best?;
    (s + WORTH <= whole).then_some(at)
}

/// How late the work comes when the archive is fetched as `[0, split)` and `[split, end)` at
/// once (the two sharing the link equally until one ends): the largest share of the work
/// still to arrive beyond what an unpack working `HEADROOM` times the average pace could do
/// in the time left. 0 when the work never falls behind. Linear: each part's entries arrive
/// in order, and the two are merged.
fn score(entries: &[Listed], end: u64, work: u64, split: u64) -> f64 {
    let tail = end - split;
    let first_tail = entries.partition_point(|e| e.offset < split);
    // When entry `i`'s last byte arrives, in bytes of the link's time.
    let arrival = |i: usize| -> u64 {
        let e = &entries[i];
        let to = entries.get(i + 1).map_or(end, |n| n.offset).max(e.offset);
        if e.offset >= split {
            let done = to - split;
            if done <= split {
                2 * done
            } else {
                split + done
            }
        } else if to <= tail {
            2 * to
        } else {
            to + tail
        }
    };
    let (end, whole) = (end as f64, work as f64);
    let mut left = whole;
    let mut worst = 0f64;
    let (mut head, mut last) = (0, first_tail);
    while head < first_tail || last < entries.len() {
        let from_head =
            last >= entries.len() || (head < first_tail && arrival(head) <= arrival(last));
        let i = if from_head { &mut head } else { &mut last };
        let at = arrival(*i) as f64;
        worst = worst.max(left / whole - HEADROOM * (end - at) / end);
        left -= entries[*i].work as f64;
        *i += 1;
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::write::{Central, Header, Method};
    use crate::archive::{BuildOptions, build};
    use std::fs;

    /// Builds a project of `big` large files (named to sort first) and `small` small ones
    /// (sorting last); returns the archive's bytes.
    fn archive(big: u32, small: u32) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("p");
        let methods = root.join("Project/Sources/Methods");
        let images = root.join("Project/Sources/Images");
        fs::create_dir_all(&methods).unwrap();
        fs::create_dir_all(&images).unwrap();
        let noise = |seed: u32, len: u32| -> Vec<u8> {
            (0..len)
                .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect()
        };
        for i in 0..big {
            fs::write(images.join(format!("a{i:03}.png")), noise(i, 200_000)).unwrap();
        }
        for i in 0..small {
            fs::write(methods.join(format!("m{i:05}.4dm")), format!("// {i}\n")).unwrap();
        }
        let out = dir.path().join("a.4dz");
        build(&root, &out, &BuildOptions::default()).unwrap();
        fs::read(out).unwrap()
    }

    fn plan(bytes: &[u8]) -> (u64, Option<u64>) {
        let size = bytes.len() as u64;
        let last = &bytes[bytes.len().saturating_sub(65_536)..];
        let cd = central_directory_offset(last, size).expect("an end record");
        (cd, split_point(&bytes[cd as usize..], cd))
    }

    #[test]
    fn the_small_files_at_the_end_are_fetched_beside_the_first_part() {
        let bytes = archive(40, 3_000);
        let (cd, split) = plan(&bytes);
        let split = split.expect("a split");
        // A local header, in the last part of the archive: after every large file.
        assert_eq!(&bytes[split as usize..split as usize + 4], b"PK\x03\x04");
        assert!(split > cd / 2 && split < cd, "{split} of {cd}");
        let big_end = 40 * 200_000;
        assert!(split >= big_end / 2, "{split}");
    }

    /// The score computed the slow way: every arrival, sorted.
    fn score_sorted(entries: &[Listed], end: u64, work: u64, split: u64) -> f64 {
        let tail = end - split;
        let mut timeline: Vec<(u64, u64)> = (0..entries.len())
            .map(|i| {
                let (from, to) = (
                    entries[i].offset,
                    entries.get(i + 1).map_or(end, |n| n.offset),
                );
                let t = if from >= split {
                    let done = to - split;
                    if done <= split {
                        2 * done
                    } else {
                        split + done
                    }
                } else if to <= tail {
                    2 * to
                } else {
                    to + tail
                };
                (t, entries[i].work)
            })
            .collect();
        timeline.sort_by_key(|&(t, _)| t);
        let (mut left, mut worst) = (work as f64, 0f64);
        for (t, w) in timeline {
            worst = worst.max(left / work as f64 - HEADROOM * (end - t) as f64 / end as f64);
            left -= w as f64;
        }
        worst
    }

    #[test]
    fn the_merged_score_is_the_sorted_one() {
        let bytes = archive(12, 800);
        let (cd, _) = plan(&bytes);
        let entries = listed(&bytes[cd as usize..]).unwrap();
        let work = entries.iter().map(|e| e.work).sum();
        for e in entries.iter().skip(1).step_by(37) {
            let (fast, slow) = (
                score(&entries, cd, work, e.offset),
                score_sorted(&entries, cd, work, e.offset),
            );
            assert!((fast - slow).abs() < 1e-9, "{fast} {slow} at {}", e.offset);
        }
    }

    #[test]
    fn work_spread_evenly_is_fetched_in_one_part() {
        // Large files only: the work is where the bytes are.
        let bytes = archive(30, 0);
        assert_eq!(plan(&bytes).1, None);
    }

    #[test]
    fn the_end_records_are_found_past_four_gibibytes() {
        let mut c = Central::default();
        let header = Header {
            name: "Project/a.txt".into(),
            is_dir: false,
            method: Method::Stored,
            crc32: 0,
            size: 1,
            compressed_size: 1,
        };
        c.push(&header, 5_000_000_000).unwrap();
        let cd_offset = 5_000_000_100u64;
        let end = c.end(cd_offset);
        let size = cd_offset + end.len() as u64;
        assert_eq!(central_directory_offset(&end, size), Some(cd_offset));
        let listed = listed(&end).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].offset, 5_000_000_000);
    }

    #[test]
    fn junk_plans_nothing() {
        assert_eq!(central_directory_offset(b"", 10), None);
        assert_eq!(central_directory_offset(&[0u8; 100], 100), None);
        assert_eq!(central_directory_offset(&[0u8; 100], 50), None);
        let bytes = archive(2, 10);
        let (cd, _) = plan(&bytes);
        // A truncated directory, a directory past the end, offsets out of order.
        let central = &bytes[cd as usize..];
        assert_eq!(split_point(&central[..50], cd), None);
        assert_eq!(split_point(central, 10), None);
        let mut shuffled = central.to_vec();
        shuffled[42..46].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(split_point(&shuffled, cd), None);
        for cut in 0..bytes.len().min(400) {
            let tail = &bytes[bytes.len() - cut..];
            let _ = central_directory_offset(tail, bytes.len() as u64);
        }
    }
}
