//! One session: frames over one QUIC bidirectional stream.

use std::collections::VecDeque;
use std::time::Duration;

use fieldcrm_model::DeviceKey;
use iroh::endpoint::{
    Connection, ConnectionError, ReadError, RecvStream, SendStream, VarInt, WriteError,
};

use crate::SessionConfig;
use crate::close;
use crate::frame::{FrameDecoder, FrameError, header};

/// The byte each side sends on a unidirectional stream once it has read the peer's end.
const END_ACK: u8 = 0xEA;

/// Bytes and frames moved by one session (payload bytes; prefixes and the handshake are
/// not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Frames sent.
    pub frames_sent: u64,
    /// Frames received.
    pub frames_received: u64,
    /// Payload bytes sent.
    pub bytes_sent: u64,
    /// Payload bytes received.
    pub bytes_received: u64,
}

/// Why a session operation failed.
///
/// After any error except [`SessionError::FrameTooLarge`] on [`Conn::send`] the session is
/// over; the peer has been told (or already knew) why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A frame is larger than the session's limit: the peer announced one (the session is
    /// ended with [`close::PROTOCOL_ERROR`]), or the caller tried to send one (nothing was
    /// sent and the session goes on).
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// The frame's length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The peer ended its stream in the middle of a frame.
    #[error("peer's stream ended inside a frame {part} ({got} of {expected} bytes)")]
    TruncatedFrame {
        /// `"header"` or `"payload"`.
        part: &'static str,
        /// Bytes received.
        got: usize,
        /// Bytes announced.
        expected: usize,
    },
    /// The peer refused this device ([`close::NOT_ENROLLED`]).
    #[error("the peer refused this device: not enrolled")]
    NotEnrolled,
    /// The peer closed the connection with an application code and reason.
    #[error("peer closed the session: {} (code {code}){}", close::describe(*.code), reason_suffix(.reason))]
    PeerClosed {
        /// The close code, see [`crate::close`].
        code: u64,
        /// The reason the peer gave.
        reason: String,
    },
    /// This side already ended the session (after an earlier error, or `finish`).
    #[error("the session was already ended on this side")]
    LocallyClosed,
    /// The peer abandoned its stream with a reset code.
    #[error("peer abandoned the stream (code {0})")]
    StreamReset(u64),
    /// The connection broke (timeout, peer gone, transport error).
    #[error("connection lost: {0}")]
    ConnectionLost(#[source] ConnectionError),
    /// `send` after `close_send` or `finish`.
    #[error("cannot send: this side already ended its stream")]
    SendClosed,
    /// An earlier `send` was cancelled half-way through a frame, so the stream cannot carry
    /// more frames.
    #[error("cannot send: an earlier send was cancelled in the middle of a frame")]
    SendInterrupted,
    /// The peer does not follow the session protocol (bad hello or end-of-session ack).
    #[error("peer broke the session protocol: {0}")]
    Protocol(&'static str),
    /// A handshake or finish step took too long.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// The step.
        what: &'static str,
        /// The limit.
        after: Duration,
    },
    /// The peer sent frames that nobody read before [`Conn::finish`] (a protocol bug in the
    /// caller or the peer); the session was still ended cleanly.
    #[error("{count} frame(s) from the peer were never read before finish")]
    UnreadFrames {
        /// How many.
        count: u64,
    },
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}

pub(crate) fn from_connection_error(err: ConnectionError) -> SessionError {
    match err {
        ConnectionError::ApplicationClosed(close) => {
            let code = close.error_code.into_inner();
            if code == close::NOT_ENROLLED as u64 {
                SessionError::NotEnrolled
            } else {
                SessionError::PeerClosed {
                    code,
                    reason: String::from_utf8_lossy(&close.reason).into_owned(),
                }
            }
        }
        ConnectionError::LocallyClosed => SessionError::LocallyClosed,
        other => SessionError::ConnectionLost(other),
    }
}

pub(crate) fn from_read_error(err: ReadError) -> SessionError {
    match err {
        ReadError::ConnectionLost(e) => from_connection_error(e),
        ReadError::Reset(code) => SessionError::StreamReset(code.into_inner()),
        // The stream is gone: only this side can have done that.
        _ => SessionError::LocallyClosed,
    }
}

