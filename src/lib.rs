//! Dhikra (ذكرى): an Arabic "on this day" Telegram bot for the Second World War in
//! the Mediterranean and the Middle East.
//!
//! # Layout
//!
//! Every module depends only on modules listed above it: the list is the layering,
//! lowest first, and `tests/it/layout.rs` fails on an import that points up or on a
//! cycle.
//!
//! - [`core`]: the functional core, with no I/O — calendar, events, the catalog,
//!   the schedule, Arabic text, dates, search, answers, the rendered post and card.
//! - [`config`], [`logging`], [`ops`]: settings and secrets; log output that never
//!   shows a secret; health and metrics.
//! - [`db`]: the delivery log (SQLite, or PostgreSQL for replicas), targets,
//!   confirmations and the audit log.
//! - [`data`]: `data/events` on disk, loaded and swapped whole on reload.
//! - [`publishing`]: who is due a post, and sending it exactly once within
//!   Telegram's limits.
//! - [`telegram`]: the update handlers — commands, questions, inline mode, buttons
//!   and the admin tools.
//! - [`service`]: the composition root — one builder for `dhikra run`, `dhikra
//!   post`, the tests and the benches —, the lead and the replicas' heartbeats,
//!   a lost database, reloads across replicas, and the webhook.
//! - [`cli`]: the `dhikra` command line.

pub mod core;

pub mod config;
pub mod logging;
pub mod ops;
pub mod shutdown;

pub mod db;

pub mod data;

pub mod publishing;

pub mod telegram;

pub mod service;

pub mod cli;
