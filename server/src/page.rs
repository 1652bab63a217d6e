//! The pages: the dashboard itself (its HTML, script and style sheet are files in `assets/`,
//! built into the program, so it works offline), and the proxy's pages for a name that leads
//! nowhere, to several services, or to one that is down.

use super::http::{self, Body, escape};
use atlas_ports_core::Allocation;
use atlas_ports_core::names::{self, RequestHost};
use hyper::{Response, StatusCode};

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");

/// The page, carrying this run's token for its script to send back.
pub fn index(token: &str) -> Response<Body> {
    let page = INDEX.replace("{{TOKEN}}", token);
    http::respond(StatusCode::OK, "text/html; charset=utf-8", http::PAGE_POLICY, page)
}

pub fn script() -> Response<Body> {
    http::respond(StatusCode::OK, "text/javascript; charset=utf-8", http::PAGE_POLICY, SCRIPT)
}

pub fn style() -> Response<Body> {
    http::respond(StatusCode::OK, "text/css; charset=utf-8", http::PAGE_POLICY, STYLE)
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"color-scheme\" content=\"light dark\">\
         <title>{title}</title></head><body>\n<h1>{title}</h1>\n{body}</body></html>\n",
        title = escape(title)
    )
}

/// The most named URLs an error page lists: a registry of 50,000 allocations once made every
/// unknown name a 6.8 MB page.
pub const MAX_LISTED: usize = 50;

/// The named URLs worth showing for a name that leads nowhere: those that share its worktree
/// or service label first, then the rest in registry order, at most [`MAX_LISTED`].
fn listing(asked: &RequestHost, allocations: &[Allocation], proxy_port: u16) -> String {
    if allocations.is_empty() {
        return "<p>The registry has no allocations yet.</p>\n".to_owned();
    }
    let labels = asked.localhost_labels().unwrap_or_default();
    let (service, worktree) = match labels.as_slice() {
        [s, w] => (*s, *w),
        [w] => ("", *w),
        _ => ("", ""),
    };
    let kin = |a: &Allocation| names::host_label(&a.worktree) == worktree || names::host_label(&a.service) == service;
    let mut shown: Vec<&Allocation> = allocations.iter().filter(|a| kin(a)).take(MAX_LISTED).collect();
    if shown.len() < MAX_LISTED {
        shown.extend(allocations.iter().filter(|a| !kin(a)).take(MAX_LISTED - shown.len()));
    }
    let mut items = String::new();
    for a in &shown {
        let url = names::url(a, proxy_port);
        items.push_str(&format!(
            "<li><a href=\"{url}\">{url}</a>: {service} of worktree {worktree}, port {port}</li>\n",
            url = escape(&url),
            service = escape(&a.service),
            worktree = escape(&a.worktree),
            port = a.port
        ));
    }
    let more = match allocations.len() - shown.len() {
        0 => String::new(),
        n => format!(
            "<p>and {n} more: <a href=\"http://127.0.0.1:{proxy_port}/\">the dashboard</a> lists them all.</p>\n"
        ),
    };
    format!("<ul>\n{items}</ul>\n{more}")
}

/// 404: no allocation has this name.
pub fn unknown(asked: &RequestHost, allocations: &[Allocation], proxy_port: u16) -> Response<Body> {
    let body = format!(
        "<p>No worktree's service is called <code>{}</code>. Names are \
         <code>&lt;service&gt;.&lt;worktree&gt;.localhost:{proxy_port}</code>; these are some of the ones there are:</p>\n{}\
         <p><a href=\"http://127.0.0.1:{proxy_port}/\">The dashboard</a></p>\n",
        escape(&asked.name),
        listing(asked, allocations, proxy_port)
    );
    http::html(StatusCode::NOT_FOUND, document("Unknown name", &body))
}

/// 409: several allocations share this name.
pub fn ambiguous(name: &str, found: &[Allocation], proxy_port: u16) -> Response<Body> {
    let mut items = String::new();
    for a in found {
        items.push_str(&format!(
            "<li>{service} of worktree {worktree}: <a href=\"http://127.0.0.1:{port}/\">port {port}</a></li>\n",
            service = escape(&a.service),
            worktree = escape(&a.worktree),
            port = a.port
        ));
    }
    let body = format!(
        "<p><code>{}</code> stands for more than one allocation (worktree names that map to the same host \
         label, or a service allocated twice). Reach them by port, or rename a worktree:</p>\n<ul>\n{items}</ul>\n\
         <p><a href=\"http://127.0.0.1:{proxy_port}/\">The dashboard</a></p>\n",
        escape(name)
    );
    http::html(StatusCode::CONFLICT, document("Ambiguous name", &body))
}

/// 502 (or 504): the service does not answer, or not in time, or not as HTTP.
/// `state` ends the title: "is not running", "did not answer in time".
pub fn down(a: &Allocation, status: StatusCode, state: &str, why: &str) -> Response<Body> {
    let title = format!("{} of worktree {} {state}", a.service, a.worktree);
    let body = format!(
        "<p>The registry gives port {port} to {service} of worktree {worktree}, but {why}.</p>\n\
         <p>If it is not running, start it (for example <code>atlas-ports run --service {service} -- npm run dev</code> \
         in that worktree) and reload.</p>\n",
        port = a.port,
        service = escape(&a.service),
        worktree = escape(&a.worktree),
        why = escape(why)
    );
    http::html(status, document(&title, &body))
}

/// 508: the allocation's port is the dashboard's own.
pub fn looped(a: &Allocation) -> Response<Body> {
    let title = format!("{} of worktree {} is on the dashboard's own port", a.service, a.worktree);
    let body = format!(
        "<p>The registry gives port {port} to {service} of worktree {worktree}, and the dashboard listens there, \
         so there is nothing else to reach. Release the port, or start the dashboard on another one.</p>\n",
        port = a.port,
        service = escape(&a.service),
        worktree = escape(&a.worktree),
    );
    http::html(StatusCode::LOOP_DETECTED, document(&title, &body))
}
