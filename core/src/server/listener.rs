//! Accepting TLS connections and serving HTTP/1.1 and HTTP/2 on them.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_io_timeout::TimeoutStream;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::auth::Source;
use super::identity::Identity;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A client that does not read what the server sends for this long is disconnected. (There is
/// no read timeout on the socket: a client that only listens — an event stream over HTTP/1.1 —
/// sends nothing for as long as it is connected. Slow requests are bounded by
/// [`Timeouts::header`] for their headers and [`REQUEST_TIMEOUT`] for the rest.)
const STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a request may take to be answered (its body read, its handler run). The answer's
/// body (an archive, an event stream) may then take as long as it needs.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(180);
/// Timeouts of a connection (from the configuration's `[limits]`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Timeouts {
    /// How long the headers of a request may take to arrive (before the first request: how
    /// long a connection may stay silent).
    pub header: Duration,
    /// A connection with no byte either way for this long is closed.
    pub idle: Duration,
}

impl Timeouts {
    pub(super) fn of(config: &super::ServerConfig) -> Self {
        let header = Duration::from_secs(config.limits.request_header_secs.max(1));
        // At least three heartbeats of the event streams.
        let idle = config
            .limits
            .connection_idle_secs
            .max(config.heartbeat_secs.saturating_mul(3))
            .max(1);
        Self {
            header,
            idle: Duration::from_secs(idle),
        }
    }
}

/// Open connections, counted in all and per address (IPv6: per /64), so that one peer cannot
/// take every socket the server has.
pub(super) struct ConnectionLimits {
    max_total: usize,
    max_per_source: usize,
    open: Mutex<(usize, HashMap<Source, usize>)>,
}

/// One admitted connection; dropping it gives its place back.
pub(super) struct Admitted {
    limits: Arc<ConnectionLimits>,
    source: Source,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self
            .limits
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.source) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.source);
            }
        }
    }
}

impl ConnectionLimits {
    /// Limits from the configuration, within what the process may open (file descriptors).
    pub(super) fn new(limits: &super::config::Limits) -> Arc<Self> {
        let descriptors = crate::process::raise_open_files_limit()
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        // Keep some descriptors for files, builds, hooks and the watcher.
        let max_total = limits
            .max_connections
            .min(descriptors.saturating_sub(128))
            .max(16);
        if max_total < limits.max_connections {
            tracing::info!(
                max_total,
                descriptors,
                "connections limited by the open files limit (ulimit -n)"
            );
        }
        Arc::new(Self {
            max_total,
            max_per_source: limits.max_connections_per_address.max(1),
            open: Mutex::new((0, HashMap::new())),
        })
    }

    /// A place for a connection from `ip`, if one is left.
    pub(super) fn admit(self: &Arc<Self>, ip: std::net::IpAddr) -> Option<Admitted> {
        let source = Source::from(ip);
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mine = open.1.get(&source).copied().unwrap_or(0);
        if open.0 >= self.max_total || mine >= self.max_per_source {
            return None;
        }
        open.0 += 1;
        *open.1.entry(source).or_insert(0) += 1;
        Some(Admitted {
            limits: Arc::clone(self),
            source,
        })
    }
}

/// The rustls configuration: the identity, HTTP/2 and HTTP/1.1 by ALPN.
pub(super) fn tls_config(identity: &Identity) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `router` on `listener` until `stop` fires; then lets open connections finish.
pub(super) async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: axum::Router,
    limits: Arc<ConnectionLimits>,
    timeouts: Timeouts,
    monitor: Arc<super::monitor::Monitor>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(err) => {
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        // An IPv4 client of the dual-stack socket arrives as ::ffff:a.b.c.d: it is an IPv4 peer
        // for every rule (loopback, same machine, per-address limits and throttling, IP rules).
        let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
        let Some(admitted) = limits.admit(peer.ip()) else {
            tracing::debug!(%peer, "connection refused: too many open connections");
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let connection = serve_connection(
            super::monitor::Counted::new(tcp, Arc::clone(&monitor)),
            peer,
            acceptor.clone(),
            router.clone(),
            timeouts,
            graceful.watcher(),
        );
        tokio::spawn(async move {
            let _admitted = admitted;
            connection.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(5), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("some connections were still open at shutdown; closing them");
    }
}

/// One connection: the TLS handshake (in time), then HTTP/1.1 or HTTP/2 with the request,
/// header and idle timeouts, until it ends or the server stops (`watcher`).
async fn serve_connection(
    tcp: super::monitor::Counted<tokio::net::TcpStream>,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    router: axum::Router,
    timeouts: Timeouts,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let mut timed = TimeoutStream::new(tcp);
    timed.set_write_timeout(Some(STALL_TIMEOUT));
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(Box::pin(timed))).await
    {
        Ok(Ok(s)) => s,
        Ok(Err(err)) => {
            tracing::debug!(%peer, %err, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            return;
        }
    };
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            // A request with a body must arrive in time (a body sent a byte at a time
            // would hold the connection); others are answered at once anyway.
            let has_body = !hyper::body::Body::is_end_stream(req.body());
            let answer = router.clone().oneshot(req.map(axum::body::Body::new));
            async move {
                if !has_body {
                    return answer.await;
                }
                match tokio::time::timeout(REQUEST_TIMEOUT, answer).await {
                    Ok(result) => result,
                    Err(_) => {
                        tracing::debug!(%peer, "request timed out");
                        Ok(request_timed_out())
                    }
                }
            }
        });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header)
        .max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .max_concurrent_streams(64)
        .max_header_list_size(64 * 1024);
    // Above TLS: what counts is a request, not the handshake's bytes.
    let tls = super::idle::IdleTimeout::new(tls, timeouts.header, timeouts.idle);
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
    if let Err(err) = watcher.watch(conn.into_owned()).await {
        tracing::debug!(%peer, %err, "connection ended with an error");
    }
}

