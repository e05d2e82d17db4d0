//! What the administrator's Monitor page shows beyond sessions: the bytes that crossed the
//! network (counted under TLS, on every connection), the archives and deltas served, and the last
//! reload.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::protocol::paths::LastReload;

/// The server's counters, shared by its connections and handlers.
#[derive(Debug, Default)]
pub(crate) struct Monitor {
    /// Bytes received on every connection (TLS records included).
    pub bytes_in: AtomicU64,
    /// Bytes sent on every connection.
    pub bytes_out: AtomicU64,
    /// Whole archives served (started).
    pub archives_served: AtomicU64,
    /// Deltas served (started).
    pub deltas_served: AtomicU64,
    /// Bytes of the project's archive answered (whole or ranges): what caches in front of the
    /// server cost it.
    pub archive_bytes_served: AtomicU64,
    /// Bytes of the offered client build answered (whole or ranges).
    pub update_bytes_served: AtomicU64,
    last_reload: Mutex<Option<LastReload>>,
}

impl Monitor {
    /// Counts one more archive (or delta) served.
    pub(crate) fn served(&self, delta: bool) {
        let counter = if delta {
            &self.deltas_served
        } else {
            &self.archives_served
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Remembers a reload that ran.
    pub(crate) fn reloaded(&self, reload: LastReload) {
        *self
            .last_reload
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reload);
    }

    /// The last reload that ran, if any.
    pub(crate) fn last_reload(&self) -> Option<LastReload> {
        self.last_reload
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// A value of a counter.
    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A connection whose bytes are added to the server's [`Monitor`].
pub(crate) struct Counted<S> {
    inner: S,
    monitor: Arc<Monitor>,
}

impl<S> Counted<S> {
    /// Counts what crosses `inner`.
    pub(crate) fn new(inner: S, monitor: Arc<Monitor>) -> Self {
        Self { inner, monitor }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(before);
        if read > 0 {
            self.monitor
                .bytes_in
                .fetch_add(read as u64, Ordering::Relaxed);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.monitor
                .bytes_out
                .fetch_add(*n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &polled {
            self.monitor
                .bytes_out
                .fetch_add(*n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn bytes_both_ways_are_counted() {
        let monitor = Arc::new(Monitor::default());
        let (a, mut b) = tokio::io::duplex(1024);
        let mut counted = Counted::new(a, Arc::clone(&monitor));
        counted.write_all(b"hello").await.unwrap();
        b.write_all(b"abc").await.unwrap();
        let mut got = [0u8; 3];
        counted.read_exact(&mut got).await.unwrap();
        let mut echoed = [0u8; 5];
        b.read_exact(&mut echoed).await.unwrap();
        assert_eq!(Monitor::get(&monitor.bytes_out), 5);
        assert_eq!(Monitor::get(&monitor.bytes_in), 3);
    }
}
