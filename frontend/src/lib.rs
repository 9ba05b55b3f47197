#![recursion_limit = "256"]
//! The browser entry point: hydrates the server-rendered dashboard. Everything else lives in `app`.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazy routes (the backtests and sessions pages) hydrate once their chunk is loaded.
    app::hydration::hydrate();
}
