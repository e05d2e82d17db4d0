use std::fs;
use std::path::{Path, PathBuf};

use super::write::{Header, ZipWriter};
use super::*;

pub(super) fn write(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

/// A small project with sources, a form image, and things the archive must leave out.
pub(super) fn sample_project(root: &Path) {
    write(
        root,
        "Project/Demo.4DProject",
        br#"{"compatibilityVersion": 2040}"#,
    );
    write(
        root,
        "Project/Sources/catalog.4DCatalog",
        b"<base name=\"Demo\"/>",
    );
    for i in 0..40 {
        let body = format!(
            "//%attributes = {{\"lang\":\"en\"}}\nvar $i : Integer\n$i:={i}\nALERT(\"m{i}\")\n"
        )
        .repeat(20);
        write(
            root,
            &format!("Project/Sources/Methods/method{i:02}.4dm"),
            body.as_bytes(),
        );
    }
    write(
        root,
        "Project/Sources/Methods/Résumé été.4dm",
        "// non-ASCII name\n".as_bytes(),
    );
    write(
        root,
        "Project/Sources/Forms/Main/form.4DForm",
        b"{\"pages\":[]}",
    );
    write(
        root,
        "Project/Sources/Forms/Main/Images/logo.png",
        &[0x89, b'P', b'N', b'G', 1, 2, 3, 4],
    );
    fs::create_dir_all(root.join("Project/Sources/Classes")).unwrap();
    write(root, "Project/DerivedData/methodAttributes.json", b"{}");
    write(root, "Project/Trash/(old).4dm", b"x");
    write(root, "Project/Sources/.git/HEAD", b"ref");
    write(root, "Project/Sources/Methods/method01.4dm~", b"backup");
    write(root, "userPreferences.bob/workspace.json", b"{}");
    write(root, "Data/data.4DD", b"data");
}

fn names(a: &Archive) -> Vec<String> {
    a.entries().iter().map(|e| e.name.clone()).collect()
}

/// 3 MB that do not compress, sorted before the methods: successive builds share them (and
/// several SHA-256 checkpoints).
pub(super) fn shared_noise(root: &Path) {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let noise: Vec<u8> = (0..3_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    write(root, "Project/Assets/noise.bin", &noise);
}

/// The SHA-256 checkpoints of the file at `path`, computed from its bytes.
pub(super) fn checkpoints_of(path: &Path) -> Checkpoints {
    let mut h = ResumableSha256::new();
    h.update(&fs::read(path).unwrap());
    let (digest, states) = h.finish();
    Checkpoints {
        stamp: Stamp::from_bytes(digest),
        states,
    }
}

pub(super) fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if e.file_type().unwrap().is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                stack.push(e.path());
            } else {
                out.push((rel, fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn build_is_deterministic_and_leaves_out_what_it_should() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    sample_project(a.path());
    std::thread::sleep(std::time::Duration::from_millis(20));
    sample_project(b.path()); // same content, other folder, other times
    let out = tempfile::tempdir().unwrap();
    let r1 = build(
        a.path(),
        &out.path().join("a.4dz"),
        &BuildOptions::default(),
    )
    .unwrap();
    let r2 = build(
        b.path(),
        &out.path().join("b.4dz"),
        &BuildOptions::default(),
    )
    .unwrap();
    let r3 = build(
        a.path(),
        &out.path().join("a2.4dz"),
        &BuildOptions::default(),
    )
    .unwrap();
    assert_eq!(r1.stamp, r2.stamp);
    assert_eq!(r1.stamp, r3.stamp);
    let bytes = fs::read(out.path().join("a.4dz")).unwrap();
    assert_eq!(bytes, fs::read(out.path().join("b.4dz")).unwrap());
    assert_eq!(Stamp::of_bytes(&bytes), r1.stamp);
    assert_eq!(r1.archive_size, bytes.len() as u64);

    let archive = Archive::open(&out.path().join("a.4dz"), &Limits::default()).unwrap();
    archive.check_project_layout().unwrap();
    let list = names(&archive);
    let mut sorted = list.clone();
    sorted.sort();
    assert_eq!(list, sorted, "entries are sorted");
    assert_eq!(list[0], "Project/");
    assert!(
        list.contains(&"Project/Sources/Classes/".to_owned()),
        "empty folders are kept"
    );
    assert!(list.contains(&"Project/Sources/Methods/Résumé été.4dm".to_owned()));
    for left_out in [
        "DerivedData",
        "Trash",
        ".git",
        "~",
        "userPreferences",
        "Data/",
    ] {
        assert!(
            !list.iter().any(|n| n.contains(left_out)),
            "{left_out} must be left out: {list:?}"
        );
    }
    let png = archive
        .entries()
        .iter()
        .find(|e| e.name.ends_with("logo.png"))
        .unwrap();
    assert_eq!(png.method, Method::Stored);
    let m = archive
        .entries()
        .iter()
        .find(|e| e.name.ends_with("method00.4dm"))
        .unwrap();
    assert_eq!(m.method, Method::Deflated);
    let report = archive.verify().unwrap();
    assert_eq!(report.files, r1.file_count());
    assert_eq!(report.bytes, r1.content_size());
}

#[test]
fn build_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = build(
        dir.path(),
        &dir.path().join("x.4dz"),
        &BuildOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ArchiveError::NotAProject { .. }), "{err}");
    assert!(err.to_string().contains("no Project/ folder"));
    assert!(!dir.path().join("x.4dz").exists());
}

#[test]
fn info_zip_reads_our_archives() {
    let Ok(status) = std::process::Command::new("unzip").arg("-v").output() else {
        eprintln!("skipped: Info-ZIP unzip is not installed");
        return;
    };
    assert!(status.status.success());
    let p = tempfile::tempdir().unwrap();
    sample_project(p.path());
    let out = p.path().join("x.4dz");
    build(p.path(), &out, &BuildOptions::default()).unwrap();
    let test = std::process::Command::new("unzip")
        .arg("-tq")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        test.status.success(),
        "{}",
        String::from_utf8_lossy(&test.stdout)
    );
    let dest = p.path().join("unzipped");
    let x = std::process::Command::new("unzip")
        .arg("-q")
        .arg(&out)
        .arg("-d")
        .arg(&dest)
        .output()
        .unwrap();
    assert!(x.status.success());
    assert_eq!(
        fs::read(dest.join("Project/Sources/Methods/Résumé été.4dm")).unwrap(),
        "// non-ASCII name\n".as_bytes()
    );
}

