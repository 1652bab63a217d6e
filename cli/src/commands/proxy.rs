//! `atlas-ports proxy start|stop|status|service`: the named-URL proxy (the dashboard's server)
//! as a background service with a stable address.

use super::{Exit, Invocation};
use crate::args::{ProxyAction, ProxyArgs, ServiceManager};
use crate::output;
use atlas_ports_core::proxy::ProxyRecord;
use atlas_ports_core::{Error, Result, Timestamp};
use atlas_ports_native::proxy::{self, Liveness, ServiceKind, StartOutcome, StopOutcome};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

pub fn run(inv: &Invocation<'_>, args: ProxyArgs) -> Result<Exit> {
    let json = inv.json()?;
    let ports = inv.ports();
    let registry = proxy::absolute(ports.registry_path(), &inv.ws.cwd);
    match args.action {
        ProxyAction::Start { port, proxy_timeout } => {
            let port = proxy::configured_port(inv.ws, port)?;
            let outcome = proxy::start(&inv.this()?, &inv.ws.cwd, &registry, port, proxy_timeout)?;
            start_report(inv, json, &registry, outcome)
        }
        ProxyAction::Stop { grace } => {
            let outcome = proxy::stop(&registry, &inv.ws.cwd, grace)?;
            stop_report(json, outcome)
        }
        ProxyAction::Status => status(inv, json, &registry),
        ProxyAction::Service { kind, install, port } => {
            let port = proxy::configured_port(inv.ws, port)?;
            service(json, &inv.this()?, kind, install, &registry, port)
        }
    }
}

/// What a running proxy is, as JSON and as the lines the text says.
fn described(inv: &Invocation<'_>, registry: &Path, r: &ProxyRecord) -> (Value, String) {
    let log = inv.ws.display(&proxy::log_path(registry));
    let url = format!("http://127.0.0.1:{}/", r.port);
    let named = format!("http://<service>.<worktree>.localhost:{}/", r.port);
    let value = json!({
        "pid": r.pid,
        "port": r.port,
        "url": url,
        "named_urls": named,
        "registry": r.registry,
        "log": log,
        "started_at": r.started_at,
        "version": r.version,
    });
    let text = format!("named URLs: {named}\nregistry: {}\nlog: {log}\n", r.registry);
    (value, text)
}

fn start_report(inv: &Invocation<'_>, json: bool, registry: &Path, outcome: StartOutcome) -> Result<Exit> {
    let (state, record) = match outcome {
        StartOutcome::AlreadyRunning(r) => ("already_running", r),
        StartOutcome::Started(r) => ("started", r),
        StartOutcome::Failed { reason, log_tail } => {
            let log = inv.ws.display(&proxy::log_path(registry));
            if json {
                output::json(&json!({ "state": "failed", "reason": reason, "log": log, "log_tail": log_tail }))?;
            }
            let mut text = format!("atlas-ports: error: the proxy did not start: {reason}; the end of {log}:\n");
            for line in &log_tail {
                text.push_str(&format!("  {line}\n"));
            }
            output::note(text.trim_end());
            return Ok(Exit::No);
        }
    };
    let (mut value, lines) = described(inv, registry, &record);
    if json {
        value["state"] = json!(state);
        output::json(&value)?;
    } else {
        let what = if state == "started" { "started" } else { "already running" };
        output::text(&format!(
            "atlas-ports proxy: {what} at http://127.0.0.1:{}/ (pid {})\n{lines}",
            record.port, record.pid
        ))?;
    }
    Ok(Exit::Success)
}

fn stop_report(json: bool, outcome: StopOutcome) -> Result<Exit> {
    let (value, text) = match outcome {
        StopOutcome::NotRunning { warning } => {
            if let Some(w) = &warning {
                output::note(w);
            }
            (json!({ "state": "not_running" }), "atlas-ports proxy: not running\n".to_owned())
        }
        StopOutcome::Stopped { record, killed } => (
            json!({ "state": "stopped", "pid": record.pid, "port": record.port, "killed": killed }),
            format!(
                "atlas-ports proxy: stopped pid {} (port {}){}\n",
                record.pid,
                record.port,
                if killed { " with SIGKILL: it did not end after SIGTERM" } else { "" }
            ),
        ),
        StopOutcome::Stale { record, reason } => (
            json!({ "state": "stale", "pid": record.pid, "port": record.port, "reason": reason }),
            format!(
                "atlas-ports proxy: not running: its record named pid {} but {reason}; nothing was signalled, the record was removed\n",
                record.pid
            ),
        ),
    };
    if json {
        output::json(&value)?
    } else {
        output::text(&text)?
    }
    Ok(Exit::Success)
}

