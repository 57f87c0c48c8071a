//! Pacing of sends within Telegram's limits: about one message a second
//! per chat, twenty a minute per group, thirty a second in all.
//!
//! Pure bookkeeping over instants the caller passes in. The adapter asks
//! before each send; a "not yet" becomes a rate-limit answer to the
//! outbox, which holds that chat's messages (in order) until then and goes
//! on with other chats. Nothing waits in memory, so nothing is lost on a
//! restart.

use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, Instant},
};

/// Telegram's limits, as the pacer applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Least time between two messages to one chat.
    pub per_chat_gap: Duration,
    /// Messages to one group within [`Limits::group_window`].
    pub per_group: usize,
    /// The window of [`Limits::per_group`].
    pub group_window: Duration,
    /// Messages to all chats within one second.
    pub per_second: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_chat_gap: Duration::from_secs(1),
            per_group: 20,
            group_window: Duration::from_secs(60),
            per_second: 30,
        }
    }
}

/// Remembers recent sends and says when the next one may go.
#[derive(Debug)]
pub struct Pacer {
    limits: Limits,
    chats: HashMap<i64, ChatLog>,
    all: VecDeque<Instant>,
}

#[derive(Debug, Default)]
struct ChatLog {
    recent: VecDeque<Instant>,
    /// Telegram said to wait until then (a 429 for this chat).
    blocked_until: Option<Instant>,
}

impl Pacer {
    /// A pacer with these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            chats: HashMap::new(),
            all: VecDeque::new(),
        }
    }

    /// Books a send to `chat` at `now` if the limits allow it; otherwise
    /// says how long to wait. Groups (negative ids in Telegram) also have
    /// the per-minute limit.
    pub fn try_reserve(&mut self, chat: i64, now: Instant) -> Result<(), Duration> {
        let is_group = chat < 0;
        let second = Duration::from_secs(1);
        if self.chats.len() > 512 {
            self.forget_idle(now);
        }
        while self
            .all
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= second)
        {
            self.all.pop_front();
        }
        let log = self.chats.entry(chat).or_default();
        let keep = if is_group {
            self.limits.group_window
        } else {
            self.limits.per_chat_gap
        };
        while log
            .recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= keep)
        {
            log.recent.pop_front();
        }
        let mut wait = Duration::ZERO;
        if let Some(until) = log.blocked_until {
            wait = wait.max(until.saturating_duration_since(now));
        }
        if let Some(last) = log.recent.back() {
            wait = wait.max((*last + self.limits.per_chat_gap).saturating_duration_since(now));
        }
        if is_group && log.recent.len() >= self.limits.per_group {
            let oldest = log.recent[log.recent.len() - self.limits.per_group];
            wait = wait.max((oldest + self.limits.group_window).saturating_duration_since(now));
        }
        if self.all.len() >= self.limits.per_second {
            let oldest = self.all[self.all.len() - self.limits.per_second];
            wait = wait.max((oldest + second).saturating_duration_since(now));
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        log.recent.push_back(now);
        log.blocked_until = None;
        self.all.push_back(now);
        Ok(())
    }

    /// Gives back the send booked for `chat` at `at`: it failed before
    /// Telegram took a message (network error, 5xx), so it used no budget.
    pub fn release(&mut self, chat: i64, at: Instant) {
        if let Some(log) = self.chats.get_mut(&chat)
            && let Some(i) = log.recent.iter().rposition(|t| *t == at)
        {
            log.recent.remove(i);
        }
        if let Some(i) = self.all.iter().rposition(|t| *t == at) {
            self.all.remove(i);
        }
    }

    /// Telegram answered 429 for `chat`: no sends to it before `now + wait`.
    pub fn block(&mut self, chat: i64, now: Instant, wait: Duration) {
        self.chats.entry(chat).or_default().blocked_until = Some(now + wait);
    }

    /// Forgets chats with no recent sends, so the map stays small.
    pub fn forget_idle(&mut self, now: Instant) {
        let window = self.limits.group_window;
        self.chats.retain(|_, log| {
            log.blocked_until.is_some_and(|t| t > now)
                || log
                    .recent
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < window)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn one_chat_gets_one_message_a_second() {
        let mut p = Pacer::new(Limits::default());
        let t = Instant::now();
        assert_eq!(p.try_reserve(7, t), Ok(()));
        assert_eq!(p.try_reserve(7, t + ms(400)), Err(ms(600)));
        assert_eq!(p.try_reserve(8, t + ms(400)), Ok(()), "other chats go on");
        assert_eq!(p.try_reserve(7, t + ms(1000)), Ok(()));
    }

    #[test]
    fn a_group_gets_twenty_messages_a_minute() {
        let mut p = Pacer::new(Limits::default());
        let t = Instant::now();
        for i in 0..20 {
            assert_eq!(p.try_reserve(-5, t + ms(1000 * i)), Ok(()), "{i}");
        }
        // The 21st must wait until the first leaves the minute.
        assert_eq!(p.try_reserve(-5, t + ms(20_000)), Err(ms(40_000)));
        assert_eq!(p.try_reserve(-5, t + ms(60_000)), Ok(()));
    }

    #[test]
    fn all_chats_together_get_thirty_messages_a_second() {
        let mut p = Pacer::new(Limits::default());
        let t = Instant::now();
        for chat in 0..30 {
            assert_eq!(p.try_reserve(chat, t + ms(chat as u64)), Ok(()));
        }
        assert_eq!(p.try_reserve(99, t + ms(500)), Err(ms(500)));
        assert_eq!(p.try_reserve(99, t + ms(1000)), Ok(()));
    }

    #[test]
    fn a_429_blocks_the_chat_until_its_time_is_up() {
        let mut p = Pacer::new(Limits::default());
        let t = Instant::now();
        p.block(7, t, Duration::from_secs(5));
        assert_eq!(p.try_reserve(7, t + ms(2000)), Err(ms(3000)));
        assert_eq!(p.try_reserve(7, t + ms(5000)), Ok(()));
        p.forget_idle(t + ms(500_000));
        assert!(p.chats.is_empty());
        // A send that failed on the way gives its slot back.
        assert_eq!(p.try_reserve(7, t + ms(600_000)), Ok(()));
        p.release(7, t + ms(600_000));
        assert_eq!(p.try_reserve(7, t + ms(600_100)), Ok(()));
        p.forget_idle(t + ms(900_000));
        assert!(p.chats.is_empty());
    }
}
