use super::*;
use crate::archive::{BuildOptions, build};
use follower::CENTRAL_SIG;
use std::io::Write;

fn project(root: &Path) {
    let write = |rel: &str, body: Vec<u8>| {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, body).unwrap();
    };
    write("Project/Demo.4DProject", b"{}".to_vec());
    for i in 0..200u32 {
        write(
            &format!("Project/Sources/Methods/m{i:03}.4dm"),
            format!("// method {i}\n")
                .repeat(i as usize * 10)
                .into_bytes(),
        );
    }
    // Incompressible: stored.
    let noise: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write("Project/Resources/noise.bin", noise);
    fs::create_dir_all(root.join("Project/Sources/Classes")).unwrap();
}

fn listing(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string()
                .replace('\\', "/");
            if e.file_type().unwrap().is_dir() {
                out.push((rel + "/", Vec::new()));
                stack.push(e.path());
            } else {
                out.push((rel, fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A built project archive (its bytes), an empty part file to write them into, and the
/// target folder, in a temporary folder.
fn a_download() -> (tempfile::TempDir, Vec<u8>, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    project(&dir.path().join("p"));
    let built = dir.path().join("built.4dz");
    build(&dir.path().join("p"), &built, &BuildOptions::default()).unwrap();
    let bytes = fs::read(&built).unwrap();
    let part = dir.path().join("project.4dz.part");
    fs::write(&part, b"").unwrap();
    let target = dir.path().join("cache/Project");
    (dir, bytes, part, target)
}

/// Writes `bytes` into `path` in pieces, telling `u` after each.
fn download(bytes: &[u8], path: &Path, u: &FollowingUnpack, upto: usize) {
    let mut f = fs::OpenOptions::new().append(true).open(path).unwrap();
    let mut done = 0;
    for piece in bytes[..upto].chunks(7_919) {
        f.write_all(piece).unwrap();
        done += piece.len();
        u.grew(done as u64);
    }
}

/// Follows the whole of `part` for `target`: the unpack must keep nothing.
fn assert_refused(part: &Path, target: &Path) {
    let u = FollowingUnpack::start(part, "Project/", target, Limits::default()).unwrap();
    u.grew(fs::metadata(part).unwrap().len());
    assert!(u.finish().unwrap().is_none());
    assert!(!target.exists());
}

#[test]
fn unpacks_as_the_file_grows_exactly_like_an_unpack_after() {
    let (dir, bytes, part, target) = a_download();
    let u = FollowingUnpack::start(&part, "Project/", &target, Limits::default()).unwrap();
    download(&bytes, &part, &u, bytes.len());
    let (written, as_written_here) = u.finish_checked().unwrap().expect("unpacked");
    // Its central directory is the one this program writes: not read again.
    assert!(as_written_here);
    let archive = Archive::open(&part, &Limits::default()).unwrap();
    let reference = dir.path().join("reference");
    archive.unpack_subtree_to("Project/", &reference).unwrap();
    assert_eq!(listing(&target), listing(&reference));
    // What it says it wrote is every file there, in order, with the metadata a stat finds.
    let files: Vec<String> = listing(&target)
        .into_iter()
        .filter(|(n, _)| !n.ends_with('/'))
        .map(|(n, _)| n)
        .collect();
    let names: Vec<&str> = written.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, files);
    for w in &written {
        let now = fs::metadata(target.join(&w.name)).unwrap();
        assert_eq!(w.metadata.len(), now.len(), "{}", w.name);
        assert_eq!(
            w.metadata.modified().unwrap(),
            now.modified().unwrap(),
            "{}",
            w.name
        );
    }
    assert!(
        listing(&target)
            .iter()
            .any(|(n, _)| n == "Sources/Classes/")
    );
    // Nothing left beside it.
    assert_eq!(fs::read_dir(dir.path().join("cache")).unwrap().count(), 1);
}

#[test]
fn an_interrupted_download_leaves_the_previous_content() {
    let (dir, bytes, part, target) = a_download();
    fs::create_dir_all(&target).unwrap();
    fs::write(target.join("previous.txt"), b"kept").unwrap();
    let u = FollowingUnpack::start(&part, "Project/", &target, Limits::default()).unwrap();
    download(&bytes, &part, &u, bytes.len() / 2);
    drop(u);
    assert_eq!(
        listing(&target),
        vec![("previous.txt".into(), b"kept".to_vec())]
    );
    assert_eq!(fs::read_dir(dir.path().join("cache")).unwrap().count(), 1);
}

/// The offset of the central directory record of entry `name` in `bytes`.
fn central_record(bytes: &[u8], name: &str) -> usize {
    let archive = tempfile::NamedTempFile::new().unwrap();
    fs::write(archive.path(), bytes).unwrap();
    let zip = zip::ZipArchive::new(File::open(archive.path()).unwrap()).unwrap();
    let cd = zip.central_directory_start() as usize;
    let mut at = cd;
    loop {
        assert_eq!(bytes[at..at + 4], CENTRAL_SIG, "record at {at}");
        let u16_at = |i: usize| usize::from(u16::from_le_bytes([bytes[i], bytes[i + 1]]));
        let (n, x, c) = (u16_at(at + 28), u16_at(at + 30), u16_at(at + 32));
        if &bytes[at + 46..at + 46 + n] == name.as_bytes() {
            return at;
        }
        at += 46 + n + x + c;
    }
}

#[test]
fn a_central_directory_that_differs_from_the_local_headers_is_not_used() {
    let (dir, mut bytes, part, target) = a_download();
    // The central directory says another CRC for one file than its local header.
    let at = central_record(&bytes, "Project/Sources/Methods/m007.4dm");
    bytes[at + 16] ^= 0xFF;
    let u = FollowingUnpack::start(&part, "Project/", &target, Limits::default()).unwrap();
    download(&bytes, &part, &u, bytes.len());
    assert!(u.finish().unwrap().is_none());
    assert!(!target.exists());
    assert_eq!(fs::read_dir(dir.path().join("cache")).unwrap().count(), 0);
}

#[test]
fn a_central_directory_written_otherwise_is_read_and_compared() {
    let (_dir, mut bytes, part, target) = a_download();
    // Another tool's record: the same entry, but made on another system (what a zip
    // reader lists is the same).
    let at = central_record(&bytes, "Project/Sources/Methods/m007.4dm");
    bytes[at + 5] = 0;
    let u = FollowingUnpack::start(&part, "Project/", &target, Limits::default()).unwrap();
    download(&bytes, &part, &u, bytes.len());
    let (files, as_written_here) = u.finish_checked().unwrap().expect("unpacked");
    assert!(!as_written_here);
    assert!(files.iter().any(|f| f.name == "Sources/Methods/m007.4dm"));
    assert!(target.join("Sources/Methods/m007.4dm").is_file());
}

#[test]
fn bytes_after_the_end_record_are_not_taken_for_an_archive_written_here() {
    let (_dir, mut bytes, part, target) = a_download();
    bytes.extend_from_slice(b"trailing");
    let u = FollowingUnpack::start(&part, "Project/", &target, Limits::default()).unwrap();
    download(&bytes, &part, &u, bytes.len());
    // The zip reader decides: whatever it says, never the fast path.
    if let Some((_, as_written_here)) = u.finish_checked().unwrap() {
        assert!(!as_written_here);
    }
}

#[test]
fn names_that_differ_only_in_case_stop_the_unpack() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("x.zip");
    let mut w = zip::ZipWriter::new(File::create(&part).unwrap());
    for name in ["Project/a.txt", "Project/A.txt"] {
        w.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(name.as_bytes()).unwrap();
    }
    w.finish().unwrap();
    assert_refused(&part, &dir.path().join("cache/Project"));
}

#[test]
fn an_archive_without_entries_is_left_to_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("empty.zip");
    zip::ZipWriter::new(File::create(&part).unwrap())
        .finish()
        .unwrap();
    assert_refused(&part, &dir.path().join("cache/Project"));
}

#[test]
fn a_bomb_is_refused_before_it_is_inflated() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("bomb.zip");
    let mut w = zip::ZipWriter::new(File::create(&part).unwrap());
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("Project/zeros.bin", deflated).unwrap();
    w.write_all(&vec![0u8; 40 << 20]).unwrap();
    w.finish().unwrap();
    // The unpack that followed refused it by its sizes, before inflating anything.
    assert_refused(&part, &dir.path().join("cache/Project"));
    assert_eq!(fs::read_dir(dir.path().join("cache")).unwrap().count(), 0);
}