fn status(inv: &Invocation<'_>, json: bool, registry: &Path) -> Result<Exit> {
    let recorded = proxy::read(registry);
    if let Some(w) = &recorded.warning {
        output::note(w);
    }
    let live = recorded.record.as_ref().map(|r| (proxy::liveness(r), proxy::answers(r.port)));
    let Some(record) = recorded.record.filter(|_| matches!(live, Some((Liveness::Alive, true)))) else {
        let why = match (&live, &recorded.warning) {
            (Some((Liveness::Alive, _)), _) => "its process runs but does not answer on its port",
            (Some((Liveness::Gone, _)), _) => "the process its record names is gone",
            (Some((Liveness::Other(_), _)), _) => "the PID its record names is another program now",
            (None, Some(_)) => "its state file is unusable",
            (None, None) => "no proxy is recorded",
        };
        let log = inv.ws.display(&proxy::log_path(registry));
        if json {
            output::json(
                &json!({ "running": false, "reason": why, "registry": registry.display().to_string(), "log": log }),
            )?;
        } else {
            output::text(&format!(
                "atlas-ports proxy: not running ({why}); start it with `atlas-ports proxy start`\n"
            ))?;
        }
        return Ok(Exit::No);
    };
    let (mut value, lines) = described(inv, registry, &record);
    let now = atlas_ports_core::Clock::now(&atlas_ports_native::SystemClock);
    let uptime = Timestamp::parse(&record.started_at).map(|t| now.0.saturating_sub(t.0));
    let urls: Vec<(String, String)> = inv
        .ports()
        .list(None)
        .unwrap_or_default()
        .iter()
        .map(|a| (format!("{} {}", a.worktree, a.service), atlas_ports_core::names::url(a, record.port)))
        .collect();
    if json {
        value["running"] = json!(true);
        value["uptime_seconds"] = json!(uptime);
        value["services"] = Value::Array(
            inv.ports()
                .list(None)
                .unwrap_or_default()
                .iter()
                .map(|a| {
                    json!({ "worktree": a.worktree, "service": a.service, "port": a.port, "url": atlas_ports_core::names::url(a, record.port) })
                })
                .collect(),
        );
        output::json(&value)?;
    } else {
        let mut text = format!(
            "atlas-ports proxy: running at http://127.0.0.1:{}/ (pid {}, up {})\n{lines}",
            record.port,
            record.pid,
            uptime.map_or_else(|| "for an unknown time".to_owned(), human)
        );
        for (what, url) in urls {
            text.push_str(&format!("  {what:<30} {url}\n"));
        }
        output::text(&text)?;
    }
    Ok(Exit::Success)
}

/// `3h 12m`, `4m 2s`, `9s`.
fn human(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

fn service(
    json: bool,
    this: &atlas_ports_native::SelfCommand,
    kind: ServiceManager,
    install: bool,
    registry: &Path,
    port: u16,
) -> Result<Exit> {
    let kind = match kind {
        ServiceManager::Systemd => ServiceKind::Systemd,
        ServiceManager::Launchd => ServiceKind::Launchd,
    };
    let text = proxy::render(kind, this, registry, port, &proxy::log_path(registry))?;
    if let Some(cached) = this.words().find(|w| w.components().any(|c| c.as_os_str() == "_npx")) {
        output::note(&format!(
            "atlas-ports: warning: the service file runs {}, inside npx's cache, which npm may clear: install atlas-ports (`npm install -g atlas-ports`, or in the project) and run `proxy service` from there",
            cached.display()
        ));
    }
    let (path, enable) = proxy::install_path(kind)?;
    let installed: Option<PathBuf> = if install {
        let dir = path.parent().expect("an install path has a folder");
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { action: "create", path: dir.to_owned(), source })?;
        std::fs::write(&path, &text).map_err(|source| Error::Io { action: "write", path: path.clone(), source })?;
        Some(path.clone())
    } else {
        None
    };
    if json {
        output::json(&json!({
            "text": text,
            "path": path.display().to_string(),
            "installed": installed.is_some(),
            "enable": enable,
        }))?;
    } else if installed.is_some() {
        output::text(&format!("atlas-ports proxy: wrote {}\nenable and start it with:\n  {enable}\n", path.display()))?;
    } else {
        output::text(&text)?;
        output::note(&format!("atlas-ports: save it as {} (or pass --install), then run: {enable}", path.display()));
    }
    Ok(Exit::Success)
}
