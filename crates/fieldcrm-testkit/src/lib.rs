//! Test support for fieldcrm (dev-only): real workspaces in a temporary directory,
//! enrolled devices that received the workspace the way a real device does, two-way
//! in-process sync through the real sync [`Session`](fieldcrm_sync::Session) state machine
//! and [`StoreHost`](fieldcrm_workspace::StoreHost), offline bundles through the real
//! bundle files, and a fixed clock.
//!
//! ```no_run
//! use fieldcrm_model::Role;
//! use fieldcrm_testkit::Kit;
//!
//! let kit = Kit::new();
//! let boss = kit.admin("王经理");
//! let rep = kit.device_for(&boss, "小张", Role::Rep, Some("华东一组"));
//! let c = kit.customer(&rep, "甲公司");
//! kit.sync(&rep, &boss);
//! let err = kit.refused(&rep, "invalid-input", |ws| {
//!     ws.log_interaction(&c, fieldcrm_model::InteractionKind::Visit, kit.now(), " ", None, kit.now())
//! });
//! assert_eq!(err.code(), "invalid-input");
//! ```
//!
//! The kit depends on no network code (no iroh, axum or tokio): sync is driven in memory,
//! frame by frame, with the same scope and verification code as `fieldcrm sync`. Every
//! helper panics (with the workspace error) when the action it wraps fails: a failure in
//! test set-up is a test failure.
#![deny(missing_docs)]

use std::cell::Cell;
use std::fmt::{Debug, Display};
use std::ops::Deref;
use std::path::{Path, PathBuf};

use fieldcrm_model::{
    ChannelKind, DeviceKey, DocId, DocKind, Fen, Millis, Product, Role, money::parse_yuan,
};
use fieldcrm_sync::{Report, SessionRole, Status};
use fieldcrm_workspace::{
    Error, ExportOptions, ImportReport, InitOptions, NewChannel, NewCustomer, Workspace,
};

/// 2026-11-29 09:00 in Shanghai (01:00 UTC), the kit's first "now".
pub const START: Millis = 1_795_914_000_000;

/// The admin's team (and the default team of [`Kit::team`]'s sales people).
pub const TEAM: &str = "华东一组";

/// The admin's region.
pub const REGION: &str = "华东";

/// One minute in milliseconds.
pub const MINUTE: Millis = 60_000;

/// One day in milliseconds.
pub const DAY: Millis = fieldcrm_model::DAY_MS;

/// Unwrap a result, panicking with the error (Display and Debug) at the caller's line.
#[track_caller]
pub fn must<T, E: Display + Debug>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what} failed: {e} ({e:?})"),
    }
}

/// The error of a result that must have failed, panicking at the caller's line if it
/// succeeded.
#[track_caller]
pub fn err<T: Debug>(r: fieldcrm_workspace::Result<T>) -> Error {
    match r {
        Ok(v) => panic!("expected a refusal, but the call succeeded with {v:?}"),
        Err(e) => e,
    }
}

/// A temporary directory holding any number of device homes, and the clock they share.
#[derive(Debug)]
pub struct Kit {
    dir: tempfile::TempDir,
    now: Cell<Millis>,
    homes: Cell<u32>,
}

/// One device: an open workspace, and the user it acts for.
///
/// Dereferences to [`Workspace`], so every workspace action is called on it directly.
#[derive(Debug, Clone)]
pub struct Device {
    /// The open workspace.
    pub ws: Workspace,
    /// The acting user's ID.
    pub user_id: String,
    /// The acting user's name.
    pub name: String,
    /// The acting user's role when the device was made.
    pub role: Role,
}

impl Deref for Device {
    type Target = Workspace;
    fn deref(&self) -> &Workspace {
        &self.ws
    }
}

impl Device {
    /// This device's key as hex (what `fieldcrm device add` and bundles name).
    pub fn key_hex(&self) -> String {
        self.ws.device().to_hex()
    }
}

