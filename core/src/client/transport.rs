//! Why a request got no usable answer, as data: what the network said ([`Transport`]) and why
//! something that answered is not a Remote4D server ([`NotAServer`]). Each is recognised by the
//! type of the error behind it (an I/O error's kind, rustls's `InvalidMessage`, the client's own
//! resolver error), never by its text; each displays in plain words.

use std::net::SocketAddr;

/// What the network said when a request got no answer, or lost it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Transport {
    /// The request timed out.
    #[error("no answer in time (the server may be down, or a firewall drops the connection)")]
    NoAnswer,
    /// Nothing listens on the port.
    #[error("nothing is listening on that port")]
    NothingListening,
    /// The connection was reset or cut.
    #[error("the connection was cut")]
    Cut,
    /// Connecting timed out.
    #[error("no answer in time (a firewall may drop the connection)")]
    ConnectTimedOut,
    /// No route to the address.
    #[error("no route to that address (check the network)")]
    NoRoute,
    /// The address cannot be used from this machine.
    #[error("that address is not available from this machine")]
    AddressNotAvailable,
    /// The host name resolves to no address.
    #[error("the server's name could not be found (check its spelling, or use its IP address)")]
    NameNotFound,
    /// The address has no host (a server to be found by its name).
    #[error("no host given")]
    NoHost,
    /// Anything else, in the words of the layer that failed.
    #[error("{0}")]
    Other(String),
}

impl Transport {
    /// The cause of a transport error.
    pub(crate) fn of(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            return Self::NoAnswer;
        }
        let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
        while let Some(inner) = src {
            if inner.downcast_ref::<NameNotFound>().is_some() {
                return Self::NameNotFound;
            }
            if let Some(io) = inner.downcast_ref::<std::io::Error>() {
                use std::io::ErrorKind::*;
                return match io.kind() {
                    ConnectionRefused => Self::NothingListening,
                    ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => Self::Cut,
                    TimedOut => Self::ConnectTimedOut,
                    HostUnreachable | NetworkUnreachable => Self::NoRoute,
                    AddrNotAvailable => Self::AddressNotAvailable,
                    _ => Self::Other(io.to_string()),
                };
            }
            src = inner.source();
        }
        Self::Other(describe(e))
    }
}

/// Why something that answered is not (or does not behave as) a Remote4D server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotAServer {
    /// It answered the TLS handshake with something else.
    #[error("it does not speak TLS")]
    NoTls,
    /// Its answer is larger than the client accepts for that request.
    #[error("its answer is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// An error status without the API's error body.
    #[error("HTTP {status} without a Remote4D error body")]
    NoErrorBody {
        /// The HTTP status.
        status: u16,
    },
    /// An answer that does not decode as the API's.
    #[error("unexpected answer: {0}")]
    Undecodable(#[source] serde_json::Error),
    /// It says it is another product.
    #[error("it calls itself {product:?}")]
    OtherProduct {
        /// The product it names.
        product: String,
    },
}

/// `e` and its causes, joined (the last resort of [`Transport::Other`]).
fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// A host name that resolves to no address (recognised by its type in a transport error).
#[derive(Debug, thiserror::Error)]
#[error("the name {0} has no address")]
struct NameNotFound(String);

/// The system's resolver, failing with [`NameNotFound`].
pub(crate) struct SystemResolver;

impl reqwest::dns::Resolve for SystemResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map(Iterator::collect)
                .unwrap_or_default();
            if found.is_empty() {
                Err(Box::new(NameNotFound(host)) as Box<dyn std::error::Error + Send + Sync>)
            } else {
                Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
            }
        })
    }
}

/// True when the peer answered the TLS handshake with something that is not TLS (rustls's
/// `InvalidMessage`, found by type in the error's causes, through the I/O errors that carry it).
pub(crate) fn speaks_no_tls(e: &reqwest::Error) -> bool {
    fn rustls_in<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let carried = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        carried.or_else(|| e.source()).and_then(rustls_in)
    }
    std::error::Error::source(e)
        .and_then(rustls_in)
        .is_some_and(|tls| matches!(tls, rustls::Error::InvalidMessage(_)))
}
