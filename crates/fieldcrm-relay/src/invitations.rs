//! Invitations at the relay (see `fieldcrm_model::invitation`):
//!
//! - `POST /v1/invitations`: an admin's device uploads an invitation it signed; the
//!   request is signed by that device like `/v1/findings` (time, nonce used once) over the
//!   body. Kept as pending in the store's meta table, keyed by its code key. The relay
//!   never sees the code, only the public key derived from it, so it cannot use the
//!   invitation itself.
//! - `POST /v1/invitations/redeem`: a new device proves its own key (the request
//!   signature) and the code (the code key's signature of the same request, header
//!   [`fieldcrm_net::ws::CODE_PROOF_HEADER`]). Wrong, expired and used codes are refused
//!   with a reason code; an address with [`MAX_FAILURES`] refusals in [`FAILURE_WINDOW_MS`]
//!   is refused before any check. A right code is marked used by that device (durably,
//!   under a lock) before the answer: the signed invitation and the roster. The same
//!   device may redeem again (a retry); another may not.
//! - `POST /v1/invitations/enrol`: the device that redeemed delivers its enrolment
//!   change; it is judged by the roster chain as any roster change is (`fieldcrm_sync`),
//!   must enrol exactly that device with that invitation, and is saved. From then on the
//!   device syncs like any other.
//!
//! Every event goes to [`Relay::invitation_log`] (`invitations.jsonl`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use automerge::{AutoCommit, ChangeHash};
use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use fieldcrm_model::invitation::{MAX_VALID_MS, parse_signature};
use fieldcrm_model::{DeviceKey, DocId, DocKind, Invitation, Millis, Role, Roster, hex, unhex};
use fieldcrm_net::ws::{
    CODE_PROOF_HEADER, ENROL_PATH, FINDINGS_HEADERS, INVITATIONS_PATH, REDEEM_PATH, request_message,
};
use fieldcrm_sync::{Part, RosterScope, judge};
use serde::{Deserialize, Serialize};

use crate::findings::{FindingsRequest, MAX_SKEW_MS};
use crate::http::ConnMeta;
use crate::invitation_log::{self, InvitationEvent, InvitationEventKind as Kind};
use crate::relay::{Access, Relay};

/// Refused attempts from one address that make the relay refuse it for a while.
pub const MAX_FAILURES: usize = 5;
/// The window [`MAX_FAILURES`] counts over (10 minutes).
pub const FAILURE_WINDOW_MS: Millis = 10 * 60_000;

const META_PREFIX: &str = "relay.invitation.";

/// An invitation the relay holds, and its use.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    invitation: Invitation,
    used: Option<Used>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Used {
    device: String,
    addr: String,
    at_ms: Millis,
}

/// A refusal: HTTP status, reason code, English detail.
#[derive(Debug)]
struct Refuse(StatusCode, &'static str, String);

impl Refuse {
    fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Refuse(status, code, detail.into())
    }
    fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Refuse::new(StatusCode::FORBIDDEN, code, detail)
    }
    fn response(&self) -> Response {
        (
            self.0,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "code": self.1, "message": self.2 }).to_string(),
        )
            .into_response()
    }
}

/// What the invitation routes share: the relay and the failed attempts per address.
struct Invitations {
    relay: Relay,
    failures: Mutex<HashMap<IpAddr, Vec<Millis>>>,
}

/// Serialises check-and-mark of a code (one relay per process in practice).
static REDEEM: Mutex<()> = Mutex::new(());

/// The invitation routes (merged into [`crate::app`]).
pub(crate) fn routes(relay: Relay) -> Router {
    let state = Arc::new(Invitations {
        relay,
        failures: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route(INVITATIONS_PATH, post(create))
        .route(REDEEM_PATH, post(redeem))
        .route(ENROL_PATH, post(enrol))
        .with_state(state)
}

impl Relay {
    /// Every invitation event so far, oldest first: created (by which admin and device,
    /// for whom, until when), used (by which new device, from which address), enrolled,
    /// refused (why, from which address). Read from `invitations.jsonl` in the data
    /// directory.
    pub fn invitation_log(&self) -> std::io::Result<Vec<InvitationEvent>> {
        invitation_log::read(&self.config().data_dir)
    }

    fn log(&self, event: &InvitationEvent) -> Result<(), Refuse> {
        invitation_log::append(&self.config().data_dir, event).map_err(|e| {
            Refuse::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store",
                format!("invitation log: {e}"),
            )
        })?;
        // The console's audit log shows it too.
        self.record_event(event.console_event());
        Ok(())
    }

    fn pending(&self, code_key: &str) -> Result<Option<Pending>, Refuse> {
        let key = format!("{META_PREFIX}{}", code_key.trim().to_ascii_lowercase());
        let raw = self.store().get_meta(&key).map_err(store_err)?;
        Ok(raw.and_then(|b| serde_json::from_slice(&b).ok()))
    }

    fn keep(&self, p: &Pending) -> Result<(), Refuse> {
        let key = format!("{META_PREFIX}{}", p.invitation.code_key);
        let bytes = serde_json::to_vec(p).map_err(store_err)?;
        self.store().set_meta(&key, &bytes).map_err(store_err)
    }

    /// The roster document the relay holds (the invitations need one).
    fn roster_doc(&self) -> Result<(AutoCommit, Arc<Roster>), Refuse> {
        let rid = DocId::workspace(&DocKind::Roster);
        let none = || {
            Refuse::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store",
                "the relay has no roster yet",
            )
        };
        let roster = self.roster().map_err(store_err)?.ok_or_else(none)?;
        let bytes = self.store().load_bytes(&rid).map_err(store_err)?;
        let doc = AutoCommit::load(&bytes).map_err(store_err)?;
        Ok((doc, roster))
    }
}

