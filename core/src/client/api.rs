//! A small typed client of the server's API over pinned HTTPS.

use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::address::ServerAddress;
use super::tls::{SeenFingerprint, client_config};
use super::transport::{NotAServer, Transport};
use crate::link::ServerPath;
use crate::protocol::{ApiError, ErrorBody, ErrorCode, ServerInfo, paths};

/// Longest wait for the next bytes of an answer.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest HTTP/2 frame the server may send: what it reads a file in (128 KiB), so that a
/// 200 MB archive comes in 1,600 frames rather than 12,800 (each a wake-up, a buffer and a
/// write on both sides). TLS still cuts them into 16 KiB records.
const H2_MAX_FRAME: u32 = 128 * 1024;
/// Longest wait for `/api/v1/info`, asked before the server's identity is decided.
const INFO_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest `/api/v1/info` answer accepted.
const MAX_INFO: usize = 64 << 10;
/// Largest error body read.
const MAX_ERROR_BODY: usize = 64 << 10;
/// Largest JSON answer of the API read whole (session storage is capped well below it).
pub const MAX_JSON_ANSWER: usize = 8 << 20;

/// Why a request failed, in terms a user understands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Nothing answers at that address and port.
    #[error(
        "nothing answers at {address}: {cause} (is the server running, and is the port right?)"
    )]
    Unreachable {
        /// host:port.
        address: String,
        /// What the network said.
        cause: Transport,
    },
    /// The server's certificate is not the pinned one.
    #[error(
        "the server at {address} presented another identity than the one trusted before: expected {expected}, got {presented}"
    )]
    IdentityMismatch {
        /// host:port.
        address: String,
        /// The pinned fingerprint.
        expected: String,
        /// The fingerprint presented.
        presented: String,
    },
    /// Something answered, but not a Remote4D server.
    #[error("{address} answered, but it is not a Remote4D server ({cause})")]
    NotRemote4d {
        /// host:port.
        address: String,
        /// What was wrong.
        cause: NotAServer,
    },
    /// The server refused the request.
    #[error("{0}")]
    Api(ApiError),
    /// The connection broke during the request.
    #[error("the connection to {address} was lost: {cause}")]
    Lost {
        /// host:port.
        address: String,
        /// What the network said.
        cause: Transport,
    },
    /// TLS could not be set up.
    #[error("TLS setup failed: {0}")]
    Tls(#[from] rustls::Error),
    /// The HTTPS client could not be set up on this machine.
    #[error("the HTTPS client could not be set up")]
    Setup(#[source] reqwest::Error),
    /// The text given is not a server address.
    #[error("not a server address")]
    Address(#[from] crate::link::ServerPathError),
}

impl RequestError {
    /// The API error code, if the server answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api(e) => Some(e.code),
            _ => None,
        }
    }
}

/// An HTTPS client of one server, pinned to a fingerprint (or recording it when not pinned).
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    authority: String,
    seen: SeenFingerprint,
    /// The fingerprint the server must present, when pinned.
    pinned: Option<String>,
    token: Option<String>,
    /// The server's mirrors, in the order tried (see [`super::mirrors`]).
    mirrors: std::sync::Arc<Vec<super::mirrors::MirrorClient>>,
}

/// Longest wait for a mirror to accept a connection (then the next one, or the server).
const MIRROR_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a mirror's next bytes.
const MIRROR_READ_TIMEOUT: Duration = Duration::from_secs(30);

impl ApiClient {
    /// A client of the server at `address` (`host[:port]`, IPv6 in brackets), its host
    /// resolved when the first request is sent.
    ///
    /// # Errors
    /// [`RequestError::Address`] when the text is not an address, [`RequestError::Tls`] when
    /// TLS cannot be configured.
    pub fn new(address: &str, pinned: Option<&str>) -> Result<Self, RequestError> {
        Self::build(&ServerPath::parse(address)?, &[], pinned)
    }

    /// A client of the server at `address`, connecting to the socket addresses resolved there.
    ///
    /// # Errors
    /// [`RequestError::Tls`] when TLS cannot be configured.
    pub fn connect_to(address: &ServerAddress, pinned: Option<&str>) -> Result<Self, RequestError> {
        Self::build(address.path(), address.sockets(), pinned)
    }