/// Every role-holder a test of authority needs, each on its own enrolled device that
/// holds the workspace: see [`Kit::team`].
#[derive(Debug, Clone)]
pub struct Team {
    /// 王经理, admin, 华东一组.
    pub admin: Device,
    /// 李经理, sales manager, 华东一组.
    pub manager: Device,
    /// 小张, rep, 华东一组.
    pub rep: Device,
    /// 小李, rep, 华东一组.
    pub rep2: Device,
    /// 赵律师, legal.
    pub legal: Device,
    /// 钱渠道, channel manager.
    pub channel_manager: Device,
}

/// What an in-process sync exchanged, as each side counted it.
#[derive(Debug, Clone)]
pub struct Synced {
    /// The initiator's counters (the first device passed to [`Kit::sync`]).
    pub a: Report,
    /// The responder's counters.
    pub b: Report,
}

/// The documents of a store and their heads: equal fingerprints mean nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(Vec<(DocId, Vec<String>)>);

impl Fingerprint {
    /// The number of documents.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the store holds no document.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the store holds `id`.
    pub fn contains(&self, id: &DocId) -> bool {
        self.0.iter().any(|(d, _)| d == id)
    }
}

impl Default for Kit {
    fn default() -> Self {
        Kit::new()
    }
}

impl Kit {
    /// A fresh temporary directory; the clock starts at [`START`].
    pub fn new() -> Kit {
        Kit {
            dir: must(tempfile::tempdir(), "creating a temporary directory"),
            now: Cell::new(START),
            homes: Cell::new(0),
        }
    }

    /// The kit's current time (UTC ms).
    pub fn now(&self) -> Millis {
        self.now.get()
    }

    /// Move the clock forward by `ms` and return the new time.
    pub fn advance(&self, ms: Millis) -> Millis {
        self.now.set(self.now.get() + ms);
        self.now.get()
    }

    /// The temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the temporary directory (for bundle and CSV files).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A home directory not used yet, named after `label`.
    pub fn fresh_home(&self, label: &str) -> PathBuf {
        let n = self.homes.get() + 1;
        self.homes.set(n);
        self.dir.path().join(format!("device-{n}-{label}"))
    }

    /// Create a new workspace (`Workspace::init`, company 示例公司) whose first user is
    /// `name`, an admin of team [`TEAM`] and region [`REGION`].
    pub fn admin(&self, name: &str) -> Device {
        self.init(name, Role::Admin)
    }

    /// Create a new workspace whose first user has `role` (team [`TEAM`], region
    /// [`REGION`]).
    pub fn init(&self, name: &str, role: Role) -> Device {
        let opts = InitOptions {
            user: name.to_string(),
            role: role.clone(),
            team: Some(TEAM.to_string()),
            region: Some(REGION.to_string()),
            company: "示例公司".to_string(),
            device_label: "laptop".to_string(),
        };
        let ws = must(
            Workspace::init(&self.fresh_home(name), &opts, self.now()),
            "Workspace::init",
        );
        let me = must(ws.me(), "me() after init");
        Device {
            ws,
            user_id: me.user_id,
            name: name.to_string(),
            role,
        }
    }

    /// Add user `name` with `role` and `team` through `admin`'s workspace, create a
    /// joined device for them, enroll it, and give it the workspace by a real sync with
    /// `admin` (it receives what its user may read).
    pub fn device_for(&self, admin: &Device, name: &str, role: Role, team: Option<&str>) -> Device {
        must(
            admin.add_user(name, role, team.map(Into::into), None, self.now()),
            "add_user",
        );
        self.device_of(admin, name)
    }

    /// A new device for the existing user `user` (name or ID), enrolled by `admin` and
    /// synced with it.
    pub fn device_of(&self, admin: &Device, user: &str) -> Device {
        let ws = self.joined(admin);
        must(
            admin.enroll_device(&ws.device(), user, "phone", self.now()),
            "enroll_device",
        );
        self.sync(&ws, admin);
        let me = must(ws.me(), "me() on the new device");
        Device {
            name: me.user.name.clone(),
            role: me.user.role.clone(),
            user_id: me.user_id,
            ws,
        }
    }

