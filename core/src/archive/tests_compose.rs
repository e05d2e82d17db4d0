//! Deltas composed with the pending one: three builds, two deltas, one composed delta.

use std::fs;
use std::path::Path;

use super::tests::{checkpoints_of, sample_project, shared_noise, tree, write};
use super::*;

struct Builds {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    project: std::path::PathBuf,
    out: std::path::PathBuf,
    reports: Vec<BuildReport>,
}

impl Builds {
    fn new() -> Self {
        let p = tempfile::tempdir().unwrap();
        let o = tempfile::tempdir().unwrap();
        sample_project(p.path());
        shared_noise(p.path());
        let mut b = Builds {
            project: p.path().to_path_buf(),
            out: o.path().to_path_buf(),
            _dirs: (p, o),
            reports: Vec::new(),
        };
        b.next();
        b
    }

    fn archive(&self, n: usize) -> std::path::PathBuf {
        self.out.join(format!("v{n}.4dz"))
    }

    /// Builds the next version; returns the delta from the previous one.
    fn next(&mut self) -> std::path::PathBuf {
        let n = self.reports.len() + 1;
        let r = build(&self.project, &self.archive(n), &BuildOptions::default()).unwrap();
        self.reports.push(r);
        let delta = self.out.join(format!("d{}{n}.zip", n - 1));
        if n > 1 {
            make_delta(
                &self.reports[n - 2],
                &self.reports[n - 1],
                &self.archive(n),
                &delta,
            )
            .unwrap();
        }
        delta
    }
}

fn open(path: &Path) -> Archive {
    Archive::open(path, &Limits::default()).unwrap()
}

#[test]
fn two_deltas_compose_into_one_that_proves_and_rebuilds_the_newest_build() {
    let mut b = Builds::new();
    let m = |i: u32| format!("Project/Sources/Methods/method{i:02}.4dm");
    // 1 → 2: one method edited, one added, one removed.
    write(&b.project, &m(3), b"// edited once\n");
    write(
        &b.project,
        "Project/Sources/Methods/added.4dm",
        b"// added\n",
    );
    fs::remove_file(b.project.join(m(4))).unwrap();
    let d12 = b.next();
    // 2 → 3: the same method edited again, the added one removed, another edited.
    write(&b.project, &m(3), b"// edited twice\n");
    fs::remove_file(b.project.join("Project/Sources/Methods/added.4dm")).unwrap();
    write(&b.project, &m(30), b"// edited too\n");
    let d23 = b.next();
    let (v1, v2, v3) = (
        open(&b.archive(1)),
        open(&b.archive(2)),
        open(&b.archive(3)),
    );
    let composed_path = b.out.join("d13.zip");
    let c = compose_deltas(&v1, &open(&d12), &open(&d23), &composed_path).unwrap();
    assert_eq!(c.next.from, b.reports[1].stamp);
    assert_eq!(c.next.to, b.reports[2].stamp);
    assert_eq!(
        c.before.iter().map(|e| &e.name).collect::<Vec<_>>(),
        v2.entries().iter().map(|e| &e.name).collect::<Vec<_>>(),
        "the entries of the pending build"
    );
    // What is carried is what differs from build 1 — the two edited methods — not the noise.
    let composed = open(&composed_path);
    assert_eq!(composed.entries().len(), 3, "the plan and two methods");
    assert!(c.size < 64 * 1024, "{}", c.size);
    // The builds share the noise: hashing resumes past it, from build 2's checkpoints.
    assert!(c.common_prefix > 3_000_000, "{}", c.common_prefix);
    let k2 = checkpoints_of(&b.archive(2));
    let (plan, k3) = check_composed(&v1, &composed, &c, Some(&k2)).unwrap();
    assert_eq!(
        (plan.from, plan.to),
        (b.reports[0].stamp, b.reports[2].stamp)
    );
    assert_eq!(k3, checkpoints_of(&b.archive(3)));
    assert_eq!(check_composed(&v1, &composed, &c, None).unwrap().1, k3);
    // Applied to build 1, the composed delta rebuilds build 3 byte for byte.
    let rebuilt = b.out.join("rebuilt.4dz");
    apply_opened(&v1, &composed, &rebuilt).unwrap();
    assert_eq!(fs::read(&rebuilt).unwrap(), fs::read(b.archive(3)).unwrap());
    // A folder holding build 2 reaches build 3 with the next delta and the pending entries.
    let folder = b.out.join("Project");
    v2.unpack_subtree_to("Project/", &folder).unwrap();
    let d = open(&d23);
    let (written, removed) = update_folder(&c.before, &d, &c.next, "Project/", &folder).unwrap();
    assert_eq!(written.len(), 2, "{written:?}");
    assert_eq!(removed, vec!["Sources/Methods/added.4dm".to_owned()]);
    let expected = b.out.join("expected");
    v3.unpack_subtree_to("Project/", &expected).unwrap();
    assert_eq!(tree(&folder), tree(&expected));
}

#[test]
fn deltas_that_do_not_follow_each_other_or_lie_are_refused() {
    let mut b = Builds::new();
    write(
        &b.project,
        "Project/Sources/Methods/method03.4dm",
        b"// 2\n",
    );
    let d12 = b.next();
    write(
        &b.project,
        "Project/Sources/Methods/method03.4dm",
        b"// 3\n",
    );
    let d23 = b.next();
    let v1 = open(&b.archive(1));
    let out = b.out.join("c.zip");
    // The same delta twice: the second does not apply to the build the first makes.
    let err = compose_deltas(&v1, &open(&d12), &open(&d12), &out).unwrap_err();
    assert!(err.to_string().contains("applies to build"), "{err}");
    assert!(!out.exists());
    // Wrong checkpoints for the pending build can only fail the check, never pass it.
    let c = compose_deltas(&v1, &open(&d12), &open(&d23), &out).unwrap();
    let mut wrong = checkpoints_of(&b.archive(2));
    for k in &mut wrong.states {
        k.state[0] ^= 1;
    }
    let err = check_composed(&v1, &open(&out), &c, Some(&wrong)).unwrap_err();
    assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err:?}");
    // Composed on another base (a build with one more method: the plans' entry numbers point
    // at other entries), the result is refused by its stamp, if not by its layout.
    write(&b.project, "Project/Sources/Methods/aaa.4dm", b"// first\n");
    b.next();
    let v4 = open(&b.archive(4));
    let on_v4 = b.out.join("c4.zip");
    match compose_deltas(&v4, &open(&d12), &open(&d23), &on_v4) {
        Ok(c) => {
            let err = check_composed(&v4, &open(&on_v4), &c, None).unwrap_err();
            assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err:?}");
        }
        Err(err) => assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err:?}"),
    }
}
