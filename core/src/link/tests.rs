use super::*;

fn parse(s: &str) -> Result<Link, LinkError> {
    Link::parse(s.as_bytes())
}

#[test]
fn remote_basic() {
    let l = parse(r#"<?xml version="1.0" encoding="UTF-8"?><database_shortcut is_remote="true" server_database_name="Invoices" server_path="192.0.2.10:19813"/>"#).unwrap();
    assert_eq!(l.kind(), LinkKind::Remote);
    assert_eq!(l.server_database_name.as_deref(), Some("Invoices"));
    assert_eq!(l.address().host, "192.0.2.10");
    assert_eq!(l.address().port(), 19813);
}

#[test]
fn bom_crlf_entities_and_non_ascii() {
    let text = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<database_shortcut\r\n  is_remote=\"true\"\r\n  server_database_name=\"Ventes &amp; Stocks &#233;&#x41;\"\r\n  server_path=\"serveur.lan\"\r\n  user_name=\"Désirée\"\r\n  open_login_dialog=\"false\" />\r\n";
    let l = parse(text).unwrap();
    assert_eq!(
        l.server_database_name.as_deref(),
        Some("Ventes & Stocks éA")
    );
    assert_eq!(l.user_name.as_deref(), Some("Désirée"));
    assert_eq!(l.open_login_dialog, Some(false));
    assert_eq!(l.address().port(), DEFAULT_PORT);
    assert_eq!(l.address().explicit_port, None);
}

#[test]
fn typed_values() {
    let l = parse(r#"<database_shortcut is_remote="true" server_database_name="HR" server_path="[fd00:db8::10]:19820" structure_opening_mode="2" user_param="{&quot;role&quot;:&quot;viewer&quot;}" remote_shared_resources="false" remote4d_last_opened="1700000000000"/>"#).unwrap();
    assert_eq!(
        l.structure_opening_mode,
        Some(StructureOpeningMode::Compiled)
    );
    assert_eq!(l.address(), ServerPath::new("fd00:db8::10", Some(19820)));
    assert_eq!(l.user_param.as_deref(), Some(r#"{"role":"viewer"}"#));
    assert_eq!(l.remote_shared_resources, Some(false));
    assert_eq!(l.remote4d_last_opened, Some(1_700_000_000_000));
}

#[test]
fn local_link_is_local() {
    let l = parse(r#"<database_shortcut structure_file="file:///Users/dev/My Shop/Project/Shop.4DProject" data_opening_mode="1" data_conversion_mode="2" reopen_design_windows="false"/>"#).unwrap();
    assert_eq!(l.kind(), LinkKind::Local);
    assert_eq!(
        l.structure_file.as_deref(),
        Some("file:///Users/dev/My Shop/Project/Shop.4DProject")
    );
    assert_eq!(l.data_opening_mode, Some(DataOpeningMode::LastUsed));
    assert_eq!(
        l.data_conversion_mode,
        Some(ConversionMode::ConvertSilently)
    );
}

#[test]
fn unknown_attributes_are_kept_in_order_and_written_back() {
    let src = r#"<database_shortcut is_remote="true" server_database_name="CRM" zeta="1" server_path="10.20.30.40" vendor_note="kept &amp; as is" x_color="blue"/>"#;
    let l = parse(src).unwrap();
    let names: Vec<_> = l.unknown.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["zeta", "vendor_note", "x_color"]);
    assert_eq!(l.unknown_attribute("vendor_note"), Some("kept & as is"));
    let xml = l.to_xml();
    assert!(
        xml.contains(r#"zeta="1" vendor_note="kept &amp; as is" x_color="blue"/>"#),
        "{xml}"
    );
    assert_eq!(parse(&xml).unwrap(), l);
}

#[test]
fn write_read_round_trip_and_stable_bytes() {
    let mut l = Link::remote(
        "Ventes & \"Stocks\" <2>",
        ServerPath::parse("[::1]:20000").unwrap(),
    );
    l.user_name = Some("Désirée\tX\nY".into());
    l.structure_opening_mode = Some(StructureOpeningMode::Interpreted);
    l.remote4d_development_mode = Some(true);
    l.unknown.push(UnknownAttribute {
        name: "x".into(),
        value: "  two  spaces ".into(),
    });
    let xml = l.to_xml();
    let back = parse(&xml).unwrap();
    assert_eq!(back, l);
    assert_eq!(back.to_xml(), xml, "writing must be stable");
    assert!(xml.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<database_shortcut is_remote=\"true\""
    ));
}

#[test]
fn write_file_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Shop.4dlink");
    let l = Link::remote("Shop", ServerPath::parse("shop.lan").unwrap());
    l.write(&path).unwrap();
    assert_eq!(Link::read(&path).unwrap(), l);
    assert!(is_link_path(&path));
    assert!(is_link_path(Path::new("a/EnginedServer.4Dlink")));
    assert!(is_link_path(Path::new("X.4DLINK")));
    assert!(!is_link_path(Path::new("X.4DLink.txt")));
    // Only the link is in the folder: no temporary left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

fn err_of(s: &str) -> LinkError {
    parse(s).unwrap_err()
}

#[test]
fn errors_name_the_problem_and_position() {
    let e = err_of("this is not xml at all\n");
    assert!(
        matches!(
            e,
            LinkError::UnexpectedContent { .. } | LinkError::NoRoot { .. } | LinkError::Xml { .. }
        ),
        "{e}"
    );
    assert!(e.position().is_some());

    let e = err_of("<?xml version=\"1.0\"?>\n<shortcut is_remote=\"true\"/>");
    assert!(
        matches!(e, LinkError::WrongRoot { ref found, line: 2, column: 1 } if found == "shortcut"),
        "{e:?}"
    );

    let e = err_of(
        "<?xml version=\"1.0\"?>\n<database_shortcut is_remote=\"true\" server_path=\"h:1\"/>",
    );
    assert!(
        matches!(e, LinkError::MissingDatabaseName { line: 2, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("server_database_name"));

    let e = err_of("<database_shortcut\n  is_remote=\"yes please\" server_database_name=\"X\"/>");
    assert!(
        matches!(e, LinkError::InvalidValue { ref name, line: 2, column: 3, .. } if name == "is_remote"),
        "{e:?}"
    );
    assert!(e.to_string().contains("\"true\" or \"false\""), "{e}");

    let e = err_of(
        r#"<database_shortcut is_remote="true" server_database_name="X" server_path="h:abc"/>"#,
    );
    assert!(
        matches!(e, LinkError::InvalidValue { ref name, .. } if name == "server_path"),
        "{e:?}"
    );
    let e = err_of(
        r#"<database_shortcut is_remote="true" server_database_name="X" server_path="h:70000"/>"#,
    );
    assert!(
        matches!(e, LinkError::InvalidValue { ref name, .. } if name == "server_path"),
        "{e:?}"
    );
    let e = err_of(r#"<database_shortcut structure_opening_mode="9"/>"#);
    assert!(
        matches!(e, LinkError::InvalidValue { ref name, .. } if name == "structure_opening_mode"),
        "{e:?}"
    );

    let e = err_of(
        "<database_shortcut is_remote=\"true\" is_remote=\"false\" server_database_name=\"X\"/>",
    );
    assert!(
        matches!(e, LinkError::DuplicateAttribute { ref name, line: 1, column: 37 } if name == "is_remote"),
        "{e:?}"
    );

    let e = err_of(
        "<?xml version=\"1.0\"?>\n<database_shortcut is_remote=\"true\" server_database_name=\"X\" server_pa",
    );
    assert!(matches!(e, LinkError::Xml { .. }), "{e:?}");

    let e = err_of("<database_shortcut is_remote=\"true\" server_database_name=\"X\">");
    assert!(matches!(e, LinkError::Xml { .. }), "{e:?}");

    let e = err_of("<database_shortcut server_database_name=\"X\"><child/></database_shortcut>");
    assert!(matches!(e, LinkError::UnexpectedContent { .. }), "{e:?}");

    let e = err_of("<database_shortcut/><database_shortcut/>");
    assert!(matches!(e, LinkError::UnexpectedContent { .. }), "{e:?}");

    let e = err_of("");
    assert!(matches!(e, LinkError::NoRoot { .. }), "{e:?}");

    let e = Link::parse(b"<database_shortcut user_name=\"\xff\"/>").unwrap_err();
    assert!(
        matches!(
            e,
            LinkError::NotUtf8 {
                line: 1,
                column: 31
            }
        ),
        "{e:?}"
    );
}

#[test]
fn entity_definitions_are_refused_not_expanded() {
    let bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>\n<database_shortcut is_remote=\"true\" server_database_name=\"&lol2;\" server_path=\"192.0.2.1\"/>";
    let e = err_of(bomb);
    assert!(
        matches!(e, LinkError::EntityDeclarations { line: 2, column: 1 }),
        "{e:?}"
    );
    // Undeclared entities are not expanded either.
    let e = err_of("<database_shortcut is_remote=\"true\" server_database_name=\"&lol;\"/>");
    assert!(matches!(e, LinkError::Xml { .. }), "{e:?}");
    // A DOCTYPE without entities is fine.
    let ok = parse(
        "<!DOCTYPE database_shortcut SYSTEM \"database_link.dtd\">\n<database_shortcut is_remote=\"true\" server_database_name=\"A\"/>",
    );
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn oversized_file_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.4DLink");
    let mut body = String::from("<database_shortcut x=\"");
    body.push_str(&"a".repeat(MAX_LINK_SIZE as usize));
    body.push_str("\"/>");
    std::fs::write(&path, body).unwrap();
    assert!(matches!(Link::read(&path), Err(LinkError::TooLarge { .. })));
    assert!(matches!(
        Link::read(&dir.path().join("missing.4DLink")),
        Err(LinkError::Io { .. })
    ));
}
