//! The `dhikra` command line: parses arguments, loads configuration and data, and
//! runs one subcommand. Each subcommand is a small function over the core.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{Datelike, NaiveDate};
use clap::{Parser, Subcommand};

use std::io::IsTerminal;
use std::sync::Arc;

use crate::answer;
use crate::app;
use crate::calendar::{self, Clock, MonthDay, SystemClock};
use crate::config::Config;
use crate::delivery::Outcome;
use crate::publish::{self, TargetResult};
use crate::render;
use crate::search::Catalog;
use crate::storage::Db;
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
    /// Run the bot: answer updates and publish every day at the local post time.
    Run,
    /// Print the answer the bot would give to a question.
    Ask {
        question: String,
        /// One JSON object: {"kind", "events", "text"}.
        #[arg(long)]
        json: bool,
    },
    /// Publish today's post now, through the same claims, limits and fault handling.
    Post {
        /// MM-DD or YYYY-MM-DD; another day than today needs --force (or --dry-run).
        #[arg(long)]
        date: Option<String>,
        /// Only this target (its chat id or @username).
        #[arg(long)]
        target: Option<String>,
        /// Show what would be sent where, without contacting Telegram.
        #[arg(long)]
        dry_run: bool,
        /// Post again even where it was already sent (a new delivery, logged as a repost).
        #[arg(long)]
        force: bool,
    },
}

pub fn run(cli: Cli) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let result = match cli.command {
        Command::Validate { data } => validate(&cli.config, data.as_deref(), &mut out),
        Command::Preview { date, html } => {
            preview(&cli.config, date.as_deref(), html, &SystemClock, &mut out)
        }
        Command::Events => events(&cli.config, &mut out),
        Command::Run => run_bot(&cli.config),
        Command::Ask { question, json } => {
            ask(&cli.config, &question, json, &SystemClock, &mut out)
        }
        Command::Post {
            date,
            target,
            dry_run,
            force,
        } => post(
            &cli.config,
            date.as_deref(),
            target.as_deref(),
            dry_run,
            force,
            &mut out,
        ),
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

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn run_bot(config_path: &Path) -> CliResult {
    let config = load_config(config_path)?;
    let token = config.token().map_err(|e| e.to_string())?;
    let store = load_store(&config)?;
    tracing::info!(
        events = store.len(),
        days = store.days_covered().len(),
        "event store loaded"
    );
    runtime()?
        .block_on(app::run(config, config_path, publish::shared(store), token))
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

fn post(
    config_path: &Path,
    date: Option<&str>,
    target: Option<&str>,
    dry_run: bool,
    force: bool,
    out: &mut dyn Write,
) -> CliResult {
    let config = load_config(config_path)?;
    let store = load_store(&config)?;
    let now = SystemClock.now();
    let today = calendar::today(now, config.timezone);
    let date = match date {
        Some(d) => resolve_date(d, today)?,
        None => today,
    };
    if date != today && !force && !dry_run {
        return Err(format!(
            "only today's post ({today}) can be published now; --force reposts {date}"
        ));
    }
    let parts = render::post(&store.on_date(date, config.leap_day), &store, config.style);
    if parts.is_empty() {
        let _ = writeln!(out, "No event on {date}: nothing to post.");
        return Ok(ExitCode::SUCCESS);
    }
    let rt = runtime()?;
    if dry_run {
        return rt.block_on(dry_run_report(
            &config,
            date,
            target,
            parts.len(),
            force,
            out,
        ));
    }
    let token = config.token().map_err(|e| e.to_string())?;
    let config = Arc::new(config);
    rt.block_on(async {
        let bot = app::make_bot(&config, &token).map_err(|e| e.to_string())?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let publisher = app::publisher(Arc::clone(&config), publish::shared(store), bot, clock)
            .await
            .map_err(|e| e.to_string())?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            if app::wait_for_signal().await.is_ok() {
                eprintln!("stopping: finishing the message in flight");
                let _ = stop_tx.send(true);
            }
        });
        let total = publisher
            .sender
            .db
            .targets()
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .filter(|t| t.enabled)
            .count();
        let bar = std::io::stdout()
            .is_terminal()
            .then(|| indicatif::ProgressBar::new(total as u64));
        let progress = |r: &TargetResult| match &bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(r.target.clone());
            }
            None => println!("{}: {}", r.target, describe_outcome(&r.outcome)),
        };
        let report = publisher
            .publish_now(date, target, force, now, &stop_rx, &progress)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        let _ = writeln!(out, "{}", report.summary());
        let failed = report.count(|o| matches!(o, Outcome::Failed(_) | Outcome::Unknown));
        Ok(if failed > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    })
}

fn describe_outcome(o: &Outcome) -> String {
    match o {
        Outcome::Sent { parts } => format!("sent ({parts} part(s))"),
        Outcome::AlreadySent => "skipped: already sent".into(),
        Outcome::Disabled(why) => format!("disabled: {why}"),
        Outcome::Failed(why) => format!("failed: {why}"),
        Outcome::Deferred(t) => format!("deferred until {t}"),
        Outcome::InFlight => "skipped: another process is sending it".into(),
        Outcome::Unknown => {
            "unknown: a previous run stopped mid-send (not resent; see README)".into()
        }
        Outcome::Stopped => "not sent: stopping".into(),
    }
}

async fn dry_run_report(
    config: &Config,
    date: NaiveDate,
    only: Option<&str>,
    parts: usize,
    force: bool,
    out: &mut dyn Write,
) -> CliResult {
    let db = Db::open(&config.database)
        .await
        .map_err(|e| e.to_string())?;
    db.sync_config_targets(&config.targets, SystemClock.now())
        .await
        .map_err(|e| e.to_string())?;
    let sent = db
        .deliveries(&date.to_string())
        .await
        .map_err(|e| e.to_string())?;
    let targets = db.targets().await.map_err(|e| e.to_string())?;
    let _ = writeln!(
        out,
        "dry run: the post of {date} has {parts} part(s); nothing is sent"
    );
    for t in targets.iter().filter(|t| only.is_none_or(|o| t.names(o))) {
        let done = sent
            .iter()
            .filter(|d| d.target_id == t.id && d.status == "sent")
            .count();
        let line = if !t.enabled {
            format!(
                "skip (disabled: {})",
                t.disabled_reason.as_deref().unwrap_or("?")
            )
        } else if done == parts && !force {
            "skip (already sent)".to_owned()
        } else {
            format!(
                "would send {} part(s)",
                if force { parts } else { parts - done }
            )
        };
        let _ = writeln!(out, "{}: {line}", t.label());
    }
    Ok(ExitCode::SUCCESS)
}

fn ask(
    config_path: &Path,
    question: &str,
    json: bool,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> CliResult {
    let config = load_config(config_path)?;
    let catalog = Catalog::new(load_store(&config)?);
    let today = calendar::today(clock.now(), config.timezone);
    let reply = answer::reply(&catalog, question, config.style, today);
    let text = render::to_plain(&reply.html);
    if json {
        #[derive(serde::Serialize)]
        struct Json<'a> {
            kind: answer::ReplyKind,
            events: &'a [String],
            text: &'a str,
        }
        let value = Json {
            kind: reply.kind,
            events: &reply.events,
            text: &text,
        };
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string(&value).map_err(|e| e.to_string())?
        );
    } else {
        let _ = writeln!(out, "{text}");
        for b in &reply.buttons {
            let _ = writeln!(out, "[{}]", b.text);
        }
    }
    Ok(ExitCode::SUCCESS)
}
