use std::fs;
use std::path::Path;

use super::*;

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

const CATALOG: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE base SYSTEM "http://www.4d.com/dtd/2007/base.dtd" >
<base name="Shop" uuid="2D4F6103DC084198BFC0283C03D0A0B2" collation_locale="en">
	<schema name="DEFAULT_SCHEMA"/>
	<table name="Customers" uuid="107A367EBCC346259FD971E8FC1097DA" id="1">
		<field name="ID" uuid="C6DBB917EEE44AF9BDA57ABA22C55C6B" type="4" unique="true" autosequence="true" not_null="true" id="1">
			<field_extra position="1"/>
		</field>
		<field name="Name" uuid="58AF214936C941439CB263026A5B46ED" type="10" limiting_length="255" never_null="true" id="2"/>
		<field name="Notes" type="10" id="3"/>
		<primary_key field_name="ID" field_uuid="C6DBB917EEE44AF9BDA57ABA22C55C6B"/>
	</table>
	<table name="Orders" id="2">
		<field name="Total" type="6" id="1"/>
	</table>
	<index kind="regular" uuid="B17E3BF54450493DB72FBD48A5745784" type="7">
		<field_ref uuid="C6DBB917EEE44AF9BDA57ABA22C55C6B" name="ID"><table_ref name="Customers"/></field_ref>
	</index>
</base>"#;

fn shop(root: &Path) {
    write(
        root,
        "Project/Shop.4DProject",
        r#"{"$comment": "anchor", "compatibilityVersion": 2040}"#,
    );
    write(root, "Project/Sources/catalog.4DCatalog", CATALOG);
    write(
        root,
        "Project/Sources/settings.4DSettings",
        r#"<?xml version="1.0" encoding="UTF-8"?><preferences stamp="2"><com.4d><server><network><options publication_name="私のサーバー" publication_port="20000"/><client_server use_encryption="false"/></network></server></com.4d></preferences>"#,
    );
    write(root, "Project/Sources/Methods/b.4dm", "");
    write(root, "Project/Sources/Methods/a.4dm", "");
    write(root, "Project/Sources/Methods/a.4dm~", "");
    write(root, "Project/Sources/Classes/Invoice.4dm", "");
    write(root, "Project/Sources/DatabaseMethods/onStartup.4dm", "");
    write(root, "Project/Sources/Forms/Main/form.4DForm", "{}");
    write(root, "Project/Sources/TableForms/1/Input/form.4DForm", "{}");
    write(
        root,
        "Settings/directory.json",
        r#"{"users":{"designer":{"password":"$2y$10$6.Mh4YUL7NfBbyb3ZH9BwOuahSSeRRGo6gV7FS66pQln6GL0eomDW","alias":"Designer"},"administrator":{"alias":"Administrator"},"Zoé":{"password":"BzDTpGCpCjyf8RGMEOnOIA=="}},"groups":{"Staff":{"users":["Designer"]},"All":{"users":["Zoé"],"groups":["Staff"]}}}"#,
    );
}

#[test]
fn opens_from_root_project_folder_or_file() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());
    // As Location reports it: without Windows' \\?\ prefix.
    let root = dunce::canonicalize(dir.path()).unwrap();
    for p in [
        root.clone(),
        root.join("Project"),
        root.join("Project/Shop.4DProject"),
    ] {
        let loc = Location::find(&p).unwrap();
        assert_eq!(loc.root, root, "{}", p.display());
        assert_eq!(loc.name(), "Shop");
    }
    let p = Project::open(&root).unwrap();
    assert_eq!(p.name, "Shop");
    assert_eq!(p.compatibility_version, Some(2040));
    assert_eq!(p.publication_name(), "私のサーバー");
    assert_eq!(p.publication_port(), 20000);
    assert_eq!(p.settings.use_encryption, Some(false));
    assert_eq!(p.content.methods, ["a", "b"]);
    assert_eq!(p.content.classes, ["Invoice"]);
    assert_eq!(p.content.database_methods, ["onStartup"]);
    assert_eq!(p.content.forms, ["Main"]);
    assert_eq!(p.content.table_forms, ["1/Input"]);
}

#[test]
fn catalog_tables_and_fields() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());
    let p = Project::open(dir.path()).unwrap();
    let c = &p.catalog;
    assert_eq!(c.name.as_deref(), Some("Shop"));
    let names: Vec<_> = c.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Customers", "Orders"]);
    let t = &c.tables[0];
    assert_eq!(t.id, Some(1));
    assert_eq!(t.primary_key.as_deref(), Some("ID"));
    assert_eq!(t.fields.len(), 3);
    assert_eq!(
        (
            t.fields[0].type_name,
            t.fields[0].unique,
            t.fields[0].autosequence
        ),
        ("Longint", true, true)
    );
    assert_eq!(
        (t.fields[1].type_name, t.fields[1].limiting_length),
        ("Alpha", Some(255))
    );
    assert_eq!(t.fields[2].type_name, "Text");
    assert_eq!(c.tables[1].fields[0].type_name, "Real");
}

