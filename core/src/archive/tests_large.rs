//! Large files: streamed, not held in memory — same archive rules as small ones.

use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::*;

fn write(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

/// `len` bytes of xorshift noise: incompressible (also used by other modules' tests).
pub(crate) fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// `len` bytes of code-like text: compressible.
fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(
            format!("$line_{i}:=Substring($text;{};{})\n", i % 97, i % 13).as_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}

/// A project with a large text file, a large noise file, a large "image" and small files.
fn project(root: &Path) -> (Vec<u8>, Vec<u8>) {
    let big_text = text(9 << 20);
    let big_noise = noise(6 << 20);
    write(root, "Project/P.4DProject", b"{}");
    write(root, "Project/Sources/Methods/a.4dm", b"// a\n");
    write(root, "Project/Sources/big.txt", &big_text);
    write(root, "Project/Sources/noise.bin", &big_noise);
    write(root, "Project/Sources/photo.jpg", &text(5 << 20));
    write(root, "Project/Sources/z.4dm", b"// z\n");
    (big_text, big_noise)
}

fn method_of(a: &Archive, name: &str) -> Method {
    a.entries().iter().find(|e| e.name == name).unwrap().method
}

#[test]
fn large_files_are_streamed_into_the_same_archive_rules() {
    let p = tempfile::tempdir().unwrap();
    let (big_text, big_noise) = project(p.path());
    let out = p.path().join("x.4dz");
    let r1 = build(p.path(), &out, &BuildOptions::default()).unwrap();
    let again = build(p.path(), &p.path().join("y.4dz"), &BuildOptions::default()).unwrap();
    assert_eq!(r1.stamp, again.stamp, "deterministic");
    let a = Archive::open(&out, &Limits::default()).unwrap();
    a.verify().unwrap();
    assert_eq!(method_of(&a, "Project/Sources/big.txt"), Method::Deflated);
    assert_eq!(method_of(&a, "Project/Sources/noise.bin"), Method::Stored);
    assert_eq!(method_of(&a, "Project/Sources/photo.jpg"), Method::Stored);
    let dest = p.path().join("out");
    unpack(&out, &dest, &Limits::default()).unwrap();
    assert_eq!(
        fs::read(dest.join("Project/Sources/big.txt")).unwrap(),
        big_text
    );
    assert_eq!(
        fs::read(dest.join("Project/Sources/noise.bin")).unwrap(),
        big_noise
    );
    // No spool file is left beside the archive.
    let left: Vec<_> = fs::read_dir(p.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("spool") || n.contains("building"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // Info-ZIP reads the streamed entries too.
    if let Ok(o) = std::process::Command::new("unzip")
        .arg("-tq")
        .arg(&out)
        .output()
    {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    }
}

#[test]
fn large_files_are_reused_and_carried_by_deltas() {
    let p = tempfile::tempdir().unwrap();
    project(p.path());
    let v1 = p.path().join("v1.4dz");
    let mut r1 = build(p.path(), &v1, &BuildOptions::default()).unwrap();
    r1.started_ns += 10_000_000_000;
    // A small change: the large files are copied from the previous archive.
    write(p.path(), "Project/Sources/Methods/a.4dm", b"// changed\n");
    let v2 = p.path().join("v2.4dz");
    let prev = Previous {
        archive: &v1,
        report: &r1,
    };
    let r2 = build_incremental(p.path(), &v2, &BuildOptions::default(), Some(prev)).unwrap();
    let full = build(
        p.path(),
        &p.path().join("full.4dz"),
        &BuildOptions::default(),
    )
    .unwrap();
    assert_eq!(r2.stamp, full.stamp);
    assert_eq!(r2.reused, r2.file_count() - 1);
    // A large file changed: the delta carries it, streamed, and rebuilds v3 exactly.
    r1 = r2;
    r1.started_ns += 10_000_000_000;
    write(p.path(), "Project/Sources/big.txt", &text(7 << 20));
    let v3 = p.path().join("v3.4dz");
    let prev = Previous {
        archive: &v2,
        report: &r1,
    };
    let r3 = build_incremental(p.path(), &v3, &BuildOptions::default(), Some(prev)).unwrap();
    let d = p.path().join("d.zip");
    let summary = make_delta(&r1, &r3, &v3, &d).unwrap();
    assert_eq!(summary.changed, 1);
    let rebuilt = p.path().join("rebuilt.4dz");
    apply_delta(&v2, &d, &rebuilt, &Limits::default()).unwrap();
    assert_eq!(fs::read(&rebuilt).unwrap(), fs::read(&v3).unwrap());
}

#[test]
fn progress_counts_every_byte_once_and_ends_at_the_total() {
    let p = tempfile::tempdir().unwrap();
    project(p.path());
    let seen = Arc::new(Mutex::new(Vec::<BuildProgress>::new()));
    let s = seen.clone();
    let options = BuildOptions {
        progress: Some(OnProgress::new(move |p| s.lock().unwrap().push(p))),
        ..BuildOptions::default()
    };
    let report = build(p.path(), &p.path().join("x.4dz"), &options).unwrap();
    let seen = seen.lock().unwrap();
    let last = *seen.last().unwrap();
    assert_eq!(last.done, report.content_size());
    assert_eq!(last.total, report.content_size());
    assert_eq!(last.entries_done, report.entries.len());
    assert!(
        seen.windows(2).all(|w| w[0].done <= w[1].done),
        "never goes back"
    );
    // Large files report while they are read, not only when done.
    assert!(seen.len() > 20, "{} reports", seen.len());
}

#[test]
fn a_large_file_that_changes_while_read_fails_the_build_cleanly() {
    let p = tempfile::tempdir().unwrap();
    write(p.path(), "Project/P.4DProject", b"{}");
    let big = p.path().join("Project/noise.bin");
    fs::write(&big, noise(5 << 20)).unwrap();
    let out = p.path().join("x.4dz");
    fs::write(&out, b"previous archive").unwrap();
    let grown = Arc::new(Mutex::new(false));
    let path = big;
    let options = BuildOptions {
        // While it is checksummed, the file is rewritten in place (as a database file would be):
        // the copy that follows no longer matches the checksum.
        progress: Some(OnProgress::new(move |pr| {
            let mut g = grown.lock().unwrap();
            if !*g && pr.done >= 1 << 20 && pr.done < pr.total {
                use std::io::{Seek, Write};
                let mut f = fs::OpenOptions::new().write(true).open(&path).unwrap();
                f.seek(std::io::SeekFrom::Start(0)).unwrap();
                f.write_all(b"changed").unwrap();
                *g = true;
            }
        })),
        ..BuildOptions::default()
    };
    let err = build(p.path(), &out, &options).unwrap_err();
    assert!(matches!(err, ArchiveError::Changed { .. }), "{err}");
    assert_eq!(
        fs::read(&out).unwrap(),
        b"previous archive",
        "the previous archive stays"
    );
    let left: Vec<_> = fs::read_dir(p.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "Project" && n != "x.4dz")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
