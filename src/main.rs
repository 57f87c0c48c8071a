//! The `wirewatch` binary: parse the command line, load the config, start.

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use wirewatch::{
    app::{App, shutdown_signal},
    chat::console::ConsoleChat,
    check::{CheckOutput, CheckRules, run_check},
    config::{DEFAULT_CONFIG_PATH, LogFormat, Settings},
    doctor::run_doctor,
    opml::{import_opml, write_opml},
    store::Store,
};

/// Matching an article allocates its explanations' small buffers and frees
/// them together; with glibc's allocator that was 15% of matching time at
/// 100,000 rules, and mimalloc matches 20% faster (`benches/matching.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// wirewatch: news feeds in, matched alerts out.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Log format on stderr: human (default) or json; overrides `log.format`.
    #[arg(long, global = true, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the bot: poll feeds on schedule, match, deliver alerts.
    Run {
        /// Config file.
        #[arg(long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// Poll every feed once, deliver, and exit.
        #[arg(long)]
        once: bool,
    },
    /// Match articles against rules and explain (exit 0: a match, 1: none).
    Check {
        /// Config file (fetch limits); optional.
        #[arg(long)]
        config: Option<PathBuf>,
        /// A rule SPEC such as "keyword:UN Security Council"; repeatable.
        #[arg(long = "rule", value_name = "SPEC")]
        rules: Vec<String>,
        /// A file with one rule SPEC a line (bulk mode: adds a totals line).
        #[arg(long, value_name = "RULES", conflicts_with = "rules")]
        rules_file: Option<PathBuf>,
        /// One JSON line per article.
        #[arg(long)]
        json: bool,
        /// Instead of INPUT, try the rules on the articles stored in the
        /// last 7 days (the database of --config, default config/default.toml).
        #[arg(long, conflicts_with = "inputs")]
        history: bool,
        /// Feed, HTML or text files, directories of them, URLs, or - for stdin.
        #[arg(value_name = "INPUT")]
        inputs: Vec<String>,
    },
    /// Apply database migrations and exit.
    Migrate {
        /// Config file.
        #[arg(long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
    /// Import or export the feed list as OPML.
    Feeds {
        #[command(subcommand)]
        action: FeedsAction,
    },
    /// Check the config, the database, each chat API and each feed, and
    /// say what is wrong (exit 0: nothing, 1: problems found).
    Doctor {
        /// Config file.
        #[arg(long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum FeedsAction {
    /// Add the feeds of an OPML file (exit 1 when some entries were invalid).
    Import {
        /// Config file.
        #[arg(long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// The OPML file.
        file: PathBuf,
    },
    /// Write every watched feed as OPML 2.0 to stdout.
    Export {
        /// Config file.
        #[arg(long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
}

impl Command {
    fn config_path(&self) -> Option<&Path> {
        match self {
            Command::Run { config, .. }
            | Command::Migrate { config }
            | Command::Doctor { config }
            | Command::Feeds {
                action: FeedsAction::Import { config, .. } | FeedsAction::Export { config },
            } => Some(config),
            Command::Check { config, .. } => config.as_deref(),
        }
    }
}

/// Sets up logging to stderr: the `--log-format` flag, else the config's
/// `log.format` (a config that does not load is reported later, by the
/// command itself).
fn init_logging(cli: &Cli) {
    let format = cli.log_format.unwrap_or_else(|| {
        cli.command
            .config_path()
            .and_then(|path| Settings::load(path).ok())
            .map(|s| s.log.format)
            .unwrap_or_default()
    });
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Human => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        // One object a line; the fields of the enclosing span (a poll's
        // feed_id) come along with every event.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(run(cli));
    // A console read blocked on a terminal must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run { config, once } => {
            let settings = Settings::load(&config)?;
            let app = App::build(settings, Some(ConsoleChat::stdout())).await?;
            if once {
                app.run_once().await?;
            } else {
                let shutdown = CancellationToken::new();
                let trigger = shutdown.clone();
                tokio::spawn(async move {
                    shutdown_signal().await;
                    tracing::info!("shutting down: finishing in-flight work");
                    trigger.cancel();
                });
                app.run_until_stopped(shutdown).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            config,
            rules,
            rules_file,
            json,
            history,
            inputs,
        } => {
            let config = match (config, history) {
                (None, true) => Some(PathBuf::from(DEFAULT_CONFIG_PATH)),
                (config, _) => config,
            };
            let settings = match config {
                Some(path) => Settings::load(&path)?,
                None => Settings::default(),
            };
            let bulk = rules_file.is_some();
            let rules = match &rules_file {
                Some(path) => CheckRules::from_file(path)?,
                None => CheckRules::parse(
                    rules
                        .iter()
                        .enumerate()
                        .map(|(i, r)| (format!("--rule #{}", i + 1), r.as_str())),
                )?,
            };
            if history {
                let mut stdout = std::io::stdout();
                let matched =
                    wirewatch::check::run_history(&settings, &rules, json, &mut stdout).await?;
                return Ok(if matched > 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                });
            }
            let output = CheckOutput {
                json,
                summary: bulk,
            };
            let mut stdout = std::io::stdout();
            let summary = run_check(&settings, &rules, &inputs, output, &mut stdout).await?;
            Ok(if summary.matched_articles > 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Feeds {
            action: FeedsAction::Import { config, file },
        } => {
            let settings = Settings::load(&config)?;
            let store = Store::open(&settings.database.url).await?;
            let import = import_opml(
                &store,
                &file,
                settings.polling.allow_private_addresses,
                chrono::Utc::now(),
            )
            .await?;
            print!("{}", import.describe(&file));
            Ok(if import.invalid.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Feeds {
            action: FeedsAction::Export { config },
        } => {
            let settings = Settings::load(&config)?;
            let store = Store::open(&settings.database.url).await?;
            let feeds = store.exported_feeds().await?;
            print!("{}", write_opml(&feeds, chrono::Utc::now()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor { config } => {
            let problems = run_doctor(&config, &mut std::io::stdout()).await?;
            Ok(if problems == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Migrate { config } => {
            let settings = Settings::load(&config)?;
            Store::open(&settings.database.url).await?;
            tracing::info!(database = %settings.database.url, "migrations applied");
            Ok(ExitCode::SUCCESS)
        }
    }
}
