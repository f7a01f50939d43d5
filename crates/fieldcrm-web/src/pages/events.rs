//! `GET /events`: server-sent events; one `change` event whenever another process
//! (the CLI, a sync) changed the store file. The page reloads when the user is not typing.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;

use crate::App;

/// `GET /events`.
pub(crate) async fn events(
    State(app): State<Arc<App>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let seen = app.own_access.seen(&app);
    let stream = futures_util::stream::unfold((app, seen), |(app, mut seen)| async move {
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
            match app.own_access.foreign_changes(&app) {
                Some(n) if n != seen => seen = n,
                _ => continue,
            }
            return Some((
                Ok(Event::default().event("change").data("store")),
                (app, seen),
            ));
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
