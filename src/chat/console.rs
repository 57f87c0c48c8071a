//! The console chat: alerts and notices printed to stdout.
//!
//! It is the chat of a fresh install (no tokens needed) and of the
//! end-to-end tests, which capture what it prints instead.

use std::io::Write;

use async_trait::async_trait;
use chrono::Utc;
use tokio::{
    io::{AsyncBufRead, AsyncBufReadExt},
    sync::mpsc,
};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error};

use super::{Chat, ChatTarget, Outgoing, Platform, SendError, Sent};
use crate::{
    alerts::{notice, render_plain},
    commands::{CommandContext, Invoker},
    stories::also_line,
};

/// The console subscription's chat id.
pub const CONSOLE_CHAT_ID: &str = "stdout";

/// Where console messages go.
#[derive(Debug, Clone)]
enum Output {
    Stdout,
    Capture(mpsc::UnboundedSender<String>),
}

/// The console chat adapter.
#[derive(Debug, Clone)]
pub struct ConsoleChat {
    output: Output,
}

impl ConsoleChat {
    /// Prints to stdout (logs go to stderr, so the two never mix).
    pub fn stdout() -> Self {
        Self {
            output: Output::Stdout,
        }
    }

    /// Sends every rendered message to a channel instead (tests).
    pub fn capture() -> (Self, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Self {
                output: Output::Capture(tx),
            },
            rx,
        )
    }
}

impl ConsoleChat {
    /// Reads commands typed on the console (`/watch country Russia`) from
    /// `input`, one a line, and prints the replies, until end of input or
    /// `shutdown`. The console's user manages its rules.
    pub async fn read_commands_until_stopped(
        self,
        input: impl AsyncBufRead + Unpin,
        commands: CommandContext,
        shutdown: CancellationToken,
    ) {
        let invoker = Invoker {
            platform: Platform::Console,
            chat_id: CONSOLE_CHAT_ID.to_owned(),
            may_manage: true,
        };
        let target = ChatTarget {
            platform: Platform::Console,
            chat_id: CONSOLE_CHAT_ID.to_owned(),
        };
        let mut lines = input.lines();
        loop {
            let line = tokio::select! {
                () = shutdown.cancelled() => break,
                line = lines.next_line() => line,
            };
            let line = match line {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(e) => {
                    error!(error = %e, "cannot read console input");
                    break;
                }
            };
            let text = line.trim();
            let reply = match commands.handle(&invoker, text, None, Utc::now()).await {
                Some(reply) => reply.text,
                None if text.is_empty() => continue,
                None => "Commands start with /. Send /help for the list.".to_owned(),
            };
            if let Err(e) = self.send(&target, &notice(reply)).await {
                error!(error = %e, "cannot print a reply");
            }
        }
        debug!("console input closed");
    }
}

#[async_trait]
impl Chat for ConsoleChat {
    fn platform(&self) -> Platform {
        Platform::Console
    }

    async fn send(&self, _to: &ChatTarget, msg: &Outgoing) -> Result<Sent, SendError> {
        self.print(render_plain(msg))
    }

    /// The console cannot change what it printed: it prints a one-line
    /// update instead ("UPDATE <headline> · also: Reuters, AP, +3").
    async fn edit(
        &self,
        _to: &ChatTarget,
        _message_id: &str,
        msg: &Outgoing,
    ) -> Result<Sent, SendError> {
        let text = match msg {
            Outgoing::Alert(a) => format!(
                "UPDATE {} · also: {}",
                a.headline,
                also_line(&a.also, ALSO_SHOWN)
            ),
            other => render_plain(other),
        };
        self.print(text)
    }
}

/// Outlets named in the console's one-line story update before "+N".
const ALSO_SHOWN: usize = 3;

impl ConsoleChat {
    fn print(&self, text: String) -> Result<Sent, SendError> {
        match &self.output {
            Output::Stdout => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{text}")
                    .and_then(|()| out.flush())
                    .map_err(|e| SendError::Unexpected(e.into()))?;
            }
            Output::Capture(tx) => {
                tx.send(text)
                    .map_err(|_| SendError::ChatGone("console capture closed".to_owned()))?;
            }
        }
        Ok(Sent::default())
    }
}