#[test]
fn incremental_build_gives_the_same_bytes_as_a_full_build() {
    let p = tempfile::tempdir().unwrap();
    sample_project(p.path());
    let out = tempfile::tempdir().unwrap();
    let first = out.path().join("v1.4dz");
    let mut r1 = build(p.path(), &first, &BuildOptions::default()).unwrap();
    // Pretend the first build happened well after the files were written (not racy).
    r1.started_ns += 10_000_000_000;
    write(
        p.path(),
        "Project/Sources/Methods/method07.4dm",
        b"// changed\n",
    );
    write(p.path(), "Project/Sources/Methods/new.4dm", b"// new\n");
    fs::remove_file(p.path().join("Project/Sources/Methods/method08.4dm")).unwrap();
    let second = out.path().join("v2.4dz");
    let prev = Previous {
        archive: &first,
        report: &r1,
    };
    let r2 = build_incremental(p.path(), &second, &BuildOptions::default(), Some(prev)).unwrap();
    let full = build(
        p.path(),
        &out.path().join("full.4dz"),
        &BuildOptions::default(),
    )
    .unwrap();
    assert_eq!(r2.stamp, full.stamp);
    assert_eq!(
        fs::read(&second).unwrap(),
        fs::read(out.path().join("full.4dz")).unwrap()
    );
    let files = r2.file_count();
    assert_eq!(
        r2.reused,
        files - 2,
        "all but the changed and the new file are reused"
    );
    assert_eq!(full.reused, 0);
}

#[test]
fn racy_files_are_reread() {
    let p = tempfile::tempdir().unwrap();
    sample_project(p.path());
    let out = tempfile::tempdir().unwrap();
    let first = out.path().join("v1.4dz");
    let r1 = build(p.path(), &first, &BuildOptions::default()).unwrap();
    // Files written just before the build: not trusted, even though size and time match.
    let prev = Previous {
        archive: &first,
        report: &r1,
    };
    let r2 = build_incremental(
        p.path(),
        &out.path().join("v2.4dz"),
        &BuildOptions::default(),
        Some(prev),
    )
    .unwrap();
    assert_eq!(r2.reused, 0);
    assert_eq!(r2.stamp, r1.stamp);
}

