//! The functional core: everything Dhikra knows and decides, with no I/O.
//!
//! Nothing under `core/` touches the disk, the network, a database, a clock it
//! did not receive or a thread: no tokio, teloxide, sqlx, `std::fs`, `std::net`
//! or `std::thread` (`tests/it/layout.rs` fails on any of them). That is what
//! lets every rule below be tested with plain values, and the shell around it
//! stay thin.
//!
//! - [`calendar`]: days of the year, "today" in a timezone, Feb 29, DST-safe instants.
//! - [`event`]: one remembered event, its kind, theatre and facts.
//! - [`catalog`]: the validated events, indexed by id and by day, and their search index.
//! - [`schedule`]: when a target's post is due, and which days come next.
//! - [`arabic`]: normalisation, month names and digits.
//! - [`dates`]: dates as people type them («4 يونيو»، «السادس من حزيران»، 04-06).
//! - [`search`]: finding events from what people type.
//! - [`answer`]: the reply to a question, built from the facts.
//! - [`render`]: the Telegram-HTML post, escaped and split at Telegram's limits.
//! - [`card`]: the day's picture, a PNG drawn from the same events (fonts and map embedded).

pub mod answer;
pub mod arabic;
pub mod calendar;
pub mod card;
pub mod catalog;
pub mod dates;
pub mod event;
pub mod render;
pub mod schedule;
pub mod search;
