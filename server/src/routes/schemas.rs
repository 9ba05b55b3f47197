//! Protocol types as the OpenAPI document refers to them. The protocol's types have no
//! `utoipa::ToSchema`: a handler's body names them as `#/components/schemas/NAME`,
//! which `contract::openapi` fills with the schemars definitions of `docs/schema.json`.
//! Each function here is one such reference, for `#[schema(schema_with = …)]`.

use utoipa::openapi::{Ref, RefOr, Schema};

/// The schema of a protocol type, by name (`Snapshot`, `Epoch`, …).
fn protocol(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

/// `Snapshot`, for `#[schema(schema_with = …)]`.
pub fn snapshot_schema() -> RefOr<Schema> {
    protocol("Snapshot")
}

/// `Epoch`, for `#[schema(schema_with = …)]`.
pub fn epoch_schema() -> RefOr<Schema> {
    protocol("Epoch")
}

/// `Timestamp`, for `#[schema(schema_with = …)]`.
pub fn timestamp_schema() -> RefOr<Schema> {
    protocol("Timestamp")
}

/// `Resync` (why a poll could not resume, and the snapshot to start again from), for
/// `#[schema(schema_with = …)]`.
pub fn resync_schema() -> RefOr<Schema> {
    protocol("Resync")
}

/// A list of `Envelope`s, for `#[schema(schema_with = …)]`.
pub fn envelopes_schema() -> RefOr<Schema> {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(Ref::from_schema_name("Envelope"))
        .description(Some(
            "Envelopes, byte for byte as a socket subscriber received them",
        ))
        .into()
}

/// `Topic`, for `#[schema(schema_with = …)]`.
pub fn topic_schema() -> RefOr<Schema> {
    protocol("Topic")
}