#[test]
fn entries_outside_the_prefix_stop_the_unpack() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("x.zip");
    let mut w = zip::ZipWriter::new(File::create(&part).unwrap());
    w.start_file("Elsewhere/a.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    w.write_all(b"a").unwrap();
    w.finish().unwrap();
    assert_refused(&part, &dir.path().join("cache/Project"));
}

/// Offsets of the archive's local headers, in order.
fn local_headers(bytes: &[u8]) -> Vec<usize> {
    let archive_end = bytes.len();
    let mut out = Vec::new();
    let mut at = 0;
    while at + 30 <= archive_end && bytes[at..at + 4] == [0x50, 0x4b, 0x03, 0x04] {
        out.push(at);
        let u16_at = |i: usize| usize::from(u16::from_le_bytes([bytes[i], bytes[i + 1]]));
        let csize = u32::from_le_bytes(bytes[at + 18..at + 22].try_into().unwrap()) as usize;
        at += 30 + u16_at(at + 26) + u16_at(at + 28) + csize;
    }
    out
}

/// Downloads `bytes` in two parts at once, split at `split`: the first into `part`, the last
/// into `tail`, then appended (as the client does); returns what the unpack kept.
fn download_in_two_parts(
    bytes: &[u8],
    part: &Path,
    target: &Path,
    split: usize,
) -> Option<(Vec<UnpackedFile>, bool)> {
    let tail = part.with_extension("tail");
    fs::write(&tail, b"").unwrap();
    let u = FollowingUnpack::start_in_two_parts(
        part,
        (&tail, split as u64),
        "Project/",
        target,
        Limits::default(),
    )
    .unwrap();
    let feed = u.tail_feed().unwrap();
    let mut head = fs::OpenOptions::new().append(true).open(part).unwrap();
    let mut back = fs::OpenOptions::new().append(true).open(&tail).unwrap();
    // Interleaved, as two streams sharing a link.
    let (mut a, mut b) = (0, split);
    while a < split || b < bytes.len() {
        let n = (split - a).min(5_003);
        head.write_all(&bytes[a..a + n]).unwrap();
        a += n;
        u.grew(a as u64);
        let n = (bytes.len() - b).min(3_001);
        back.write_all(&bytes[b..b + n]).unwrap();
        b += n;
        feed.grew((b - split) as u64);
    }
    drop(feed);
    head.write_all(&bytes[split..]).unwrap();
    u.finish_checked().unwrap()
}