    /// A device that joined `admin`'s workspace (`Workspace::join`) and was neither
    /// enrolled nor given any document.
    pub fn joined(&self, admin: &Workspace) -> Workspace {
        must(
            Workspace::join(&self.fresh_home("joined"), admin.workspace_id()),
            "Workspace::join",
        )
    }

    /// A tablet of the rep's user (小张): joined, enrolled by the admin, and the rep's
    /// device told of it by a sync with the admin; it holds nothing yet (its first sync
    /// is the test's). The clock moves on a minute.
    pub fn rep_tablet(&self, t: &Team) -> Workspace {
        let tablet = self.joined(&t.admin);
        must(
            t.admin
                .enroll_device(&tablet.device(), "小张", "平板", self.now()),
            "enroll_device",
        );
        self.sync(&t.rep, &t.admin);
        self.advance(MINUTE);
        tablet
    }

    /// Every role a test of authority needs (see [`Team`]), the admin first; every device
    /// holds the full roster.
    pub fn team(&self) -> Team {
        let admin = self.admin("王经理");
        let manager = self.device_for(&admin, "李经理", Role::Manager, Some(TEAM));
        let rep = self.device_for(&admin, "小张", Role::Rep, Some(TEAM));
        let rep2 = self.device_for(&admin, "小李", Role::Rep, Some(TEAM));
        let legal = self.device_for(&admin, "赵律师", Role::Legal, Some("法务部"));
        let channel_manager =
            self.device_for(&admin, "钱渠道", Role::ChannelManager, Some("渠道部"));
        // The first devices received the roster before the later users were added.
        for d in [&manager, &rep, &rep2, &legal] {
            self.sync(d, &admin);
        }
        Team {
            admin,
            manager,
            rep,
            rep2,
            legal,
            channel_manager,
        }
    }

    /// Sync two devices both ways, in process, through the real sync sessions
    /// (`Workspace::sync_session`, roster scope, `StoreHost` durable saves); `a` dials.
    /// Panics unless both sides finish.
    #[track_caller]
    pub fn sync(&self, a: &Workspace, b: &Workspace) -> Synced {
        must(self.try_sync(a, b), "sync")
    }

    /// [`Kit::sync`], returning why it did not finish instead of panicking.
    pub fn try_sync(&self, a: &Workspace, b: &Workspace) -> Result<Synced, String> {
        // As every transport does: this user's claims go out with the sync.
        for w in [a, b] {
            w.before_sync(self.now())
                .map_err(|e| format!("before sync: {e}"))?;
        }
        let mut sa = a
            .sync_session(SessionRole::Initiator, &b.device())
            .map_err(|e| format!("initiator: {e}"))?;
        let mut sb = b
            .sync_session(SessionRole::Responder, &a.device())
            .map_err(|e| format!("responder: {e}"))?;
        let (mut ha, mut hb) = (a.sync_host(), b.sync_host());
        // As the transports drive a session (`fieldcrm_net::drive`): what a message asks
        // for is carried out (saved) before the next message is received.
        let (mut to_a, mut to_b) = (Vec::new(), Vec::new());
        for _ in 0..100_000 {
            to_b.extend(sa.run_host(&mut ha));
            to_a.extend(sb.run_host(&mut hb));
            if to_a.is_empty() && to_b.is_empty() {
                break;
            }
            for f in std::mem::take(&mut to_b) {
                sb.receive(&f);
                to_a.extend(sb.run_host(&mut hb));
            }
            for f in std::mem::take(&mut to_a) {
                sa.receive(&f);
                to_b.extend(sa.run_host(&mut ha));
            }
        }
        if sa.status() == Status::Running || sb.status() == Status::Running {
            sa.closed();
            sb.closed();
            sa.run_host(&mut ha);
            sb.run_host(&mut hb);
        }
        match (sa.status(), sb.status()) {
            (Status::Finished, Status::Finished) => Ok(Synced {
                a: sa.report().clone(),
                b: sb.report().clone(),
            }),
            (x, y) => Err(format!(
                "sync did not finish: initiator {x:?} ({:?}), responder {y:?} ({:?})",
                sa.error(),
                sb.error()
            )),
        }
    }