    fn build(
        path: &ServerPath,
        sockets: &[SocketAddr],
        pinned: Option<&str>,
    ) -> Result<Self, RequestError> {
        let seen = SeenFingerprint::default();
        let config = client_config(pinned, &seen)?;
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .connect_timeout(Duration::from_secs(10))
            // A server that stops sending (event streams carry a heartbeat every 15 s) is a
            // lost connection, not a reason to wait for ever.
            .read_timeout(READ_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(60))
            .http2_max_frame_size(H2_MAX_FRAME)
            .dns_resolver(std::sync::Arc::new(super::transport::SystemResolver))
            .no_proxy();
        if !sockets.is_empty() {
            builder = builder.resolve_to_addrs(&path.host, sockets);
        }
        let http = builder.build().map_err(RequestError::Setup)?;
        let authority = path.authority();
        Ok(Self {
            http,
            base: format!("https://{authority}"),
            authority,
            seen,
            pinned: pinned.map(str::to_owned),
            token: None,
            mirrors: std::sync::Arc::default(),
        })
    }

    /// A client of `mirror`: this server's paths under the mirror's base URL, with this
    /// client's token (a cache in front of the server asks the server whether it may answer).
    /// The mirror's certificate must be this server's pinned one or one a certificate authority
    /// this machine trusts vouches for (its name): the token goes to no one else. What it
    /// serves is checked by the caller against the server's stamps.
    ///
    /// # Errors
    /// [`RequestError::Address`] for a URL that is not `https://host[:port][/prefix]`,
    /// [`RequestError::Tls`] / [`RequestError::Setup`] when the client cannot be made.
    pub(crate) fn mirror(&self, mirror: &crate::protocol::Mirror) -> Result<Self, RequestError> {
        let url = reqwest::Url::parse(mirror.base())
            .map_err(|_| RequestError::Address(crate::link::ServerPathError::BadHost))?;
        let host = url
            .host_str()
            .filter(|_| url.scheme() == "https")
            .ok_or(RequestError::Address(crate::link::ServerPathError::BadHost))?;
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        let seen = SeenFingerprint::default();
        let server = self.pinned.clone().or_else(|| self.seen.get());
        let config = client_config(server.as_deref(), &seen)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .connect_timeout(MIRROR_CONNECT_TIMEOUT)
            .read_timeout(MIRROR_READ_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(60))
            .http2_max_frame_size(H2_MAX_FRAME)
            .dns_resolver(std::sync::Arc::new(super::transport::SystemResolver))
            .no_proxy()
            .build()
            .map_err(RequestError::Setup)?;
        Ok(Self {
            http,
            base: mirror.base().to_owned(),
            authority,
            seen,
            pinned: None,
            token: self.token.clone(),
            mirrors: std::sync::Arc::default(),
        })
    }

    /// Tries the server's `mirrors` before it (ordered for this machine's networks, starting
    /// at a place chosen by `key`, e.g. a session id or token) for stamped archives, deltas and
    /// the client build it offers; every byte is still checked against what the server said.
    pub fn through_mirrors(mut self, mirrors: &[crate::protocol::Mirror], key: &str) -> Self {
        self.mirrors = std::sync::Arc::new(super::mirrors::clients(&self, mirrors, key));
        self
    }

    /// The mirrors tried before this server, in order.
    pub(crate) fn mirrors(&self) -> &[super::mirrors::MirrorClient] {
        &self.mirrors
    }

