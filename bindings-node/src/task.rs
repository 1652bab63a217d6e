//! The Promise forms: any operation as a napi task, run on libuv's thread pool so that the
//! lock wait and the probes never block the event loop. A failure rejects the Promise with a
//! coded `Error`, exactly as the Sync form throws it.

use crate::error::to_js_rejection;
use atlas_ports_core::Error as CoreError;
use napi::bindgen_prelude::*;

type Work<T> = Box<dyn FnOnce() -> std::result::Result<T, CoreError> + Send>;

/// One operation, done off the main thread.
pub struct Job<T> {
    work: Option<Work<T>>,
}

impl<T> Job<T> {
    pub fn new(work: impl FnOnce() -> std::result::Result<T, CoreError> + Send + 'static) -> Self {
        Job { work: Some(Box::new(work)) }
    }
}

impl<T: ToNapiValue + TypeName + Send + 'static> Task for Job<T> {
    type Output = std::result::Result<T, CoreError>;
    type JsValue = T;

    fn compute(&mut self) -> Result<Self::Output> {
        let work = self.work.take().ok_or_else(|| Error::from_reason("the operation already ran"))?;
        Ok(work())
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        output.map_err(|e| to_js_rejection(env, e))
    }
}
