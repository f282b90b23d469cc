//! Pure domain logic: no HTTP, no SQL, no clock reads. Everything here is deterministic and unit-tested.

pub mod calendar;
pub mod classification;
pub mod deadline;
pub mod dossier;
pub mod procedure;
pub mod stats;
pub mod text;
