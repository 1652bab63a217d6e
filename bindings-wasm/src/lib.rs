//! The registry for JavaScript hosts that cannot load a native addon (browsers, WebContainers,
//! editor extensions), through wasm-bindgen. The host holds the registry as JSON text and
//! passes in what only it can know: the ports busy on its machine and the time. Every
//! operation runs the same code as native (`Ports` over the core's in-memory filesystem), so
//! the validation, the allocation rules and the error codes are the same.

mod objects;

use atlas_ports_core::memory::{FixedClock, FixedIdentity, MemoryFs, ScriptedProbe};
use atlas_ports_core::{
    AllocateRequest, AllocationState, Error, Host, Ports, Registry, Timestamp, conflicts, report, status, validate,
};
use objects::{Allocations, ConflictReport, HostOptions, NextPort, StatusReport};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// Where the registry lives in the in-memory filesystem (shown in error messages).
const PATH: &str = "ports.json";

/// A port registry held in memory as JSON text.
#[wasm_bindgen]
#[derive(Debug)]
pub struct PortRegistry {
    fs: MemoryFs,
}

/// An `Error` whose `code` is the core's stable code, as the Node addon throws.
fn js_error(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(e.code()));
    err.into()
}

/// An `Error` with `code`, for what only this binding checks.
fn coded(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}

/// The worktree argument: WebAssembly has no git to find it, so a missing one is the native
/// side's `ERR_NOT_IN_WORKTREE` (not wasm-bindgen's code-less `TypeError`).
fn worktree_arg(worktree: JsValue) -> Result<String, JsValue> {
    if let Some(w) = worktree.as_string() {
        return Ok(w);
    }
    if worktree.is_undefined() || worktree.is_null() {
        return Err(coded(
            "ERR_NOT_IN_WORKTREE",
            "no worktree given: WebAssembly cannot ask git which worktree this is; pass its id, as in ensurePort('web', 'review-GH-42')",
        ));
    }
    Err(coded("ERR_INVALID_ARGUMENT", "the worktree must be a string"))
}

/// The optional description: a string, or nothing.
fn description_arg(description: JsValue) -> Result<Option<String>, JsValue> {
    match description.as_string() {
        Some(d) => Ok(Some(d)),
        None if description.is_undefined() || description.is_null() => Ok(None),
        None => Err(coded("ERR_INVALID_ARGUMENT", "the description must be a string")),
    }
}

/// A returned object, as the generated TypeScript type of the export says.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value.serialize(&serde_wasm_bindgen::Serializer::new()).map_err(JsValue::from)
}

/// Reads the host options; an unknown member is a typo worth reporting.
fn host_options(host: JsValue) -> Result<HostOptions, JsValue> {
    if host.is_undefined() || host.is_null() {
        return Ok(HostOptions::default());
    }
    let invalid =
        |reason: String| js_error(Error::InvalidArgument { what: "host options", value: String::new(), reason });
    if !host.is_object() {
        return Err(invalid("expected an object { busy?, now?, allocatedBy? }".to_owned()));
    }
    // serde-wasm-bindgen reads only the members it knows, so a typo would pass unseen.
    let object: &js_sys::Object = host.unchecked_ref();
    for key in js_sys::Object::keys(object).iter().filter_map(|k| k.as_string()) {
        if !HostOptions::MEMBERS.contains(&key.as_str()) {
            return Err(invalid(format!("unknown member '{key}' (expected {})", HostOptions::MEMBERS.join(", "))));
        }
    }
    serde_wasm_bindgen::from_value(host).map_err(|e| invalid(e.to_string()))
}

#[wasm_bindgen]
impl PortRegistry {
    /// Loads registry JSON text. Throws an `Error` with code `ERR_CORRUPT_REGISTRY` naming the
    /// line and column, or the field, when the text is not a valid registry.
    #[wasm_bindgen(constructor)]
    pub fn new(json: &str) -> Result<PortRegistry, JsValue> {
        let fs = MemoryFs::new();
        fs.insert(PATH, json);
        let registry = PortRegistry { fs };
        registry.with(HostOptions::default(), |ports| ports.load()).map_err(js_error)?;
        Ok(registry)
    }

    /// A new registry with the six default ranges (what `atlas-ports init` writes).
    #[wasm_bindgen(js_name = withDefaultRanges)]
    pub fn with_default_ranges(
        #[wasm_bindgen(unchecked_optional_param_type = "HostOptions")] host: JsValue,
    ) -> Result<PortRegistry, JsValue> {
        let now = timestamp(&host_options(host)?).to_string();
        let fs = MemoryFs::new();
        fs.insert(PATH, Registry::with_default_ranges(&now).to_json());
        Ok(PortRegistry { fs })
    }

    /// Allocates the first port of the service's range that no allocation holds and the host
    /// did not list as busy; returns it.
    #[wasm_bindgen(js_name = allocatePort)]
    pub fn allocate_port(
        &mut self,
        service: &str,
        #[wasm_bindgen(unchecked_param_type = "string")] worktree: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] description: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "HostOptions")] host: JsValue,
    ) -> Result<u16, JsValue> {
        let worktree = worktree_arg(worktree)?;
        let description = description_arg(description)?;
        let req = request(service, &worktree, &description);
        self.with(host_options(host)?, |p| p.allocate(&req)).map(|a| a.port).map_err(js_error)
    }

