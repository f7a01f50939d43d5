//! Running a sync session over a framed transport: the thin loop between the pure
//! [`fieldcrm_sync::Session`] state machine, a synchronous [`Host`] and the wire.

use fieldcrm_sync::{
    Host, HostError, Output, Report, SaveDoc, Saver, Scope, Session, Status, Ticket,
};

use crate::{Conn, SessionError};

/// A transport that carries whole frames in order (an iroh stream, a WebSocket).
pub trait FrameTransport {
    /// Transport error.
    type Error: std::fmt::Display;
    /// Send one frame.
    fn send(&mut self, frame: &[u8]) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Receive one frame; `None` when the peer finished.
    fn recv(&mut self) -> impl Future<Output = Result<Option<Vec<u8>>, Self::Error>> + Send;
}

impl FrameTransport for Conn {
    type Error = SessionError;
    fn send(&mut self, frame: &[u8]) -> impl Future<Output = Result<(), SessionError>> + Send {
        Conn::send(self, frame)
    }
    fn recv(&mut self) -> impl Future<Output = Result<Option<Vec<u8>>, SessionError>> + Send {
        Conn::recv(self)
    }
}

/// Why a driven session did not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriveError {
    /// The protocol failed (this side's or the peer's error).
    #[error("sync failed: {0}")]
    Sync(String),
    /// The transport failed.
    #[error("connection failed: {0}")]
    Transport(String),
}

/// Saves in flight at most, in the background: one committing while the next waits,
/// and the message after them judged meanwhile. Bounds the received documents held in
/// memory.
const SAVES_IN_FLIGHT: usize = 2;

/// Drive `session` over `transport` until it finishes or fails, carrying out loads and
/// saves on `host` (saves commit before the session acknowledges them). `progress` is
/// called after every received frame.
///
/// Each message is sent as soon as it is ready, while the documents of the next one
/// load. A host with a [`Host::saver`] saves on another thread, in order, while the
/// next messages are read and judged (at most [`SAVES_IN_FLIGHT`] at once); a session
/// that ends waits for none of them, since it cannot finish before they are done.
pub async fn drive<T, S, H>(
    transport: &mut T,
    session: &mut Session<S>,
    host: &mut H,
    mut progress: impl FnMut(&Report),
) -> Result<(), DriveError>
where
    T: FrameTransport,
    S: Scope,
    H: Host,
{
    let mut background = host.saver().map(Background::start);
    loop {
        while let Some(out) = session.poll_output() {
            match out {
                Output::Send(frame) => transport
                    .send(&frame)
                    .await
                    .map_err(|e| DriveError::Transport(e.to_string()))?,
                Output::Load { ticket, ids } => {
                    let r = host.load(&ids);
                    session.loaded(ticket, r);
                }
                Output::Save { ticket, docs } => match background.as_mut() {
                    Some(b) => b.submit(ticket, docs),
                    None => {
                        let r = host.save(docs);
                        session.saved(ticket, r);
                    }
                },
            }
        }
        match session.status() {
            Status::Running => {}
            Status::Finished => return Ok(()),
            Status::Failed => {
                return Err(DriveError::Sync(
                    session
                        .error()
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| "unknown error".into()),
                ));
            }
        }
        if let Some(b) = background.as_mut() {
            // What finished meanwhile: the session may go on without the peer.
            let mut any = false;
            while let Some((ticket, r)) = b.try_done() {
                session.saved(ticket, r);
                any = true;
            }
            if any {
                continue;
            }
            let waiting = b.in_flight();
            if waiting > 0
                && (waiting >= SAVES_IN_FLIGHT || !session.awaits_peer())
                && let Some((ticket, r)) = b.done().await
            {
                session.saved(ticket, r);
                continue;
            }
        }
        match transport.recv().await {
            Ok(Some(frame)) => session.receive(&frame),
            Ok(None) => session.closed(),
            Err(e) => {
                session.closed();
                return Err(DriveError::Transport(e.to_string()));
            }
        }
        progress(session.report());
    }
}

/// The thread a [`Host::saver`] runs on: saves go in, in order, and their results come
/// back in the same order.
struct Background {
    jobs: std::sync::mpsc::Sender<Vec<SaveDoc>>,
    results: tokio::sync::mpsc::UnboundedReceiver<Result<(), HostError>>,
    /// The saves given and not yet answered, in order.
    pending: std::collections::VecDeque<Ticket>,
}

