//! Publishing a server.

use std::collections::HashMap;

use mdns_sd::{ServiceDaemon, ServiceInfo};

use super::{DiscoveryError, instance_label};
use crate::archive::Stamp;
use crate::protocol::{PROTOCOL_VERSION, SERVICE_TYPE, normalize_fingerprint};

/// What a server publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// Publication name (the instance name).
    pub name: String,
    /// TCP port of the HTTPS API.
    pub port: u16,
    /// The server's id.
    pub server_id: String,
    /// Its certificate fingerprint.
    pub fingerprint: String,
    /// The current project stamp.
    pub stamp: Stamp,
    /// Host name to announce (without `.local.`).
    pub host_name: String,
}

impl Publication {
    fn service_info(&self, label: &str) -> Result<ServiceInfo, DiscoveryError> {
        let mut txt: HashMap<String, String> = HashMap::new();
        txt.insert("id".into(), self.server_id.clone());
        txt.insert(
            "fp".into(),
            normalize_fingerprint(&self.fingerprint).to_lowercase(),
        );
        txt.insert("stamp".into(), self.stamp.to_string());
        txt.insert("pv".into(), PROTOCOL_VERSION.to_string());
        let mut name = self.name.clone();
        while name.len() > 200 {
            name.pop();
        }
        txt.insert("name".into(), name);
        let host = format!("{}.local.", sanitize_host(&self.host_name));
        let info =
            ServiceInfo::new(SERVICE_TYPE, label, &host, "", self.port, txt)?.enable_addr_auto();
        Ok(info)
    }
}

fn sanitize_host(h: &str) -> String {
    let s: String = h
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_owned();
    if s.is_empty() { "remote4d".into() } else { s }
}

/// A running publication; dropping it without [`Publisher::shutdown`] still stops the daemon.
pub struct Publisher {
    daemon: ServiceDaemon,
    publication: Publication,
    fullname: String,
    label: String,
}

/// How long to listen for instances already using our name before announcing.
const CONFLICT_CHECK: std::time::Duration = std::time::Duration::from_millis(1200);

/// Instance labels already announced by other servers (other ids) on the network.
fn labels_in_use(daemon: &ServiceDaemon, own_id: &str) -> Vec<String> {
    let Ok(rx) = daemon.browse(SERVICE_TYPE) else {
        return Vec::new();
    };
    let deadline = std::time::Instant::now() + CONFLICT_CHECK;
    let mut taken = Vec::new();
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(mdns_sd::ServiceEvent::ServiceResolved(s)) => {
                if s.txt_properties.get_property_val_str("id") != Some(own_id) {
                    let label = s
                        .fullname
                        .strip_suffix(&format!(".{SERVICE_TYPE}"))
                        .unwrap_or(&s.fullname);
                    taken.push(label.replace("\\.", "."));
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let _ = daemon.stop_browse(SERVICE_TYPE);
    taken
}

impl Publisher {
    /// Starts an mDNS daemon and registers the service.
    ///
    /// # Errors
    /// [`DiscoveryError::Mdns`] when the daemon cannot start or the record is invalid.
    pub fn start(publication: Publication) -> Result<Self, DiscoveryError> {
        let daemon = ServiceDaemon::new()?;
        // As DNS-SD probing does: another server already announcing this name gets to keep it,
        // this one becomes "Name (2)" (the full name still travels in the TXT record).
        let taken = labels_in_use(&daemon, &publication.server_id);
        let base = instance_label(&publication.name);
        let mut label = base.clone();
        let mut n = 2;
        while taken
            .iter()
            .any(|t| t == &label.replace('.', "\\.") || t == &label)
        {
            label = instance_label(&format!("{base} ({n})"));
            n += 1;
        }
        let info = publication.service_info(&label)?;
        let fullname = info.get_fullname().to_owned();
        daemon.register(info)?;
        tracing::info!(name = %publication.name, instance = %label, port = publication.port, "published on the network (mDNS)");
        Ok(Self {
            daemon,
            publication,
            fullname,
            label,
        })
    }

    /// Announces a new project stamp.
    ///
    /// # Errors
    /// [`DiscoveryError::Mdns`].
    pub fn update_stamp(&mut self, stamp: Stamp) -> Result<(), DiscoveryError> {
        self.publication.stamp = stamp;
        self.daemon
            .register(self.publication.service_info(&self.label)?)?;
        Ok(())
    }

    /// Sends goodbye packets and stops the daemon (waits up to a second for the goodbye).
    pub fn shutdown(self) {
        if let Ok(rx) = self.daemon.unregister(&self.fullname) {
            let _ = rx.recv_timeout(std::time::Duration::from_secs(1));
        }
        if let Ok(rx) = self.daemon.shutdown() {
            let _ = rx.recv_timeout(std::time::Duration::from_secs(1));
        }
        tracing::info!(name = %self.publication.name, "publication withdrawn (goodbye sent)");
    }
}