/// The peer abandoned its stream: its side of the session is over, and the connection
/// close with the real reason is normally right behind. Wait a moment for it.
async fn reset_reason(conn: &Connection, code: VarInt) -> SessionError {
    match tokio::time::timeout(Duration::from_secs(1), conn.closed()).await {
        Ok(err) => from_connection_error(err),
        Err(_) => SessionError::StreamReset(code.into_inner()),
    }
}

pub(crate) fn from_write_error(err: WriteError) -> SessionError {
    match err {
        WriteError::ConnectionLost(e) => from_connection_error(e),
        WriteError::Stopped(code) => SessionError::StreamReset(code.into_inner()),
        WriteError::ClosedStream => SessionError::SendClosed,
        _ => SessionError::LocallyClosed,
    }
}

pub(crate) fn close_with(conn: &Connection, code: u32, reason: &str) {
    // QUIC carries the reason in one packet; keep it well under that.
    let end = reason
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .take_while(|end| *end <= 512)
        .last()
        .unwrap_or(0);
    let reason = reason.get(..end).unwrap_or_default();
    conn.close(VarInt::from_u32(code), reason.as_bytes());
}

/// Which side of the connection this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Dialer,
    Acceptor,
}

/// What one read from the stream produced.
enum Step {
    Frame(Vec<u8>),
    Progress,
    End,
}

/// The receiving half's state: survives cancelled reads, so [`Conn::recv`] is cancel-safe.
#[derive(Debug)]
struct Reader {
    stream: RecvStream,
    decoder: FrameDecoder,
    /// Frames read ahead while a `send` waited, oldest first.
    queue: VecDeque<Vec<u8>>,
    queued_bytes: usize,
    /// The peer finished its stream and everything before the end was decoded.
    ended: bool,
    /// An error met while reading ahead, reported by the next `recv` after the queue.
    error: Option<SessionError>,
}

impl Reader {
    /// One read from the stream. Cancel-safe: bytes are only consumed when the read
    /// completes, and they are handed to the decoder in the same poll.
    async fn step(
        &mut self,
        conn: &Connection,
        stats: &mut SessionStats,
    ) -> Result<Step, SessionError> {
        let chunk = match self.stream.read_chunk(self.decoder.want()).await {
            Ok(chunk) => chunk,
            Err(ReadError::Reset(code)) => return Err(reset_reason(conn, code).await),
            Err(e) => return Err(from_read_error(e)),
        };
        let result = match chunk {
            Some(bytes) => self.decoder.feed(&bytes).map(|f| match f {
                Some(frame) => {
                    stats.frames_received += 1;
                    stats.bytes_received += frame.len() as u64;
                    Step::Frame(frame)
                }
                None => Step::Progress,
            }),
            None => self.decoder.at_end().map(|()| {
                self.ended = true;
                Step::End
            }),
        };
        result.map_err(|e| {
            let err = match e {
                FrameError::TooLarge { len, max } => SessionError::FrameTooLarge { len, max },
                FrameError::Truncated {
                    in_header,
                    got,
                    expected,
                } => SessionError::TruncatedFrame {
                    part: if in_header { "header" } else { "payload" },
                    got,
                    expected,
                },
            };
            close_with(conn, close::PROTOCOL_ERROR, &err.to_string());
            err
        })
    }
}

/// One session with an authenticated peer: length-prefixed frames both ways.
///
/// Obtained from [`crate::connect`] or handed to a [`crate::serve`] handler. Typical driver:
///
/// ```no_run
/// # async fn drive(mut conn: fieldcrm_net::Conn) -> Result<(), fieldcrm_net::SessionError> {
/// conn.send(b"hello").await?;
/// while let Some(frame) = conn.recv().await? {
///     // feed `frame` to the state machine, send what it answers...
/// #   let _ = frame;
/// }
/// let stats = conn.finish().await?;
/// # let _ = stats; Ok(()) }
/// ```
///
/// [`Conn::recv`] is cancel-safe (it can sit in a `select!`); [`Conn::send`] is not: a send
/// dropped half-way leaves the stream unable to carry more frames
/// ([`SessionError::SendInterrupted`]).
#[derive(Debug)]
pub struct Conn {
    conn: Connection,
    send: SendStream,
    reader: Reader,
    peer: DeviceKey,
    config: SessionConfig,
    stats: SessionStats,
    send_closed: bool,
    send_in_progress: bool,
    close_on_drop: bool,
    done: bool,
}

