//! The decision module (issue #4): the insight server and what it publishes.
//!
//! - [`catalogue`]: indicators, breakdowns and their families;
//! - [`sdc`]: statistical disclosure control (primary, Gaussian secondary, interval check);
//! - [`modular`]: the same, by sub-table (a unit and its children), for national scale;
//! - [`links`]: indicators that publish the same cells, protected together;
//! - [`publish`]: the one pipeline every published figure goes through — pages, charts, API,
//!   CSV, XLSX and the command line alike;
//! - [`render`]: CSV, XLSX and chart bars of a published table;
//! - [`server`]: `parcours-insight serve` (dashboards, API, assertion login, hot reload);
//! - [`indicators`]: raw computations on the warehouse (the reference for tests, and
//!   cross-tables protected together).
//!
//! This crate never depends on the operational store or on a key (see ENGINEERING.md): it
//! reads a warehouse directory and the main server's public key.

pub mod catalogue;
pub mod exports;
pub mod indicators;
pub mod links;
pub mod modular;
pub mod publish;
pub mod render;
pub mod sdc;
pub mod server;
mod sessions;
