//! Integration tests: each starts the real application on a random port against a fresh database.

mod helpers;

mod accounts;
mod calendar;
mod catalogue;
mod dossiers;
mod errors;
mod openapi;
mod operations;
mod startup;
mod stats;
