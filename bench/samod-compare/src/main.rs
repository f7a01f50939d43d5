//! fieldcrm-sync against samod 0.16, side by side in one run, on the same documents over
//! the same kind of connection (issue #3).
//!
//! Both systems talk over an in-memory `tokio::io::duplex` pair framed with tokio-util's
//! `LengthDelimitedCodec` (4-byte length prefix, what `samod::Transport::from_tokio_io`
//! uses). Every frame is counted where it is received: frames, bytes (payload + 4-byte
//! prefix) and the time of the last one. Both systems hold the same Automerge documents
//! (same bytes, same heads) and receive the same Automerge changes as edits.
//!
//! `cargo run --release` prints a Markdown table (see README.md and BENCHMARKS.md).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::{Automerge, ChangeHash};
use bytes::Bytes;
use fieldcrm_model::{DeviceKey, DocId};
use fieldcrm_sync::sim::{MemoryHost, SimRng, fixtures};
use fieldcrm_sync::{Session, SessionRole, Status, Unrestricted};
use futures::{SinkExt, StreamExt};
use samod::{BackoffConfig, DialError, Dialer, DocHandle, DocumentId, Repo, Transport};
use tokio::io::DuplexStream;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

const WS: &str = "0123456789abcdef0123456789abcdef";
const A: DeviceKey = DeviceKey([1; 32]);
const B: DeviceKey = DeviceKey([2; 32]);
/// Bytes buffered in each direction of the in-memory pipe (the same for both systems).
const PIPE_BUFFER: usize = 1 << 20;
/// samod is "done" once every document's heads agree and no frame has moved for this long.
const QUIET: Duration = Duration::from_millis(500);
/// Stop a samod scenario that has not converged after this long (seconds; override with
/// the `SAMOD_LIMIT_SECS` environment variable).
const SAMOD_LIMIT_SECS: u64 = 300;

// ---------------------------------------------------------------------------------------
// The counted connection
// ---------------------------------------------------------------------------------------

/// Frames and bytes received on one side of a connection.
#[derive(Default)]
struct Wire {
    frames: AtomicU64,
    bytes: AtomicU64,
    last: Mutex<Option<Instant>>,
}

impl Wire {
    fn note(&self, payload: usize) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(payload as u64 + 4, Ordering::Relaxed);
        *self.last.lock().unwrap() = Some(Instant::now());
    }
}

/// Counters for both directions of one connection.
#[derive(Default, Clone)]
struct Meter {
    to_a: Arc<Wire>,
    to_b: Arc<Wire>,
}

impl Meter {
    fn frames(&self) -> u64 {
        self.to_a.frames.load(Ordering::Relaxed) + self.to_b.frames.load(Ordering::Relaxed)
    }
    fn bytes(&self) -> u64 {
        self.to_a.bytes.load(Ordering::Relaxed) + self.to_b.bytes.load(Ordering::Relaxed)
    }
    fn last(&self) -> Option<Instant> {
        let a = *self.to_a.last.lock().unwrap();
        let b = *self.to_b.last.lock().unwrap();
        a.max(b)
    }
}

fn framed(io: DuplexStream) -> Framed<DuplexStream, LengthDelimitedCodec> {
    // The codec `samod::Transport::from_tokio_io` builds (4-byte big-endian length).
    let codec = LengthDelimitedCodec::builder()
        .max_frame_length(1 << 30)
        .new_codec();
    Framed::new(io, codec)
}

/// A samod transport over one end of the pipe: `Transport::from_tokio_io`'s framing, with
/// received frames counted into `wire`.
fn samod_transport(io: DuplexStream, wire: Arc<Wire>) -> Transport {
    let (sink, stream) = framed(io).split();
    let stream = stream.map(move |r| {
        r.map(|b| {
            wire.note(b.len());
            b.to_vec()
        })
    });
    let sink =
        sink.with(|m: Vec<u8>| futures::future::ready(Ok::<_, std::io::Error>(Bytes::from(m))));
    Transport::new(stream, sink)
}

/// A dialer that hands samod one pre-made transport, once, and records when it did.
struct PipeDialer {
    transport: Mutex<Option<Transport>>,
    connected_at: Mutex<Option<Instant>>,
}

