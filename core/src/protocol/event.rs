//! A session's events and their server-sent-events encoding.

use serde::{Deserialize, Serialize};

use crate::archive::Stamp;

/// Something the server tells a connected client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum SessionEvent {
    /// A new archive is ready; the client keeps its version until it reconnects.
    ProjectUpdated {
        /// The new stamp.
        stamp: Stamp,
        /// The new archive's size.
        archive_size: u64,
    },
    /// The project's `Resources/` folder changed (`None`: the project has none any more); the
    /// client may copy it again now (4D's "Update Resources folder during a session").
    ResourcesUpdated {
        /// The stamp of its new archive.
        stamp: Option<Stamp>,
    },
    /// The project's `Components/`, `Plugins/` or `Libraries/` folder changed (`None`: the
    /// project has none any more); a client gets the new copy when it connects again.
    FolderUpdated {
        /// Which folder.
        folder: super::Related,
        /// The stamp of its new archive.
        stamp: Option<Stamp>,
    },
    /// A message from the administrator.
    Message {
        /// The text.
        text: String,
    },
    /// The server will stop.
    Shutdown {
        /// Seconds left.
        in_seconds: u64,
        /// Why, if given.
        message: Option<String>,
    },
    /// The session was ended by the server.
    Dropped {
        /// Why.
        reason: String,
    },
    /// The session storage changed.
    StorageChanged {
        /// The whole storage.
        storage: serde_json::Value,
    },
    /// Nothing happened; the connection is alive.
    Heartbeat,
}

impl SessionEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ProjectUpdated { .. } => "project-updated",
            Self::ResourcesUpdated { .. } => "resources-updated",
            Self::FolderUpdated { .. } => "folder-updated",
            Self::Message { .. } => "message",
            Self::Shutdown { .. } => "shutdown",
            Self::Dropped { .. } => "dropped",
            Self::StorageChanged { .. } => "storage-changed",
            Self::Heartbeat => "heartbeat",
        }
    }
}

/// One event as SSE text: `event: NAME\ndata: JSON\n\n`.
pub fn encode_sse(event: &SessionEvent) -> String {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    format!("event: {}\ndata: {data}\n\n", event.name())
}

/// Decodes an SSE byte stream into events (tolerant of chunk boundaries and comments).
#[derive(Debug, Default)]
pub struct SseDecoder {
    buffer: String,
}

/// Longest SSE message accepted, so a hostile server cannot grow the buffer without end.
const MAX_MESSAGE: usize = 1 << 20;

impl SseDecoder {
    /// Feeds bytes; returns the events completed by them. Unknown or malformed events are skipped.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SessionEvent> {
        self.buffer.push_str(&String::from_utf8_lossy(chunk));
        if self.buffer.contains('\r') {
            self.buffer = self.buffer.replace("\r\n", "\n");
        }
        let mut out = Vec::new();
        while let Some(end) = self.buffer.find("\n\n") {
            let message: String = self.buffer.drain(..end + 2).collect();
            let data: Vec<&str> = message
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            if data.is_empty() {
                continue;
            }
            if let Ok(event) = serde_json::from_str::<SessionEvent>(&data.join("\n")) {
                out.push(event);
            }
        }
        if self.buffer.len() > MAX_MESSAGE {
            self.buffer.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_round_trip_across_chunks() {
        let events = vec![
            SessionEvent::ProjectUpdated {
                stamp: Stamp::of_bytes(b"x"),
                archive_size: 10,
            },
            SessionEvent::Message {
                text: "hello\nworld".into(),
            },
            SessionEvent::Heartbeat,
            SessionEvent::Shutdown {
                in_seconds: 30,
                message: None,
            },
        ];
        let text: String = events.iter().map(encode_sse).collect::<String>() + ": comment\n\n";
        assert!(text.starts_with("event: project-updated\ndata: {\"type\":\"project-updated\""));
        let mut d = SseDecoder::default();
        let mut got = Vec::new();
        for chunk in text.as_bytes().chunks(7) {
            got.extend(d.push(chunk));
        }
        assert_eq!(got, events);
        assert!(d.push(b"data: not json\n\n").is_empty());
    }
}
