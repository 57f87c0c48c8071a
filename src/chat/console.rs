//! The console chat: alerts and notices printed to stdout.
//!
//! It is the chat of a fresh install (no tokens needed) and of the
//! end-to-end tests, which capture what it prints instead.

use std::io::Write;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{Chat, ChatTarget, Outgoing, Platform, Sent, SendError};
use crate::alerts::render_plain;

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

#[async_trait]
impl Chat for ConsoleChat {
    fn platform(&self) -> Platform {
        Platform::Console
    }

    async fn send(&self, _to: &ChatTarget, msg: &Outgoing) -> Result<Sent, SendError> {
        let text = render_plain(msg);
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
