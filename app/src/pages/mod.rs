//! One module per routed page.

pub mod market;