    /// Write a signed bundle on `from` scoped for `to`'s device (`fieldcrm bundle export
    /// --for`) and import it on `to`.
    pub fn bundle(
        &self,
        from: &Workspace,
        to: &Workspace,
    ) -> fieldcrm_workspace::Result<ImportReport> {
        let opts = ExportOptions {
            for_device: Some(to.device().to_hex()),
            since: None,
        };
        self.bundle_with(from, to, &opts)
    }

    /// Write a bundle on `from` with `opts` and import it on `to`.
    pub fn bundle_with(
        &self,
        from: &Workspace,
        to: &Workspace,
        opts: &ExportOptions,
    ) -> fieldcrm_workspace::Result<ImportReport> {
        let file = self.fresh_home("bundle").with_extension("bundle");
        from.export_bundle(opts, &file, self.now())?;
        to.import_bundle(&file)
    }

    /// Copy every document of `from` to `to`, whatever `to`'s user may read (an unscoped
    /// whole bundle, as `fieldcrm bundle export` without `--for` writes). This is how a
    /// device comes to hold a file outside its user's scope.
    #[track_caller]
    pub fn copy_all(&self, from: &Workspace, to: &Workspace) -> ImportReport {
        must(
            self.bundle_with(from, to, &ExportOptions::default()),
            "bundle import",
        )
    }

    /// The documents on a device and their heads.
    #[track_caller]
    pub fn fingerprint(&self, ws: &Workspace) -> Fingerprint {
        let heads = must(ws.store().all_heads(), "reading all heads");
        Fingerprint(
            heads
                .into_iter()
                .map(|(id, hs)| (id, hs.iter().map(|h| h.to_string()).collect()))
                .collect(),
        )
    }

    /// Run `f` on `dev`, assert that it fails with `code` and that it wrote nothing (the
    /// device's documents and their heads are unchanged), and return the error.
    #[track_caller]
    pub fn refused<T: Debug>(
        &self,
        dev: &Workspace,
        code: &str,
        f: impl FnOnce(&Workspace) -> fieldcrm_workspace::Result<T>,
    ) -> Error {
        let before = self.fingerprint(dev);
        let e = err(f(dev));
        assert_eq!(e.code(), code, "wrong refusal: {e} ({e:?})");
        assert_eq!(
            self.fingerprint(dev),
            before,
            "a refused call ({}) wrote to the store",
            e.code()
        );
        e
    }

    // ----- records -----

    /// A customer file named `name`, owned by the device's user.
    #[track_caller]
    pub fn customer(&self, dev: &Workspace, name: &str) -> DocId {
        must(
            dev.add_customer(
                NewCustomer {
                    name: name.to_string(),
                    ..Default::default()
                },
                self.now(),
            ),
            "add_customer",
        )
    }

    /// A customer file named `name` owned by `owner` (user name), created by `dev` (a
    /// manager or admin).
    #[track_caller]
    pub fn customer_of(&self, dev: &Workspace, name: &str, owner: &str) -> DocId {
        must(
            dev.add_customer(
                NewCustomer {
                    name: name.to_string(),
                    owner: Some(owner.to_string()),
                    ..Default::default()
                },
                self.now(),
            ),
            "add_customer",
        )
    }

