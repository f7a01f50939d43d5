//! The relay's HTTP face below axum: the accept loop with a connection cap (below the
//! open-file limit), hyper with a header read timeout, and the per-connection read budget
//! that bounds what an unauthenticated WebSocket can make the relay buffer.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::metrics::ConnRefusal;
use crate::relay::{ConnSlot, Relay};
use crate::server::app;

/// What the accept loop knows of a connection, handed to the handlers as a request
/// extension: the peer's address and the connection's read budget.
#[derive(Clone)]
pub(crate) struct ConnMeta {
    pub(crate) peer: SocketAddr,
    pub(crate) budget: Arc<ReadBudget>,
}

/// Bytes a connection may still read: unlimited for HTTP and authenticated WebSockets,
/// `max_preauth_message_bytes` (plus frame headers) between the upgrade and the
/// authentication. Enforced under tungstenite, so bytes a client fragments into
/// continuation frames or pings count as well: an unauthenticated client never makes the
/// relay buffer more than this.
#[derive(Debug)]
pub(crate) struct ReadBudget {
    read: AtomicU64,
    limit: AtomicU64,
    exceeded: AtomicBool,
}

/// Frame headers and control frames allowed on top of `max_preauth_message_bytes`.
pub(crate) const PREAUTH_SLACK: u64 = 1024;

impl ReadBudget {
    pub(crate) fn new() -> Self {
        ReadBudget {
            read: AtomicU64::new(0),
            limit: AtomicU64::new(u64::MAX),
            exceeded: AtomicBool::new(false),
        }
    }

    /// From now on, at most `more` bytes.
    pub(crate) fn limit_from_now(&self, more: u64) {
        let read = self.read.load(Ordering::SeqCst);
        self.limit
            .store(read.saturating_add(more), Ordering::SeqCst);
    }

    pub(crate) fn lift(&self) {
        self.limit.store(u64::MAX, Ordering::SeqCst);
    }

    pub(crate) fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::SeqCst)
    }
}

/// The TCP stream of one HTTP connection (and of its WebSocket after the upgrade):
/// enforces the read budget and holds the connection's slot until the socket closes.
pub(crate) struct LimitedIo {
    inner: tokio::net::TcpStream,
    budget: Arc<ReadBudget>,
    _slot: ConnSlot,
}

impl AsyncRead for LimitedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len().saturating_sub(before) as u64;
                let total = this.budget.read.fetch_add(n, Ordering::SeqCst) + n;
                if total > this.budget.limit.load(Ordering::SeqCst) {
                    this.budget.exceeded.store(true, Ordering::SeqCst);
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "too much data before authentication",
                    )));
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for LimitedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Descriptors kept free of connections: the store, the audit log, iroh's sockets, stdio.
pub(crate) const FD_RESERVE: u64 = 64;

/// `max_connections`, lowered to what the process's open-file limit allows.
pub(crate) fn connection_cap(configured: usize) -> usize {
    match open_file_limit() {
        Some(limit) => {
            let allowed =
                usize::try_from(limit.saturating_sub(FD_RESERVE).max(1)).unwrap_or(usize::MAX);
            if allowed < configured {
                tracing::warn!(
                    max_connections = configured,
                    open_file_limit = limit,
                    serving_at_most = allowed,
                    "limits.max_connections is above what the open-file limit allows"
                );
            }
            configured.min(allowed)
        }
        None => configured,
    }
}

/// The process's open-file limit (soft), if known.
#[cfg(unix)]
pub(crate) fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
pub(crate) fn open_file_limit() -> Option<u64> {
    None
}

/// Raises this process's open-file limit (soft) to its hard limit; returns the new soft
/// limit. The relay's binary calls it at start so that `limits.max_connections` fits.
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut l = getrlimit(Resource::Nofile);
        if l.current < l.maximum {
            l.current = l.maximum;
            let _ = setrlimit(Resource::Nofile, l);
        }
        getrlimit(Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The HTTP accept loop: at most `cap` open connections (more are closed at once), each
/// served by hyper with a header read timeout; WebSocket upgrades keep their connection's
/// slot. Returns when `stop` turns true, after the open HTTP connections had up to the
/// grace period to finish (upgraded WebSockets are left to `run`).
pub(crate) async fn serve_http(
    listener: tokio::net::TcpListener,
    relay: Relay,
    cap: usize,
    mut stop: watch::Receiver<bool>,
) {
    let router = app(relay.clone());
    let http_tasks = Arc::new(AtomicUsize::new(0));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = stop_requested(&mut stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(_) => {
                // Out of descriptors, or a connection reset before accept: back off a little.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Some(slot) = relay.try_connection(cap) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let budget = Arc::new(ReadBudget::new());
        let io = LimitedIo {
            inner: stream,
            budget: budget.clone(),
            _slot: slot,
        };
        let meta = ConnMeta { peer, budget };
        let router = router.clone();
        let relay = relay.clone();
        let stop = stop.clone();
        let tasks = http_tasks.clone();
        tasks.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            serve_connection(io, meta, router, &relay, stop).await;
            tasks.fetch_sub(1, Ordering::SeqCst);
        });
    }
    drop(listener);
    let deadline = Instant::now() + Duration::from_secs(relay.config().limits.shutdown_grace_secs);
    while http_tasks.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Resolves once `stop` is true (or its sender is gone).
pub(crate) async fn stop_requested(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// One HTTP/1.1 connection: hyper with a header read timeout; requests carry the
/// connection's [`ConnMeta`].
pub(crate) async fn serve_connection(
    io: LimitedIo,
    meta: ConnMeta,
    router: Router,
    relay: &Relay,
    mut stop: watch::Receiver<bool>,
) {
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(meta.clone());
        let mut router = router.clone();
        async move { tower::Service::call(&mut router, req).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(relay.config().header_read_timeout())
        .keep_alive(true);
    let conn = builder
        .serve_connection(hyper_util::rt::TokioIo::new(io), svc)
        .with_upgrades();
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = stop_requested(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let grace = Duration::from_secs(relay.config().limits.shutdown_grace_secs);
            match tokio::time::timeout(grace, conn.as_mut()).await {
                Ok(r) => r,
                Err(_) => Ok(()),
            }
        }
    };
    if let Err(e) = result
        && e.is_timeout()
    {
        relay.metrics().conn_refused(ConnRefusal::HeaderTimeout);
    }
}