#[derive(Debug)]
struct Used;
impl std::fmt::Display for Used {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("pipe already used")
    }
}
impl std::error::Error for Used {}

impl Dialer for PipeDialer {
    type Error = Used;
    fn url(&self) -> samod::Url {
        samod::Url::parse("pipe://bench").unwrap()
    }
    fn connect(
        &self,
    ) -> futures::future::BoxFuture<'static, Result<Transport, DialError<Self::Error>>> {
        let t = self.transport.lock().unwrap().take();
        if t.is_some() {
            *self.connected_at.lock().unwrap() = Some(Instant::now());
        }
        Box::pin(async move { t.ok_or(DialError::PermanentFailure(Used)) })
    }
}

// ---------------------------------------------------------------------------------------
// fieldcrm over the pipe
// ---------------------------------------------------------------------------------------

/// Drive one `Session` over one end of the pipe with a synchronous in-memory host.
async fn drive(
    role: SessionRole,
    mut host: MemoryHost,
    io: DuplexStream,
    wire: Arc<Wire>,
) -> (MemoryHost, Status) {
    let mut s = Session::new(role, WS, Unrestricted, host.index());
    let (mut sink, mut stream) = framed(io).split();
    loop {
        let frames = s.run_host(&mut host);
        if !frames.is_empty() {
            for f in frames {
                sink.feed(Bytes::from(f)).await.expect("pipe open");
            }
            sink.flush().await.expect("pipe open");
        }
        if s.status() != Status::Running {
            break;
        }
        match stream.next().await {
            Some(Ok(b)) => {
                wire.note(b.len());
                s.receive(&b);
            }
            _ => s.closed(),
        }
    }
    s.run_host(&mut host);
    if let Some(e) = s.error() {
        panic!("{role:?}: {e}");
    }
    (host, s.status())
}

/// One fieldcrm session between `a` (responder) and `b` (initiator, the peer that
/// connects). Returns the measurement and the hosts.
async fn fieldcrm_sync(a: MemoryHost, b: MemoryHost) -> (Measured, MemoryHost, MemoryHost) {
    let meter = Meter::default();
    let (io_a, io_b) = tokio::io::duplex(PIPE_BUFFER);
    let t = Instant::now();
    let ta = tokio::spawn(drive(SessionRole::Responder, a, io_a, meter.to_a.clone()));
    let tb = tokio::spawn(drive(SessionRole::Initiator, b, io_b, meter.to_b.clone()));
    let (a, sa) = ta.await.unwrap();
    let (b, sb) = tb.await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!((sa, sb), (Status::Finished, Status::Finished));
    assert_eq!(a.heads(), b.heads(), "fieldcrm replicas differ");
    (
        Measured {
            frames: meter.frames(),
            bytes: meter.bytes(),
            secs,
        },
        a,
        b,
    )
}

// ---------------------------------------------------------------------------------------
// samod over the pipe
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Measured {
    frames: u64,
    bytes: u64,
    secs: f64,
}

/// A samod scenario that was stopped before it converged.
#[derive(Debug, Clone, Copy)]
struct Unfinished {
    /// What had moved when it was stopped (`secs` = the limit).
    so_far: Measured,
    /// Documents whose heads B had acknowledged to A by then.
    acked: usize,
}

/// Two samod repos on their own runtime, and the handles of the documents each holds, by
/// fieldcrm ID.
struct SamodPair {
    rt: tokio::runtime::Runtime,
    a: Repo,
    b: Repo,
    acceptor: samod::AcceptorHandle,
    ids: BTreeMap<DocId, DocumentId>,
    handles_a: BTreeMap<DocId, DocHandle>,
    handles_b: BTreeMap<DocId, DocHandle>,
}

/// A repo with samod's defaults: in-memory storage, every peer read-write with
/// announcement, document actors as tasks on the (samod) tokio runtime.
async fn samod_repo(rt: &tokio::runtime::Runtime, name: &str) -> Repo {
    Repo::builder(rt.handle().clone())
        .with_storage(samod::storage::InMemoryStorage::new())
        .with_peer_id(samod::PeerId::from(name))
        .load()
        .await
}

