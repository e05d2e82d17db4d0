//! TLS for the client: the server's certificate is checked against a pinned fingerprint (trust on
//! first use), and the fingerprint it presented is recorded for the caller to decide.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::protocol::normalize_fingerprint;
use crate::server::identity::fingerprint_of;

/// The fingerprint the server presented in the last handshake.
#[derive(Debug, Clone, Default)]
pub struct SeenFingerprint(Arc<Mutex<Option<String>>>);

impl SeenFingerprint {
    /// The fingerprint (`AB:CD:...`), once a handshake happened.
    pub fn get(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, fp: String) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(fp);
    }
}

#[derive(Debug)]
struct PinningVerifier {
    pinned: Option<String>,
    seen: SeenFingerprint,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp = fingerprint_of(end_entity);
        self.seen.set(fp.clone());
        match &self.pinned {
            Some(p) if normalize_fingerprint(p) != normalize_fingerprint(&fp) => {
                Err(rustls::Error::General(format!(
                    "the server's identity changed: expected {p}, got {fp}"
                )))
            }
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A rustls client configuration that accepts only `pinned` (or, without a pin, any certificate,
/// recording its fingerprint in `seen` so that nothing is sent before the caller decided).
pub fn client_config(
    pinned: Option<&str>,
    seen: &SeenFingerprint,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let verifier = Arc::new(PinningVerifier {
        pinned: pinned.map(str::to_owned),
        seen: seen.clone(),
        algorithms,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
