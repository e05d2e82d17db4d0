//! The server's activity, as its administrator watches it (4D Server's Activity page): the last
//! events — sessions opened and ended, logins refused, reloads, administration — numbered, so
//! that a watcher asks only for what is new.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::protocol::paths::{ActivityEntry, ActivityKind};

/// How many events are kept.
const KEPT: usize = 1000;

/// The last [`KEPT`] events.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next: u64,
    entries: VecDeque<ActivityEntry>,
}

impl Activity {
    /// Records an event.
    pub(crate) fn record(&self, kind: ActivityKind, text: impl Into<String>) {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.next += 1;
        let entry = ActivityEntry {
            seq: inner.next,
            at_ms: crate::time::now_ms(),
            kind,
            text: text.into(),
        };
        if inner.entries.len() == KEPT {
            inner.entries.pop_front();
        }
        inner.entries.push_back(entry);
    }

    /// The events after number `after` (0: all kept), oldest first.
    pub(crate) fn since(&self, after: u64) -> Vec<ActivityEntry> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entries
            .iter()
            .filter(|e| e.seq > after)
            .cloned()
            .collect()
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
