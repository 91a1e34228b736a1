//! End-to-end acceptance tests of issue #2 (A1–A6 and the rest of the slice) issue #3 (the
//! advisor's daily work), issue #4 (the warehouse export) and issue #15 (a stolen session
//! leaks almost nothing), through the real
//! `parcours` binary and the real HTTP router, on SQLite and — when PARCOURS_TEST_POSTGRES_URL
//! is set — on PostgreSQL. Each test builds its own instance (own data dir, own schema).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod support;

mod acceptance;
mod accounts;
mod after_breach;
mod daily_work;
mod deployment;
mod faults;
mod review;
mod vigilance;
mod warehouse;
mod web_and_cli;
