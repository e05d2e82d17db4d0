//! The server's activity, as its administrator watches it (4D Server's Activity page): the last
//! events — sessions opened and ended, logins refused, reloads, administration — numbered, so
//! that a watcher asks only for what is new. The same numbered ring keeps the server's log.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::protocol::paths::{ActivityEntry, ActivityKind};

/// How many events are kept.
const KEPT: usize = 1000;

/// The last `kept` items, numbered from 1 in the order they came.
#[derive(Debug)]
pub(crate) struct Ring<T> {
    kept: usize,
    inner: Mutex<(u64, VecDeque<(u64, T)>)>,
}

impl<T: Clone> Ring<T> {
    /// A ring of `kept` items.
    pub(crate) const fn new(kept: usize) -> Self {
        Self {
            kept,
            inner: Mutex::new((0, VecDeque::new())),
        }
    }

    /// Adds the item `make` builds from its number.
    pub(crate) fn push(&self, make: impl FnOnce(u64) -> T) {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.0 += 1;
        let seq = inner.0;
        if inner.1.len() >= self.kept {
            inner.1.pop_front();
        }
        inner.1.push_back((seq, make(seq)));
    }

    /// The items after number `after` (0: all kept), oldest first.
    pub(crate) fn since(&self, after: u64) -> Vec<T> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            .iter()
            .filter(|(seq, _)| *seq > after)
            .map(|(_, item)| item.clone())
            .collect()
    }
}

/// The last [`KEPT`] events.
#[derive(Debug)]
pub(crate) struct Activity(Ring<ActivityEntry>);

impl Default for Activity {
    fn default() -> Self {
        Self(Ring::new(KEPT))
    }
}

impl Activity {
    /// Records an event.
    pub(crate) fn record(&self, kind: ActivityKind, text: impl Into<String>) {
        let text = text.into();
        self.0.push(|seq| ActivityEntry {
            seq,
            at_ms: crate::time::now_ms(),
            kind,
            text,
        });
    }

    /// The events after number `after` (0: all kept), oldest first.
    pub(crate) fn since(&self, after: u64) -> Vec<ActivityEntry> {
        self.0.since(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_events_numbered() {
        let a = Activity::default();
        for i in 0..(KEPT + 5) {
            a.record(ActivityKind::Session, format!("event {i}"));
        }
        let all = a.since(0);
        assert_eq!(all.len(), KEPT);
        assert_eq!(all[0].seq, 6, "the oldest went");
        assert_eq!(all.last().unwrap().text, format!("event {}", KEPT + 4));
        let new = a.since(all.last().unwrap().seq - 2);
        assert_eq!(new.len(), 2);
        assert!(a.since(u64::MAX).is_empty());
    }
}