impl Conn {
    pub(crate) fn new(
        conn: Connection,
        send: SendStream,
        recv: RecvStream,
        side: Side,
        config: &SessionConfig,
    ) -> Conn {
        let peer = DeviceKey(*conn.remote_id().as_bytes());
        Conn {
            conn,
            send,
            reader: Reader {
                stream: recv,
                decoder: FrameDecoder::new(config.max_frame_len),
                queue: VecDeque::new(),
                queued_bytes: 0,
                ended: false,
                error: None,
            },
            peer,
            config: config.clone(),
            stats: SessionStats::default(),
            send_closed: false,
            send_in_progress: false,
            // The server closes its connections itself, with the handler's outcome.
            close_on_drop: side == Side::Dialer,
            done: false,
        }
    }

    /// The peer's device key, authenticated by the QUIC/TLS handshake.
    pub fn peer(&self) -> DeviceKey {
        self.peer
    }

    /// Frames and bytes moved so far.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// The largest frame payload this session sends or accepts.
    pub fn max_frame_len(&self) -> usize {
        self.config.max_frame_len
    }

    /// The underlying iroh connection (for statistics such as the round-trip time).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Sends one frame.
    ///
    /// While waiting for the peer to accept the data, incoming frames are read ahead (up to
    /// [`SessionConfig::read_ahead_limit`] bytes) and kept for [`Conn::recv`], so two peers
    /// sending large frames at each other do not deadlock.
    pub async fn send(&mut self, frame: &[u8]) -> Result<(), SessionError> {
        if frame.len() > self.config.max_frame_len {
            return Err(SessionError::FrameTooLarge {
                len: frame.len() as u64,
                max: self.config.max_frame_len,
            });
        }
        if self.send_closed {
            return Err(SessionError::SendClosed);
        }
        if self.send_in_progress {
            return Err(SessionError::SendInterrupted);
        }
        self.send_in_progress = true;
        let prefix = header(frame.len());
        let Conn {
            conn,
            send,
            reader,
            stats,
            config,
            ..
        } = self;
        let write = async {
            send.write_all(&prefix).await?;
            send.write_all(frame).await
        };
        tokio::pin!(write);
        let written = loop {
            let read_ahead = !reader.ended
                && reader.error.is_none()
                && reader.queued_bytes < config.read_ahead_limit;
            tokio::select! {
                biased;
                r = &mut write => break r,
                step = reader.step(conn, stats), if read_ahead => match step {
                    Ok(Step::Frame(f)) => {
                        reader.queued_bytes += f.len();
                        reader.queue.push_back(f);
                    }
                    Ok(Step::Progress | Step::End) => {}
                    Err(e) => reader.error = Some(e),
                },
            }
        };
        // Finished either way: a failed write leaves the stream unusable, and later sends
        // report the stream's own error.
        self.send_in_progress = false;
        match written {
            Ok(()) => {
                self.stats.frames_sent += 1;
                self.stats.bytes_sent += frame.len() as u64;
                Ok(())
            }
            // If reading ahead found the cause (say the peer's oversized frame made us close),
            // report that rather than "locally closed".
            Err(e) => Err(match self.reader.error.take() {
                Some(cause)
                    if matches!(
                        e,
                        WriteError::ConnectionLost(ConnectionError::LocallyClosed)
                    ) =>
                {
                    cause
                }
                Some(cause) => {
                    self.reader.error = Some(cause);
                    from_write_error(e)
                }
                None => from_write_error(e),
            }),
        }
    }

    /// Receives the next frame; `None` once the peer has ended its stream (all its frames
    /// have been returned). Cancel-safe.
    pub async fn recv(&mut self) -> Result<Option<Vec<u8>>, SessionError> {
        if let Some(frame) = self.reader.queue.pop_front() {
            self.reader.queued_bytes -= frame.len();
            return Ok(Some(frame));
        }
        if let Some(err) = self.reader.error.take() {
            return Err(err);
        }
        if self.reader.ended {
            return Ok(None);
        }
        loop {
            match self.reader.step(&self.conn, &mut self.stats).await? {
                Step::Frame(f) => return Ok(Some(f)),
                Step::Progress => {}
                Step::End => return Ok(None),
            }
        }
    }