#[test]
fn users_and_groups() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());
    let p = Project::open(dir.path()).unwrap();
    let d = &p.directory;
    let names: Vec<_> = d.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(
        names,
        ["Designer", "Administrator", "Zoé"],
        "file order, aliases as names"
    );
    assert!(d.user("designer").unwrap().is_designer());
    assert_eq!(
        d.user("Designer").unwrap().hash_kind(),
        Some(HashKind::Bcrypt)
    );
    assert_eq!(
        d.user("zoé").unwrap().hash_kind(),
        Some(HashKind::LegacyDigest)
    );
    assert_eq!(d.user("Administrator").unwrap().password_hash, None);
    assert!(!d.is_open_access());
    assert_eq!(d.members()["All"], ["Designer", "Zoé"]);
    assert!(
        Directory::parse(br#"{"users":{"designer":{"alias":"Designer"}}}"#)
            .unwrap()
            .is_open_access()
    );
}

#[test]
fn settings_priority_and_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "Project/P.4DProject", "{}");
    let p = Project::open(root).unwrap();
    assert_eq!((p.publication_name(), p.publication_port()), ("P", 19813));
    assert!(p.catalog.tables.is_empty() && p.directory.users.is_empty());
    write(
        root,
        "Project/Sources/settings.4DSettings",
        r#"<preferences><com.4d><server><network><options publication_name="Structure" publication_port="20000"/></network></server></com.4d></preferences>"#,
    );
    write(
        root,
        "Settings/settings.4DSettings",
        r#"<preferences><com.4d><server><network><options publication_name="User"/></network></server></com.4d></preferences>"#,
    );
    let p = Project::open(root).unwrap();
    assert_eq!(
        (p.publication_name(), p.publication_port()),
        ("User", 20000)
    );
    write(
        root,
        "Data/Settings/settings.4DSettings",
        r#"<preferences><com.4d><server><network><options publication_port="19823"/></network></server></com.4d></preferences>"#,
    );
    let p = Project::open(root).unwrap();
    assert_eq!(
        (p.publication_name(), p.publication_port()),
        ("User", 19823)
    );
    // Where each value came from, for the server's banner.
    assert_eq!(
        p.settings.origins["publication_name"],
        root.join("Settings/settings.4DSettings")
    );
    assert_eq!(
        p.settings.origins["publication_port"],
        root.join("Data/Settings/settings.4DSettings")
    );
    assert!(p.settings.not_used.is_empty());
    // A client/server setting Remote4D does not use is listed (once, with its file); the rest of
    // the file (compiler, interface, …) is 4D's business and not listed.
    write(
        root,
        "Settings/settings.4DSettings",
        r#"<preferences><com.4d><compiler><options target="all"/></compiler><server><network><options publication_name="User" use_legacy_network_layer="false"/></network></server></com.4d></preferences>"#,
    );
    let p = Project::open(root).unwrap();
    assert_eq!(
        p.settings.not_used.keys().collect::<Vec<_>>(),
        ["server/network/options@use_legacy_network_layer"]
    );
    // The connections timeout (4D writes it as `client_server@connections_timeout`, minutes),
    // by the same priority: the data file's settings win over the structure's.
    assert_eq!(p.settings.connections_timeout_minutes, None);
    write(
        root,
        "Project/Sources/settings.4DSettings",
        r#"<preferences><com.4d><server><network><client_server connections_timeout="30"/></network></server></com.4d></preferences>"#,
    );
    let p = Project::open(root).unwrap();
    assert_eq!(p.settings.connections_timeout_minutes, Some(30));
    write(
        root,
        "Data/Settings/settings.4DSettings",
        r#"<preferences><com.4d><server><network><client_server connections_timeout="0"/></network></server></com.4d></preferences>"#,
    );
    let p = Project::open(root).unwrap();
    assert_eq!(p.settings.connections_timeout_minutes, Some(0));
    assert_eq!(
        p.settings.origins["connections_timeout"],
        root.join("Data/Settings/settings.4DSettings")
    );
    // A value it cannot read is ignored (the lower file's stands) and reported, never fatal.
    write(
        root,
        "Data/Settings/settings.4DSettings",
        r#"<preferences><com.4d><server><network><client_server connections_timeout="soon"/></network></server></com.4d></preferences>"#,
    );
    let p = Project::open(root).unwrap();
    assert_eq!(p.settings.connections_timeout_minutes, Some(30));
    assert_eq!(
        p.settings.not_understood.keys().collect::<Vec<_>>(),
        ["server/network/client_server@connections_timeout=\"soon\""]
    );
}

#[test]
fn errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    assert!(matches!(
        Project::open(&root.join("nope")),
        Err(ProjectError::NotFound { .. })
    ));
    assert!(matches!(
        Project::open(root),
        Err(ProjectError::NoProjectFile { .. })
    ));
    write(root, "Project/A.4DProject", "{}");
    write(root, "Project/B.4DProject", "{}");
    let e = Project::open(root).unwrap_err();
    assert!(matches!(e, ProjectError::SeveralProjectFiles { .. }), "{e}");
    assert!(e.to_string().contains("A.4DProject, B.4DProject"));
    fs::remove_file(root.join("Project/B.4DProject")).unwrap();
    write(
        root,
        "Project/Sources/catalog.4DCatalog",
        "<base>\n<table name=\"x\">\n</base>",
    );
    let e = Project::open(root).unwrap_err();
    assert!(matches!(e, ProjectError::Xml { line: 3, .. }), "{e:?}");
    fs::remove_file(root.join("Project/Sources/catalog.4DCatalog")).unwrap();
    write(root, "Settings/directory.json", "{\"users\": [");
    let e = Project::open(root).unwrap_err();
    assert!(matches!(e, ProjectError::Json { .. }), "{e:?}");
    assert!(e.to_string().contains("directory.json"));
}