#[test]
fn unpack_round_trip_and_atomic_replace() {
    let p = tempfile::tempdir().unwrap();
    sample_project(p.path());
    let out = p.path().join("x.4dz");
    build(p.path(), &out, &BuildOptions::default()).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let target = dest.path().join("cache");
    write(&target, "stale.txt", b"old");
    let report = unpack(&out, &target, &Limits::default()).unwrap();
    assert!(report.files > 40);
    assert!(
        !target.join("stale.txt").exists(),
        "previous content is replaced"
    );
    // Same tree as the project, minus what the archive leaves out.
    let expected: Vec<_> = tree(p.path())
        .into_iter()
        .filter(|(n, _)| n.starts_with("Project") && !is_excluded(n))
        .collect();
    assert_eq!(tree(&target), expected);
    // Nothing left beside the target.
    let siblings: Vec<_> = fs::read_dir(dest.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(siblings, ["cache"]);
}

/// Writes an archive of hand-made entries (names are not checked by the writer).
fn craft(path: &Path, entries: &[(&str, &[u8])]) {
    let file = fs::File::create(path).unwrap();
    let mut w = ZipWriter::new(file);
    for (name, data) in entries {
        let header = Header {
            name: (*name).to_owned(),
            is_dir: name.ends_with('/'),
            method: Method::Stored,
            crc32: crc32fast::hash(data),
            size: data.len() as u64,
            compressed_size: data.len() as u64,
        };
        w.add(&header, data).unwrap();
    }
    w.finish().unwrap();
}

fn good_target() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("cache");
    write(&target, "Project/keep.4dm", b"previous version");
    (dir, target)
}

fn assert_refused_and_untouched(entries: &[(&str, &[u8])], check: impl Fn(&ArchiveError) -> bool) {
    let (dir, target) = good_target();
    let archive = dir.path().join("hostile.4dz");
    craft(&archive, entries);
    let before = tree(&target);
    let err = unpack(&archive, &target, &Limits::default()).unwrap_err();
    assert!(check(&err), "unexpected error: {err:?}");
    // The same refusal from the reader of archives written here (`craft` writes as we do).
    let err = Archive::open_written_here(&archive, &Limits::default()).unwrap_err();
    assert!(
        check(&err),
        "unexpected error for an archive written here: {err:?}"
    );
    assert_eq!(
        tree(&target),
        before,
        "the previous content must stay as it was"
    );
    let siblings: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(siblings.len(), 2, "no temporary folder left: {siblings:?}");
    assert!(!dir.path().join("evil").exists());
}

#[test]
fn hostile_names_are_refused() {
    for name in [
        "../evil",
        "Project/../../evil",
        "/tmp/evil",
        "C:/evil",
        "C:evil",
        "Project\\..\\evil",
        "Project/./x",
    ] {
        assert_refused_and_untouched(&[("Project/", b""), (name, b"pwned")], |e| {
            matches!(
                e,
                ArchiveError::UnsafeName { .. } | ArchiveError::Zip { .. }
            )
        });
    }
}

#[test]
fn duplicates_and_file_folder_clashes_are_refused() {
    assert_refused_and_untouched(&[("Project/a.4dm", b"1"), ("Project/a.4dm", b"2")], |e| {
        matches!(e, ArchiveError::DuplicateName { .. })
    });
    assert_refused_and_untouched(&[("Project/a", b"1"), ("Project/a/b.4dm", b"2")], |e| {
        matches!(e, ArchiveError::DuplicateName { .. })
    });
    assert_refused_and_untouched(&[("Project/a/", b""), ("Project/a", b"2")], |e| {
        matches!(e, ArchiveError::DuplicateName { .. })
    });
    // Names that differ only by case are one file on Windows and macOS.
    assert_refused_and_untouched(&[("Project/a.4dm", b"1"), ("Project/A.4DM", b"2")], |e| {
        matches!(e, ArchiveError::DuplicateName { .. })
    });
    assert_refused_and_untouched(
        &[("Project/Forms", b"1"), ("Project/forms/f.json", b"2")],
        |e| matches!(e, ArchiveError::DuplicateName { .. }),
    );
}

