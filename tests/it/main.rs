//! The integration tests, one binary (ripgrep's `tests/tests.rs`, zero2prod's
//! `tests/api/main.rs`): one link of the crate instead of ten. Measured on these
//! two cores, `cargo test --no-run`: after a change to the library 2.8–3.2 s
//! (ten binaries: 8.0–8.3 s); after `cargo clean -p dhikra` 21.2 s (34.3 s).
//!
//! Each module is one area; `support` starts the bot through the same builder
//! as `dhikra run` (`service::build`) against a fake Bot API on loopback.

/// The shape of `src/`: layers, no import cycles, no I/O in the core, short functions.
mod layout;

/// `dhikra preview`: the golden 4 June post.
mod preview;
/// Arbitrary text, dates and lengths: never a panic.
mod robustness;
/// The query table and the query file: what people type and what they must get.
mod search;
/// The event store, `dhikra validate`, `dhikra events` and `dhikra calendar`; the audit's fixes.
mod store;

/// `dhikra run` when its PostgreSQL goes away and comes back (issue 13).
mod outage;
/// The day's card: sendPhoto as part 0, one upload, faults, per-target options, deep links.
mod pictures;
/// The daily post: windows, DST, claims, faults, limits.
mod publish;
/// `dhikra run` and `dhikra post` as processes: signals, kill -9, two posters.
mod run;

/// Admin tools: confirmed reposts, preview, status, reload, targets, audit.
mod admin;
/// Commands, questions, inline mode and buttons through the fake Bot API.
mod commands;
/// Health, metrics and webhook mode.
mod ops;
/// The token never appears in any output.
mod secrets;

/// Shared helpers: the binary in a sandbox, temp data, the fake Bot API, updates.
mod support;
