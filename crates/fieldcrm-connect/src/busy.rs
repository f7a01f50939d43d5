//! A relay that turns a device away before the session starts — too many sessions or
//! unauthenticated connections at once (`limits.max_sessions`, `limits.max_preauth*`), or
//! restarting — asks it to try again later. The device does, for a while, instead of
//! failing the user's sync: twenty reps behind one office router syncing at once is
//! normal, not an error. Nothing was exchanged before such a refusal, so trying again
//! repeats nothing.

use std::future::Future;
use std::time::Duration;

use fieldcrm_net::WsError;

/// How long a sync keeps trying a busy relay before it reports the refusal.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// The first wait; each next one doubles, up to [`LONGEST`].
const FIRST: Duration = Duration::from_millis(100);
const LONGEST: Duration = Duration::from_secs(2);

/// The wait before retry `attempt` (1 for the first): [`FIRST`] doubled each time up to
/// [`LONGEST`], then a share between a half and all of it picked by `seed` and the attempt,
/// so devices turned away together (each with its own seed) do not all come back together.
pub(crate) fn backoff(attempt: u32, seed: u64) -> Duration {
    let full = FIRST
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(5))
        .min(LONGEST);
    // splitmix64 of the seed and the attempt: a fraction in [0, 1) with 10 bits.
    let mut x = seed ^ u64::from(attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    let share = 512 + (x % 512) as u32; // 512..1024 of 1024
    full * share / 1024
}

/// `connect` until it succeeds, fails for another reason than a busy relay, or `patience`
/// would run out before the next try; then its last error. Returns how many times the
/// relay said busy, with the result.
pub(crate) async fn patiently<T, F, Fut>(
    patience: Duration,
    seed: u64,
    mut connect: F,
) -> (u32, Result<T, WsError>)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, WsError>>,
{
    let started = tokio::time::Instant::now();
    let mut busy = 0u32;
    loop {
        match connect().await {
            Err(e) if e.is_busy() => {
                busy = busy.saturating_add(1);
                let wait = backoff(busy, seed);
                if started.elapsed().saturating_add(wait) > patience {
                    return (busy, Err(e));
                }
                tokio::time::sleep(wait).await;
            }
            other => return (busy, other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcrm_net::ws::close;

    fn busy() -> WsError {
        WsError::Refused {
            code: close::BUSY,
            reason: "busy".into(),
        }
    }

    #[test]
    fn waits_double_up_to_two_seconds_and_spread_between_half_and_all() {
        for seed in [0, 1, u64::MAX, 0x1234_5678_9abc_def0] {
            for attempt in 1..40u32 {
                let ms = [100, 200, 400, 800, 1600]
                    .get(attempt as usize - 1)
                    .copied()
                    .unwrap_or(2000);
                let full = Duration::from_millis(ms);
                let w = backoff(attempt, seed);
                assert!(w >= full / 2 && w <= full, "{attempt} {seed}: {w:?}");
            }
        }
        assert!(backoff(1, 7) <= Duration::from_millis(100));
        assert!(backoff(30, 7) >= Duration::from_secs(1));
        // Two devices turned away together mostly come back apart.
        let apart = (1..=10)
            .filter(|a| backoff(*a, 1) != backoff(*a, 2))
            .count();
        assert!(apart >= 8, "{apart}");
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn a_busy_relay_is_tried_again_and_other_failures_are_not() {
        let rt = runtime();
        // Busy twice, then in.
        let mut calls = 0;
        let (n, r) = rt.block_on(patiently(Duration::from_secs(5), 3, || {
            calls += 1;
            let r = if calls <= 2 { Err(busy()) } else { Ok(calls) };
            async move { r }
        }));
        assert_eq!((n, r.unwrap(), calls), (2, 3, 3));
        // Another failure ends it at once.
        let mut calls = 0;
        let (n, r) = rt.block_on(patiently(Duration::from_secs(5), 3, || {
            calls += 1;
            async { Err::<(), _>(WsError::Transport("connection refused".into())) }
        }));
        assert_eq!((n, calls), (0, 1));
        assert!(matches!(r, Err(WsError::Transport(_))));
        // Busy for good: given up before the patience runs out, with the busy refusal.
        let started = std::time::Instant::now();
        let mut calls = 0;
        let (n, r) = rt.block_on(patiently(Duration::from_millis(700), 3, || {
            calls += 1;
            async { Err::<(), _>(busy()) }
        }));
        assert!(r.unwrap_err().is_busy());
        assert!(n >= 3 && n == calls, "{n} {calls}");
        assert!(started.elapsed() <= Duration::from_millis(700));
    }
}
