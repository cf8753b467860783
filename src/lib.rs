//! Dhikra (ذكرى): an Arabic "on this day" Telegram bot.
//!
//! The functional core has no I/O: [`calendar`], [`event`], [`store`], [`arabic`],
//! [`dates`], [`search`], [`answer`], [`render`]. The shell around it — [`config`],
//! [`storage`], [`delivery`], [`publish`], [`bot`], [`admin`], [`app`], [`cli`] —
//! talks to the disk, the database and Telegram.

pub mod admin;
pub mod answer;
pub mod app;
pub mod arabic;
pub mod bot;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod dates;
pub mod delivery;
pub mod event;
pub mod logging;
pub mod ops;
pub mod publish;
pub mod render;
pub mod search;
pub mod storage;
pub mod store;
