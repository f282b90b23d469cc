//! How the domain's types are stored: each closed set (status, channel, outcome …) as its wire
//! name in a `Text` column, an [`Instant`] as a naive-UTC `Timestamp` to the microsecond, and
//! structured values (the applicant, the due computation) as JSON `Text`. These mappings work on
//! both backends and on the `MultiBackend` of [`super::DbConnection`]; a stored value that does not
//! decode is an error, never a default.

use chrono::NaiveDateTime;
use diesel::{
    backend::Backend,
    deserialize::{self, FromSql},
    pg::Pg,
    serialize::{self, IsNull, Output, ToSql},
    sql_types::{Text, Timestamp},
    sqlite::Sqlite,
};

use crate::{
    auth::policy::Role,
    domain::{
        Instant,
        applicant::Applicant,
        classification::Outcome,
        deadline::{DueExplanation, PauseKind, SupplementPolicy, TimeUnit},
        document::DocumentKind,
        dossier::{Channel, HistoryAction, PaymentMethod, Resolution, Status},
        procedure::OnlineLevel,
        webhook::DeliveryStatus,
    },
};

/// `AsExpression` and `FromSqlRow` for a type of the domain, which must not depend on diesel.
macro_rules! sql_value {
    ($ty:ty, $sql:ty) => {
        const _: () = {
            #[derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
            #[diesel(foreign_derive, sql_type = $sql)]
            #[allow(dead_code)]
            struct Proxy($ty);
        };
    };
}

/// A `Text` column read as a string and then decoded by `$decode` (which names what went wrong).
macro_rules! from_text {
    ($ty:ty, $decode:expr) => {
        sql_value!($ty, Text);

        impl<DB: Backend> FromSql<Text, DB> for $ty
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let decode: fn(&str) -> Result<$ty, String> = $decode;
                decode(&String::from_sql(bytes)?).map_err(Into::into)
            }
        }
    };
}

/// A closed set stored as its wire name.
macro_rules! text_enum {
    ($($ty:ty),+ $(,)?) => {$(
        from_text!($ty, |raw| raw.parse::<$ty>().map_err(|e| e.to_string()));

        impl<DB: Backend> ToSql<Text, DB> for $ty
        where
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.as_str().to_sql(out)
            }
        }
    )+};
}

text_enum!(
    Status,
    Channel,
    Resolution,
    Outcome,
    HistoryAction,
    TimeUnit,
    SupplementPolicy,
    Role,
    DeliveryStatus,
    PauseKind,
    PaymentMethod,
    OnlineLevel,
    DocumentKind,
);

sql_value!(Instant, Timestamp);

impl<DB: Backend> FromSql<Timestamp, DB> for Instant
where
    NaiveDateTime: FromSql<Timestamp, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        NaiveDateTime::from_sql(bytes).map(Instant::from_naive_utc)
    }
}

impl<DB: Backend> ToSql<Timestamp, DB> for Instant
where
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.as_naive_utc().to_sql(out)
    }
}

/// A value stored as JSON text: PostgreSQL takes the bytes as they are written, SQLite an owned
/// string; the multi-backend connection hands the value to the one in use.
macro_rules! json_text {
    ($($ty:ty),+ $(,)?) => {$(
        from_text!($ty, |raw| {
            serde_json::from_str(raw)
                .map_err(|e| format!("{} is not readable JSON ({e})", stringify!($ty)))
        });

        impl ToSql<Text, Pg> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                serde_json::to_writer(out, self)?;
                Ok(IsNull::No)
            }
        }

        impl ToSql<Text, Sqlite> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                out.set_value(serde_json::to_string(self)?);
                Ok(IsNull::No)
            }
        }

        impl ToSql<Text, super::MultiBackend> for $ty {
            fn to_sql<'b>(
                &'b self,
                out: &mut Output<'b, '_, super::MultiBackend>,
            ) -> serialize::Result {
                out.set_value((Text, self));
                Ok(IsNull::No)
            }
        }
    )+};
}

json_text!(
    Applicant,
    DueExplanation,
    Documents,
    Details,
    Steps,
    Fees,
    Components
);

/// A procedure version's components (thành phần hồ sơ).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Components(pub Vec<crate::domain::document::Component>);

/// A procedure version's fees.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Fees(pub Vec<crate::domain::procedure::Fee>);

/// A procedure version's process steps.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Steps(pub Vec<crate::domain::procedure::ProcessStep>);

/// Action-specific facts of a control-slip entry (reason, documents, result …).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Details(pub serde_json::Value);

/// The documents a request for supplement names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Documents(pub Vec<String>);

/// A column value decoded without failing its row, so that the row's decoder can name the row (its
/// id) in the error it reports.
pub struct Checked<T>(Result<T, String>);

impl<T> Checked<T> {
    pub fn get(self, what: impl FnOnce() -> String) -> deserialize::Result<T> {
        self.0.map_err(|e| format!("{}: {e}", what()).into())
    }
}

impl<ST, DB, T> FromSql<ST, DB> for Checked<T>
where
    DB: Backend,
    T: FromSql<ST, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(Self(T::from_sql(bytes).map_err(|e| e.to_string())))
    }

    fn from_nullable_sql(bytes: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
        Ok(Self(T::from_nullable_sql(bytes).map_err(|e| e.to_string())))
    }
}

impl<ST, DB, T> deserialize::Queryable<ST, DB> for Checked<T>
where
    DB: Backend,
    ST: diesel::sql_types::SingleValue,
    Self: FromSql<ST, DB>,
{
    type Row = Self;

    fn build(row: Self) -> deserialize::Result<Self> {
        Ok(row)
    }
}
