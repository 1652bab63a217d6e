//! The registry lookups behind named URLs. Every request reads the registry afresh, so a port
//! change is followed at once; but a read of a large registry is large (about 10 MB at 20,000
//! allocations), and named URLs need no token, so any page can send many. Lookups therefore run
//! one at a time, each on a task of its own that finishes even if its browser leaves, and a
//! lookup answers every request that arrived before it began: forty requests at once read the
//! registry about twice and hold one copy of it, not forty. Only the answer (one allocation, or
//! a page) outlives the routing.

use super::Context;
use super::http::{self, Body};
use super::page;
use atlas_ports_core::Allocation;
use atlas_ports_core::names::{self, RequestHost, Route};
use hyper::{Response, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// A registry's allocations as one lookup read them (or why it could not), shared by the
/// requests that lookup answers.
type Listing = Arc<Result<Vec<Allocation>, String>>;

/// The last lookup, and the requests it may still answer.
#[derive(Debug, Default)]
pub struct Lookups {
    /// One lookup at a time, and the last one with when it began.
    last: tokio::sync::Mutex<Option<(Instant, Listing)>>,
    /// Requests between arriving and routing; the last one out lets the listing go.
    routing: AtomicUsize,
}

/// Where a name leads: only the answer (one allocation, or a page) is kept, not the registry's
/// allocations while a response streams.
pub enum Found {
    Service(Allocation),
    Page(Response<Body>),
}

/// A request between arriving and routing, counted in [`Lookups::routing`] until dropped, even
/// when the browser goes away mid-lookup.
struct Routing<'c>(&'c Context);

impl<'c> Routing<'c> {
    fn enter(ctx: &'c Context) -> Routing<'c> {
        ctx.lookups.routing.fetch_add(1, Ordering::SeqCst);
        Routing(ctx)
    }
}

impl Drop for Routing<'_> {
    fn drop(&mut self) {
        if self.0.lookups.routing.fetch_sub(1, Ordering::SeqCst) == 1
            && let Ok(mut last) = self.0.lookups.last.try_lock()
        {
            // Nobody else is routing: the listing is of no more use, and may be large.
            last.take();
        }
    }
}

/// The registry's allocations as read by a lookup that began no earlier than `arrived`.
async fn listing(ctx: &Arc<Context>, arrived: Instant) -> Listing {
    // On a task of its own, so that it runs to the end even if the browser goes away: were it
    // dropped with the request, its read would go on on a blocking thread while the next
    // request began another, and 200 abandoned requests on a 50,000-allocation registry had
    // 1.8 GB of lookups under way at once.
    let ctx = ctx.clone();
    tokio::spawn(async move { look_up(&ctx, arrived).await }).await.unwrap_or_else(|e| Arc::new(Err(e.to_string())))
}

async fn look_up(ctx: &Arc<Context>, arrived: Instant) -> Listing {
    let mut last = ctx.lookups.last.lock().await;
    if let Some((began, listing)) = &*last
        && *began >= arrived
    {
        return listing.clone();
    }
    let began = Instant::now();
    let looked = ctx.clone();
    let read = tokio::task::spawn_blocking(move || {
        looked.ports().list(None).map_err(|e| {
            // Escaped as everywhere else a person reads registry text (a corrupt registry's
            // message quotes it).
            atlas_ports_core::printable(&format!("atlas-ports: the registry: {e}")).into_owned()
        })
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    let listing = Arc::new(read);
    // Kept for the requests still waiting; when every one has gone, nobody would let it go.
    *last = (ctx.lookups.routing.load(Ordering::SeqCst) > 0).then(|| (began, listing.clone()));
    listing
}

/// Where the name `host` leads, by a lookup that began after the request arrived.
pub async fn find(ctx: &Arc<Context>, host: RequestHost) -> Found {
    let arrived = Instant::now();
    let routing = Routing::enter(ctx);
    let listing = listing(ctx, arrived).await;
    let port = ctx.port;
    let found = tokio::task::spawn_blocking(move || {
        let allocations = match &*listing {
            Ok(a) => a,
            Err(message) => return Found::Page(http::text(StatusCode::SERVICE_UNAVAILABLE, message.clone())),
        };
        match names::route(&host, allocations) {
            // The dashboard's own port: forwarding would call this server again, forever.
            Some(Route::Service(a)) if a.port == port => Found::Page(page::looped(a)),
            Some(Route::Service(a)) => Found::Service(a.clone()),
            Some(Route::Ambiguous(found)) => {
                Found::Page(page::ambiguous(&host.name, &found.into_iter().cloned().collect::<Vec<_>>(), port))
            }
            Some(Route::Unknown { .. }) | None => Found::Page(page::unknown(&host, allocations, port)),
        }
    })
    .await;
    drop(routing);
    found.unwrap_or_else(|e| Found::Page(http::text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())))
}
