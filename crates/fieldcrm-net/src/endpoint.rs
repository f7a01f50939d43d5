//! Building an iroh endpoint that talks only to the addresses it is given.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use fieldcrm_model::DeviceKey;
use iroh::endpoint::{PortmapperConfig, presets};
use iroh::{NetReportConfig, RelayMode, SecretKey, Watcher};

use crate::Ticket;

/// The bind address a device uses by default (the CLI's `--bind` default): every IPv4
/// interface, a free port.
pub const DEFAULT_BIND_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));

/// Limits and timeouts of the sessions run over an [`Endpoint`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Largest frame payload accepted or sent, in bytes (default 16 MiB, at most `u32::MAX`).
    ///
    /// A peer announcing a larger frame has its session ended with
    /// [`crate::close::PROTOCOL_ERROR`]; sending a larger frame fails locally.
    pub max_frame_len: usize,
    /// While [`crate::Conn::send`] waits for the peer to take data, incoming frames are read
    /// ahead into a buffer of up to this many bytes (default 64 MiB), so two peers that
    /// both send large messages before reading do not deadlock on QUIC flow control.
    pub read_ahead_limit: usize,
    /// Limit on the QUIC handshake plus the hello exchange (default 10 s).
    pub handshake_timeout: Duration,
    /// Limit on [`crate::Conn::finish`] waiting for the peer to end its side (default 10 s).
    pub finish_timeout: Duration,
    /// Sessions a [`crate::Server`] runs at once; further connection attempts are refused
    /// (default 32).
    pub max_sessions: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_frame_len: 16 * 1024 * 1024,
            read_ahead_limit: 64 * 1024 * 1024,
            handshake_timeout: Duration::from_secs(10),
            finish_timeout: Duration::from_secs(10),
            max_sessions: 32,
        }
    }
}

impl SessionConfig {
    /// Sets [`Self::max_frame_len`] (clamped to `u32::MAX`).
    pub fn with_max_frame_len(mut self, bytes: usize) -> Self {
        self.max_frame_len = bytes.min(u32::MAX as usize);
        self
    }

    /// Sets [`Self::read_ahead_limit`].
    pub fn with_read_ahead_limit(mut self, bytes: usize) -> Self {
        self.read_ahead_limit = bytes;
        self
    }

    /// Sets [`Self::handshake_timeout`].
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`Self::finish_timeout`].
    pub fn with_finish_timeout(mut self, timeout: Duration) -> Self {
        self.finish_timeout = timeout;
        self
    }

    /// Sets [`Self::max_sessions`].
    pub fn with_max_sessions(mut self, sessions: usize) -> Self {
        self.max_sessions = sessions.max(1);
        self
    }
}

/// Failure to create an [`Endpoint`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BindError {
    /// The bind address was refused by iroh's builder.
    #[error("cannot use `{addr}` as a bind address: {source}")]
    InvalidAddr {
        /// The address asked for.
        addr: SocketAddr,
        /// What iroh said.
        #[source]
        source: iroh::endpoint::InvalidSocketAddr,
    },
    /// The socket could not be bound (port in use, address not on this machine...).
    #[error("cannot listen on `{addr}`: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What iroh said.
        #[source]
        source: iroh::endpoint::BindError,
    },
}

/// This device's network endpoint: its identity (the device key) and its UDP socket.
///
/// Cheap to clone; clones share the socket. Built only by [`Endpoint::bind`], which turns off
/// everything in iroh that would contact a machine not named by the caller.
#[derive(Debug, Clone)]
pub struct Endpoint {
    inner: iroh::Endpoint,
    config: SessionConfig,
}

impl Endpoint {
    /// Binds an endpoint with the device's 32-byte ed25519 secret on `bind_addr`
    /// (`0.0.0.0:0` on a device, `127.0.0.1:0` in tests; port 0 picks a free port).
    ///
    /// The endpoint ID is the public half of `secret_key`, so it is the same [`DeviceKey`]
    /// every time the device starts. Only a socket of `bind_addr`'s address family is opened.
    /// No relay, address lookup, port mapping or probe is configured: the endpoint sends
    /// packets only to peers it dials or that dial it.
    pub async fn bind(secret_key: &[u8; 32], bind_addr: SocketAddr) -> Result<Endpoint, BindError> {
        let builder = iroh::Endpoint::builder(presets::Minimal)
            .secret_key(SecretKey::from_bytes(secret_key))
            .relay_mode(RelayMode::Disabled)
            .clear_address_lookup()
            .portmapper_config(PortmapperConfig::Disabled)
            .net_report_config(NetReportConfig::minimal())
            .clear_ip_transports()
            .bind_addr(bind_addr)
            .map_err(|source| BindError::InvalidAddr {
                addr: bind_addr,
                source,
            })?;
        let inner = builder.bind().await.map_err(|source| BindError::Bind {
            addr: bind_addr,
            source,
        })?;
        Ok(Endpoint {
            inner,
            config: SessionConfig::default(),
        })
    }

    /// The same endpoint with other session limits (used by later [`crate::connect`] and
    /// [`crate::serve`] calls on it).
    pub fn with_session_config(mut self, config: SessionConfig) -> Self {
        self.config = config;
        self
    }

    /// The session limits in force.
    pub fn session_config(&self) -> &SessionConfig {
        &self.config
    }

    /// This device's key, which is also its endpoint ID.
    pub fn device_key(&self) -> DeviceKey {
        DeviceKey(*self.inner.id().as_bytes())
    }

    /// The local socket addresses the endpoint is bound to (e.g. `0.0.0.0:53012`).
    pub fn bound_sockets(&self) -> Vec<SocketAddr> {
        self.inner.bound_sockets()
    }

    /// The socket addresses peers can dial: the bound address itself, or, when bound to
    /// `0.0.0.0` / `[::]`, the bound port on each local interface address.
    ///
    /// iroh fills this list in a background task right after binding; this waits for it
    /// (at most one second) and otherwise falls back to the bound sockets that name a
    /// specific address.
    pub async fn direct_addrs(&self) -> Vec<SocketAddr> {
        let mut watcher = self.inner.watch_addr();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        loop {
            let addrs: Vec<SocketAddr> = watcher.get().ip_addrs().copied().collect();
            if !addrs.is_empty() {
                return addrs;
            }
            match tokio::time::timeout_at(deadline, watcher.updated()).await {
                Ok(Ok(_)) => continue,
                _ => break,
            }
        }
        self.bound_sockets()
            .into_iter()
            .filter(|a| !a.ip().is_unspecified())
            .collect()
    }

    /// A ticket another device can use to [`crate::connect`] here.
    pub async fn ticket(&self) -> Ticket {
        Ticket::new(self.device_key(), self.direct_addrs().await)
    }

    /// The underlying iroh endpoint.
    pub fn iroh(&self) -> &iroh::Endpoint {
        &self.inner
    }

    /// Closes all connections and the socket, waiting briefly for peers to be told.
    pub async fn close(&self) {
        self.inner.close().await;
    }
}
