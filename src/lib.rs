//! Dhikra (ذكرى): an Arabic "on this day" Telegram bot.
//!
//! The functional core has no I/O: [`calendar`], [`event`], [`store`], [`arabic`],
//! [`render`]. The shell around it reads configuration and runs the command line.

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
pub mod publish;
pub mod render;
pub mod search;
pub mod storage;
pub mod store;
