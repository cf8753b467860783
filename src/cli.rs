//! The `dhikra` command line: parses arguments, loads configuration and data, and
//! runs one subcommand. Each subcommand is a small function over the core; errors
//! travel as `anyhow` with the context a person needs to act on them.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use crate::config::{Config, Database};
use crate::core::answer;
use crate::core::calendar::{self, Clock, MonthDay, SystemClock};
use crate::core::card::{self, Card};
use crate::core::catalog::EventStore;
use crate::core::catalog::validate::DataErrors;
use crate::core::render::{self, Layout};
use crate::core::search::Catalog;
use crate::data;
use crate::db::{Db, DeliveryStatus};
use crate::ops::Role;
use crate::publishing::{Outcome, TargetResult};
use crate::service::leader::{self, Holder};
use crate::service::{self, Settings};

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
        /// Also write the day's card (a 1280×720 PNG) to this file.
        #[arg(long)]
        image: Option<PathBuf>,
    },
    /// Check every event file and report every problem with file, line and field.
    Validate {
        /// The data folder (default: `data_dir` from the config).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// List the events: id, date and title.
    Events,
    /// The year as a 12-month grid: which days have a post, and how many events.
    Calendar,
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
    let config = cli.config.as_path();
    let result = match cli.command {
        Command::Validate { data } => validate(config, data.as_deref(), &mut out),
        Command::Preview { date, html, image } => {
            let what = PreviewRequest { date, html, image };
            preview(config, &what, &SystemClock, &mut out)
        }
        Command::Events => events(config, &mut out),
        Command::Calendar => calendar_grid(config, &mut out),
        Command::Run => run_bot(config),
        Command::Ask { question, json } => ask(config, &question, json, &SystemClock, &mut out),
        Command::Post {
            date,
            target,
            dry_run,
            force,
        } => {
            let request = PostRequest {
                date,
                target,
                dry_run,
                force,
            };
            post(config, request, &mut out)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // A closed stderr leaves no one to tell.
            let _ = writeln!(std::io::stderr(), "dhikra: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(path: &Path) -> Result<Config> {
    Ok(Config::load(path)?)
}

fn load_store(config: &Config) -> Result<EventStore> {
    data::load(&config.data_dir).map_err(invalid_data)
}

fn invalid_data(e: DataErrors) -> anyhow::Error {
    anyhow!("the event data is invalid ({} problems):\n{e}", e.0.len())
}

fn validate(config_path: &Path, data: Option<&Path>, out: &mut dyn Write) -> Result<ExitCode> {
    let dir = match data {
        Some(d) => d.to_owned(),
        None => load_config(config_path)?.data_dir,
    };
    let errors = match data::load(&dir) {
        Ok(store) => {
            writeln!(
                out,
                "ok: {} events on {} days of the year in {}",
                store.len(),
                store.days_covered().len(),
                dir.display()
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        Err(errors) => errors,
    };
    let mut err = std::io::stderr();
    writeln!(err, "{errors}")?;
    writeln!(err, "{} problem(s) found", errors.0.len())?;
    Ok(ExitCode::FAILURE)
}

/// `dhikra preview`'s arguments.
struct PreviewRequest {
    date: Option<String>,
    html: bool,
    image: Option<PathBuf>,
}

fn preview(
    config_path: &Path,
    what: &PreviewRequest,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let store = load_store(&config)?;
    let today = calendar::today(clock.now(), config.timezone);
    let date = day_argument(what.date.as_deref(), today)?;
    let html = what.html;
    let events = store.on_date(date, config.leap_day);
    if events.is_empty() {
        write!(out, "No event on {date}.")?;
        if let Some((next, evs)) = store.next_after(date, config.leap_day) {
            let titles: Vec<&str> = evs.iter().map(|e| e.title_ar.as_str()).collect();
            write!(out, " Next anniversary: {next} — {}", titles.join("، "))?;
        }
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &what.image {
        let card = Card::of_day(&events, config.style).context("no events for a card")?;
        let png = card::draw(&card).map_err(|e| anyhow!("the card could not be drawn: {e}"))?;
        std::fs::write(path, png).with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(out, "card written to {}", path.display())?;
    }
    let parts = render::post(&events, &store, preview_layout(config.style));
    for (i, part) in parts.iter().enumerate() {
        if parts.len() > 1 {
            writeln!(out, "----- {}/{} -----", i + 1, parts.len())?;
        }
        let text = if html {
            part.clone()
        } else {
            render::to_plain(part)
        };
        writeln!(out, "{text}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `--date`: MM-DD (its next occurrence) or YYYY-MM-DD; today when absent.
fn day_argument(arg: Option<&str>, today: NaiveDate) -> Result<NaiveDate> {
    match arg {
        Some(d) => calendar::resolve(d, today).map_err(|e| anyhow!(e)),
        None => Ok(today),
    }
}

fn events(config_path: &Path, out: &mut dyn Write) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let store = load_store(&config)?;
    for e in store.all() {
        let span = match e.end {
            Some(end) => format!("{} .. {end}", e.date),
            None => e.date.to_string(),
        };
        writeln!(out, "{:<28} {:<24} {}", e.id.as_str(), span, e.title_ar)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `dhikra calendar`: the editor's map of what is missing. Each day shows its
/// number of events (`·` for none), Feb 29 included.
fn calendar_grid(config_path: &Path, out: &mut dyn Write) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let store = load_store(&config)?;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let header: String = (1..=31).map(|d| format!("{d:>3}")).collect();
    writeln!(out, "    {header}")?;
    for (m, name) in MONTHS.iter().enumerate() {
        let mut line = format!("{name} ");
        for day in 1..=31 {
            let cell = match MonthDay::new(m as u32 + 1, day) {
                None => String::new(),
                Some(md) => match store.on_month_day(md).len() {
                    0 => "  ·".to_owned(),
                    n => format!("{n:>3}"),
                },
            };
            line.push_str(&cell);
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    let covered = store.days_covered().len();
    writeln!(
        out,
        "{covered} of 366 days have a post ({} events); {} days have none.",
        store.len(),
        366 - covered
    )?;
    Ok(ExitCode::SUCCESS)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn run_bot(config_path: &Path) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let token = config.token()?;
    let rt = runtime()?;
    // The database opens while the catalog loads: a new SQLite file's first
    // writes wait 25–30 ms on the disk, which the catalog's threads fill (its
    // errors still come first: the task is dropped with the runtime).
    let database = config.database.clone();
    let opening = rt.spawn(async move { Db::open(&database).await });
    let loaded = data::load_catalog(&config.data_dir).map_err(invalid_data)?;
    let store = &loaded.catalog().store;
    tracing::info!(
        events = store.len(),
        days = store.days_covered().len(),
        "event store loaded"
    );
    rt.block_on(async {
        let settings = Settings {
            bot: service::make_bot(&config, &token)?,
            catalog: data::share(loaded),
            clock: Arc::new(SystemClock),
            config_path: Some(config_path.to_owned()),
            policy: None,
            config,
        };
        let db = async {
            opening
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
        };
        service::run(settings, db).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `dhikra post`'s arguments.
struct PostRequest {
    date: Option<String>,
    target: Option<String>,
    dry_run: bool,
    force: bool,
}

fn post(config_path: &Path, request: PostRequest, out: &mut dyn Write) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let store = load_store(&config)?;
    let now = SystemClock.now();
    let today = calendar::today(now, config.timezone);
    let date = day_argument(request.date.as_deref(), today)?;
    if date != today && !request.force && !request.dry_run {
        bail!("only today's post ({today}) can be published now; --force reposts {date}");
    }
    let events = store.on_date(date, config.leap_day);
    let post = DryRun {
        parts: render::post(&events, &store, preview_layout(config.style)).len(),
        card: Card::of_day(&events, config.style).is_some(),
    };
    drop(events);
    if post.parts == 0 {
        writeln!(out, "No event on {date}: nothing to post.")?;
        return Ok(ExitCode::SUCCESS);
    }
    let rt = runtime()?;
    if request.dry_run {
        return rt.block_on(dry_run_report(&config, date, &request, post, out));
    }
    let token = config.token()?;
    let database = config.database.clone();
    let settings = Settings {
        bot: service::make_bot(&config, &token)?,
        catalog: data::shared(store),
        clock: Arc::new(SystemClock),
        config_path: None,
        policy: None,
        config,
    };
    rt.block_on(async {
        // One process sends for a database at a time (README, "Running two
        // processes"): a running `dhikra run` is handed the work; another
        // `dhikra post` is waited for.
        // Opened first: a new database gets its tables (PostgreSQL's `leader` too).
        Db::open(&database).await?;
        let lead = match leader::try_lead(&database, Holder::Post).await? {
            Some(lead) => lead,
            None => match leader::holder(&database).await? {
                Some((Holder::Run, pid)) => {
                    return hand_over(&database, date, &request, pid, out).await;
                }
                _ => {
                    eprintln!("another dhikra post is sending; waiting for it to finish");
                    let never = crate::shutdown::Shutdown::never();
                    leader::wait_for_lead(&database, Holder::Post, &never, || {})
                        .await?
                        .ok_or_else(|| anyhow!("stopped while waiting for the other dhikra post"))?
                }
            },
        };
        let code = post_now(settings, date, &request, out).await;
        drop(lead);
        code
    })
}

/// Hands the post to the `dhikra run` leading the database and prints its report.
async fn hand_over(
    database: &Database,
    date: NaiveDate,
    request: &PostRequest,
    pid: u32,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let db = Db::open(database).await?;
    let target = request.target.as_deref();
    let id = db
        .request_post(&date.to_string(), target, request.force, SystemClock.now())
        .await?;
    writeln!(
        out,
        "dhikra run (pid {pid}) leads this database: it sends the post"
    )?;
    let within = std::time::Duration::from_secs(15 * 60);
    let Some(done) = db.await_post_request(id, within, Err).await? else {
        bail!("the leader (pid {pid}) has not sent post request {id} in 15 minutes: see its log");
    };
    writeln!(out, "{}", done.summary.unwrap_or_default())?;
    let failed = done.failed.unwrap_or(0) > 0;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn post_now(
    settings: Settings,
    date: NaiveDate,
    request: &PostRequest,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let service = Arc::new(service::build(settings).await?);
    // This process holds the lead (see `post`): say so before claiming.
    service.health.set_role(Role::Leader);
    service.heartbeat.renew().await;
    service.heartbeat.await_predecessor().await;
    let on_signal = Arc::clone(&service);
    tokio::spawn(async move {
        if service::wait_for_signal().await.is_ok() {
            eprintln!("stopping: finishing the message in flight");
            on_signal.stop();
        }
    });
    let targets = service.db().targets().await?;
    let total = targets.iter().filter(|t| t.enabled).count();
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
    let now = service.context.clock.now();
    let only = request.target.as_deref();
    let report = service
        .publisher
        .publish_now(
            date,
            only,
            request.force,
            now,
            &service.shutdown(),
            &progress,
        )
        .await;
    service.heartbeat.leave().await;
    let report = report?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    writeln!(out, "{}", report.summary())?;
    let failed = report.count(|o| matches!(o, Outcome::Failed(_) | Outcome::Unknown));
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
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

/// What a day's post is made of, for `post --dry-run`.
struct DryRun {
    /// Text parts.
    parts: usize,
    /// Whether the day has a card (sent first to targets with `image` on).
    card: bool,
}

async fn dry_run_report(
    config: &Config,
    date: NaiveDate,
    request: &PostRequest,
    post: DryRun,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let db = Db::open(&config.database).await?;
    db.sync_config_targets(&config.targets, SystemClock.now())
        .await?;
    let rows = db.deliveries(&date.to_string()).await?;
    let targets = db.targets().await?;
    let card = if post.card { " and the card" } else { "" };
    writeln!(
        out,
        "dry run: the post of {date} has {} part(s){card}; nothing is sent",
        post.parts
    )?;
    let only = request.target.as_deref();
    for t in targets.iter().filter(|t| only.is_none_or(|o| t.names(o))) {
        let line = if t.enabled {
            let mine = rows.iter().filter(|d| d.target_id == t.id);
            dry_run_line(&post, t.image, mine, request.force)
        } else {
            let why = t.disabled_reason.as_deref().unwrap_or("?");
            format!("skip (disabled: {why})")
        };
        writeln!(out, "{}: {line}", t.label())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What one enabled target would be sent. A card already tried (sent, failed
/// or unknown) is not tried again, as in the publisher; `--force` sends it all anew.
fn dry_run_line<'a>(
    post: &DryRun,
    image: bool,
    rows: impl Iterator<Item = &'a crate::db::Delivery>,
    force: bool,
) -> String {
    let (mut texts_sent, mut card_tried) = (0, false);
    for d in rows {
        card_tried |= d.part == 0;
        texts_sent += usize::from(d.part > 0 && d.status == DeliveryStatus::Sent);
    }
    let texts = if force {
        post.parts
    } else {
        post.parts.saturating_sub(texts_sent)
    };
    let card = post.card && image && (force || !card_tried);
    match (texts, card) {
        (0, false) => "skip (already sent)".to_owned(),
        (n, false) => format!("would send {n} part(s)"),
        (n, true) => format!("would send {n} part(s) and the card"),
    }
}

fn ask(
    config_path: &Path,
    question: &str,
    json: bool,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> Result<ExitCode> {
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
        writeln!(out, "{}", serde_json::to_string(&value)?)?;
    } else {
        writeln!(out, "{text}")?;
        for b in &reply.buttons {
            writeln!(out, "[{}]", b.text)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Posts as the channel gets them (long stories folded), without deep links:
/// the terminal knows no bot.
fn preview_layout(style: render::Style) -> Layout<'static> {
    Layout {
        style,
        bot: None,
        fold: true,
    }
}
