//! The WebAssembly API inside a WebAssembly runtime (`wasm-bindgen-test-runner`, on Node):
//! `scripts/test.sh` runs these with `cargo test --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

use atlas_ports_wasm::PortRegistry;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn host(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

fn code(err: &JsValue) -> String {
    js_sys::Reflect::get(err, &JsValue::from_str("code")).unwrap().as_string().unwrap()
}

const NOW: &str = r#"{"now": 1767175200000, "allocatedBy": "user@hostname"}"#;

#[wasm_bindgen_test]
fn the_reference_examples_on_an_in_memory_registry() {
    let mut reg = PortRegistry::with_default_ranges(host(NOW)).unwrap();
    assert_eq!(reg.allocate_port("web", "review-GH-42".into(), "Frontend dev server".into(), host(NOW)).unwrap(), 8080);
    assert_eq!(reg.allocate_port("web", "feature-search".into(), JsValue::UNDEFINED, host(NOW)).unwrap(), 8081);
    let next = reg.find_next_port("web", JsValue::UNDEFINED).unwrap();
    assert_eq!(
        js_sys::JSON::stringify(&next).unwrap(),
        r#"{"service":"web","port":8082,"start":8080,"end":8099,"allocated":[8080,8081]}"#
    );
    assert!(reg.release_port(8080.0, None).unwrap());
    assert!(!reg.release_port(8080.0, None).unwrap());
    let text = reg.to_json();
    assert!(text.contains(r#""allocated_at": "2025-12-31T10:00:00Z""#), "{text}");
    assert!(text.contains(r#""allocated_by": "user@hostname""#), "{text}");
    assert!(text.contains(r#""total_allocations": 1"#), "{text}");
}

#[wasm_bindgen_test]
fn busy_ports_from_the_host_are_skipped() {
    let mut reg = PortRegistry::with_default_ranges(JsValue::UNDEFINED).unwrap();
    assert_eq!(
        reg.allocate_port("database", "w".into(), JsValue::UNDEFINED, host(r#"{"busy": [5432, 5433]}"#)).unwrap(),
        5434
    );
    assert_eq!(
        reg.ensure_port("database", "w".into(), JsValue::UNDEFINED, host(r#"{"busy": [5434]}"#)).unwrap(),
        5434,
        "ensure keeps the held port"
    );
}

#[wasm_bindgen_test]
fn errors_carry_the_native_codes() {
    let err = PortRegistry::new("{\"ranges\": {}, \"allocations\": [").unwrap_err();
    assert_eq!(code(&err), "ERR_CORRUPT_REGISTRY");
    let mut reg = PortRegistry::with_default_ranges(JsValue::UNDEFINED).unwrap();
    assert_eq!(
        code(&reg.allocate_port("wbe", "w".into(), JsValue::UNDEFINED, JsValue::UNDEFINED).unwrap_err()),
        "ERR_UNKNOWN_SERVICE"
    );
    assert_eq!(code(&reg.release_port(70000.0, None).unwrap_err()), "ERR_INVALID_PORT");
    assert_eq!(
        code(&reg.allocate_port("web", "".into(), JsValue::UNDEFINED, JsValue::UNDEFINED).unwrap_err()),
        "ERR_INVALID_ARGUMENT"
    );
    // No worktree: WebAssembly cannot ask git, and says so with the native code.
    assert_eq!(
        code(&reg.ensure_port("web", JsValue::UNDEFINED, JsValue::UNDEFINED, JsValue::UNDEFINED).unwrap_err()),
        "ERR_NOT_IN_WORKTREE"
    );
    assert_eq!(
        code(&reg.allocate_port("web", "w".into(), JsValue::from_f64(1.0), JsValue::UNDEFINED).unwrap_err()),
        "ERR_INVALID_ARGUMENT"
    );
    assert_eq!(
        code(&reg.allocate_port("web", "w".into(), JsValue::UNDEFINED, host(r#"{"bogus": 1}"#)).unwrap_err()),
        "ERR_INVALID_ARGUMENT"
    );
}

#[wasm_bindgen_test]
fn unknown_fields_survive_and_untouched_text_is_byte_for_byte() {
    let text = r#"{"x-team": "web", "ranges": {"web": {"start": 8080, "end": 8099, "health_path": "/up"}}, "allocations": [], "metadata": {"mirror": true}}"#;
    let mut reg = PortRegistry::new(text).unwrap();
    assert_eq!(reg.to_json(), text);
    reg.allocate_port("web", "w".into(), JsValue::UNDEFINED, JsValue::UNDEFINED).unwrap();
    let out = reg.to_json();
    for kept in [r#""x-team": "web""#, r#""health_path": "/up""#, r#""mirror": true"#] {
        assert!(out.contains(kept), "{kept} lost: {out}");
    }
}
