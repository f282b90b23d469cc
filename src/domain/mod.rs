//! Pure domain logic: no HTTP, no SQL, no clock reads. Everything here is deterministic and unit-tested.

/// The wire names of a closed set (a status, a channel …): `as_str`, `FromStr` and `ALL`, written
/// once beside the enum. JSON (serde) and the database use the same names.
macro_rules! wire_names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: [$ty; [$($name),+].len()] = [$($ty::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|v| v.as_str() == raw)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::domain::UnknownName;

            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::parse(raw).ok_or_else(|| $crate::domain::UnknownName {
                    set: stringify!($ty),
                    name: raw.to_owned(),
                })
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod agency;
pub mod applicant;
pub mod calendar;
pub mod classification;
pub mod deadline;
pub mod document;
pub mod dossier;
pub mod instant;
pub mod limits;
pub mod procedure;
pub mod stats;
pub mod text;
pub mod webhook;
pub mod worklist;

pub use instant::Instant;

/// A name outside a closed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {set} `{name}`")]
pub struct UnknownName {
    pub set: &'static str,
    pub name: String,
}
