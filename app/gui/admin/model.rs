//! What the server window knows of the server: the last reading, and what it keeps across
//! readings — the traffic and CPU history for the graph, the activity and log seen so far.

use std::collections::VecDeque;
use std::time::Instant;

use remote4d_core::protocol::paths::{
    ActivityEntry, AdminSession, AdminStatus, BuildRecord, LogLine,
};

use super::data::Snapshot;

/// Samples kept for the graph (one a second: a minute).
pub const SAMPLES: usize = 60;
/// Activity events kept in the window.
const ACTIVITY_KEPT: usize = 1000;
/// Log lines kept in the window.
const LOG_KEPT: usize = 2000;

/// One second of the graph.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// Bytes per second received.
    pub bytes_in: f64,
    /// Bytes per second sent.
    pub bytes_out: f64,
}

/// The server as last read.
#[derive(Debug, Default)]
pub struct Model {
    /// Its status.
    pub status: Option<AdminStatus>,
    /// Its sessions (client sessions only).
    pub sessions: Vec<AdminSession>,
    /// Activity seen, oldest first.
    pub activity: VecDeque<ActivityEntry>,
    /// Log lines seen, oldest first.
    pub log: VecDeque<LogLine>,
    /// Builds kept, newest first.
    pub builds: Vec<BuildRecord>,
    /// Traffic, oldest first.
    pub traffic: VecDeque<Sample>,
    /// CPU use of the server process over the last interval, in percent of one core.
    pub cpu_percent: Option<f64>,
    previous: Option<(Instant, AdminStatus)>,
}

impl Model {
    /// Takes a new reading in.
    pub fn apply(&mut self, s: Snapshot) {
        // A restarted server numbers its activity from 1 again: read it all anew next time.
        if self
            .previous
            .as_ref()
            .is_some_and(|(_, before)| s.status.uptime_secs < before.uptime_secs)
        {
            self.activity.clear();
            self.previous = None;
        }
        if let Some((at, before)) = self.previous.take() {
            let secs = s.at.duration_since(at).as_secs_f64();
            if secs > 0.0 {
                let rate = |now: u64, then: u64| now.saturating_sub(then) as f64 / secs;
                self.push(Sample {
                    bytes_in: rate(s.status.bytes_in, before.bytes_in),
                    bytes_out: rate(s.status.bytes_out, before.bytes_out),
                });
                self.cpu_percent = match (s.status.cpu_ms, before.cpu_ms) {
                    (Some(now), Some(then)) => {
                        Some(now.saturating_sub(then) as f64 / (secs * 1000.0) * 100.0)
                    }
                    _ => None,
                };
            }
        }
        self.previous = Some((s.at, s.status.clone()));
        self.status = Some(s.status);
        self.sessions = s
            .sessions
            .into_iter()
            .filter(|x| x.info.kind != "storedProcedure")
            .collect();
        keep(&mut self.activity, s.activity, ACTIVITY_KEPT);
        keep(&mut self.log, s.log, LOG_KEPT);
        self.builds = s.builds;
    }

    fn push(&mut self, sample: Sample) {
        if self.traffic.len() == SAMPLES {
            self.traffic.pop_front();
        }
        self.traffic.push_back(sample);
    }

    /// The number of the last activity event seen.
    pub fn activity_seq(&self) -> u64 {
        self.activity.back().map_or(0, |e| e.seq)
    }

    /// The number of the last log line seen.
    pub fn log_seq(&self) -> u64 {
        self.log.back().map_or(0, |l| l.seq)
    }
}

fn keep<T>(list: &mut VecDeque<T>, new: Vec<T>, kept: usize) {
    list.extend(new);
    while list.len() > kept {
        list.pop_front();
    }
}