    /// Sends `Authorization: Bearer <token>` from now on (to its mirrors too).
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        let token = token.into();
        if !self.mirrors.is_empty() {
            let mirrors = self
                .mirrors
                .iter()
                .map(|m| super::mirrors::MirrorClient {
                    url: m.url.clone(),
                    api: m.api.clone().with_token(token.clone()),
                })
                .collect();
            self.mirrors = std::sync::Arc::new(mirrors);
        }
        self.token = Some(token);
        self
    }

    /// The bearer token sent, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The fingerprint the server presented (after a request).
    pub fn seen_fingerprint(&self) -> Option<String> {
        self.seen.get()
    }

    /// True when a certificate authority this machine trusts vouched for the server's
    /// certificate (after a request).
    pub fn verified_by_authority(&self) -> bool {
        self.seen.verified_by_authority()
    }

    /// `host:port`.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The underlying HTTP client and base URL, for streaming requests.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        r
    }

    /// Maps a transport error to plain words.
    pub fn transport_error(&self, e: &reqwest::Error) -> RequestError {
        let cause = Transport::of(e);
        if let Some(m) = self
            .seen
            .mismatch()
            .filter(|_| e.is_connect() || e.is_request())
        {
            RequestError::IdentityMismatch {
                address: self.authority.clone(),
                expected: m.expected,
                presented: m.presented,
            }
        } else if e.is_connect() || e.is_timeout() && !e.is_body() {
            if super::transport::speaks_no_tls(e) {
                RequestError::NotRemote4d {
                    address: self.authority.clone(),
                    cause: NotAServer::NoTls,
                }
            } else {
                RequestError::Unreachable {
                    address: self.authority.clone(),
                    cause,
                }
            }
        } else {
            RequestError::Lost {
                address: self.authority.clone(),
                cause,
            }
        }
    }

    /// Reads a whole answer of at most `limit` bytes: a server announcing or sending more is
    /// refused before it can make this client spend the memory.
    ///
    /// # Errors
    /// [`RequestError::NotRemote4d`] when the answer is larger; transport errors.
    pub async fn read_limited(
        &self,
        resp: reqwest::Response,
        limit: usize,
    ) -> Result<bytes::Bytes, RequestError> {
        let too_large = || RequestError::NotRemote4d {
            address: self.authority.clone(),
            cause: NotAServer::TooLarge { limit },
        };
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = resp.bytes_stream();
        let mut out = bytes::BytesMut::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.transport_error(&e))?;
            if out.len() + chunk.len() > limit {
                return Err(too_large());
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }

    /// Turns a non-success response into an error.
    pub async fn check(&self, resp: reqwest::Response) -> Result<reqwest::Response, RequestError> {
        if resp.status().is_success() || resp.status() == StatusCode::NOT_MODIFIED {
            return Ok(resp);
        }
        let status = resp.status();
        let body = self
            .read_limited(resp, MAX_ERROR_BODY)
            .await
            .unwrap_or_default();
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(b) => Err(RequestError::Api(b.error)),
            Err(_) => Err(RequestError::NotRemote4d {
                address: self.authority.clone(),
                cause: NotAServer::NoErrorBody {
                    status: status.as_u16(),
                },
            }),
        }
    }

    /// Sends a request and decodes the JSON answer.
    ///
    /// # Errors
    /// A [`RequestError`] for transport failures, API errors or unexpected answers.
    pub async fn json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, RequestError> {
        let mut r = self.request(method, path).timeout(Duration::from_secs(120));
        if let Some(b) = body {
            r = r.json(b);
        }
        let resp = r.send().await.map_err(|e| self.transport_error(&e))?;
        let resp = self.check(resp).await?;
        let bytes = self.read_limited(resp, MAX_JSON_ANSWER).await?;
        serde_json::from_slice(&bytes).map_err(|e| RequestError::NotRemote4d {
            address: self.authority.clone(),
            cause: NotAServer::Undecodable(e),
        })
    }

    /// Sends a request whose answer has no body of interest.
    ///
    /// # Errors
    /// As [`ApiClient::json`].
    pub async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<StatusCode, RequestError> {
        let mut r = self.request(method, path).timeout(Duration::from_secs(120));
        if let Some(b) = body {
            r = r.json(b);
        }
        let resp = r.send().await.map_err(|e| self.transport_error(&e))?;
        Ok(self.check(resp).await?.status())
    }

    /// `GET /api/v1/info`, checking that it is a Remote4D server.
    ///
    /// # Errors
    /// [`RequestError::NotRemote4d`] when something else answers.
    pub async fn info(&self) -> Result<ServerInfo, RequestError> {
        // Before its identity is decided, a server gets little: a small answer, soon.
        let resp = self
            .request(Method::GET, paths::INFO)
            .timeout(INFO_TIMEOUT)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let resp = self.check(resp).await?;
        let bytes = self.read_limited(resp, MAX_INFO).await?;
        let info: ServerInfo =
            serde_json::from_slice(&bytes).map_err(|e| RequestError::NotRemote4d {
                address: self.authority.clone(),
                cause: NotAServer::Undecodable(e),
            })?;
        if info.product != crate::protocol::PRODUCT {
            return Err(RequestError::NotRemote4d {
                address: self.authority.clone(),
                cause: NotAServer::OtherProduct {
                    product: info.product,
                },
            });
        }
        Ok(info)
    }
}