impl SamodPair {
    /// Repo A holding the documents of `host` (same bytes, same heads), repo B empty.
    async fn new(host: &MemoryHost) -> SamodPair {
        // Its own runtime (2 workers, like fieldcrm's), so that a stopped scenario can be
        // torn down without its tasks competing with the next measurement.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("samod")
            .enable_all()
            .build()
            .unwrap();
        let a = samod_repo(&rt, "a").await;
        let b = samod_repo(&rt, "b").await;
        let acceptor = a
            .make_acceptor(samod::Url::parse("pipe://a").unwrap())
            .unwrap();
        let mut ids = BTreeMap::new();
        let mut handles_a = BTreeMap::new();
        for id in host.ids() {
            let doc = Automerge::load(host.bytes(id).unwrap()).unwrap();
            let h = a.create(doc).await.unwrap();
            ids.insert(id.clone(), h.document_id().clone());
            handles_a.insert(id.clone(), h);
        }
        SamodPair {
            rt,
            a,
            b,
            acceptor,
            ids,
            handles_a,
            handles_b: BTreeMap::new(),
        }
    }

    /// Whether each side's connection state says the peer has acknowledged our heads of
    /// every document (the peer's last sync message announced exactly our heads).
    fn peers_agree(repo: &Repo, handles: &BTreeMap<DocId, DocHandle>, n: usize) -> bool {
        let (conns, _) = repo.connected_peers();
        let Some(conn) = conns.first() else {
            return false;
        };
        if conn.docs.len() < n || handles.len() < n {
            return false;
        }
        handles.values().all(|h| {
            let ours = h.with_document(|d| d.get_heads());
            conn.docs
                .get(h.document_id())
                .and_then(|s| s.their_heads.as_ref())
                .is_some_and(|theirs| sorted(theirs.clone()) == sorted(ours))
        })
    }