#[test]
fn symlinks_are_refused() {
    use std::io::Write as _;
    let (dir, target) = good_target();
    let archive = dir.path().join("link.4dz");
    let mut w = zip::ZipWriter::new(fs::File::create(&archive).unwrap());
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file("Project/a.4dm", opts).unwrap();
    w.write_all(b"x").unwrap();
    w.add_symlink("Project/passwd", "/etc/passwd", opts)
        .unwrap();
    w.finish().unwrap();
    let before = tree(&target);
    let err = unpack(&archive, &target, &Limits::default()).unwrap_err();
    assert!(
        matches!(err, ArchiveError::Symlink { ref name } if name == "Project/passwd"),
        "{err:?}"
    );
    assert_eq!(tree(&target), before);
}

#[test]
fn both_readers_refuse_links_encryption_and_other_methods() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.4dz");
    craft(&clean, &[("Project/a.4dm", b"1"), ("Project/b.4dm", b"2")]);
    let bytes = fs::read(&clean).unwrap();
    let second = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"PK\x01\x02")
        .nth(1)
        .unwrap()
        .0;
    type Check = fn(&ArchiveError) -> bool;
    let patches: [(usize, &[u8], Check); 3] = [
        (
            8,
            &0x0801u16.to_le_bytes(),
            |e| matches!(e, ArchiveError::Encrypted { name } if name == "Project/b.4dm"),
        ),
        (10, &12u16.to_le_bytes(), |e| {
            matches!(e, ArchiveError::UnsupportedMethod { method: 12, .. })
        }),
        (
            38,
            &(0o120_777u32 << 16).to_le_bytes(),
            |e| matches!(e, ArchiveError::Symlink { name } if name == "Project/b.4dm"),
        ),
    ];
    for (at, value, check) in patches {
        let mut patched = bytes.clone();
        patched[second + at..second + at + value.len()].copy_from_slice(value);
        let path = dir.path().join("patched.4dz");
        fs::write(&path, &patched).unwrap();
        for open in [Archive::open, Archive::open_written_here] {
            let err = open(&path, &Limits::default()).unwrap_err();
            assert!(check(&err), "at {at}: {err:?}");
        }
    }
    // The clean archive opens, by both.
    for open in [Archive::open, Archive::open_written_here] {
        assert_eq!(open(&clean, &Limits::default()).unwrap().entries().len(), 2);
    }
}

#[test]
fn zip_bombs_are_refused_by_limits() {
    // One entry of 64 MiB of zeros deflates to about 64 KiB: ratio ~1000.
    let (dir, target) = good_target();
    let archive = dir.path().join("bomb.4dz");
    let zeros = vec![0u8; 64 << 20];
    let c = compress::compress("Project/zeros.bin", zeros, 9).unwrap();
    let file = fs::File::create(&archive).unwrap();
    let mut w = ZipWriter::new(file);
    let header = Header {
        name: "Project/zeros.bin".into(),
        is_dir: false,
        method: c.method,
        crc32: c.crc32,
        size: c.size,
        compressed_size: c.data.len() as u64,
    };
    w.add(&header, &c.data).unwrap();
    w.finish().unwrap();
    let before = tree(&target);
    let err = unpack(&archive, &target, &Limits::default()).unwrap_err();
    assert!(
        matches!(err, ArchiveError::SuspiciousRatio { .. }),
        "{err:?}"
    );
    assert_eq!(tree(&target), before);

    let limits = Limits {
        max_total_size: 1000,
        ..Limits::default()
    };
    let small = dir.path().join("big.4dz");
    craft(
        &small,
        &[("Project/a", &[1u8; 600]), ("Project/b", &[2u8; 600])],
    );
    let err = unpack(&small, &target, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            ArchiveError::TooLarge {
                total: 1200,
                limit: 1000
            }
        ),
        "{err:?}"
    );

    let limits = Limits {
        max_entries: 1,
        ..Limits::default()
    };
    let err = unpack(&small, &target, &limits).unwrap_err();
    assert!(
        matches!(err, ArchiveError::TooManyEntries { count: 2, limit: 1 }),
        "{err:?}"
    );
    assert_eq!(tree(&target), before);
}