    /// Put product `sku` in the catalog (line 工业泵, list price `list` yuan, floor price
    /// half of it) through `dev` (a manager or admin).
    #[track_caller]
    pub fn product(&self, dev: &Workspace, sku: &str, list: &str) -> Fen {
        let list_price = must(parse_yuan(list), "parsing the list price");
        must(
            dev.catalog_put(
                sku,
                Product {
                    name: format!("产品{sku}"),
                    product_line: "工业泵".to_string(),
                    list_price,
                    floor_price: list_price / 2,
                },
                self.now(),
            ),
            "catalog_put",
        );
        list_price
    }

    /// A quote of one `sku` at `price` yuan on customer `c`; returns the quote ID.
    #[track_caller]
    pub fn quote(&self, dev: &Workspace, c: &DocId, sku: &str, price: &str) -> String {
        let price = must(parse_yuan(price), "parsing the price");
        must(dev.add_quote(c, sku, 1, price, self.now()), "add_quote").0
    }

    /// An order of one `sku` at `price` yuan on customer `c`, promised in a week;
    /// returns the order ID.
    #[track_caller]
    pub fn order(&self, dev: &Workspace, c: &DocId, sku: &str, price: &str) -> String {
        let price = must(parse_yuan(price), "parsing the price");
        let promised = self.now() + 7 * DAY;
        must(
            dev.add_order(c, sku, 1, price, promised, None, self.now()),
            "add_order",
        )
        .0
    }

    /// A draft contract (10 000 yuan) on customer `c`; returns its ID.
    #[track_caller]
    pub fn contract(&self, dev: &Workspace, c: &DocId) -> String {
        must(
            dev.add_contract(c, "年度供货合同", 1_000_000, self.now()),
            "add_contract",
        )
    }

    /// A normal complaint on customer `c`, opened now; returns its ID.
    #[track_caller]
    pub fn complaint(&self, dev: &Workspace, c: &DocId) -> String {
        must(
            dev.open_complaint(
                c,
                fieldcrm_model::Severity::Normal,
                "交货延迟",
                self.now(),
                self.now(),
            ),
            "open_complaint",
        )
    }

    /// A channel partner (distributor, region [`REGION`], line 工业泵) owned by the
    /// device's user.
    #[track_caller]
    pub fn channel(&self, dev: &Workspace, name: &str) -> DocId {
        must(
            dev.add_channel(
                NewChannel {
                    name: name.to_string(),
                    kind: ChannelKind::Distributor,
                    region: Some(REGION.to_string()),
                    product_lines: vec!["工业泵".to_string()],
                    owner: None,
                },
                self.now(),
            ),
            "add_channel",
        )
    }

    /// Put two copies of `value` into `collection` of document `id` under entity IDs
    /// that share the prefix `abcd` (and no longer one), by a raw edit through `dev`;
    /// returns the shared prefix. For testing that an ambiguous prefix is refused.
    #[track_caller]
    pub fn twin_entities<T: autosurgeon::Reconcile>(
        &self,
        dev: &Workspace,
        id: &DocId,
        collection: &str,
        value: &T,
    ) -> &'static str {
        must(
            dev.edit(id, self.now(), "test: twin entities", |doc| {
                doc.put(&[collection, "abcd1111aaaaaaaaaaaaaaaaaaaaaaaa"], value)?;
                doc.put(&[collection, "abcd2222bbbbbbbbbbbbbbbbbbbbbbbb"], value)?;
                Ok(())
            }),
            "twin entities",
        );
        "abcd"
    }

    /// A device key (not a real device's) whose hex starts with `prefix` bytes, then
    /// `n`: two such keys share a hex prefix of `2 * prefix.len()` characters.
    pub fn key_with_prefix(prefix: &[u8], n: u8) -> DeviceKey {
        let mut k = [n; 32];
        for (i, b) in prefix.iter().enumerate().take(31) {
            if let Some(slot) = k.get_mut(i) {
                *slot = *b;
            }
        }
        DeviceKey(k)
    }

    /// The singleton document of a kind (roster, catalog, policy, sales).
    pub fn singleton(kind: DocKind) -> DocId {
        DocId::workspace(&kind)
    }
}
