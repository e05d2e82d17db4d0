//! The server's address, typed from the user's input to the socket: the [`ServerPath`] typed or
//! found (a shortcut's `server_path`, the Custom tab, discovery), resolved once. The HTTPS
//! client connects to exactly the addresses resolved here, and "is this the server's own
//! machine?" is answered from them: nothing resolves the name a second time.

use std::net::{IpAddr, SocketAddr};

use super::api::RequestError;
use super::transport::Transport;
use crate::link::ServerPath;

/// A server address with a host, and the socket addresses its host resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddress {
    path: ServerPath,
    sockets: Vec<SocketAddr>,
}

impl ServerAddress {
    /// Resolves `path`'s host (once).
    ///
    /// # Errors
    /// [`RequestError::Unreachable`] when the host has no address (a misspelt name, no DNS).
    pub async fn resolve(path: ServerPath) -> Result<Self, RequestError> {
        let unreachable = |cause| RequestError::Unreachable {
            address: path.authority(),
            cause,
        };
        if path.find_by_name() {
            return Err(unreachable(Transport::NoHost));
        }
        let sockets: Vec<SocketAddr> = match path.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, path.port())],
            Err(_) => tokio::net::lookup_host((path.host.as_str(), path.port()))
                .await
                .map(Iterator::collect)
                .unwrap_or_default(),
        };
        if sockets.is_empty() {
            return Err(unreachable(Transport::NameNotFound));
        }
        Ok(Self { path, sockets })
    }

    /// The address as typed or found.
    pub fn path(&self) -> &ServerPath {
        &self.path
    }

    /// `host:port` (IPv6 in brackets).
    pub fn authority(&self) -> String {
        self.path.authority()
    }

    /// The socket addresses the host resolved to.
    pub fn sockets(&self) -> &[SocketAddr] {
        &self.sockets
    }

    /// True when the server is this machine: a loopback address or one of this machine's
    /// interface addresses.
    pub fn is_this_machine(&self) -> bool {
        let local: Vec<IpAddr> = if_addrs::get_if_addrs()
            .map(|l| l.into_iter().map(|i| i.ip()).collect())
            .unwrap_or_default();
        self.sockets
            .iter()
            .map(SocketAddr::ip)
            .any(|ip| ip.is_loopback() || local.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literals_resolve_to_themselves_and_loopback_is_this_machine() {
        let a = ServerAddress::resolve(ServerPath::parse("127.0.0.1:4000").unwrap())
            .await
            .unwrap();
        assert_eq!(a.sockets(), ["127.0.0.1:4000".parse().unwrap()]);
        assert!(a.is_this_machine());
        let v6 = ServerAddress::resolve(ServerPath::parse("[fd00::77]:4000").unwrap())
            .await
            .unwrap();
        assert_eq!(v6.authority(), "[fd00::77]:4000");
        assert!(!v6.is_this_machine());
        let err = ServerAddress::resolve(ServerPath::parse(":4000").unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, RequestError::Unreachable { .. }), "{err}");
        // A name (from /etc/hosts: no query leaves the machine) resolves once, to its sockets.
        let named = ServerAddress::resolve(ServerPath::parse("localhost:4000").unwrap())
            .await
            .unwrap();
        assert!(!named.sockets().is_empty() && named.sockets().iter().all(|s| s.port() == 4000));
        assert!(named.is_this_machine());
    }
}