#[test]
fn lying_sizes_and_damaged_data_are_detected() {
    let (dir, target) = good_target();
    let p = tempfile::tempdir().unwrap();
    sample_project(p.path());
    let archive = dir.path().join("x.4dz");
    build(p.path(), &archive, &BuildOptions::default()).unwrap();
    // Flip one byte inside the data of a deflated method.
    let a = Archive::open(&archive, &Limits::default()).unwrap();
    let e = a
        .entries()
        .iter()
        .find(|e| e.method == Method::Deflated)
        .unwrap()
        .clone();
    drop(a);
    let mut bytes = fs::read(&archive).unwrap();
    bytes[(e.data_start + e.compressed_size / 2) as usize] ^= 0x55;
    fs::write(&archive, &bytes).unwrap();
    let a = Archive::open(&archive, &Limits::default()).unwrap();
    let err = a.verify().unwrap_err();
    assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("download or build the archive again")
    );
    let before = tree(&target);
    assert!(matches!(
        a.unpack_to(&target).unwrap_err(),
        ArchiveError::Corrupt { .. }
    ));
    assert_eq!(tree(&target), before);

    // A stored entry whose header lies about its size.
    let lying = dir.path().join("lying.4dz");
    let file = fs::File::create(&lying).unwrap();
    let mut w = ZipWriter::new(file);
    let h = Header {
        name: "Project/a".into(),
        is_dir: false,
        method: Method::Deflated,
        crc32: 0,
        size: 10,
        compressed_size: 4,
    };
    w.add(&h, &[0x03, 0x00, 0x00, 0x00]).unwrap();
    w.finish().unwrap();
    let a = Archive::open(&lying, &Limits::default()).unwrap();
    assert!(matches!(
        a.verify().unwrap_err(),
        ArchiveError::Corrupt { .. }
    ));

    // Truncated and garbage files.
    fs::write(dir.path().join("trunc.4dz"), &bytes[..bytes.len() / 2]).unwrap();
    let err = Archive::open(&dir.path().join("trunc.4dz"), &Limits::default()).unwrap_err();
    assert!(matches!(err, ArchiveError::Zip { .. }), "{err:?}");
    fs::write(dir.path().join("junk.4dz"), b"not a zip").unwrap();
    assert!(matches!(
        Archive::open(&dir.path().join("junk.4dz"), &Limits::default()).unwrap_err(),
        ArchiveError::Zip { .. }
    ));
}

#[test]
fn raw_entry_bytes_match_the_build_report() {
    let p = tempfile::tempdir().unwrap();
    sample_project(p.path());
    let out = p.path().join("x.4dz");
    let report = build(p.path(), &out, &BuildOptions::default()).unwrap();
    let a = Archive::open(&out, &Limits::default()).unwrap();
    assert_eq!(a.entries().len(), report.entries.len());
    for (i, (e, b)) in a.entries().iter().zip(&report.entries).enumerate() {
        assert_eq!(
            (&e.name, e.size, e.crc32, e.method),
            (&b.name, b.size, b.crc32, b.method)
        );
        assert_eq!(e.data_start, b.data_offset);
        assert_eq!(a.raw(i).unwrap().len() as u64, b.compressed_size);
    }
}

