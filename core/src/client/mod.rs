//! The remote client: talk to a server over pinned HTTPS.

pub mod api;
pub mod tls;

pub use api::{ApiClient, RequestError};
pub use tls::SeenFingerprint;
