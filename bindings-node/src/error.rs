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

/// What every export returns: a value, or an `Error` with our `code`.
pub type JsResult<T> = std::result::Result<T, napi::Error<Code>>;

/// Converts a core error, keeping its code and message.
pub fn to_js(e: CoreError) -> napi::Error<Code> {
    napi::Error::new(Code(e.code()), e.to_string())
}

/// A rejected Promise's reason with our `code`: the task machinery only carries napi's own
/// statuses, so the error object is made here and handed over as it is.
pub fn to_js_rejection(env: Env, e: CoreError) -> napi::Error {
    let unknown = JsError::from(to_js(e)).into_unknown(env);
    napi::Error::from(unknown)
}

/// `ERR_INVALID_PORT` for a JavaScript number that is not a port.
pub fn port(value: f64) -> JsResult<u16> {
    atlas_ports_core::validate::port_from_number(value).map_err(to_js)
}