fn store_err(e: impl std::fmt::Display) -> Refuse {
    Refuse::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store",
        format!("relay store: {e}"),
    )
}

fn client_ip(meta: &Option<Extension<ConnMeta>>) -> IpAddr {
    meta.as_ref()
        .map(|Extension(m)| m.peer.ip().to_canonical())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Check a signed POST: headers, freshness, the device's signature over `purpose` and
/// the body, the nonce's first use.
fn signed(
    relay: &Relay,
    purpose: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: Millis,
) -> Result<(FindingsRequest, Vec<u8>), Refuse> {
    let [d, t, n, s] = FINDINGS_HEADERS.map(|h| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    });
    let req = FindingsRequest::parse(&d, &t, &n, &s)
        .map_err(|e| Refuse::new(StatusCode::BAD_REQUEST, "bad-request", e.to_string()))?;
    if (req.at_ms - now).abs() > MAX_SKEW_MS {
        return Err(Refuse::forbidden(
            "bad-request",
            "request time too far from the relay's clock",
        ));
    }
    let msg = request_message(
        purpose,
        relay.workspace_id(),
        &req.device,
        req.at_ms,
        &req.nonce,
        body,
    );
    if !fieldcrm_workspace::verify(&req.device, &msg, &req.signature) {
        return Err(Refuse::forbidden(
            "bad-request",
            "the request signature does not verify",
        ));
    }
    if !relay.first_use_of_nonce(&req.nonce, req.at_ms, now) {
        return Err(Refuse::forbidden(
            "bad-request",
            "replayed request: this nonce was already used",
        ));
    }
    Ok((req, msg))
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Refuse> {
    serde_json::from_slice(body).map_err(|e| {
        Refuse::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            format!("not the JSON expected: {e}"),
        )
    })
}

async fn blocking(
    f: impl FnOnce() -> Result<serde_json::Value, Refuse> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            v.to_string(),
        )
            .into_response(),
        Ok(Err(r)) => r.response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response(),
    }
}

/// `POST /v1/invitations`: the body is the signed [`Invitation`].
async fn create(State(st): State<Arc<Invitations>>, headers: HeaderMap, body: Bytes) -> Response {
    blocking(move || {
        let relay = &st.relay;
        let now = relay.now_ms();
        let (req, _) = signed(relay, "invite", &headers, &body, now)?;
        let inv: Invitation = json_body(&body)?;
        let forged = |why: &str| Refuse::forbidden("forged", why.to_string());
        let user = match relay
            .authorize(&req.device)
            .map_err(|r| Refuse::forbidden("forged", r.to_string()))?
        {
            Access::Device { user } => user,
            Access::Bootstrap => return Err(forged("the relay has no roster yet")),
        };
        let (_, roster) = relay.roster_doc()?;
        let admin = roster.users.get(&user).filter(|u| u.role == Role::Admin);
        let Some(admin) = admin else {
            return Err(forged("only an admin's device may create invitations"));
        };
        if inv.created_by != req.device.to_hex() || !inv.signature_verifies() {
            return Err(forged(
                "the invitation is not signed by the device that sent it",
            ));
        }
        if inv.workspace_id != relay.workspace_id() {
            return Err(forged("the invitation is for another workspace"));
        }
        let valid = inv.expires_at.saturating_sub(inv.created_at);
        if valid <= 0 || valid > MAX_VALID_MS || inv.expires_at <= now {
            return Err(forged(
                "the invitation's validity is not between now and 30 days",
            ));
        }
        if inv.code_key().is_none() || inv.id.len() != 32 || inv.user.len() != 32 {
            return Err(forged("the invitation is malformed"));
        }
        match (inv.new_user, roster.users.get(&inv.user)) {
            (true, Some(_)) => return Err(forged("the invitation's new user exists already")),
            (false, None) => return Err(forged("the invitation's user does not exist")),
            _ => {}
        }
        let _guard = REDEEM.lock().unwrap_or_else(|p| p.into_inner());
        if relay.pending(&inv.code_key)?.is_some() {
            return Err(Refuse::new(
                StatusCode::CONFLICT,
                "duplicate",
                "an invitation with this code is already held",
            ));
        }
        let mut e = InvitationEvent::new(now, Kind::Created);
        e.invitation = Some(inv.id.clone());
        e.name = Some(inv.name.clone());
        e.role = Some(inv.role.to_string());
        e.team = inv.team.clone();
        e.expires_at = Some(inv.expires_at);
        e.by_device = Some(inv.created_by.clone());
        e.by_user = Some(admin.name.clone());
        relay.log(&e)?;
        relay.keep(&Pending {
            invitation: inv.clone(),
            used: None,
        })?;
        Ok(serde_json::json!({ "id": inv.id, "expires_at": inv.expires_at }))
    })
    .await
}

