//! The dashboard's JSON API. Every request must carry the per-run token (header
//! `x-atlas-ports-token`) that only the served page holds; a state-changing one must also be a
//! `POST` of JSON whose `Origin` is the dashboard's own. So a page on another origin can
//! neither read the state nor release a port: it has no token, and its `Origin` is wrong.
//!
//! | request | body | does |
//! | --- | --- | --- |
//! | `GET /api/state` | | the page's data ([`DashboardState`]) |
//! | `POST /api/release` | `{"port": 8080, "worktree": "w"}` | releases that worktree's port |
//! | `POST /api/release-worktree` | `{"worktree": "w"}` | releases every port of a worktree |
//! | `POST /api/prune` | `{"dry_run": true}` | what prune would stop and release, or does it |
//! | `POST /api/start` | `{"worktree": "w", "service": "web"}` | starts the command the worktree's atlas-ports.toml declares for it |
//! | `POST /api/stop` | `{"worktree": "w", "service": "web"}` | stops that service's servers provably the worktree's |
//! | `POST /api/check` | `{}` | a health check now, stored in the registry |
//!
//! Errors answer `{"error": {"code", "message"}}` with the CLI's error codes.

use super::Context;
use super::http::{self, Body};
use atlas_ports_core::dashboard::DashboardState;
use atlas_ports_core::report::ReleaseReport;
use atlas_ports_core::{Error, printable};
use atlas_ports_native::servers::{StartOptions, StopOptions};
use atlas_ports_native::{SystemHealthProbe, Workspace, lifecycle, servers};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, ORIGIN};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The header that carries the token.
pub const TOKEN_HEADER: &str = "x-atlas-ports-token";
/// The largest request body read.
const MAX_BODY: usize = 64 * 1024;
/// How long a request's body may take to arrive.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one look at the registry and its ports answers `GET /api/state`: several open
/// pages polling every second probe the ports about once a second, not once per page.
const STATE_FRESH: Duration = Duration::from_millis(500);
/// How long a stopped server is given between SIGTERM and SIGKILL (the CLI's default).
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long the Start button waits for the service to be ready.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The last state served.
#[derive(Debug, Default)]
pub struct StateCache(Mutex<Option<(Instant, StatusCode, Bytes)>>);

