//! The `dhikra` command line: parses arguments, loads configuration and data, and
//! runs one subcommand. Each subcommand is a small function over the core.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{Datelike, NaiveDate};
use clap::{Parser, Subcommand};

use crate::calendar::{self, Clock, MonthDay, SystemClock};
use crate::config::Config;
use crate::render;
use crate::store::EventStore;

#[derive(Debug, Parser)]
#[command(
    name = "dhikra",
    version,
    about = "ذكرى — an Arabic \"on this day\" Telegram bot"
)]
pub struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        default_value = "config/dhikra.toml",
        env = "DHIKRA_CONFIG"
    )]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the message(s) that would be posted on a day (today by default).
    Preview {
        /// MM-DD (its next occurrence) or YYYY-MM-DD.
        #[arg(long)]
        date: Option<String>,
        /// Print the Telegram HTML instead of the text a reader sees.
        #[arg(long)]
        html: bool,
    },
    /// Check every event file and report every problem with file, line and field.
    Validate {
        /// The data folder (default: `data_dir` from the config).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// List the events: id, date and title.
    Events,
}

pub fn run(cli: Cli) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let result = match cli.command {
        Command::Validate { data } => validate(&cli.config, data.as_deref(), &mut out),
        Command::Preview { date, html } => {
            preview(&cli.config, date.as_deref(), html, &SystemClock, &mut out)
        }
        Command::Events => events(&cli.config, &mut out),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "dhikra: {message}");
            ExitCode::FAILURE
        }
    }
}

type CliResult = Result<ExitCode, String>;

fn load_config(path: &Path) -> Result<Config, String> {
    Config::load(path).map_err(|e| e.to_string())
}

fn load_store(config: &Config) -> Result<EventStore, String> {
    EventStore::load(&config.data_dir)
        .map_err(|e| format!("the event data is invalid ({} problems):\n{e}", e.0.len()))
}

fn validate(config_path: &Path, data: Option<&Path>, out: &mut dyn Write) -> CliResult {
    let dir = match data {
        Some(d) => d.to_owned(),
        None => load_config(config_path)?.data_dir,
    };
    match EventStore::load(&dir) {
        Ok(store) => {
            let _ = writeln!(
                out,
                "ok: {} events on {} days of the year in {}",
                store.len(),
                store.days_covered().len(),
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            let _ = writeln!(std::io::stderr(), "{errors}");
            let _ = writeln!(std::io::stderr(), "{} problem(s) found", errors.0.len());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `MM-DD` resolves to its next occurrence on or after `today`; `YYYY-MM-DD` is taken as is.
pub fn resolve_date(arg: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    if let Ok(date) = NaiveDate::parse_from_str(arg, "%Y-%m-%d") {
        return Ok(date);
    }
    let md: MonthDay = arg
        .parse()
        .map_err(|e| format!("--date: {e}; use MM-DD or YYYY-MM-DD"))?;
    (today.year()..today.year() + 8)
        .filter_map(|y| NaiveDate::from_ymd_opt(y, md.month(), md.day()))
        .find(|d| *d >= today)
        .ok_or_else(|| format!("--date: {arg} has no next occurrence"))
}

fn preview(
    config_path: &Path,
    date: Option<&str>,
    html: bool,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> CliResult {
    let config = load_config(config_path)?;
    let store = load_store(&config)?;
    let today = calendar::today(clock.now(), config.timezone);
    let date = match date {
        Some(d) => resolve_date(d, today)?,
        None => today,
    };
    let events = store.on_date(date, config.leap_day);
    if events.is_empty() {
        let _ = write!(out, "No event on {date}.");
        if let Some((next, evs)) = store.next_after(date, config.leap_day) {
            let titles: Vec<&str> = evs.iter().map(|e| e.title_ar.as_str()).collect();
            let _ = write!(out, " Next anniversary: {next} — {}", titles.join("، "));
        }
        let _ = writeln!(out);
        return Ok(ExitCode::SUCCESS);
    }
    let parts = render::post(&events, &store, config.style);
    for (i, part) in parts.iter().enumerate() {
        if parts.len() > 1 {
            let _ = writeln!(out, "----- {}/{} -----", i + 1, parts.len());
        }
        let _ = writeln!(
            out,
            "{}",
            if html {
                part.clone()
            } else {
                render::to_plain(part)
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn events(config_path: &Path, out: &mut dyn Write) -> CliResult {
    let config = load_config(config_path)?;
    let store = load_store(&config)?;
    for e in store.all() {
        let span = match e.end {
            Some(end) => format!("{} .. {end}", e.date),
            None => e.date.to_string(),
        };
        let _ = writeln!(out, "{:<28} {:<24} {}", e.id.as_str(), span, e.title_ar);
    }
    Ok(ExitCode::SUCCESS)
}