#[derive(Deserialize)]
struct RedeemBody {
    code_key: String,
}

/// `POST /v1/invitations/redeem`: body `{"code_key": …}`; answers the invitation and
/// the roster (`roster`: hex of the saved document, `sigs`: `[[change hash, signature]]`).
async fn redeem(
    State(st): State<Arc<Invitations>>,
    meta: Option<Extension<ConnMeta>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ip = client_ip(&meta);
    blocking(move || {
        let relay = &st.relay;
        let now = relay.now_ms();
        let mut refused = InvitationEvent::new(now, Kind::Refused);
        refused.addr = Some(ip.to_string());
        if st.limited(ip, now) {
            let r = Refuse::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                format!(
                    "{MAX_FAILURES} failed attempts from {ip} in the last 10 minutes; try again later"
                ),
            );
            refused.reason = Some("rate-limited".into());
            relay.log(&refused)?;
            return Err(r);
        }
        let result = redeem_checked(relay, &headers, &body, ip, now, &mut refused);
        if let Err(r) = &result {
            st.failed(ip, now);
            refused.reason = Some(format!("{}: {}", r.1, r.2));
            relay.log(&refused)?;
        }
        result
    })
    .await
}

fn redeem_checked(
    relay: &Relay,
    headers: &HeaderMap,
    body: &[u8],
    ip: IpAddr,
    now: Millis,
    refused: &mut InvitationEvent,
) -> Result<serde_json::Value, Refuse> {
    let (req, msg) = signed(relay, "redeem", headers, body, now)?;
    refused.device = Some(req.device.to_hex());
    let b: RedeemBody = json_body(body)?;
    let wrong = || Refuse::forbidden("wrong-code", "no invitation has this code");
    let code_key: DeviceKey = b.code_key.parse().map_err(|_| wrong())?;
    let proof = headers
        .get(CODE_PROOF_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_signature)
        .ok_or_else(wrong)?;
    if !fieldcrm_workspace::verify(&code_key, &msg, &proof) {
        return Err(wrong());
    }
    let _guard = REDEEM.lock().unwrap_or_else(|p| p.into_inner());
    let mut p = relay.pending(&code_key.to_hex())?.ok_or_else(wrong)?;
    refused.invitation = Some(p.invitation.id.clone());
    let me = req.device.to_hex();
    match &p.used {
        Some(u) if u.device != me => {
            return Err(Refuse::forbidden(
                "used",
                format!(
                    "the invitation was used by device {} at {}",
                    fieldcrm_model::short_id(&u.device),
                    u.at_ms
                ),
            ));
        }
        Some(_) => {}
        None => {
            if now > p.invitation.expires_at {
                return Err(Refuse::forbidden(
                    "expired",
                    format!("the invitation expired at {}", p.invitation.expires_at),
                ));
            }
            // Used from now on, on disk before the answer.
            p.used = Some(Used {
                device: me.clone(),
                addr: ip.to_string(),
                at_ms: now,
            });
            let mut e = InvitationEvent::new(now, Kind::Used);
            e.invitation = Some(p.invitation.id.clone());
            e.name = Some(p.invitation.name.clone());
            e.device = Some(me);
            e.addr = Some(ip.to_string());
            relay.log(&e)?;
            relay.keep(&p)?;
        }
    }
    let rid = DocId::workspace(&DocKind::Roster);
    let (bytes, sigs) = relay.store().load_signed(&rid).map_err(store_err)?;
    let sigs: Vec<(String, String)> = sigs.iter().map(|(h, s)| (h.to_string(), hex(s))).collect();
    Ok(serde_json::json!({
        "invitation": p.invitation,
        "roster": hex(&bytes),
        "sigs": sigs,
    }))
}

