//! Inline OpenAPI schemas of the domain's closed sets, built from their wire names: a query
//! parameter then takes the domain type itself, and the document cannot drift from the names the
//! server accepts.

use utoipa::openapi::{Object, ObjectBuilder, Type, schema::SchemaType};

use crate::domain::{classification::Outcome, dossier::Status, webhook::DeliveryStatus};

/// A string that is one of `names`.
fn one_of(names: impl IntoIterator<Item = &'static str>) -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .enum_values(Some(names))
        .build()
}

pub fn status() -> Object {
    one_of(Status::ALL.map(Status::as_str))
}

pub fn outcome() -> Object {
    one_of(Outcome::ALL.map(Outcome::as_str))
}

pub fn delivery_status() -> Object {
    one_of(DeliveryStatus::ALL.map(DeliveryStatus::as_str))
}
