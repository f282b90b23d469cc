//! Inline OpenAPI schemas of the domain's closed sets, built from their wire names: a query
//! parameter then takes the domain type itself, and the document cannot drift from the names the
//! server accepts.

use utoipa::openapi::{Object, ObjectBuilder, Type, schema::SchemaType};

use crate::domain::{
    classification::Outcome,
    deadline::PauseKind,
    dossier::{Channel, HistoryAction, PaymentMethod, Resolution, Status},
    procedure::OnlineLevel,
    webhook::DeliveryStatus,
};

/// A string that is one of `names`.
fn one_of(names: impl IntoIterator<Item = &'static str>) -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .enum_values(Some(names))
        .build()
}

/// A string that is one of `names`, or `null`.
fn one_of_or_null(names: impl IntoIterator<Item = &'static str>) -> Object {
    let values = names
        .into_iter()
        .map(serde_json::Value::from)
        .chain([serde_json::Value::Null]);
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
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

pub fn outcome_or_null() -> Object {
    one_of_or_null(Outcome::ALL.map(Outcome::as_str))
}

pub fn channel() -> Object {
    one_of(Channel::ALL.map(Channel::as_str))
}

pub fn result_or_null() -> Object {
    one_of_or_null(Resolution::ALL.map(Resolution::as_str))
}

pub fn history_action() -> Object {
    one_of(HistoryAction::ALL.map(HistoryAction::as_str))
}

pub fn payment_method() -> Object {
    one_of(PaymentMethod::ALL.map(PaymentMethod::as_str))
}

pub fn payment_method_or_null() -> Object {
    one_of_or_null(PaymentMethod::ALL.map(PaymentMethod::as_str))
}

pub fn pause_kind() -> Object {
    one_of(PauseKind::ALL.map(PauseKind::as_str))
}

pub fn online_level() -> Object {
    one_of(OnlineLevel::ALL.map(OnlineLevel::as_str))
}