impl Background {
    fn start(mut saver: Saver) -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Vec<SaveDoc>>();
        let (tell, results) = tokio::sync::mpsc::unbounded_channel();
        // Ends when the driver lets go of `jobs`, after the saves already given.
        std::thread::spawn(move || {
            for docs in queue {
                if tell.send(saver(docs)).is_err() {
                    break;
                }
            }
        });
        Background {
            jobs,
            results,
            pending: std::collections::VecDeque::new(),
        }
    }

    fn in_flight(&self) -> usize {
        self.pending.len()
    }

    fn submit(&mut self, ticket: Ticket, docs: Vec<SaveDoc>) {
        // A thread that is gone (a panic in the saver) answers every save it did not
        // take as failed ([`Background::answer`]).
        let _ = self.jobs.send(docs);
        self.pending.push_back(ticket);
    }

    /// The next answer if it is there.
    fn try_done(&mut self) -> Option<(Ticket, Result<(), HostError>)> {
        use tokio::sync::mpsc::error::TryRecvError;
        match self.results.try_recv() {
            Ok(r) => self.answer(Some(r)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => self.answer(None),
        }
    }

    /// The next answer, waiting for it.
    async fn done(&mut self) -> Option<(Ticket, Result<(), HostError>)> {
        let r = self.results.recv().await;
        self.answer(r)
    }

    fn answer(
        &mut self,
        r: Option<Result<(), HostError>>,
    ) -> Option<(Ticket, Result<(), HostError>)> {
        let ticket = self.pending.pop_front()?;
        Some((
            ticket,
            r.unwrap_or_else(|| Err(HostError("the saving thread stopped".into()))),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use fieldcrm_model::DocId;
    use fieldcrm_sync::sim::{MemoryHost, SimRng, fixtures, secret};
    use fieldcrm_sync::{LoadedDoc, SessionRole, Unrestricted};
    use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

    use super::*;

    /// One end of an in-process pipe carrying whole frames.
    struct Pipe {
        tx: UnboundedSender<Vec<u8>>,
        rx: UnboundedReceiver<Vec<u8>>,
    }

    fn pipe() -> (Pipe, Pipe) {
        let (a_tx, b_rx) = unbounded_channel();
        let (b_tx, a_rx) = unbounded_channel();
        (Pipe { tx: a_tx, rx: a_rx }, Pipe { tx: b_tx, rx: b_rx })
    }

    impl FrameTransport for Pipe {
        type Error = String;
        async fn send(&mut self, frame: &[u8]) -> Result<(), String> {
            self.tx
                .send(frame.to_vec())
                .map_err(|_| "closed".to_string())
        }
        async fn recv(&mut self) -> Result<Option<Vec<u8>>, String> {
            Ok(self.rx.recv().await)
        }
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Saves {
        Work,
        Fail,
        Panic,
    }

    /// A memory store whose saves run on the driver's saving thread.
    struct Threaded {
        store: Arc<Mutex<MemoryHost>>,
        saves: Saves,
        on_thread: Arc<AtomicUsize>,
    }

    impl Host for Threaded {
        fn load(&mut self, ids: &[DocId]) -> Result<Vec<LoadedDoc>, HostError> {
            self.store.lock().unwrap().load(ids)
        }
        fn save(&mut self, _: Vec<SaveDoc>) -> Result<(), HostError> {
            panic!("saved on the driver's thread")
        }
        fn saver(&mut self) -> Option<Saver> {
            let (store, saves, on_thread) =
                (self.store.clone(), self.saves, self.on_thread.clone());
            Some(Box::new(move |docs| {
                on_thread.fetch_add(1, Ordering::SeqCst);
                match saves {
                    Saves::Work => store.lock().unwrap().save(docs),
                    Saves::Fail => Err(HostError("磁盘已满 (disk full)".into())),
                    Saves::Panic => panic!("a bug in the saver"),
                }
            }))
        }
    }

    /// `n` documents synced from a plain host to a host saving in the background.
    async fn first_sync(
        n: usize,
        saves: Saves,
    ) -> (
        Result<(), DriveError>,
        Result<(), DriveError>,
        MemoryHost,
        Arc<Mutex<MemoryHost>>,
        usize,
    ) {
        let mut rng = SimRng::new(7);
        let mut a_host = fixtures::host_with(&mut rng, 1, n);
        let b_store = Arc::new(Mutex::new(MemoryHost::new(secret(2))));
        let on_thread = Arc::new(AtomicUsize::new(0));
        let mut b_host = Threaded {
            store: b_store.clone(),
            saves,
            on_thread: on_thread.clone(),
        };
        let mut a = Session::new(SessionRole::Initiator, "ws", Unrestricted, a_host.index());
        let mut b = Session::new(SessionRole::Responder, "ws", Unrestricted, Vec::new());
        let (mut pa, mut pb) = pipe();
        let run = async {
            tokio::join!(
                async {
                    let r = drive(&mut pa, &mut a, &mut a_host, |_| {}).await;
                    drop(pa);
                    r
                },
                async {
                    let r = drive(&mut pb, &mut b, &mut b_host, |_| {}).await;
                    drop(pb);
                    r
                },
            )
        };
        let (ra, rb) = tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .expect("the sessions ended");
        (ra, rb, a_host, b_store, on_thread.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn saves_run_on_the_saving_thread_in_order_and_everything_arrives() {
        let (ra, rb, a, b, on_thread) = first_sync(2_500, Saves::Work).await;
        ra.unwrap();
        rb.unwrap();
        assert_eq!(b.lock().unwrap().heads(), a.heads());
        assert!(on_thread >= 2, "{on_thread} saves");
    }

    /// A save that fails, and a saver that panics, fail the session with the reason
    /// (instead of hanging it), and nothing is saved.
    #[tokio::test]
    async fn a_failed_or_panicking_background_save_fails_the_session_with_its_reason() {
        for (saves, reason) in [
            (Saves::Fail, "磁盘已满"),
            (Saves::Panic, "the saving thread stopped"),
        ] {
            let (ra, rb, _, b, on_thread) = first_sync(300, saves).await;
            let e = rb.unwrap_err().to_string();
            assert!(e.contains(reason), "{e}");
            assert!(ra.is_err());
            assert!(b.lock().unwrap().is_empty());
            assert!(on_thread >= 1);
        }
    }
}
