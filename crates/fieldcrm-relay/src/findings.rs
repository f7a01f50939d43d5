//! `/v1/findings`: the company rules checked on the relay's merged state, for an enrolled
//! device that signs its request. A device sees only findings about documents its user may
//! read (the same read scope as sync), so the endpoint leaks nothing sync would not.

use std::collections::HashSet;

use fieldcrm_model::access::can_read;
use fieldcrm_model::{DeviceKey, DocId, Millis, unhex};
use fieldcrm_net::ws::findings_message;
use fieldcrm_policy::Finding;

use crate::relay::{Access, Relay};

/// How far a request's time may be from the relay's clock.
pub const MAX_SKEW_MS: Millis = 5 * 60_000;

/// Why a findings request was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FindingsError {
    /// Missing or malformed headers.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Signature, freshness or enrollment failed.
    #[error("refused: {0}")]
    Refused(String),
    /// The relay could not read its store.
    #[error("relay store: {0}")]
    Store(String),
}

/// A signed findings request, as parsed from the headers.
#[derive(Debug, Clone)]
pub struct FindingsRequest {
    /// The asking device.
    pub device: DeviceKey,
    /// When the device signed (UTC ms).
    pub at_ms: Millis,
    /// The request's nonce (used once).
    pub nonce: String,
    /// Its signature of [`findings_message`].
    pub signature: [u8; 64],
}

impl FindingsRequest {
    /// Parse the four header values.
    pub fn parse(
        device: &str,
        at: &str,
        nonce: &str,
        signature: &str,
    ) -> Result<Self, FindingsError> {
        let bad = |m: &str| FindingsError::BadRequest(m.to_string());
        Ok(FindingsRequest {
            device: device
                .trim()
                .parse()
                .map_err(|_| bad("x-fieldcrm-device is not a device key"))?,
            at_ms: at
                .trim()
                .parse()
                .map_err(|_| bad("x-fieldcrm-time is not UTC milliseconds"))?,
            nonce: {
                let n = nonce.trim();
                if !(16..=64).contains(&n.len()) || !n.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad("x-fieldcrm-nonce is not 16 to 64 hex characters"));
                }
                n.to_ascii_lowercase()
            },
            signature: unhex(signature.trim())
                .and_then(|b| <[u8; 64]>::try_from(b).ok())
                .ok_or_else(|| bad("x-fieldcrm-signature is not 64 hex bytes"))?,
        })
    }
}

impl Relay {
    /// The findings on the merged state at `now` that `req`'s user may see, after checking
    /// the signature, its freshness and the device's enrollment.
    pub fn findings(
        &self,
        req: &FindingsRequest,
        now: Millis,
    ) -> Result<Vec<Finding>, FindingsError> {
        if (req.at_ms - now).abs() > MAX_SKEW_MS {
            return Err(FindingsError::Refused(
                "request time too far from the relay's clock".into(),
            ));
        }
        let msg = findings_message(self.workspace_id(), req.at_ms, &req.nonce);
        if !fieldcrm_workspace::verify(&req.device, &msg, &req.signature) {
            return Err(FindingsError::Refused("bad signature".into()));
        }
        if !self.first_use_of_nonce(&req.nonce, req.at_ms, now) {
            return Err(FindingsError::Refused(
                "replayed request: this nonce was already used".into(),
            ));
        }
        let access = self.authorize(&req.device).map_err(|r| {
            self.log_refusal(&r, &req.device, "http", None);
            FindingsError::Refused(r.to_string())
        })?;
        let user = match access {
            Access::Device { user } => user,
            Access::Bootstrap => return Ok(Vec::new()),
        };
        let roster = self
            .roster()
            .map_err(FindingsError::Store)?
            .ok_or_else(|| FindingsError::Store("no roster yet".into()))?;
        let started = std::time::Instant::now();
        let all = self
            .checked(now)
            .map_err(|e| FindingsError::Store(e.to_string()))?;
        let store_err = |e: fieldcrm_store::ListError| FindingsError::Store(e.to_string());
        let documents = self.store().len().map_err(store_err)?;
        // Waived and resolved findings are settled: the same open findings a device's
        // `check` shows; read scope from the summaries of the documents they name only.
        let open: Vec<&Finding> = all
            .iter()
            .filter(|t| t.status.is_open())
            .map(|t| &t.finding)
            .collect();
        let named: HashSet<&DocId> = open.iter().flat_map(|f| &f.doc_ids).collect();
        let summaries = self.store().summaries_of(named).map_err(store_err)?;
        let findings: Vec<Finding> = open
            .into_iter()
            .filter(|f| {
                f.doc_ids.iter().all(|id| {
                    summaries
                        .get(id)
                        .is_some_and(|s| can_read(&roster, &user, s))
                })
            })
            .cloned()
            .collect();
        let took = started.elapsed();
        self.metrics().findings_time(took);
        tracing::info!(
            device = %req.device.to_hex(),
            user = %user,
            findings = findings.len(),
            documents,
            duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            "findings computed"
        );
        Ok(findings)
    }
}
