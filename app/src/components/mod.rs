//! Reusable pieces of the dashboard.

pub mod header;
pub mod status;
