//! What the server tests share: a client's opening request, opening a session, reading an API
//! error, following a session's events, hook scripts; and the imports the tests use (a
//! prelude: `use crate::support::*`).

pub(crate) use std::time::Duration;

pub(crate) use crate::common::*;
pub(crate) use futures::StreamExt;
pub(crate) use remote4d_core::archive::{self, Limits, Stamp};
pub(crate) use remote4d_core::protocol::{
    ChallengeAnswer, ErrorCode, Manifest, OpenSession, OpenSessionResponse, ReloadResult,
    SessionEvent, SessionOpened, SseDecoder,
};
pub(crate) use reqwest::{Method, StatusCode, header};
pub(crate) use serde_json::json;

pub(crate) fn hello() -> OpenSession {
    OpenSession {
        machine_name: "test-machine".into(),
        system_user_name: "tester".into(),
        client_id: "client-1".into(),
        client_version: "test".into(),
        ..OpenSession::default()
    }
}

pub(crate) async fn open(
    client: &remote4d_core::client::ApiClient,
    req: &OpenSession,
) -> SessionOpened {
    match client
        .json(Method::POST, "/api/v1/sessions", Some(req))
        .await
        .unwrap()
    {
        OpenSessionResponse::Opened(o) => o,
        other => panic!("expected an open session, got {other:?}"),
    }
}

pub(crate) async fn api_error(
    client: &remote4d_core::client::ApiClient,
    req: &OpenSession,
) -> ErrorCode {
    client
        .json::<_, OpenSessionResponse>(Method::POST, "/api/v1/sessions", Some(req))
        .await
        .unwrap_err()
        .code()
        .expect("an API error")
}

#[cfg(unix)]
pub(crate) fn script(dir: &std::path::Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path.display().to_string()
}

/// A session's event stream, read event by event (heartbeats skipped).
pub(crate) struct Events {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    decoder: SseDecoder,
    pending: Vec<SessionEvent>,
}

impl Events {
    /// Opens the event stream of session `id` with `client` (holding its token).
    pub(crate) async fn open(client: &remote4d_core::client::ApiClient, id: &str) -> Self {
        let resp = client
            .request(Method::GET, &format!("/api/v1/sessions/{id}/events"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/event-stream");
        Self {
            body: Box::pin(resp.bytes_stream()),
            decoder: SseDecoder::default(),
            pending: Vec::new(),
        }
    }

    /// The next chunk's events, as sent (heartbeats included).
    pub(crate) async fn raw(&mut self) -> Vec<SessionEvent> {
        let chunk = tokio::time::timeout(Duration::from_secs(15), self.body.next())
            .await
            .expect("an event in time")
            .unwrap()
            .unwrap();
        self.decoder.push(&chunk)
    }

    /// The next event that is not a heartbeat.
    pub(crate) async fn next(&mut self) -> SessionEvent {
        loop {
            if !self.pending.is_empty() {
                return self.pending.remove(0);
            }
            let events = self.raw().await;
            self.pending
                .extend(events.into_iter().filter(|e| *e != SessionEvent::Heartbeat));
        }
    }
}