#[test]
fn a_download_in_two_parts_unpacks_exactly_like_one_in_one() {
    let (dir, bytes, part, target) = a_download();
    let headers = local_headers(&bytes);
    assert!(headers.len() > 100);
    // Split in the middle of the methods; and with nothing but the end records in the second.
    let cd = local_headers_end(&bytes, &headers);
    for split in [headers[headers.len() / 2], cd] {
        fs::write(&part, b"").unwrap();
        let (written, as_written_here) =
            download_in_two_parts(&bytes, &part, &target, split).expect("unpacked");
        assert!(as_written_here);
        assert_eq!(fs::read(&part).unwrap(), bytes);
        let reference = dir.path().join("reference");
        let _ = fs::remove_dir_all(&reference);
        Archive::open(&part, &Limits::default())
            .unwrap()
            .unpack_subtree_to("Project/", &reference)
            .unwrap();
        assert_eq!(listing(&target), listing(&reference));
        let names: Vec<&str> = written.iter().map(|w| w.name.as_str()).collect();
        let files: Vec<String> = listing(&target)
            .into_iter()
            .filter(|(n, _)| !n.ends_with('/'))
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, files);
        assert_eq!(fs::read_dir(dir.path().join("cache")).unwrap().count(), 1);
    }
}

/// Where the local entries end (the central directory starts).
fn local_headers_end(bytes: &[u8], headers: &[usize]) -> usize {
    let last = *headers.last().unwrap();
    let u16_at = |i: usize| usize::from(u16::from_le_bytes([bytes[i], bytes[i + 1]]));
    let csize = u32::from_le_bytes(bytes[last + 18..last + 22].try_into().unwrap()) as usize;
    last + 30 + u16_at(last + 26) + u16_at(last + 28) + csize
}

#[test]
fn a_split_inside_an_entry_keeps_nothing() {
    let (_dir, bytes, part, target) = a_download();
    let headers = local_headers(&bytes);
    let split = headers[headers.len() / 2] + 7;
    assert!(download_in_two_parts(&bytes, &part, &target, split).is_none());
    assert!(!target.exists());
}

#[test]
fn an_abandoned_download_in_two_parts_leaves_the_previous_content() {
    let (dir, bytes, part, target) = a_download();
    fs::create_dir_all(&target).unwrap();
    fs::write(target.join("previous.txt"), b"kept").unwrap();
    let headers = local_headers(&bytes);
    let split = headers[headers.len() / 2];
    let tail = part.with_extension("tail");
    fs::write(&tail, &bytes[split..split + 1000]).unwrap();
    let u = FollowingUnpack::start_in_two_parts(
        &part,
        (&tail, split as u64),
        "Project/",
        &target,
        Limits::default(),
    )
    .unwrap();
    // The second part's writer still holds its feed: dropping the unpack stops it anyway.
    let feed = u.tail_feed().unwrap();
    feed.grew(1000);
    download(&bytes, &part, &u, split / 2);
    drop(u);
    drop(feed);
    assert_eq!(
        listing(&target),
        vec![("previous.txt".into(), b"kept".to_vec())]
    );
    assert_eq!(fs::read_dir(dir.path().join("cache")).unwrap().count(), 1);
}