    /// B connects to A over a fresh pipe; runs until every document agrees and the wire
    /// has been quiet for [`QUIET`], then disconnects. `n` is the number of documents.
    async fn sync(&mut self, n: usize) -> Result<Measured, Unfinished> {
        let meter = Meter::default();
        let (io_a, io_b) = tokio::io::duplex(PIPE_BUFFER);
        self.acceptor
            .accept(samod_transport(io_a, meter.to_a.clone()))
            .unwrap();
        let dialer = Arc::new(PipeDialer {
            transport: Mutex::new(Some(samod_transport(io_b, meter.to_b.clone()))),
            connected_at: Mutex::new(None),
        });
        // samod 0.16's `Repo::dial` can hand the dial request to its IO loop before the
        // dialer is registered ("no dialer registered") on a multi-threaded runtime: allow
        // quick retries. The clock starts when `connect` hands over the pipe, so a retry
        // delay is not counted.
        let backoff = BackoffConfig {
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
            max_retries: Some(50),
        };
        let dh = self.b.dial(backoff, dialer.clone()).unwrap();
        let mut events = dh.events();
        if let Err(e) = dh.established().await {
            while let Ok(Some(ev)) =
                tokio::time::timeout(Duration::from_millis(100), events.next()).await
            {
                eprintln!("dialer event: {ev:?}");
            }
            panic!("samod did not connect: {e}");
        }
        let t = dialer
            .connected_at
            .lock()
            .unwrap()
            .expect("connect was called");
        let limit = Duration::from_secs(
            std::env::var("SAMOD_LIMIT_SECS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(SAMOD_LIMIT_SECS),
        );
        // Wait for quiet, then check agreement (B's handles are found only once B holds
        // every document, so that finding them sends nothing).
        let out = loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if t.elapsed() > limit {
                let so_far = Measured {
                    frames: meter.frames(),
                    bytes: meter.bytes(),
                    secs: limit.as_secs_f64(),
                };
                let acked = Self::acked(&self.a, &self.handles_a);
                return Err(Unfinished { so_far, acked });
            }
            let Some(last) = meter.last() else { continue };
            if last.elapsed() < QUIET {
                continue;
            }
            let snapshot = Measured {
                frames: meter.frames(),
                bytes: meter.bytes(),
                secs: (last - t).as_secs_f64(),
            };
            if !Self::peers_agree(&self.a, &self.handles_a, n) {
                tokio::time::sleep(QUIET).await;
                continue;
            }
            // A says B acknowledged every document: B holds them all.
            if self.handles_b.len() < n {
                for (id, did) in &self.ids {
                    if !self.handles_b.contains_key(id) {
                        let h = self.b.find(did.clone()).await.unwrap().expect("B holds it");
                        self.handles_b.insert(id.clone(), h);
                    }
                }
            }
            if !Self::peers_agree(&self.b, &self.handles_b, n) {
                tokio::time::sleep(QUIET).await;
                continue;
            }
            if meter.frames() != snapshot.frames {
                continue; // something moved while checking: wait for quiet again
            }
            break snapshot;
        };
        dh.close();
        // Wait until both repos have dropped the connection.
        let t_close = Instant::now();
        while !(self.a.connected_peers().0.is_empty() && self.b.connected_peers().0.is_empty()) {
            assert!(
                t_close.elapsed() < Duration::from_secs(60),
                "did not disconnect"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(out)
    }

    /// Documents whose heads the peer acknowledged on `repo`'s connection.
    fn acked(repo: &Repo, handles: &BTreeMap<DocId, DocHandle>) -> usize {
        let (conns, _) = repo.connected_peers();
        let Some(conn) = conns.first() else { return 0 };
        handles
            .values()
            .filter(|h| {
                let ours = sorted(h.with_document(|d| d.get_heads()));
                conn.docs
                    .get(h.document_id())
                    .and_then(|s| s.their_heads.as_ref())
                    .is_some_and(|theirs| sorted(theirs.clone()) == ours)
            })
            .count()
    }

    /// Every document's heads on both repos, checked against fieldcrm's replicas.
    fn check(&self, fa: &MemoryHost, fb: &MemoryHost) {
        let fa = fa.heads();
        let fb = fb.heads();
        for (id, ha) in &self.handles_a {
            let hb = &self.handles_b[id];
            let sa = sorted(ha.with_document(|d| d.get_heads()));
            let sb = sorted(hb.with_document(|d| d.get_heads()));
            assert_eq!(sa, sb, "samod replicas differ on {id}");
            assert_eq!(
                sa,
                sorted(fa[id].clone()),
                "samod and fieldcrm differ on {id}"
            );
            assert_eq!(
                sa,
                sorted(fb[id].clone()),
                "samod and fieldcrm differ on {id}"
            );
        }
    }

    async fn stop(self) {
        self.a.stop().await;
        self.b.stop().await;
        self.rt.shutdown_background();
    }

    /// Tear down a pair whose hub is still busy: drop every samod task at once.
    fn abandon(self) {
        let SamodPair {
            rt,
            handles_a,
            handles_b,
            ..
        } = self;
        drop((handles_a, handles_b));
        rt.shutdown_background();
    }
}

fn sorted(mut h: Vec<ChangeHash>) -> Vec<ChangeHash> {
    h.sort();
    h
}

// ---------------------------------------------------------------------------------------
// Documents and edits
// ---------------------------------------------------------------------------------------

fn workspace(n: usize, seed: u64) -> MemoryHost {
    let mut rng = SimRng::new(seed);
    let mut h = MemoryHost::new(A);
    for i in 0..n {
        let owner = format!("rep{}", i % 40);
        let mut d = fixtures::customer(&mut rng, &A, &owner, 1_700_000_000_000 + i as i64);
        h.put(&mut d);
    }
    h
}

/// Edit `ids` on the fieldcrm host `h` (one change each, as the existing benchmark does)
/// and apply exactly the same change bytes to the samod handles, if any. Returns the compressed
/// size of the new changes.
fn edit_both(
    h: &mut MemoryHost,
    handles: Option<&BTreeMap<DocId, DocHandle>>,
    ids: &[DocId],
    rng: &mut SimRng,
    now: i64,
) -> usize {
    let mut size = 0;
    for id in ids {
        let mut d = h.document(id).unwrap();
        let before: Vec<ChangeHash> = d.heads();
        fixtures::edit(rng, &mut d, "rep1", now);
        let mut chunk = Vec::new();
        for mut c in d.automerge_mut().get_changes(&before) {
            size += c.bytes().len();
            chunk.extend_from_slice(c.bytes().as_ref());
        }
        h.put(&mut d);
        if let Some(handles) = handles {
            handles[id].with_document(|doc| {
                doc.load_incremental(&chunk).unwrap();
            });
        }
    }
    size
}

fn pick(ids: &[DocId], count: usize, rng: &mut SimRng) -> Vec<DocId> {
    let mut picked: Vec<DocId> = Vec::new();
    while picked.len() < count {
        let id = &ids[(rng.next_u64() % ids.len() as u64) as usize];
        if !picked.contains(id) {
            picked.push(id.clone());
        }
    }
    picked
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

struct Row {
    scenario: String,
    n: usize,
    fieldcrm: Measured,
    samod: SamodResult,
    note: String,
}

#[derive(Debug, Clone, Copy)]
enum SamodResult {
    Done(Measured),
    Stopped(Unfinished),
    /// Not run: an earlier scenario at this size was stopped.
    Skipped,
}

/// The scenarios, in order, on one workspace: fieldcrm on `MemoryHost`s, samod on its repos.
struct Bench {
    n: usize,
    fa: MemoryHost,
    fb: MemoryHost,
    samod: Option<SamodPair>,
    rows: Vec<Row>,
    print: bool,
}

impl Bench {
    /// Run fieldcrm, then samod, on the current state; record a row.
    async fn step(&mut self, scenario: String, note: impl Fn(&Measured, &SamodResult) -> String) {
        let fa = std::mem::replace(&mut self.fa, MemoryHost::new(A));
        let fb = std::mem::replace(&mut self.fb, MemoryHost::new(B));
        let (f, fa, fb) = fieldcrm_sync(fa, fb).await;
        self.fa = fa;
        self.fb = fb;
        let s = match self.samod.as_mut() {
            None => SamodResult::Skipped,
            Some(sp) => match sp.sync(self.n).await {
                Ok(m) => {
                    sp.check(&self.fa, &self.fb);
                    SamodResult::Done(m)
                }
                Err(u) => {
                    self.samod.take().unwrap().abandon();
                    SamodResult::Stopped(u)
                }
            },
        };
        if self.print {
            eprintln!(
                "  {scenario}: fieldcrm {} frames {} B {:.3} s | samod {s:?}",
                f.frames, f.bytes, f.secs
            );
        }
        let note = note(&f, &s);
        self.rows.push(Row {
            scenario,
            n: self.n,
            fieldcrm: f,
            samod: s,
            note,
        });
    }

    /// Edit `ids` on side A (`on_a`) or B in both systems; returns the new changes' size.
    fn edit(&mut self, on_a: bool, ids: &[DocId], rng: &mut SimRng, now: i64) -> usize {
        let sp = self.samod.as_ref();
        let (host, handles) = if on_a {
            (&mut self.fa, sp.map(|sp| &sp.handles_a))
        } else {
            (&mut self.fb, sp.map(|sp| &sp.handles_b))
        };
        edit_both(host, handles, ids, rng, now)
    }
}

/// Every scenario on `n` documents, both systems, in the same order on the same data.
/// samod is run only if `with_samod`.
async fn run_size(n: usize, with_samod: bool, print: bool) -> Vec<Row> {
    let t = Instant::now();
    let fa = workspace(n, n as u64);
    let stored: usize = fa.ids().map(|id| fa.bytes(id).unwrap().len()).sum();
    let samod = if with_samod {
        Some(SamodPair::new(&fa).await)
    } else {
        None
    };
    if print {
        eprintln!(
            "n = {n}: generated (and loaded into samod: {with_samod}) in {:.1} s ({stored} B stored)",
            t.elapsed().as_secs_f64()
        );
    }
    let mut b = Bench {
        n,
        fa,
        fb: MemoryHost::new(B),
        samod,
        rows: Vec::new(),
        print,
    };

    // 1. First sync of a new peer (B, empty) from A.
    b.step("first sync of a new peer".into(), |f, s| {
        let samod = match s {
            SamodResult::Done(m) => format!("{:.0}", n as f64 / m.secs),
            _ => "–".into(),
        };
        format!(
            "docs/s: fieldcrm {:.0}, samod {samod}; stored {stored} B",
            n as f64 / f.secs
        )
    })
    .await;

    // 2. Reconnect, nothing changed.
    b.step("reconnect, nothing changed".into(), |_, _| String::new())
        .await;

    // 3. 1% changed on one side (B, the peer that connects).
    let ids: Vec<DocId> = b.fa.ids().cloned().collect();
    let k = (n / 100).max(1);
    let mut rng = SimRng::new(99);
    let one = pick(&ids, k, &mut rng);
    let new = b.edit(false, &one, &mut rng, 1_800_000_000_000);
    b.step(format!("1% changed on one side ({k} docs)"), |_, _| {
        format!("new changes {new} B")
    })
    .await;

    // 4. 1% changed on each side (different documents).
    let two = pick(&ids, 2 * k, &mut rng);
    let new = b.edit(true, &two[..k], &mut rng, 1_800_000_100_000)
        + b.edit(false, &two[k..], &mut rng, 1_800_000_100_001);
    b.step(
        format!("1% changed on each side ({} docs)", 2 * k),
        |_, _| format!("new changes {new} B"),
    )
    .await;

    // 5. The same 1% edited on both sides (concurrent edits).
    let same = pick(&ids, k, &mut rng);
    let new = b.edit(true, &same, &mut rng, 1_900_000_000_000)
        + b.edit(false, &same, &mut rng, 1_900_000_000_001);
    b.step(
        format!("same 1% edited on both sides ({k} docs)"),
        |_, _| format!("new changes {new} B"),
    )
    .await;
    if let Some(sp) = b.samod.take() {
        sp.stop().await;
    }
    b.rows
}

fn ratio(f: f64, s: f64) -> String {
    if s == 0.0 {
        "–".into()
    } else {
        let r = f / s;
        if r < 0.001 {
            format!("{r:.5}")
        } else if r < 0.1 {
            format!("{r:.4}")
        } else {
            format!("{r:.2}")
        }
    }
}

fn ms(secs: f64) -> String {
    if secs >= 10.0 {
        format!("{secs:.1} s")
    } else if secs >= 1.0 {
        format!("{secs:.2} s")
    } else {
        format!("{:.1} ms", secs * 1e3)
    }
}

fn main() {
    // `RUST_LOG=samod=debug` shows samod's own log (off by default).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    // Arguments: sizes to run with both systems; `fieldcrm-only:N` runs fieldcrm alone.
    let mut sizes: Vec<(usize, bool)> = Vec::new();
    for a in std::env::args().skip(1) {
        if let Some(n) = a.strip_prefix("fieldcrm-only:") {
            sizes.push((n.parse().expect("a number"), false));
        } else {
            sizes.push((a.parse().expect("a number of documents"), true));
        }
    }
    if sizes.is_empty() {
        sizes = vec![(1_000, true), (2_000, true), (5_000, true), (10_000, true)];
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Warm-up: the whole sequence once on a small workspace, results discarded.
        run_size(200, true, false).await;
        eprintln!("warm-up done");
        let mut rows = Vec::new();
        for (n, with_samod) in sizes {
            rows.extend(run_size(n, with_samod, true).await);
        }
        println!(
            "| scenario | N | bytes fieldcrm | bytes samod | bytes ratio | messages fieldcrm | messages samod | messages ratio | time fieldcrm | time samod | time ratio | notes |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
        for r in rows {
            let f = r.fieldcrm;
            let (sb, sm, st, rb, rm, rt) = match r.samod {
                SamodResult::Done(s) => (
                    s.bytes.to_string(),
                    s.frames.to_string(),
                    ms(s.secs),
                    ratio(f.bytes as f64, s.bytes as f64),
                    ratio(f.frames as f64, s.frames as f64),
                    ratio(f.secs, s.secs),
                ),
                SamodResult::Stopped(u) => (
                    format!("> {} (stopped)", u.so_far.bytes),
                    format!("> {} (stopped)", u.so_far.frames),
                    format!(
                        "not done after {} ({} of {} docs acknowledged)",
                        ms(u.so_far.secs),
                        u.acked,
                        r.n
                    ),
                    "–".into(),
                    "–".into(),
                    "–".into(),
                ),
                SamodResult::Skipped => (
                    "not run".into(),
                    "not run".into(),
                    "not run".into(),
                    "–".into(),
                    "–".into(),
                    "–".into(),
                ),
            };
            println!(
                "| {} | {} | {} | {sb} | {rb} | {} | {sm} | {rm} | {} | {st} | {rt} | {} |",
                r.scenario,
                r.n,
                f.bytes,
                f.frames,
                ms(f.secs),
                r.note
            );
        }
    });
}
