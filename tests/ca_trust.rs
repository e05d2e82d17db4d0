//! A server whose certificate a trusted certificate authority issued (the project's
//! `Resources/cert.pem` + `key.pem`, as in 4D): the client connects without asking to trust it,
//! and after the certificate is renewed it does not report a changed identity. Without that
//! authority, the usual trust-on-first-use rules apply.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Server, free_port, text, wait_for_port};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

fn serve(project: &Path, home: &Path, port: u16) -> Server {
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_remote4d"))
            .arg("serve")
            .arg(project)
            .args([
                "--port",
                &port.to_string(),
                "--no-publish",
                "--bind",
                "127.0.0.1",
            ])
            .env("REMOTE4D_HOME", home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port);
    server
}

/// A server certificate for 127.0.0.1 issued by `ca`, written where the server takes it.
fn issue(ca: &CertifiedIssuer<'_, KeyPair>, project: &Path) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "Shop server");
    let cert = params.signed_by(&key, ca).unwrap();
    std::fs::create_dir_all(project.join("Resources")).unwrap();
    std::fs::write(project.join("Resources/cert.pem"), cert.pem()).unwrap();
    std::fs::write(project.join("Resources/key.pem"), key.serialize_pem()).unwrap();
}

fn connect(port: u16, home: &Path, ca_file: Option<&PathBuf>, extra: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_remote4d"));
    cmd.args(["connect", &format!("127.0.0.1:{port}"), "--remote"])
        .args(extra)
        .env("REMOTE4D_HOME", home)
        .stdin(Stdio::null());
    match ca_file {
        Some(f) => cmd.env("SSL_CERT_FILE", f),
        // An empty bundle: no authority vouches for anything.
        None => cmd.env("SSL_CERT_FILE", "/dev/null"),
    };
    cmd.output().unwrap()
}

#[test]
fn a_certificate_from_a_trusted_authority_needs_no_confirmation_and_renews_quietly() {
    let w = tempfile::tempdir().unwrap();
    let w = w.path();
    let project = w.join("Shop");
    std::fs::create_dir_all(project.join("Project/Sources")).unwrap();
    std::fs::write(project.join("Project/Shop.4DProject"), "{}").unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Remote4D test authority");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let ca_file = w.join("ca.pem");
    std::fs::write(&ca_file, ca.as_ref().pem()).unwrap();
    issue(&ca, &project);
    let port = free_port();
    let server = serve(&project, &w.join("server"), port);

    // With the authority trusted: straight in, no --trust-new.
    let o = connect(port, &w.join("with-ca"), Some(&ca_file), &[]);
    assert!(o.status.success(), "{}", text(&o));
    // Without it: trust on first use, as for any self-signed server.
    let o = connect(port, &w.join("without-ca"), None, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("--trust-new"), "{}", text(&o));
    let o = connect(port, &w.join("without-ca"), None, &["--trust-new"]);
    assert!(o.status.success(), "{}", text(&o));

    // The certificate is renewed (new key, same authority, same server).
    drop(server);
    issue(&ca, &project);
    let _server = serve(&project, &w.join("server"), port);
    let o = connect(port, &w.join("with-ca"), Some(&ca_file), &[]);
    assert!(
        o.status.success(),
        "a renewal is not a changed identity: {}",
        text(&o)
    );
    // Pinned without an authority, the same renewal is a changed identity.
    let o = connect(port, &w.join("without-ca"), None, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("identity changed"), "{}", text(&o));
}