#[derive(Deserialize)]
struct EnrolBody {
    code_key: String,
    change: String,
    signature: String,
}

/// `POST /v1/invitations/enrol`: body `{"code_key", "change" (hex), "signature" (hex)}`
/// from the device that redeemed the invitation.
async fn enrol(
    State(st): State<Arc<Invitations>>,
    meta: Option<Extension<ConnMeta>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ip = client_ip(&meta);
    blocking(move || {
        let relay = &st.relay;
        let now = relay.now_ms();
        let result = enrol_checked(relay, &headers, &body, now);
        if let Err(r) = &result {
            let mut e = InvitationEvent::new(now, Kind::Refused);
            e.addr = Some(ip.to_string());
            e.reason = Some(format!("{}: {}", r.1, r.2));
            relay.log(&e)?;
        } else if let Ok(v) = &result {
            let mut e = InvitationEvent::new(now, Kind::Enrolled);
            let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
            e.invitation = text("invitation");
            e.device = text("device");
            e.addr = Some(ip.to_string());
            relay.log(&e)?;
        }
        result
    })
    .await
}

fn enrol_checked(
    relay: &Relay,
    headers: &HeaderMap,
    body: &[u8],
    now: Millis,
) -> Result<serde_json::Value, Refuse> {
    let (req, _) = signed(relay, "enrol", headers, body, now)?;
    let b: EnrolBody = json_body(body)?;
    let me = req.device.to_hex();
    let _guard = REDEEM.lock().unwrap_or_else(|p| p.into_inner());
    let p = relay
        .pending(&b.code_key)?
        .ok_or_else(|| Refuse::forbidden("wrong-code", "no invitation has this code"))?;
    if p.used.as_ref().is_none_or(|u| u.device != me) {
        return Err(Refuse::forbidden(
            "used",
            "this device has not redeemed this invitation",
        ));
    }
    let bad = |why: String| Refuse::forbidden("forged", why);
    let change = unhex(&b.change).ok_or_else(|| bad("the change is not hex".into()))?;
    let sig = parse_signature(&b.signature).ok_or_else(|| bad("bad signature".into()))?;
    let (doc, roster) = relay.roster_doc()?;
    let rid = DocId::workspace(&DocKind::Roster);
    let store = relay.store().clone();
    let lookup = move |id: &DocId| store.summary(id).ok().flatten();
    let scope = RosterScope::new((*roster).clone(), String::new(), lookup)
        .roster_chain(relay.workspace_id(), Some(doc.clone()));
    let chunks = [(change, sig)];
    let j = judge(&scope, Part::Changes(&chunks), rid.clone(), true).map_err(bad)?;
    j.verdict.clone().map_err(bad)?;
    if let Some(r) = j.refused.first() {
        return Err(bad(r.describe()));
    }
    // The relay's own rule on top of the chain's: this change enrols the device that
    // redeemed the invitation, with this invitation.
    let mut after = doc;
    let parsed = automerge::Change::from_bytes(j.data.clone()).map_err(|e| bad(e.to_string()))?;
    let author_ok = DeviceKey::from_actor(parsed.actor_id()) == Some(req.device);
    after
        .apply_changes([parsed])
        .map_err(|e| bad(e.to_string()))?;
    let devices: std::collections::BTreeMap<String, fieldcrm_model::Device> =
        autosurgeon::hydrate_prop(&after, automerge::ROOT, "devices").unwrap_or_default();
    let enrolled = devices
        .get(&me)
        .and_then(|d| d.invitation.as_ref())
        .is_some_and(|e| e.invitation.id == p.invitation.id);
    if !author_ok || !enrolled {
        return Err(bad(
            "the change does not enrol this device with this invitation".into(),
        ));
    }
    let sigs: Vec<(ChangeHash, fieldcrm_model::Signature)> = j.sigs.clone();
    relay
        .store()
        .apply_batch([(&rid, j.data.as_slice(), sigs.as_slice())])
        .map_err(store_err)?;
    Ok(serde_json::json!({ "invitation": p.invitation.id, "device": me }))
}

impl Invitations {
    /// Whether `ip` has used up its failures in the window.
    fn limited(&self, ip: IpAddr, now: Millis) -> bool {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let list = f.entry(ip).or_default();
        list.retain(|t| now.saturating_sub(*t) < FAILURE_WINDOW_MS);
        list.len() >= MAX_FAILURES
    }

    fn failed(&self, ip: IpAddr, now: Millis) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: addresses with no failure in the window are dropped.
        if f.len() > 10_000 {
            f.retain(|_, l| l.iter().any(|t| now.saturating_sub(*t) < FAILURE_WINDOW_MS));
        }
        f.entry(ip).or_default().push(now);
    }
}