#[test]
fn delta_rebuilds_the_new_archive_exactly() {
    let p = tempfile::tempdir().unwrap();
    sample_project(p.path());
    let out = tempfile::tempdir().unwrap();
    let v1 = out.path().join("v1.4dz");
    let r1 = build(p.path(), &v1, &BuildOptions::default()).unwrap();
    write(
        p.path(),
        "Project/Sources/Methods/method03.4dm",
        b"// edited\n",
    );
    write(p.path(), "Project/Sources/Methods/added.4dm", b"// added\n");
    fs::remove_file(p.path().join("Project/Sources/Methods/method04.4dm")).unwrap();
    let v2 = out.path().join("v2.4dz");
    let r2 = build(p.path(), &v2, &BuildOptions::default()).unwrap();
    let delta = out.path().join("d.zip");
    let summary = make_delta(&r1, &r2, &v2, &delta).unwrap();
    assert_eq!(summary.changed, 2, "the edited and the added method");
    assert!(
        summary.size < r2.archive_size / 4,
        "{} vs {}",
        summary.size,
        r2.archive_size
    );
    // The delta is a readable zip.
    Archive::open(&delta, &Limits::default())
        .unwrap()
        .verify()
        .unwrap();
    let rebuilt = out.path().join("rebuilt.4dz");
    let (plan, stamp) = apply_delta(&v1, &delta, &rebuilt, &Limits::default()).unwrap();
    assert_eq!(stamp, r2.stamp);
    assert_eq!(plan.from, r1.stamp);
    assert_eq!(fs::read(&rebuilt).unwrap(), fs::read(&v2).unwrap());
    // Applied to the wrong base, it fails and writes nothing.
    let other = out.path().join("other.4dz");
    write(
        p.path(),
        "Project/Sources/Methods/method05.4dm",
        b"// other base\n",
    );
    let ro = build(p.path(), &other, &BuildOptions::default()).unwrap();
    assert_ne!(ro.stamp, r1.stamp);
    let bad = out.path().join("bad.4dz");
    let err = apply_delta(&other, &delta, &bad, &Limits::default()).unwrap_err();
    assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err:?}");
    assert!(!bad.exists());
}

#[test]
fn unpack_subtree_strips_the_prefix() {
    let p = tempfile::tempdir().unwrap();
    sample_project(p.path());
    let out = p.path().join("x.4dz");
    build(p.path(), &out, &BuildOptions::default()).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let target = dest.path().join("Project");
    let a = Archive::open(&out, &Limits::default()).unwrap();
    a.unpack_subtree_to("Project/", &target).unwrap();
    assert!(target.join("Demo.4DProject").is_file());
    assert!(target.join("Sources/Methods/method00.4dm").is_file());
    assert!(target.join("Sources/Classes").is_dir());
}

#[test]
fn delta_check_resumes_from_the_old_archive_checkpoints() {
    use super::check_delta;
    let p = tempfile::tempdir().unwrap();
    sample_project(p.path());
    shared_noise(p.path());
    let out = tempfile::tempdir().unwrap();
    let v1 = out.path().join("v1.4dz");
    let r1 = build(p.path(), &v1, &BuildOptions::default()).unwrap();
    let k1 = checkpoints_of(&v1);
    assert_eq!(k1.stamp, r1.stamp);
    assert!(
        k1.states.len() >= 2,
        "{} checkpoints in {} bytes",
        k1.states.len(),
        r1.archive_size
    );
    write(
        p.path(),
        "Project/Sources/Methods/method03.4dm",
        b"// edited\n",
    );
    let v2 = out.path().join("v2.4dz");
    let r2 = build(p.path(), &v2, &BuildOptions::default()).unwrap();
    let delta = out.path().join("d.zip");
    make_delta(&r1, &r2, &v2, &delta).unwrap();
    let old = Archive::open(&v1, &Limits::default()).unwrap();
    let d = Archive::open(&delta, &Limits::default()).unwrap();
    // Resumed or not, the same answer, and the new archive's checkpoints.
    let (plan, k2) = check_delta(&old, &d, Some(&k1)).unwrap();
    assert_eq!(plan.to, r2.stamp);
    assert_eq!(k2, checkpoints_of(&v2));
    let (_, full) = check_delta(&old, &d, None).unwrap();
    assert_eq!(full, k2);
    // Checkpoints of another build are not used; wrong ones can only fail the check.
    let mut other = k1.clone();
    other.stamp = r2.stamp;
    assert_eq!(check_delta(&old, &d, Some(&other)).unwrap().1, k2);
    let mut wrong = k1;
    for c in &mut wrong.states {
        c.state[3] ^= 1;
    }
    let err = check_delta(&old, &d, Some(&wrong)).unwrap_err();
    assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err:?}");
}

