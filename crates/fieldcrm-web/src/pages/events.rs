//! `GET /events`: server-sent events; one `change` event whenever another process
//! (the CLI, a sync) changed the store file. The page reloads when the user is not typing.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;

use crate::App;

fn mtime(app: &App) -> Option<SystemTime> {
    std::fs::metadata(app.store_path())
        .and_then(|m| m.modified())
        .ok()
}

/// `GET /events`.
pub(crate) async fn events(
    State(app): State<Arc<App>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let start = mtime(&app);
    let stream = futures_util::stream::unfold((app, start), |(app, mut last)| async move {
        let mut stop = app.shutdown.clone();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                r = stop.changed() => {
                    if r.is_err() || *stop.borrow() {
                        return None;
                    }
                }
            }
            let m = mtime(&app);
            if m == last {
                continue;
            }
            last = m;
            let own = app.own_mtime.lock().ok().and_then(|o| *o);
            if m.is_some() && m == own {
                continue;
            }
            return Some((
                Ok(Event::default().event("change").data("store")),
                (app, last),
            ));
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
