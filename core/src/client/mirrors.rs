//! The server's mirrors, as a client uses them: ordered (the mirrors of this machine's networks
//! first, then the others, each client starting at another one so that the load spreads), tried
//! before the server for stamped archives and deltas, each answer checked against the stamp the
//! pinned server gave. A mirror that is down, slow or serves other bytes is skipped and reported
//! ([`super::Progress::MirrorSkipped`]); the server is always the last resort.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use super::Progress;
use super::api::ApiClient;
use crate::protocol::Mirror;

/// Where an attempt is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// One of the server's mirrors: tried once, the next source is there.
    Mirror,
    /// The server itself, the last resort.
    Server,
}

/// What a mirror's error means for the sources after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AfterError {
    /// That mirror is skipped (reported); the next one, or the server, is tried.
    Skip,
    /// The mirrors' turn is over (the server's own answer, relayed): the server is asked.
    Server,
    /// Nothing else is tried: the error is not the source's (a local write error).
    Stop,
}

impl AfterError {
    /// After a mirror's error in a download: a local write error stops it all, any other
    /// skips that mirror.
    pub(super) fn of_download(e: &super::ConnectError) -> Self {
        match e {
            super::ConnectError::Io { .. } => Self::Stop,
            _ => Self::Skip,
        }
    }
}

/// `attempt` on each mirror of `api` in turn, then on the server: the first success, else the
/// server's answer. After a mirror's error, `after` says whether to skip that mirror (reported),
/// go to the server, or stop there.
///
/// # Errors
/// The server's error when neither a mirror nor the server succeeded; a mirror's error that
/// stops it all.
pub(super) async fn then_server<'a, T, E, Fut>(
    api: &'a ApiClient,
    progress: &(dyn Fn(Progress) + Send + Sync),
    after: impl Fn(&E) -> AfterError,
    attempt: impl Fn(&'a ApiClient, Source) -> Fut,
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    for mirror in api.mirrors() {
        progress(Progress::FromMirror {
            url: mirror.url.clone(),
        });
        match attempt(&mirror.api, Source::Mirror).await {
            Ok(v) => return Ok(v),
            Err(e) => match after(&e) {
                AfterError::Skip => skipped(&mirror.url, &e, progress),
                AfterError::Server => break,
                AfterError::Stop => return Err(e),
            },
        }
    }
    attempt(api, Source::Server).await
}

/// Reports a mirror that failed; the next one, or the server, is tried.
fn skipped(url: &str, reason: &dyn std::fmt::Display, progress: &(dyn Fn(Progress) + Send + Sync)) {
    tracing::warn!(%url, %reason, "mirror skipped");
    progress(Progress::MirrorSkipped {
        url: url.to_owned(),
        reason: reason.to_string(),
    });
}

/// A client of one mirror.
#[derive(Debug, Clone)]
pub(crate) struct MirrorClient {
    /// Its base URL, as the server named it (for reports).
    pub url: String,
    /// The client: the server's paths under that URL.
    pub api: ApiClient,
}

/// The order this client tries `mirrors` in: those whose subnets hold one of `addresses`
/// first, then the others; within each group, starting at a place chosen by `key` (a
/// session id), so that many clients spread over the mirrors.
pub(crate) fn order<'a>(mirrors: &'a [Mirror], addresses: &[IpAddr], key: &str) -> Vec<&'a Mirror> {
    let (mut near, mut far): (Vec<&Mirror>, Vec<&Mirror>) =
        mirrors.iter().partition(|m| m.prefers(addresses));
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    let start = h.finish();
    for group in [&mut near, &mut far] {
        if !group.is_empty() {
            let n = (start % group.len() as u64) as usize;
            group.rotate_left(n);
        }
    }
    near.into_iter().chain(far).collect()
}

/// The addresses of this machine's interfaces (for the subnet preference).
pub(crate) fn local_addresses() -> Vec<IpAddr> {
    if_addrs::get_if_addrs()
        .map(|list| list.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default()
}

/// Clients of `mirrors`, in the order tried, for the server `origin` (its pinned identity and
/// token). A mirror that cannot be set up is skipped and logged.
pub(crate) fn clients(origin: &ApiClient, mirrors: &[Mirror], key: &str) -> Vec<MirrorClient> {
    if mirrors.is_empty() {
        return Vec::new();
    }
    order(mirrors, &local_addresses(), key)
        .into_iter()
        .filter_map(|m| match origin.mirror(m) {
            Ok(api) => Some(MirrorClient {
                url: m.url.clone(),
                api,
            }),
            Err(err) => {
                tracing::warn!(url = %m.url, %err, "mirror not used");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn m(url: &str, subnets: &[&str]) -> Mirror {
        Mirror {
            url: url.into(),
            subnets: subnets.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn the_mirrors_of_this_network_come_first_and_clients_spread_over_the_others() {
        let list = [
            m("https://a", &[]),
            m("https://site", &["10.2.0.0/16"]),
            m("https://b", &[]),
        ];
        let here = ["10.2.3.4".parse().unwrap()];
        let (mut seconds, mut firsts_elsewhere) = (BTreeSet::new(), BTreeSet::new());
        for i in 0..64 {
            let key = format!("session-{i}");
            let o = order(&list, &here, &key);
            assert_eq!(o.len(), 3);
            assert_eq!(o[0].url, "https://site", "the site's mirror first");
            seconds.insert(o[1].url.clone());
            // Elsewhere, no mirror is nearer: clients start anywhere.
            let o = order(&list, &["192.168.1.9".parse().unwrap()], &key);
            firsts_elsewhere.insert(o[0].url.clone());
            // The same client, the same order.
            assert_eq!(order(&list, &[], &key)[0].url, o[0].url);
        }
        assert_eq!(seconds.len(), 2, "both a and b come next for some clients");
        assert_eq!(firsts_elsewhere.len(), 3, "{firsts_elsewhere:?}");
    }
}