/// `408` with our error body: a request that took too long (a body sent too slowly).
fn request_timed_out() -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = super::api::fail(
        crate::protocol::ErrorCode::BadRequest,
        "the request took too long to arrive; send it again",
    )
    .into_response();
    *response.status_mut() = http::StatusCode::REQUEST_TIMEOUT;
    response
}

/// Resolves when `stop` turns true (or its sender is gone).
pub(super) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

/// Binds the listeners: the configured addresses, else `[::]` (dual stack), else `0.0.0.0`.
pub(super) async fn bind(
    addresses: &[std::net::IpAddr],
    port: u16,
) -> Result<Vec<TcpListener>, super::ServerError> {
    let bind_one = |addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|source| super::ServerError::Bind {
                address: addr.to_string(),
                source,
            })
    };
    if !addresses.is_empty() {
        let mut out = Vec::new();
        for ip in addresses {
            out.push(bind_one(SocketAddr::new(*ip, port)).await?);
        }
        return Ok(out);
    }
    // Every address of both families: one IPv6 socket that also takes IPv4 (said explicitly:
    // Windows and BSDs, and Linux with bindv6only=1, make an IPv6 socket IPv6-only by default);
    // where the system refuses that, one socket per family; without IPv6, IPv4 only.
    match dual_stack(port) {
        Ok(l) => Ok(vec![l]),
        Err(DualStack::NoIpv6) => Ok(vec![
            bind_one(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port)).await?,
        ]),
        Err(DualStack::Refused) => {
            let v6 = bind_one(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port)).await?;
            let v4 = bind_one(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port)).await?;
            Ok(vec![v6, v4])
        }
        Err(DualStack::Bind(source)) => Err(super::ServerError::Bind {
            address: SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port).to_string(),
            source,
        }),
    }
}

/// Why no dual-stack socket.
enum DualStack {
    /// The system has no IPv6.
    NoIpv6,
    /// IPv6 sockets cannot take IPv4 here.
    Refused,
    /// The port could not be bound (in use, not allowed).
    Bind(std::io::Error),
}

/// `[::]:port`, taking IPv4 connections too.
fn dual_stack(port: u16) -> Result<TcpListener, DualStack> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP))
        .map_err(|_| DualStack::NoIpv6)?;
    socket.set_only_v6(false).map_err(|_| DualStack::Refused)?;
    // As std and tokio do on Unix: a restarted server can bind again at once.
    #[cfg(unix)]
    socket.set_reuse_address(true).map_err(DualStack::Bind)?;
    let address = SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port);
    match socket.bind(&address.into()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {
            return Err(DualStack::NoIpv6);
        }
        Err(e) => return Err(DualStack::Bind(e)),
    }
    socket.listen(1024).map_err(DualStack::Bind)?;
    socket.set_nonblocking(true).map_err(DualStack::Bind)?;
    TcpListener::from_std(socket.into()).map_err(DualStack::Bind)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connects to `addr` and says whether the listener took the connection.
    async fn reaches(listener: &TcpListener, addr: SocketAddr) -> bool {
        let connect = tokio::net::TcpStream::connect(addr);
        let accept = listener.accept();
        matches!(
            tokio::time::timeout(Duration::from_secs(5), async {
                tokio::join!(connect, accept)
            })
            .await,
            Ok((Ok(_), Ok(_)))
        )
    }

    #[tokio::test]
    async fn the_default_listener_takes_ipv4_and_ipv6_clients() {
        let listeners = bind(&[], 0).await.unwrap();
        let port = listeners[0].local_addr().unwrap().port();
        // One dual-stack socket, or one per family where the system refuses dual stack.
        let for_family = |v4: bool| {
            listeners
                .iter()
                .find(|l| listeners.len() == 1 || l.local_addr().unwrap().is_ipv4() == v4)
                .unwrap()
        };
        let ipv4 = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port);
        assert!(
            reaches(for_family(true), ipv4).await,
            "an IPv4 client reaches the server"
        );
        if std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok() {
            let ipv6 = SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port);
            assert!(
                reaches(for_family(false), ipv6).await,
                "an IPv6 client reaches it too"
            );
        } else {
            eprintln!("skipped the IPv6 client: no IPv6 loopback here");
        }
    }
}