    /// Returns the port the worktree already holds for the service, or allocates one.
    #[wasm_bindgen(js_name = ensurePort)]
    pub fn ensure_port(
        &mut self,
        service: &str,
        #[wasm_bindgen(unchecked_param_type = "string")] worktree: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] description: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "HostOptions")] host: JsValue,
    ) -> Result<u16, JsValue> {
        let worktree = worktree_arg(worktree)?;
        let description = description_arg(description)?;
        let req = request(service, &worktree, &description);
        self.with(host_options(host)?, |p| p.ensure(&req)).map(|e| e.allocation.port).map_err(js_error)
    }

    /// Releases a port (only `worktree`'s allocation of it when given); true if released.
    #[wasm_bindgen(js_name = releasePort)]
    pub fn release_port(&mut self, port: f64, worktree: Option<String>) -> Result<bool, JsValue> {
        let port = validate::port_from_number(port).map_err(js_error)?;
        self.with(HostOptions::default(), |p| p.release(port, worktree.as_deref()))
            .map(|removed| !removed.is_empty())
            .map_err(js_error)
    }

    /// Releases every port of a worktree; returns what was released.
    #[wasm_bindgen(js_name = releaseWorktree, unchecked_return_type = "Allocations")]
    pub fn release_worktree(&mut self, worktree: &str) -> Result<JsValue, JsValue> {
        let removed = self.with(HostOptions::default(), |p| p.release_worktree(worktree)).map_err(js_error)?;
        to_js(&Allocations::from(&removed[..]))
    }

    /// The port `allocatePort` would return now, without allocating.
    #[wasm_bindgen(js_name = findNextPort, unchecked_return_type = "NextPort")]
    pub fn find_next_port(
        &self,
        service: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "HostOptions")] host: JsValue,
    ) -> Result<JsValue, JsValue> {
        let next = self.with(host_options(host)?, |p| p.find_next(service)).map_err(js_error)?;
        to_js(&NextPort::from(&next))
    }

    /// A worktree's allocations, as stored.
    #[wasm_bindgen(js_name = listAllocatedPorts, unchecked_return_type = "Allocations")]
    pub fn list_allocated_ports(&self, worktree: &str) -> Result<JsValue, JsValue> {
        let list = self.with(HostOptions::default(), |p| p.list(Some(worktree))).map_err(js_error)?;
        to_js(&Allocations::from(&list[..]))
    }

    /// Duplicate ports and structural problems (port outside its range, service without a
    /// range, overlapping ranges).
    #[wasm_bindgen(js_name = checkConflicts, unchecked_return_type = "ConflictReport")]
    pub fn check_conflicts(&self) -> Result<JsValue, JsValue> {
        to_js(&ConflictReport::from(&conflicts::registry_conflicts(&self.registry()?)))
    }

    /// The conflict report as text (the CLI's `conflicts` without probing).
    #[wasm_bindgen(js_name = conflictsText)]
    pub fn conflicts_text(&self) -> Result<String, JsValue> {
        Ok(report::conflicts(&conflicts::registry_conflicts(&self.registry()?)))
    }

    /// Every range with its allocations (their stored health) and free ports.
    #[wasm_bindgen(unchecked_return_type = "StatusReport")]
    pub fn status(&self) -> Result<JsValue, JsValue> {
        to_js(&StatusReport::from(&self.stored_status()?))
    }

    /// `status()` as the text of `atlas-ports status --all`.
    #[wasm_bindgen(js_name = statusText)]
    pub fn status_text(&self) -> Result<String, JsValue> {
        Ok(report::status_all(&self.stored_status()?))
    }

    /// One worktree's allocations as the table of `atlas-ports status --worktree`.
    #[wasm_bindgen(js_name = worktreeText)]
    pub fn worktree_text(&self, worktree: &str) -> Result<String, JsValue> {
        let reg = self.registry()?;
        let states: Vec<AllocationState> = reg
            .allocations
            .iter()
            .filter(|a| a.worktree == worktree)
            .map(|a| AllocationState::as_stored(&reg, a.clone()))
            .collect();
        Ok(report::status_worktree(worktree, &states))
    }

    /// The registry as JSON text, unknown fields and key order intact. Untouched text comes back
    /// byte for byte.
    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        String::from_utf8(self.fs.get(PATH).unwrap_or_default()).unwrap_or_default()
    }
}

impl PortRegistry {
    /// Runs an operation of the native code path over the in-memory registry.
    fn with<T>(
        &self,
        input: HostOptions,
        op: impl FnOnce(&Ports<'_>) -> atlas_ports_core::Result<T>,
    ) -> atlas_ports_core::Result<T> {
        let probe = ScriptedProbe::with_busy(input.busy.iter().copied());
        let clock = FixedClock(timestamp(&input));
        let who = FixedIdentity(input.allocated_by.clone().unwrap_or_else(|| "wasm".to_owned()));
        let ports = Ports::new(Host { fs: &self.fs, probe: &probe, clock: &clock, identity: &who }, PATH);
        op(&ports)
    }

    fn registry(&self) -> Result<Registry, JsValue> {
        self.with(HostOptions::default(), |p| p.load()).map_err(js_error)
    }

    fn stored_status(&self) -> Result<status::StatusReport, JsValue> {
        let reg = self.registry()?;
        let states = reg.allocations.iter().map(|a| AllocationState::as_stored(&reg, a.clone())).collect();
        Ok(status::by_range(&reg, states))
    }
}

fn request<'a>(service: &'a str, worktree: &'a str, description: &'a Option<String>) -> AllocateRequest<'a> {
    AllocateRequest { description: description.as_deref().unwrap_or(""), ..AllocateRequest::new(service, worktree) }
}

fn timestamp(input: &HostOptions) -> Timestamp {
    let ms = input.now.unwrap_or_else(js_sys::Date::now);
    Timestamp((ms / 1000.0).max(0.0) as u64)
}
