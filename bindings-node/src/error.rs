//! Core errors as JavaScript `Error`s whose `code` is the core's stable code.

use atlas_ports_core::Error as CoreError;
use napi::bindgen_prelude::*;

/// The `code` of a thrown error: `ENOENT`, `ERR_UNKNOWN_SERVICE`, …
#[derive(Debug, Clone, Copy)]
pub struct Code(pub &'static str);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

/// Converts a core error, keeping its code and message (control characters escaped), with a hint in JavaScript's words.
pub fn to_js(e: CoreError) -> napi::Error<Code> {
    let hint = match e {
        CoreError::RegistryMissing { .. } => "; create one with initRegistry()",
        CoreError::RegistryExists { .. } => "; pass { force: true } to replace it with the defaults",
        CoreError::NotInWorktree { .. } => "; pass the worktree's name",
        CoreError::ProjectFileMissing { .. } => "; declare the services in atlas-ports.toml at the repository's root",
        _ => "",
    };
    // A message may quote a hand-edited registry: its control characters are made visible.
    napi::Error::new(Code(e.code()), atlas_ports_core::printable(&format!("{e}{hint}")).into_owned())
}

/// A rejected Promise's reason with our `code`: the task machinery only carries napi's own
/// statuses, so the error object is made here and handed over as it is.
pub fn to_js_rejection(env: Env, e: CoreError) -> napi::Error {
    let unknown = JsError::from(to_js(e)).into_unknown(env);
    napi::Error::from(unknown)
}