/// Windows refuses to move a folder while another program holds a file in it open (most
/// Windows programs open files without sharing deletion): that refusal reads as such, and any
/// other failure stays a plain I/O error. (Wine 8 moves such folders anyway, so the refusal
/// itself is only seen on a real Windows; the previous content is kept either way, as
/// `swap_into_place` moves nothing else when the first rename fails.)
#[cfg(windows)]
#[test]
fn a_folder_held_open_elsewhere_is_said_to_be_in_use() {
    let target = Path::new(r"C:\Users\me\AppData\Local\Remote4D\Shop\Project");
    for code in [5, 32] {
        let err = unpack::in_use_or_io(target, std::io::Error::from_raw_os_error(code));
        assert!(matches!(err, ArchiveError::InUse { .. }), "{code}: {err:?}");
        assert!(err.to_string().contains("open in another program"), "{err}");
        assert!(err.to_string().contains(r"Shop\Project"), "{err}");
    }
    let err = unpack::in_use_or_io(target, std::io::Error::from_raw_os_error(2));
    assert!(matches!(err, ArchiveError::Io { .. }), "{err:?}");
}

#[test]
fn an_archive_written_here_opens_without_reading_its_local_headers() {
    let p = tempfile::tempdir().unwrap();
    sample_project(p.path());
    let ours = p.path().join("x.4dz");
    build(p.path(), &ours, &BuildOptions::default()).unwrap();
    let read = Archive::open(&ours, &Limits::default()).unwrap();
    let computed = Archive::open_written_here(&ours, &Limits::default()).unwrap();
    assert_eq!(read.entries(), computed.entries());
    assert_eq!(
        read.entries()
            .iter()
            .map(|e| e.data_start)
            .collect::<Vec<_>>(),
        computed
            .entries()
            .iter()
            .map(|e| e.data_start)
            .collect::<Vec<_>>()
    );
    // Written by another program with a zip64 field in each local header: names not flagged
    // UTF-8 (ASCII) are read as any archive's, and the bytes are right; a directory that looks
    // like ours (a UTF-8 name, made on Unix) gets computed positions, which are wrong, and
    // reading an entry says so instead of giving bytes.
    let other = |name: &str| {
        let path = p.path().join("other.zip");
        let mut w = zip::ZipWriter::new(fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .unix_permissions(0o644)
            .large_file(true);
        w.start_file(name, options).unwrap();
        std::io::Write::write_all(&mut w, b"ALERT(\"a\")\n").unwrap();
        w.finish().unwrap();
        path
    };
    let ascii = other("Project/a.4dm");
    for open in [Archive::open, Archive::open_written_here] {
        assert_eq!(
            open(&ascii, &Limits::default()).unwrap().raw(0).unwrap(),
            b"ALERT(\"a\")\n"
        );
    }
    let utf8 = other("Project/été.4dm");
    // Made on Unix, as ours are (the zip crate says so only on Unix).
    let mut bytes = fs::read(&utf8).unwrap();
    let central = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    bytes[central + 5] = 3;
    fs::write(&utf8, bytes).unwrap();
    assert_eq!(
        Archive::open(&utf8, &Limits::default())
            .unwrap()
            .raw(0)
            .unwrap(),
        b"ALERT(\"a\")\n"
    );
    let wrong = Archive::open_written_here(&utf8, &Limits::default()).unwrap();
    let err = wrong.copy_entry(0, &mut Vec::new()).unwrap_err();
    assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err:?}");
}

#[test]
fn an_archive_knows_when_its_path_names_another_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.4dz");
    craft(&path, &[("Project/a.4dm", b"1")]);
    let a = Archive::open_written_here(&path, &Limits::default()).unwrap();
    assert!(a.is_current());
    // Replaced by another file (a rename over it), even with the same bytes: not on Windows,
    // which replaces no open file.
    if cfg!(unix) {
        let copy = dir.path().join("copy.4dz");
        fs::copy(&path, &copy).unwrap();
        fs::rename(&copy, &path).unwrap();
        assert!(!a.is_current());
    }
    drop(a);
    let b = Archive::open_written_here(&path, &Limits::default()).unwrap();
    assert!(b.is_current());
    // Rewritten in place with other bytes.
    craft(&path, &[("Project/a.4dm", b"12")]);
    assert!(!b.is_current());
    drop(b);
    // Gone.
    let c = Archive::open_written_here(&path, &Limits::default()).unwrap();
    if cfg!(unix) {
        fs::remove_file(&path).unwrap();
        assert!(!c.is_current());
    }
}
