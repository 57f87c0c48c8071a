//! The `wirewatch` binary: parse the command line, load the config, start.

use std::{io::IsTerminal, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use wirewatch::{
    app::{App, shutdown_signal},
    chat::console::ConsoleChat,
    check::{CheckOutput, CheckRules, run_check},
    config::{DEFAULT_CONFIG_PATH, Settings},
    store::Store,
};

/// wirewatch: news feeds in, matched alerts out.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .init();
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
            inputs,
        } => {
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
        Command::Migrate { config } => {
            let settings = Settings::load(&config)?;
            Store::open(&settings.database.url).await?;
            tracing::info!(database = %settings.database.url, "migrations applied");
            Ok(ExitCode::SUCCESS)
        }
    }
}
