//! Commands: the chat grammar of DESIGN.md §1, written once for every
//! platform, and its execution against the store.
//!
//! [`parse`] is pure: text in, [`Command`] or a usage error out. Adapters
//! that receive typed options (Discord) build the same [`Command`] values.
//! [`execute`] runs a command for one chat and returns the reply text; it
//! owns the rules about who may change what. It does not own delivery:
//! replies go back through the adapter that received the command.

mod execute;

pub use execute::{CommandContext, Invoker, Reply, execute};

use chrono::NaiveTime;
use chrono_tz::Tz;

use crate::{
    config::parse_time_zone,
    matching::{RuleError, RuleSpec},
};

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/start`: greeting and help.
    Start,
    /// `/help`.
    Help,
    /// `/watch <kind> <text>`.
    Watch(RuleSpec),
    /// `/rules`.
    Rules,
    /// `/unwatch <id>`.
    Unwatch(i64),
    /// `/alerts on|off`.
    Alerts(bool),
    /// `/digest …`.
    Digest(DigestCommand),
    /// `/test <text or URL>`.
    Test(String),
    /// `/feeds`.
    Feeds,
    /// `/feed add <url>`.
    FeedAdd(String),
    /// `/feed remove <id>`.
    FeedRemove(i64),
}

/// What `/digest` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestCommand {
    /// `/digest`: the chat's setting and when the next digest is due.
    Show,
    /// `/digest 08:00 Europe/London`: daily at this local time; without a
    /// zone, in the chat's current zone.
    At {
        /// Local time of day.
        time: NaiveTime,
        /// IANA zone, if given.
        zone: Option<Tz>,
    },
    /// `/digest off`: no scheduled digests.
    Off,
    /// `/digest now`: a digest at once.
    Now,
    /// `/digest quiet`: toggles the one-line "nothing matched" digest.
    Quiet,
}

/// The commands as listed to users (and registered with platforms that
/// autocomplete): name, arguments, description.
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "watch",
        "<person|country|keyword|query> <text>",
        "add a watch rule",
    ),
    ("rules", "", "list this chat's rules with their ids"),
    ("unwatch", "<id>", "remove one of this chat's rules"),
    ("alerts", "on|off", "immediate alerts on, or digest only"),
    (
        "digest",
        "[HH:MM [Zone] | off | now | quiet]",
        "daily digest time (e.g. 08:00 Europe/London), off, one now, quiet days; alone: show",
    ),
    (
        "test",
        "<text or article URL> | --history <rule>",
        "which rules would match, and why; or how often a rule would have matched this week",
    ),
    ("feeds", "", "the sources being watched, with their health"),
    (
        "feed",
        "add <url> | remove <id>",
        "add or remove a source (admins)",
    ),
    ("help", "", "this list"),
];

/// Why a message could not be read as a command; the text is the reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Not a known command.
    #[error("unknown command /{0}. Send /help for the list.")]
    Unknown(String),
    /// A known command with wrong arguments.
    #[error("{problem}\nusage: /{name} {usage}")]
    Usage {
        /// The command.
        name: &'static str,
        /// Its argument syntax.
        usage: &'static str,
        /// What was wrong.
        problem: String,
    },
    /// A `/watch` whose rule does not parse.
    #[error("{0}")]
    Rule(String),
}

impl From<RuleError> for CommandError {
    fn from(e: RuleError) -> Self {
        CommandError::Rule(e.to_string())
    }
}

/// Reads one chat message. `Ok(None)`: not a command at all, or a command
/// addressed to another bot (`/watch@otherbot` when we are `bot_username`).
pub fn parse(text: &str, bot_username: Option<&str>) -> Result<Option<Command>, CommandError> {
    let text = text.trim();
    let Some(rest) = text.strip_prefix('/') else {
        return Ok(None);
    };
    let (head, args) = rest
        .split_once(char::is_whitespace)
        .map_or((rest, ""), |(h, a)| (h, a.trim()));
    let (name, addressee) = head
        .split_once('@')
        .map_or((head, None), |(n, a)| (n, Some(a)));
    if let (Some(to), Some(me)) = (addressee, bot_username)
        && !to.eq_ignore_ascii_case(me)
    {
        return Ok(None);
    }
    let name = name.to_ascii_lowercase();
    let usage = |name: &'static str, problem: &str| {
        let usage = COMMANDS.iter().find(|c| c.0 == name).map_or("", |c| c.1);
        CommandError::Usage {
            name,
            usage,
            problem: problem.to_owned(),
        }
    };
    let no_args = |cmd: Command, name: &'static str| {
        if args.is_empty() {
            Ok(Some(cmd))
        } else {
            Err(usage(name, &format!("/{name} takes no arguments")))
        }
    };
    match name.as_str() {
        "start" => Ok(Some(Command::Start)),
        "help" => Ok(Some(Command::Help)),
        "rules" => no_args(Command::Rules, "rules"),
        "feeds" => no_args(Command::Feeds, "feeds"),
        "watch" => {
            let (kind, what) = args
                .split_once(char::is_whitespace)
                .ok_or_else(|| usage("watch", "say what to watch, e.g. /watch country Russia"))?;
            Ok(Some(Command::Watch(RuleSpec::from_parts(
                kind,
                what.trim(),
            )?)))
        }
        "unwatch" => parse_id(args)
            .map(|id| Some(Command::Unwatch(id)))
            .ok_or_else(|| {
                usage(
                    "unwatch",
                    "give the rule's number from /rules, e.g. /unwatch 7",
                )
            }),
        "alerts" => match args.to_ascii_lowercase().as_str() {
            "on" => Ok(Some(Command::Alerts(true))),
            "off" => Ok(Some(Command::Alerts(false))),
            _ => Err(usage("alerts", "say on or off")),
        },
        "digest" => parse_digest(args)
            .map(|d| Some(Command::Digest(d)))
            .map_err(|problem| usage("digest", &problem)),
        "test" if args.is_empty() => Err(usage("test", "give a text or an article URL to test")),
        "test" => Ok(Some(Command::Test(args.to_owned()))),
        "feed" => {
            let (action, arg) = args
                .split_once(char::is_whitespace)
                .map_or((args, ""), |(a, b)| (a, b.trim()));
            match action.to_ascii_lowercase().as_str() {
                "add" if !arg.is_empty() && !arg.contains(char::is_whitespace) => {
                    Ok(Some(Command::FeedAdd(arg.to_owned())))
                }
                "add" => Err(usage("feed", "give one feed URL")),
                "remove" => parse_id(arg)
                    .map(|id| Some(Command::FeedRemove(id)))
                    .ok_or_else(|| usage("feed", "give the feed's number from /feeds")),
                _ => Err(usage("feed", "say add or remove")),
            }
        }
        _ => Err(CommandError::Unknown(name)),
    }
}

/// `/digest`'s arguments; the error is the problem, in plain words.
fn parse_digest(args: &str) -> Result<DigestCommand, String> {
    let words: Vec<&str> = args.split_whitespace().collect();
    match words.as_slice() {
        [] => Ok(DigestCommand::Show),
        [word] if word.eq_ignore_ascii_case("off") => Ok(DigestCommand::Off),
        [word] if word.eq_ignore_ascii_case("now") => Ok(DigestCommand::Now),
        [word] if word.eq_ignore_ascii_case("quiet") => Ok(DigestCommand::Quiet),
        [time] => Ok(DigestCommand::At {
            time: parse_local_time(time)?,
            zone: None,
        }),
        [time, zone] => Ok(DigestCommand::At {
            time: parse_local_time(time)?,
            zone: Some(parse_time_zone(zone)?),
        }),
        _ => Err("give a time and a zone, e.g. /digest 08:00 Europe/London".to_owned()),
    }
}

fn parse_local_time(text: &str) -> Result<NaiveTime, String> {
    let valid = text.len() == 5 && text.as_bytes()[2] == b':';
    valid
        .then(|| NaiveTime::parse_from_str(text, "%H:%M").ok())
        .flatten()
        .ok_or_else(|| format!("invalid time {text:?}: give HH:MM on a 24-hour clock, e.g. 08:00"))
}

fn parse_id(arg: &str) -> Option<i64> {
    arg.trim()
        .trim_start_matches('#')
        .parse()
        .ok()
        .filter(|id| *id > 0)
}

/// The `/help` text.
pub fn help_text() -> String {
    let mut text = String::from("wirewatch watches news feeds for what you care about.\n");
    for (name, args, about) in COMMANDS {
        let args = if args.is_empty() {
            String::new()
        } else {
            format!(" {args}")
        };
        text.push_str(&format!("/{name}{args} — {about}\n"));
    }
    text.push_str("Examples: /watch person James Cleverly · /watch country Russia · /watch keyword UN Security Council");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> RuleSpec {
        RuleSpec::parse(s).unwrap()
    }

    #[test]
    fn commands_parse() {
        let cases: Vec<(&str, Option<Command>)> = vec![
            ("/help", Some(Command::Help)),
            ("/start", Some(Command::Start)),
            ("/HELP", Some(Command::Help)),
            ("/rules", Some(Command::Rules)),
            ("/rules@wirewatch_bot", Some(Command::Rules)),
            ("/rules@otherbot", None),
            ("hello there", None),
            (
                "/watch person James Cleverly",
                Some(Command::Watch(spec("person:James Cleverly"))),
            ),
            (
                "/watch country Russia",
                Some(Command::Watch(spec("country:Russia"))),
            ),
            (
                "/watch keyword UN Security Council",
                Some(Command::Watch(spec("keyword:UN Security Council"))),
            ),
            (
                "/watch query \"Security Council\" AND Russia",
                Some(Command::Watch(spec(
                    "query:\"Security Council\" AND Russia",
                ))),
            ),
            ("/unwatch 7", Some(Command::Unwatch(7))),
            ("/unwatch #7", Some(Command::Unwatch(7))),
            ("/alerts off", Some(Command::Alerts(false))),
            ("/alerts ON", Some(Command::Alerts(true))),
            ("/digest", Some(Command::Digest(DigestCommand::Show))),
            ("/digest off", Some(Command::Digest(DigestCommand::Off))),
            ("/digest NOW", Some(Command::Digest(DigestCommand::Now))),
            ("/digest quiet", Some(Command::Digest(DigestCommand::Quiet))),
            (
                "/digest 08:00 Europe/London",
                Some(Command::Digest(DigestCommand::At {
                    time: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
                    zone: Some(chrono_tz::Europe::London),
                })),
            ),
            (
                "/digest 23:30 asia/kolkata",
                Some(Command::Digest(DigestCommand::At {
                    time: NaiveTime::from_hms_opt(23, 30, 0).unwrap(),
                    zone: Some(chrono_tz::Asia::Kolkata),
                })),
            ),
            (
                "/digest 07:15",
                Some(Command::Digest(DigestCommand::At {
                    time: NaiveTime::from_hms_opt(7, 15, 0).unwrap(),
                    zone: None,
                })),
            ),
            ("/test The UN met", Some(Command::Test("The UN met".into()))),
            ("/feeds", Some(Command::Feeds)),
            (
                "/feed add https://example.org/rss",
                Some(Command::FeedAdd("https://example.org/rss".into())),
            ),
            ("/feed remove 3", Some(Command::FeedRemove(3))),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text, Some("wirewatch_bot")), Ok(want), "{text}");
        }
    }

    #[test]
    fn bad_commands_get_usage_not_silence() {
        let cases = [
            ("/frobnicate", "unknown command /frobnicate"),
            ("/watch", "usage: /watch"),
            ("/watch colour red", "colour"),
            ("/watch country Narnia", "Narnia"),
            ("/unwatch seven", "usage: /unwatch <id>"),
            ("/unwatch 0", "usage: /unwatch"),
            ("/alerts maybe", "on or off"),
            ("/digest 08:00 Europe/Londn", "did you mean Europe/London"),
            (
                "/digest 08:00 Mars/Olympus",
                "Europe/London or America/New_York",
            ),
            ("/digest 8am Europe/London", "invalid time \"8am\""),
            ("/digest 25:00", "HH:MM"),
            ("/digest 8:00", "HH:MM"),
            ("/digest 08:00 Europe/London daily", "usage: /digest"),
            ("/digest sometimes", "invalid time"),
            ("/test", "usage: /test"),
            ("/feed add", "usage: /feed"),
            ("/feed delete 3", "add or remove"),
            ("/rules all", "takes no arguments"),
        ];
        for (text, needle) in cases {
            let err = parse(text, None).expect_err(text).to_string();
            assert!(err.contains(needle), "{text}: {err:?} lacks {needle:?}");
        }
    }

    #[test]
    fn help_lists_every_command() {
        let help = help_text();
        for (name, _, _) in COMMANDS {
            assert!(help.contains(&format!("/{name}")), "{name}");
        }
    }
}
