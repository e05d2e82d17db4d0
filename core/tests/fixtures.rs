//! Tests on the real 4D files of `../shared/fixtures` (skipped, and said so, when absent).

use std::path::{Path, PathBuf};

use remote4d_core::archive::{self, Archive, BuildOptions, Limits};
use remote4d_core::link::{Link, LinkError, LinkKind, StructureOpeningMode};
use remote4d_core::project::Project;

fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("REMOTE4D_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {} not found (set REMOTE4D_FIXTURES)",
            dir.display()
        );
        None
    }
}

fn link(name: &str) -> Link {
    let dir = fixtures().unwrap().join("4dlink");
    Link::read(&dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn real_and_documented_links() {
    let Some(_) = fixtures() else { return };
    let l = link("real-build4d-connectingdb.4dlink");
    assert_eq!(l.kind(), LinkKind::Remote);
    assert_eq!(l.server_database_name.as_deref(), Some("Build4D"));
    assert!(l.address().find_by_name());
    assert_eq!(l.address().port(), 19813);

    let l = link("real-4djp-cache-folder-name.4DLink");
    assert_eq!(l.server_database_name.as_deref(), Some("Test"));
    assert!(l.address().find_by_name());
    assert_eq!(
        l.cache_folder_name.as_deref(),
        Some("clientCacheFolderName")
    );

    let l = link("real-upd-component-local.4DLink");
    assert_eq!(l.kind(), LinkKind::Local);
    assert!(
        l.structure_file
            .as_deref()
            .unwrap()
            .contains("app test/myApp.4dbase")
    );

    let l = link("remote-basic.4DLink");
    assert_eq!(
        (
            l.server_database_name.as_deref(),
            l.address().host.as_str(),
            l.address().port()
        ),
        (Some("Invoices"), "192.0.2.10", 19813)
    );

    let l = link("remote-bom-crlf-entities.4DLink");
    assert_eq!(l.server_database_name.as_deref(), Some("Ventes & Stocks"));
    assert_eq!(l.address().host, "serveur-compta.example.lan");
    assert_eq!(l.address().port(), 19813);
    assert_eq!(l.user_name.as_deref(), Some("Désirée"));
    assert_eq!(l.open_login_dialog, Some(false));

    let l = link("remote-ipv6.4DLink");
    assert_eq!(
        (l.address().host.as_str(), l.address().port()),
        ("fd00:db8::10", 19820)
    );
    assert_eq!(
        l.structure_opening_mode,
        Some(StructureOpeningMode::Compiled)
    );

    let l = link("remote-credentials.4DLink");
    assert_eq!(l.address().port(), 20000);
    assert_eq!(l.user_name.as_deref(), Some("accounting"));
    assert_eq!(
        l.md5_password.as_deref(),
        Some("$2y$10$Q1nB0wzq3oJ3m3b7yFq0cOa0m6W9t9v3mY8y2zZ3bG3vQ0i7c4b5e")
    );
    assert_eq!(l.open_login_dialog, Some(true));
    assert_eq!(
        l.structure_opening_mode,
        Some(StructureOpeningMode::Interpreted)
    );
    assert_eq!(l.user_param.as_deref(), Some(r#"{"role":"viewer"}"#));
    assert_eq!(l.cache_folder_name.as_deref(), Some("HR-shared-cache"));
    assert_eq!(l.remote_shared_resources, Some(false));

    let l = link("remote-name-only.4DLink");
    assert!(l.address().find_by_name());
    assert_eq!(l.server_database_name.as_deref(), Some("Inventaire"));

    let l = link("remote-unknown-attributes.4DLink");
    assert_eq!(l.unknown_attribute("vendor_note"), Some("kept as is"));
    assert_eq!(l.unknown_attribute("x_color"), Some("blue"));
    assert_eq!(l.address().port(), 19813);
    let again = Link::parse(l.to_xml().as_bytes()).unwrap();
    assert_eq!(again, l);
    assert!(
        l.to_xml()
            .contains(r#"vendor_note="kept as is" x_color="blue""#)
    );

    assert_eq!(link("local-project.4DLink").kind(), LinkKind::Local);
    let l = link("EnginedServer.4DLink");
    assert_eq!(l.cache_folder_name.as_deref(), Some("OrdersClient"));
}

#[test]
fn every_link_round_trips() {
    let Some(dir) = fixtures() else { return };
    for entry in std::fs::read_dir(dir.join("4dlink")).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let l = Link::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let xml = l.to_xml();
        assert_eq!(
            Link::parse(xml.as_bytes()).unwrap(),
            l,
            "{}",
            path.display()
        );
        assert_eq!(Link::parse(xml.as_bytes()).unwrap().to_xml(), xml);
    }
}

#[test]
fn bad_links_give_clear_errors() {
    let Some(dir) = fixtures() else { return };
    let bad = dir.join("4dlink/bad");
    let check = |name: &str, ok: &dyn Fn(&LinkError) -> bool| {
        let e = Link::read(&bad.join(name)).expect_err(name);
        assert!(ok(&e), "{name}: unexpected {e:?}");
        assert!(e.position().is_some(), "{name}: no position in {e}");
        assert!(e.to_string().starts_with("line "), "{name}: {e}");
        e
    };
    check("not-xml.4DLink", &|e| {
        matches!(
            e,
            LinkError::UnexpectedContent { .. } | LinkError::NoRoot { .. } | LinkError::Xml { .. }
        )
    });
    check(
        "wrong-root.4DLink",
        &|e| matches!(e, LinkError::WrongRoot { found, .. } if found == "shortcut"),
    );
    check("missing-database-name.4DLink", &|e| {
        matches!(e, LinkError::MissingDatabaseName { .. })
    });
    check(
        "port-not-a-number.4DLink",
        &|e| matches!(e, LinkError::InvalidValue { name, .. } if name == "server_path"),
    );
    check(
        "port-out-of-range.4DLink",
        &|e| matches!(e, LinkError::InvalidValue { name, value, .. } if name == "server_path" && value.contains("70000")),
    );
    check(
        "duplicate-attribute.4DLink",
        &|e| matches!(e, LinkError::DuplicateAttribute { name, .. } if name == "is_remote"),
    );
    check("truncated.4DLink", &|e| matches!(e, LinkError::Xml { .. }));
    check(
        "bool-not-bool.4DLink",
        &|e| matches!(e, LinkError::InvalidValue { name, .. } if name == "is_remote"),
    );
    check("entity-expansion.4DLink", &|e| {
        matches!(e, LinkError::EntityDeclarations { .. })
    });
}

#[test]
fn real_4dz_archives_list_verify_and_unpack() {
    let Some(dir) = fixtures() else { return };
    let mut seen = 0;
    for entry in std::fs::read_dir(dir.join("4dz")).unwrap() {
        let path = entry.unwrap().path();
        let a = Archive::open(&path, &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        a.check_project_layout().unwrap();
        assert!(
            a.entries().iter().any(|e| e.name.ends_with(".4DProject")),
            "{}",
            path.display()
        );
        let report = a.verify().unwrap();
        assert!(report.files > 0);
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("unpacked");
        let u = a.unpack_to(&target).unwrap();
        assert_eq!(u.files, report.files);
        assert_eq!(u.bytes, report.bytes);
        for e in a.entries().iter().filter(|e| !e.is_dir) {
            let p = target.join(&e.name);
            assert_eq!(std::fs::metadata(&p).unwrap().len(), e.size, "{}", e.name);
        }
        // The unpacked project opens as a project.
        let project = Project::open(&target).unwrap();
        assert!(!project.name.is_empty());
        seen += 1;
    }
    assert_eq!(seen, 3);
    // Both compression methods and folder entries occur in the real files.
    let methods: std::collections::HashSet<_> = std::fs::read_dir(dir.join("4dz"))
        .unwrap()
        .flat_map(|e| {
            Archive::open(&e.unwrap().path(), &Limits::default())
                .unwrap()
                .entries()
                .to_vec()
        })
        .map(|e| (e.method, e.is_dir))
        .collect();
    assert!(
        methods.contains(&(archive::Method::Stored, false))
            || methods.contains(&(archive::Method::Stored, true))
    );
    assert!(methods.contains(&(archive::Method::Deflated, false)));
}

#[test]
fn real_projects_open_and_build() {
    let Some(dir) = fixtures() else { return };
    let p = Project::open(&dir.join("projects/simple-server")).unwrap();
    assert_eq!(p.name, "simple-server");
    assert_eq!(p.publication_name(), "私のサーバー");
    assert_eq!(p.publication_port(), 20000);
    assert!(p.catalog.tables.is_empty());

    let p =
        Project::open(&dir.join("projects/ConnectingDB/Project/ConnectingDB.4DProject")).unwrap();
    assert_eq!(p.publication_name(), "ConnectingDB");
    assert_eq!(p.publication_port(), 19813);
    assert_eq!(p.content.methods, ["connect_remote"]);

    let p = Project::open(&dir.join("projects/HDI_4DRemoteSession")).unwrap();
    assert_eq!(p.publication_name(), "HDI_4DRemoteSession");
    assert_eq!(p.catalog.tables.len(), 1);
    assert_eq!(p.catalog.tables[0].name, "INFO");
    let fields: Vec<_> = p.catalog.tables[0]
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(fields, ["ID", "Description", "TabTitle", "PageNumber"]);
    assert!(
        p.content
            .database_methods
            .contains(&"onServerOpenConnection".to_owned())
    );
    assert_eq!(p.content.forms, ["HDI", "HDI2"]);

    for name in ["simple-server", "ConnectingDB", "HDI_4DRemoteSession"] {
        let root = dir.join("projects").join(name);
        let out = tempfile::tempdir().unwrap();
        let a = archive::build(&root, &out.path().join("a.4dz"), &BuildOptions::default()).unwrap();
        let b = archive::build(&root, &out.path().join("b.4dz"), &BuildOptions::default()).unwrap();
        assert_eq!(a.stamp, b.stamp, "{name}: deterministic");
        let archive = Archive::open(&out.path().join("a.4dz"), &Limits::default()).unwrap();
        archive.check_project_layout().unwrap();
        archive.verify().unwrap();
    }
}
