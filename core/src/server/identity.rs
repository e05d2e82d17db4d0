//! The server's TLS identity and id.

use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::error::ServerError;
use crate::protocol::Fingerprint;

/// Where the certificate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// `Resources/cert.pem` + `key.pem` of the project, as 4D does.
    Project,
    /// A self-signed certificate generated once and kept in the server's data folder.
    Generated,
}

/// The server's certificate, key, fingerprint and id.
#[derive(Debug)]
pub struct Identity {
    /// Certificate chain (leaf first).
    pub chain: Vec<CertificateDer<'static>>,
    /// Private key.
    pub key: PrivateKeyDer<'static>,
    /// SHA-256 of the leaf certificate, `AB:CD:...`.
    pub fingerprint: String,
    /// Where it came from.
    pub source: IdentitySource,
    /// The stable server id.
    pub server_id: String,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ServerError + '_ {
    move |source| ServerError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The SHA-256 fingerprint of a DER certificate.
pub fn fingerprint_of(der: &[u8]) -> String {
    Fingerprint::of_certificate(der).to_string()
}

impl Identity {
    /// The project's `Resources/cert.pem` and `key.pem` when both exist, else the certificate in
    /// `data_dir` (generated on first use for `host_names`). The server id lives in `data_dir`.
    ///
    /// # Errors
    /// [`ServerError::Identity`] for unreadable or mismatched PEM files; I/O errors.
    pub fn load_or_create(
        project_root: &Path,
        data_dir: &Path,
        host_names: &[String],
    ) -> Result<Self, ServerError> {
        std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
        let server_id = server_id(data_dir)?;
        let resources = project_root.join("Resources");
        let (cert, key, source) =
            if resources.join("cert.pem").is_file() && resources.join("key.pem").is_file() {
                (
                    resources.join("cert.pem"),
                    resources.join("key.pem"),
                    IdentitySource::Project,
                )
            } else {
                let cert = data_dir.join("cert.pem");
                let key = data_dir.join("key.pem");
                if !(cert.is_file() && key.is_file()) {
                    generate(&cert, &key, host_names)?;
                }
                (cert, key, IdentitySource::Generated)
            };
        let chain = CertificateDer::pem_file_iter(&cert)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| ServerError::Identity(format!("{}: {e}", cert.display())))?;
        let leaf = chain.first().ok_or_else(|| {
            ServerError::Identity(format!("{} holds no certificate", cert.display()))
        })?;
        let fingerprint = fingerprint_of(leaf);
        let key = PrivateKeyDer::from_pem_file(&key)
            .map_err(|e| ServerError::Identity(format!("{}: {e}", key.display())))?;
        Ok(Self {
            chain,
            key,
            fingerprint,
            source,
            server_id,
        })
    }
}

fn server_id(dir: &Path) -> Result<String, ServerError> {
    let file = dir.join("server-id");
    if let Ok(text) = std::fs::read_to_string(&file) {
        if uuid::Uuid::parse_str(text.trim()).is_ok() {
            return Ok(text.trim().to_owned());
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    crate::fsutil::write_atomic(&file, format!("{id}\n").as_bytes()).map_err(io(&file))?;
    Ok(id)
}

fn generate(cert_path: &Path, key_path: &Path, host_names: &[String]) -> Result<(), ServerError> {
    let mut names: Vec<String> = host_names.to_vec();
    names.extend([
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ]);
    names.dedup();
    let key = rcgen::KeyPair::generate().map_err(|e| ServerError::Identity(e.to_string()))?;
    let mut params =
        rcgen::CertificateParams::new(names).map_err(|e| ServerError::Identity(e.to_string()))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Remote4D server");
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2124, 1, 1);
    let cert = params
        .self_signed(&key)
        .map_err(|e| ServerError::Identity(e.to_string()))?;
    crate::fsutil::write_private(key_path, key.serialize_pem().as_bytes()).map_err(io(key_path))?;
    crate::fsutil::write_atomic(cert_path, cert.pem().as_bytes()).map_err(io(cert_path))?;
    tracing::info!(cert = %cert_path.display(), "generated the server's self-signed certificate");
    Ok(())
}
