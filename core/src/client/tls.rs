//! TLS for the client: the server's certificate is checked against a pinned fingerprint (trust on
//! first use), and the fingerprint it presented is recorded for the caller to decide — with
//! whether a certificate authority this machine trusts vouches for it (the system's roots, or
//! `SSL_CERT_FILE` / `SSL_CERT_DIR`): such a server needs no confirmation, and its renewed
//! certificate is not a "changed identity".

use std::sync::{Arc, Mutex, OnceLock};

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::protocol::{Fingerprint, normalize_fingerprint};

/// A server presented another certificate than the pinned one (the handshake was refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The pinned fingerprint.
    pub expected: String,
    /// The one presented.
    pub presented: String,
}

/// The certificate chain a server presented, kept so that whether an authority vouches for it
/// is only worked out when someone asks (loading this machine's authorities costs tens of
/// milliseconds, and a server that presents its pinned certificate never needs them).
#[derive(Debug)]
struct Presented {
    fingerprint: String,
    end_entity: CertificateDer<'static>,
    intermediates: Vec<CertificateDer<'static>>,
    server_name: ServerName<'static>,
    ocsp: Vec<u8>,
    now: UnixTime,
    by_authority: OnceLock<bool>,
}

impl Presented {
    /// True when a certificate authority this machine trusts vouches for the chain (worked
    /// out once).
    fn by_authority(&self) -> bool {
        *self.by_authority.get_or_init(|| {
            authority().is_some_and(|v| {
                v.verify_server_cert(
                    &self.end_entity,
                    &self.intermediates,
                    &self.server_name,
                    &self.ocsp,
                    self.now,
                )
                .is_ok()
            })
        })
    }
}

/// The certificate the server presented in the last handshake, and the last pin it failed.
#[derive(Debug, Clone, Default)]
pub struct SeenFingerprint(
    Arc<Mutex<Option<Arc<Presented>>>>,
    Arc<Mutex<Option<Mismatch>>>,
);

impl SeenFingerprint {
    /// The fingerprint (`AB:CD:...`), once a handshake happened.
    pub fn get(&self) -> Option<String> {
        self.presented().map(|p| p.fingerprint.clone())
    }

    /// True when a certificate authority this machine trusts vouched for that certificate
    /// (valid chain, valid for the address connected to).
    pub fn verified_by_authority(&self) -> bool {
        self.presented().is_some_and(|p| p.by_authority())
    }

    fn presented(&self) -> Option<Arc<Presented>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, presented: Arc<Presented>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(presented);
    }

    /// The pin the last refused handshake failed, if any: a changed identity, as data (never
    /// recognised from an error's text).
    pub fn mismatch(&self) -> Option<Mismatch> {
        self.1
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn accepted(&self) {
        *self
            .1
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    fn refused(&self, m: Mismatch) {
        *self
            .1
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(m);
    }
}

/// A verifier of chains against the certificate authorities this machine trusts (the system's
/// roots, or `SSL_CERT_FILE` / `SSL_CERT_DIR`), made once per process, when first needed.
fn authority() -> Option<Arc<WebPkiServerVerifier>> {
    static AUTHORITY: OnceLock<Option<Arc<WebPkiServerVerifier>>> = OnceLock::new();
    AUTHORITY
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            for err in &found.errors {
                tracing::debug!(%err, "a trusted certificate could not be read");
            }
            let mut store = RootCertStore::empty();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                return None;
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
                .build()
                .ok()
        })
        .clone()
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
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp = Fingerprint::of_certificate(end_entity).to_string();
        let presented = Arc::new(Presented {
            fingerprint: fp.clone(),
            end_entity: end_entity.clone().into_owned(),
            intermediates: intermediates
                .iter()
                .map(|c| c.clone().into_owned())
                .collect(),
            server_name: server_name.to_owned(),
            ocsp: ocsp.to_vec(),
            now,
            by_authority: OnceLock::new(),
        });
        self.seen.set(Arc::clone(&presented));
        match &self.pinned {
            // A renewed certificate that an authority vouches for is the same server.
            Some(p)
                if normalize_fingerprint(p) != normalize_fingerprint(&fp)
                    && !presented.by_authority() =>
            {
                self.seen.refused(Mismatch {
                    expected: p.clone(),
                    presented: fp.clone(),
                });
                Err(rustls::Error::General(format!(
                    "the server's identity changed: expected {p}, got {fp}"
                )))
            }
            _ => {
                self.seen.accepted();
                Ok(ServerCertVerified::assertion())
            }
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

/// A rustls client configuration that accepts only `pinned` or a certificate a trusted authority
/// vouches for (or, without a pin, any certificate, recording its fingerprint in `seen` so that
/// nothing is sent before the caller decided).
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
