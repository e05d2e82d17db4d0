//! A raw TLS peer for the tests that misbehave on purpose: it sends what it likes, reads what
//! it likes, and hangs up however it likes (a reset with unread data, a half-sent body).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use remote4d_core::client::SeenFingerprint;
use remote4d_core::client::tls::client_config;

/// A TLS connection to `127.0.0.1:port` (any certificate: these tests judge the server, not
/// its identity).
pub fn connect(port: u16) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let mut config = client_config(None, &SeenFingerprint::default()).unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let conn = rustls::ClientConnection::new(
        Arc::new(config),
        rustls::pki_types::ServerName::try_from("localhost").unwrap(),
    )
    .unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

/// Starts downloading the archive, reads `keep` bytes of the answer, then drops the connection
/// with the rest unread: the kernel answers the server's next bytes with a reset.
pub fn cut_download(port: u16, keep: usize) {
    let mut s = connect(port);
    s.write_all(b"GET /api/v1/project/archive HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut buf = vec![0u8; keep];
    let _ = s.read_exact(&mut buf);
    // No close_notify: the socket goes away with unread data (RST).
}

/// Sends a request announcing `announced` body bytes, sends `sent` of them, and hangs up.
pub fn cut_body(port: u16, announced: usize, sent: usize) {
    let mut s = connect(port);
    let head = format!(
        "POST /api/v1/sessions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {announced}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&b"{\"user_name\":".repeat(announced)[..sent])
        .unwrap();
    s.flush().unwrap();
}

/// `GET path` on a fresh connection; returns the status line and the body.
pub fn get(port: u16, path: &str) -> (String, String) {
    exchange(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    )
}

/// `POST path` with a JSON `body` on a fresh connection; returns the status line and the body.
pub fn post_json(port: u16, path: &str, body: &str) -> (String, String) {
    exchange(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// Sends `request` on a fresh connection and reads the answer to its end.
fn exchange(port: u16, request: &str) -> (String, String) {
    let mut s = connect(port);
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.lines().next().unwrap_or_default().to_owned();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
