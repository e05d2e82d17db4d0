//! Browsing for servers.

use std::collections::HashMap;
use std::net::IpAddr;

use futures::Stream;
use mdns_sd::{ServiceDaemon, ServiceEvent};
use serde::{Deserialize, Serialize};

use super::DiscoveryError;
use crate::archive::Stamp;
use crate::link::ServerPath;
use crate::protocol::Fingerprint;
use crate::protocol::SERVICE_TYPE;

/// A server found on the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveredServer {
    /// DNS-SD full name (unique key).
    pub fullname: String,
    /// Publication name.
    pub publication_name: String,
    /// Host name it announces.
    pub host: String,
    /// Its addresses, IPv4 first.
    pub addresses: Vec<IpAddr>,
    /// Port.
    pub port: u16,
    /// Server id.
    pub server_id: Option<String>,
    /// The certificate fingerprint it announces (a hint: never a reason to trust); none when
    /// absent or not a fingerprint.
    pub fingerprint: Option<Fingerprint>,
    /// Project stamp.
    pub stamp: Option<Stamp>,
    /// Protocol version.
    pub protocol_version: Option<u32>,
}

impl DiscoveredServer {
    /// The address to connect to: IPv4 first, then routable IPv6; an IPv6 link-local address
    /// (unusable without its interface) only when there is nothing else.
    pub fn address(&self) -> Option<ServerPath> {
        let link_local =
            |a: &IpAddr| matches!(a, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80);
        let best = self
            .addresses
            .iter()
            .find(|a| a.is_ipv4())
            .or_else(|| self.addresses.iter().find(|a| !link_local(a)))
            .or_else(|| self.addresses.first());
        best.map(|a| ServerPath::new(a.to_string(), Some(self.port)))
    }

    /// [`DiscoveredServer::address`] as `host:port` (IPv6 in brackets), for display.
    pub fn authority(&self) -> Option<String> {
        self.address().map(|a| a.authority())
    }
}

/// A change in the list of servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DiscoveryEvent {
    /// A new server appeared.
    Added(DiscoveredServer),
    /// A known server changed (new stamp, new address).
    Updated(DiscoveredServer),
    /// A server left (goodbye) or expired.
    Removed {
        /// Its full name.
        fullname: String,
    },
}

/// Stops browsing when dropped.
pub struct BrowseHandle {
    daemon: ServiceDaemon,
}

impl Drop for BrowseHandle {
    fn drop(&mut self) {
        let _ = self.daemon.stop_browse(SERVICE_TYPE);
        let _ = self.daemon.shutdown();
    }
}

/// Starts browsing. Servers are reported in order of appearance; updates and removals follow.
///
/// # Errors
/// [`DiscoveryError::Mdns`] when the mDNS daemon cannot start.
pub fn browse() -> Result<
    (
        BrowseHandle,
        impl Stream<Item = DiscoveryEvent> + Send + Unpin + 'static,
    ),
    DiscoveryError,
> {
    let daemon = ServiceDaemon::new()?;
    let rx = daemon.browse(SERVICE_TYPE)?;
    let known: HashMap<String, DiscoveredServer> = HashMap::new();
    let stream = futures::stream::unfold((rx, known), |(rx, mut known)| async move {
        loop {
            let event = rx.recv_async().await.ok()?;
            match event {
                ServiceEvent::ServiceResolved(s) => {
                    let mut addresses: Vec<IpAddr> =
                        s.addresses.iter().map(|a| a.to_ip_addr()).collect();
                    addresses.sort_by_key(|a| (a.is_ipv6(), *a));
                    let txt = |k: &str| s.txt_properties.get_property_val_str(k).map(str::to_owned);
                    let server = DiscoveredServer {
                        publication_name: txt("name").unwrap_or_else(|| instance_of(&s.fullname)),
                        fullname: s.fullname.clone(),
                        host: s.host.clone(),
                        addresses,
                        port: s.port,
                        server_id: txt("id"),
                        fingerprint: txt("fp").and_then(|f| f.parse().ok()),
                        stamp: txt("stamp").and_then(|v| v.parse().ok()),
                        protocol_version: txt("pv").and_then(|v| v.parse().ok()),
                    };
                    let event = match known.insert(server.fullname.clone(), server.clone()) {
                        None => DiscoveryEvent::Added(server),
                        Some(old) if old == server => continue,
                        Some(_) => DiscoveryEvent::Updated(server),
                    };
                    return Some((event, (rx, known)));
                }
                ServiceEvent::ServiceRemoved(_, fullname) if known.remove(&fullname).is_some() => {
                    return Some((DiscoveryEvent::Removed { fullname }, (rx, known)));
                }
                _ => {}
            }
        }
    });
    Ok((BrowseHandle { daemon }, Box::pin(stream)))
}

/// The instance part of a full name, unescaped.
fn instance_of(fullname: &str) -> String {
    let inst = fullname
        .strip_suffix(&format!(".{SERVICE_TYPE}"))
        .unwrap_or(fullname);
    inst.replace("\\.", ".").replace("\\\\", "\\")
}