    /// Ends this side's stream: the peer's `recv` returns `None` after the frames already
    /// sent. Receiving goes on. Calling it twice is harmless.
    pub fn close_send(&mut self) -> Result<(), SessionError> {
        if self.send_in_progress {
            return Err(SessionError::SendInterrupted);
        }
        if !self.send_closed {
            self.send_closed = true;
            // Fails only if the stream is already gone, in which case there is nothing to end.
            let _ = self.send.finish();
        }
        Ok(())
    }

    /// Ends the session cleanly and returns its statistics.
    ///
    /// Ends this side's stream (if [`Conn::close_send`] has not), waits for the peer to end
    /// its own, and closes the connection once both sides know that the other has read
    /// everything (see the crate docs). The peer must call `finish` too. Frames still
    /// arriving are read and dropped, and reported as [`SessionError::UnreadFrames`].
    /// Bounded by [`SessionConfig::finish_timeout`].
    pub async fn finish(mut self) -> Result<SessionStats, SessionError> {
        let limit = self.config.finish_timeout;
        let outcome = tokio::time::timeout(limit, self.finish_inner()).await;
        // Every outcome below ends the connection deliberately; if this future is dropped
        // before here, `Drop` aborts the session instead.
        self.done = true;
        match outcome {
            Ok(Ok(0)) => Ok(self.stats),
            Ok(Ok(count)) => Err(SessionError::UnreadFrames { count }),
            Ok(Err(e)) => {
                close_with(&self.conn, close::ABORTED, &format!("finish failed: {e}"));
                Err(e)
            }
            Err(_) => {
                close_with(
                    &self.conn,
                    close::TIMEOUT,
                    "peer did not end the session in time",
                );
                Err(SessionError::Timeout {
                    what: "ending the session",
                    after: limit,
                })
            }
        }
    }

    /// Returns how many frames were dropped unread.
    async fn finish_inner(&mut self) -> Result<u64, SessionError> {
        self.close_send()?;
        let mut unread = self.reader.queue.len() as u64;
        self.reader.queue.clear();
        self.reader.queued_bytes = 0;
        if let Some(err) = self.reader.error.take() {
            return Err(err);
        }
        while !self.reader.ended {
            if let Step::Frame(_) = self.reader.step(&self.conn, &mut self.stats).await? {
                unread += 1;
            }
        }
        // We have read everything the peer sent: say so.
        let conn = &self.conn;
        let tell = async {
            let mut ack = conn.open_uni().await.map_err(from_connection_error)?;
            ack.write_all(&[END_ACK]).await.map_err(from_write_error)?;
            // Fails only if the stream is already gone.
            let _ = ack.finish();
            Ok::<(), SessionError>(())
        };
        // Wait until the peer says it has read everything we sent.
        let hear = async {
            let mut ack = conn.accept_uni().await.map_err(from_connection_error)?;
            let mut byte = [0u8; 1];
            match ack.read_exact(&mut byte).await {
                Ok(()) if byte[0] == END_ACK => Ok(()),
                Ok(()) => Err(SessionError::Protocol("bad end-of-session ack")),
                Err(iroh::endpoint::ReadExactError::ReadError(e)) => Err(from_read_error(e)),
                Err(iroh::endpoint::ReadExactError::FinishedEarly(_)) => {
                    Err(SessionError::Protocol("empty end-of-session ack"))
                }
            }
        };
        let both = async {
            tell.await?;
            hear.await
        };
        match both.await {
            Ok(()) => {
                close_with(conn, close::DONE, "done");
                Ok(unread)
            }
            // The peer heard our ack first and closed: it has read everything we sent, and
            // it acks only after reading our end, so we already have everything it sent.
            Err(SessionError::PeerClosed { code, .. }) if code == close::DONE as u64 => Ok(unread),
            Err(e) => Err(e),
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // A dropped stream would otherwise be finished implicitly, and the peer would take
        // an aborted session (handler error, panic) for a clean end.
        let _ = self.send.reset(VarInt::from_u32(close::ABORTED));
        if self.close_on_drop && self.conn.close_reason().is_none() {
            close_with(&self.conn, close::ABORTED, "session dropped without finish");
        }
    }
}