impl StateCache {
    fn forget(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// A refusal or failure, as the API answers it.
struct Failure(StatusCode, &'static str, String);

impl Failure {
    fn respond(self) -> Response<Body> {
        let Failure(status, code, message) = self;
        http::json(status, &serde_json::json!({ "error": { "code": code, "message": message } }))
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let status = match &e {
            Error::RegistryMissing { .. } => StatusCode::NOT_FOUND,
            Error::InvalidPort { .. } | Error::InvalidArgument { .. } | Error::UnknownService { .. } => {
                StatusCode::BAD_REQUEST
            }
            Error::LockTimeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Failure(status, e.code(), printable(&e.to_string()).into_owned())
    }
}

fn forbidden(message: &str) -> Failure {
    Failure(StatusCode::FORBIDDEN, "ERR_FORBIDDEN", message.to_owned())
}

pub async fn handle(ctx: &Arc<Context>, req: Request<Incoming>, host: &str) -> Response<Body> {
    match answer(ctx, req, host).await {
        Ok(r) => r,
        Err(f) => f.respond(),
    }
}

async fn answer(ctx: &Arc<Context>, req: Request<Incoming>, host: &str) -> Result<Response<Body>, Failure> {
    let token = req.headers().get(TOKEN_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if !http::same_secret(token, ctx.token.as_bytes()) {
        return Err(forbidden(
            "this request does not carry the dashboard's token: only the page it serves may use the API",
        ));
    }
    let path = req.uri().path().to_owned();
    if req.method() == Method::GET && path == "/api/state" {
        return Ok(state(ctx).await);
    }
    if req.method() != Method::POST {
        return Err(Failure(
            StatusCode::METHOD_NOT_ALLOWED,
            "ERR_METHOD",
            format!("{} {path}: not an API request", req.method()),
        ));
    }
    let scheme = if super::server::over_tls(&req) { "https" } else { "http" };
    let expected_origin = format!("{scheme}://{host}");
    match req.headers().get(ORIGIN).map(|v| v.as_bytes()) {
        Some(origin) if origin.eq_ignore_ascii_case(expected_origin.as_bytes()) => {}
        Some(origin) => {
            let origin = String::from_utf8_lossy(origin);
            return Err(forbidden(&format!(
                "a request from {origin} may not change the registry; only {expected_origin} may"
            )));
        }
        None => return Err(forbidden("a request that changes the registry must say its Origin")),
    }
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
    if !is_json {
        return Err(Failure(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "ERR_CONTENT_TYPE",
            "send application/json".to_owned(),
        ));
    }
    let body = match tokio::time::timeout(BODY_TIMEOUT, Limited::new(req.into_body(), MAX_BODY).collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) => {
            return Err(Failure(StatusCode::PAYLOAD_TOO_LARGE, "ERR_BODY", format!("could not read the request: {e}")));
        }
        Err(_) => {
            return Err(Failure(
                StatusCode::REQUEST_TIMEOUT,
                "ERR_BODY",
                format!("the request's body did not arrive within {} s", BODY_TIMEOUT.as_secs()),
            ));
        }
    };
    let answer = match path.as_str() {
        "/api/release" => {
            let ReleaseBody { port, worktree } = parse(&body)?;
            act(ctx, move |c| Ok(ReleaseReport { released: c.ports().release(port, Some(&worktree))? })).await?
        }
        "/api/release-worktree" => {
            let WorktreeBody { worktree } = parse(&body)?;
            act(ctx, move |c| Ok(ReleaseReport { released: c.ports().release_worktree(&worktree)? })).await?
        }
        "/api/prune" => {
            let PruneBody { dry_run } = parse(&body)?;
            act(ctx, move |c| {
                let registry = c.ports().registry_path().to_owned();
                lifecycle::prune_stopping(c.workspace(), Some(&registry), STOP_GRACE, dry_run)
            })
            .await?
        }
        "/api/start" => {
            let ServiceBody { worktree, service } = parse(&body)?;
            act(ctx, move |c| {
                let (ws, registry) = worktree_at(c, &worktree)?;
                let options = StartOptions { service: Some(service), timeout: START_TIMEOUT };
                Ok(servers::start(&ws, Some(&registry), &options)?.1)
            })
            .await?
        }
        "/api/stop" => {
            let ServiceBody { worktree, service } = parse(&body)?;
            act(ctx, move |c| {
                let (ws, registry) = worktree_at(c, &worktree)?;
                let options = StopOptions { service: Some(service), grace: STOP_GRACE, dry_run: false };
                servers::stop_here(&ws, Some(&registry), &options)
            })
            .await?
        }
        "/api/check" => {
            let CheckBody {} = parse(&body)?;
            act(ctx, |c| {
                let states = c.ports().health_check(None, &SystemHealthProbe::default())?;
                Ok(serde_json::json!({ "checked": states.len() }))
            })
            .await?
        }
        _ => return Err(Failure(StatusCode::NOT_FOUND, "ERR_NOT_FOUND", format!("no API at {path}"))),
    };
    ctx.state.forget();
    Ok(http::json(StatusCode::OK, &answer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseBody {
    port: u16,
    worktree: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorktreeBody {
    worktree: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PruneBody {
    dry_run: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceBody {
    worktree: String,
    service: String,
}

/// A worktree of the registry as if atlas-ports ran inside it (its folder as recorded), with the
/// dashboard's registry: what `start` and `stop` run in. Refused when the folder is not that
/// worktree's any more (gone, or now known by another name).
fn worktree_at(ctx: &Context, worktree: &str) -> atlas_ports_core::Result<(Workspace, PathBuf)> {
    let ports = ctx.ports();
    let registry = ports.registry_path().to_owned();
    let path = ports.list(Some(worktree))?.into_iter().find_map(|a| a.worktree_path).ok_or_else(|| {
        Error::InvalidArgument {
            what: "worktree",
            value: worktree.to_owned(),
            reason: "the registry records no folder for it".to_owned(),
        }
    })?;
    let refused = |reason: String| Error::InvalidArgument { what: "worktree", value: worktree.to_owned(), reason };
    if !Path::new(&path).is_dir() {
        return Err(refused(format!("its folder {path} is gone")));
    }
    let ws = Workspace::at(PathBuf::from(&path))?;
    let name = ws
        .worktree_name(&ws.ports(Some(&registry)), None)
        .map_err(|e| refused(format!("its folder {path} is not a worktree now ({e})")))?;
    if name != worktree {
        return Err(refused(format!("its recorded folder {path} is worktree '{name}' now")));
    }
    Ok((ws, registry))
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body)
        .map_err(|e| Failure(StatusCode::BAD_REQUEST, "ERR_INVALID_ARGUMENT", format!("the request's JSON: {e}")))
}

/// Runs a registry operation on a blocking thread.
async fn act<T: serde::Serialize + Send + 'static>(
    ctx: &Arc<Context>,
    work: impl FnOnce(&Context) -> atlas_ports_core::Result<T> + Send + 'static,
) -> Result<serde_json::Value, Failure> {
    let ctx = ctx.clone();
    let done =
        tokio::task::spawn_blocking(move || work(&ctx).map(|v| serde_json::to_value(v).expect("reports serialise")))
            .await
            .map_err(|e| Failure(StatusCode::INTERNAL_SERVER_ERROR, "ERR_INTERNAL", e.to_string()))?;
    Ok(done?)
}

/// `GET /api/state`: the registry and its ports as seen at most [`STATE_FRESH`] ago.
async fn state(ctx: &Arc<Context>) -> Response<Body> {
    if let Some((at, status, body)) = ctx.state.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
        && at.elapsed() < STATE_FRESH
    {
        return http::respond(status, "application/json", http::PLAIN_POLICY, body);
    }
    let looked = ctx.clone();
    let (status, body) = tokio::task::spawn_blocking(move || match look(&looked) {
        Ok(state) => (StatusCode::OK, serde_json::to_vec(&state).expect("the state serialises")),
        Err(e) => {
            let Failure(status, code, message) = e.into();
            (
                status,
                serde_json::to_vec(&serde_json::json!({ "error": { "code": code, "message": message } }))
                    .expect("json"),
            )
        }
    })
    .await
    .unwrap_or_else(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string().into_bytes()));
    let body = Bytes::from(body);
    *ctx.state.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), status, body.clone()));
    http::respond(status, "application/json", http::PLAIN_POLICY, body)
}

/// The page's data and who holds each canonical port (`checkouts`; a checkouts file that cannot
/// be read is said in `checkouts_error`, and the rest is still shown).
#[derive(serde::Serialize)]
struct PageState {
    #[serde(flatten)]
    state: DashboardState,
    checkouts: Vec<atlas_ports_core::report::CheckoutState>,
    checkouts_error: Option<String>,
}

fn look(ctx: &Context) -> atlas_ports_core::Result<PageState> {
    let ports = ctx.ports();
    let (reg, mut states) = ports.observe(None, &SystemHealthProbe::default())?;
    let (checkouts, checkouts_error) =
        match atlas_ports_native::checkout::states(ports.registry_path(), &reg.allocations) {
            Ok(c) => (c, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
    servers::mark_started(ports.registry_path(), &mut states);
    let now = atlas_ports_core::Clock::now(&atlas_ports_native::SystemClock).to_string();
    let mut state = DashboardState::new(ctx.registry_display(), now, &reg, states, Some(ctx.port));
    for w in &mut state.worktrees {
        let declared = w.path.as_deref().map_or_else(Vec::new, |p| lifecycle::declared_commands(Path::new(p)));
        for s in &mut w.services {
            s.command = declared.contains(&s.service);
        }
    }
    Ok(PageState { state, checkouts, checkouts_error })
}
