//! The decision module (issue #4). For now: statistical disclosure control ([`sdc`]), the one
//! pipeline every published figure will go through — pages, charts, API, CSV and XLSX alike.
//! This crate never depends on the operational store or on a key (see ENGINEERING.md).

pub mod indicators;
pub mod sdc;
