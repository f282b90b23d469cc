//! motcua: a one-stop-shop (một cửa) dossier tracking service.
//!
//! Layers: [`domain`] is pure logic (no I/O), [`store`] owns every query, [`http`] holds thin handlers,
//! [`startup`] wires them into a server.

pub mod auth;
pub mod config;
pub mod demo;
pub mod domain;
pub mod http;
pub mod openapi;
pub mod service;
pub mod startup;
pub mod storage;
pub mod store;
pub mod telemetry;
pub mod worker;
