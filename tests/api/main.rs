//! Integration tests: each starts the real application on a random port against a fresh database.

mod helpers;

mod accounts;
mod agencies;
mod authorization;
mod calendar;
mod catalogue;
mod cli;
mod crash;
mod documents;
mod dossiers;
mod errors;
mod exports;
mod feed;
mod http_semantics;
mod imports;
mod intake;
mod integrity;
mod national_sync;
mod openapi;
mod operations;
mod scale_out;
mod startup;
mod stats;
mod trust;
mod webhooks;
mod worklist;
