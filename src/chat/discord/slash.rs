//! The slash commands: their definitions for Discord, and the translation
//! of a received command's typed options into the shared [`Command`].
//!
//! The grammar stays in [`crate::commands`]: typed options become the same
//! [`Command`] values that `commands::parse` makes from text, and a
//! `/digest` setting (free text by nature) goes through that parser.

use serenity::all::{CommandOptionType, CreateCommand, CreateCommandOption, Permissions};

use crate::{
    commands::{Command, parse},
    matching::RuleSpec,
};

/// A received command flattened: its name, the subcommand if any, and the
/// option values as text (integers written out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// `watch`, `rules`, …
    pub name: String,
    /// `person`, `add`, … for commands with subcommands.
    pub sub: Option<String>,
    /// `(option name, value)`.
    pub args: Vec<(String, String)>,
}

impl Invocation {
    fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    fn required(&self, name: &str) -> Result<&str, String> {
        self.arg(name)
            .ok_or_else(|| format!("/{} needs the option {name}.", self.name))
    }

    fn id(&self, name: &str) -> Result<i64, String> {
        self.required(name)?
            .trim()
            .parse()
            .map_err(|_| format!("{name} must be a number."))
    }
}

/// The [`Command`] that `inv` asks for; the error text is the reply.
pub fn to_command(inv: &Invocation) -> Result<Command, String> {
    let sub = inv.sub.as_deref().unwrap_or("");
    Ok(match inv.name.as_str() {
        "help" => Command::Help,
        "rules" => Command::Rules,
        "feeds" => Command::Feeds,
        "watch" => {
            let text = match sub {
                "person" => {
                    let mut text = inv.required("name")?.trim().to_owned();
                    for alias in inv.arg("aliases").unwrap_or("").split([',', '|']) {
                        if !alias.trim().is_empty() {
                            text.push_str(" | ");
                            text.push_str(alias.trim());
                        }
                    }
                    text
                }
                "country" => inv.required("name")?.to_owned(),
                "keyword" => inv.required("text")?.to_owned(),
                "query" => inv.required("expression")?.to_owned(),
                other => return Err(format!("unknown kind of rule {other:?}.")),
            };
            Command::Watch(RuleSpec::from_parts(sub, &text).map_err(|e| e.to_string())?)
        }
        "unwatch" => Command::Unwatch(inv.id("id")?),
        "alerts" => match inv.required("state")? {
            "on" => Command::Alerts(true),
            "off" => Command::Alerts(false),
            _ => return Err("/alerts takes on or off.".to_owned()),
        },
        "digest" => {
            let text = format!("/digest {}", inv.arg("setting").unwrap_or(""));
            match parse(&text, None) {
                Ok(Some(command)) => command,
                Ok(None) => return Err("/digest did not read as a command.".to_owned()),
                Err(e) => return Err(e.to_string()),
            }
        }
        "test" => Command::Test(inv.required("input")?.to_owned()),
        "feed" => match sub {
            "add" => Command::FeedAdd(inv.required("url")?.trim().to_owned()),
            "remove" => Command::FeedRemove(inv.id("id")?),
            other => return Err(format!("unknown /feed action {other:?}.")),
        },
        other => return Err(format!("unknown command /{other}. Try /help.")),
    })
}

fn text_option(name: &str, about: &str, required: bool) -> CreateCommandOption {
    CreateCommandOption::new(CommandOptionType::String, name, about)
        .required(required)
        .max_length(1000)
}

fn id_option(name: &str, about: &str) -> CreateCommandOption {
    CreateCommandOption::new(CommandOptionType::Integer, name, about)
        .required(true)
        .min_int_value(1)
}

/// The application commands to register with one bulk overwrite.
/// Commands that change a channel's rules or feeds are hidden from members
/// without Manage Channels unless `members_manage` (the permission is also
/// checked on receipt).
pub fn definitions(members_manage: bool) -> Vec<CreateCommand> {
    let manage = |c: CreateCommand| {
        if members_manage {
            c
        } else {
            c.default_member_permissions(Permissions::MANAGE_CHANNELS)
        }
    };
    let sub = |name: &str, about: &str, options: Vec<CreateCommandOption>| {
        options.into_iter().fold(
            CreateCommandOption::new(CommandOptionType::SubCommand, name, about),
            CreateCommandOption::add_sub_option,
        )
    };
    vec![
        manage(
            CreateCommand::new("watch")
                .description("add a watch rule to this channel")
                .add_option(sub(
                    "person",
                    "a person, with optional aliases",
                    vec![
                        text_option("name", "the person's name", true),
                        text_option("aliases", "other names, separated by commas", false),
                    ],
                ))
                .add_option(sub(
                    "country",
                    "a country (names, demonyms and capitals)",
                    vec![text_option("name", "the country", true).set_autocomplete(true)],
                ))
                .add_option(sub(
                    "keyword",
                    "a word or phrase",
                    vec![text_option("text", "the word or phrase", true)],
                ))
                .add_option(sub(
                    "query",
                    "a boolean query: \"Security Council\" AND Russia",
                    vec![text_option("expression", "the query", true)],
                )),
        ),
        CreateCommand::new("rules").description("list this channel's rules with their ids"),
        manage(
            CreateCommand::new("unwatch")
                .description("remove one of this channel's rules")
                .add_option(
                    id_option("id", "the rule's id, as /rules shows it").set_autocomplete(true),
                ),
        ),
        manage(
            CreateCommand::new("alerts")
                .description("immediate alerts on, or digest only")
                .add_option(
                    CreateCommandOption::new(CommandOptionType::String, "state", "on or off")
                        .required(true)
                        .add_string_choice("on", "on")
                        .add_string_choice("off", "off"),
                ),
        ),
        CreateCommand::new("digest")
            .description("daily digest: HH:MM [Zone], off, now, quiet; alone: show")
            .add_option(text_option(
                "setting",
                "e.g. 08:00 Europe/London, off, now, quiet",
                false,
            )),
        CreateCommand::new("test")
            .description("which of this channel's rules would match, and why")
            .add_option(text_option("input", "text, or an article URL", true)),
        CreateCommand::new("feeds").description("the sources being watched, with their health"),
        manage(
            CreateCommand::new("feed")
                .description("add or remove a source")
                .add_option(sub(
                    "add",
                    "add a feed",
                    vec![text_option("url", "the feed's URL", true)],
                ))
                .add_option(sub(
                    "remove",
                    "remove a feed",
                    vec![id_option("id", "the feed's id, as /feeds shows it")],
                )),
        ),
        CreateCommand::new("help").description("what wirewatch can do"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::DigestCommand;

    fn inv(name: &str, sub: Option<&str>, args: &[(&str, &str)]) -> Invocation {
        Invocation {
            name: name.to_owned(),
            sub: sub.map(str::to_owned),
            args: args
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn typed_options_become_the_shared_commands() {
        let cases = [
            (
                inv("watch", Some("keyword"), &[("text", "UN Security Council")]),
                parse("/watch keyword UN Security Council", None)
                    .unwrap()
                    .unwrap(),
            ),
            (
                inv(
                    "watch",
                    Some("person"),
                    &[
                        ("name", "Olena Zelenska"),
                        ("aliases", "Олена Зеленська, O. Zelenska"),
                    ],
                ),
                parse(
                    "/watch person Olena Zelenska | Олена Зеленська | O. Zelenska",
                    None,
                )
                .unwrap()
                .unwrap(),
            ),
            (
                inv(
                    "watch",
                    Some("query"),
                    &[("expression", "\"Security Council\" AND Russia")],
                ),
                parse("/watch query \"Security Council\" AND Russia", None)
                    .unwrap()
                    .unwrap(),
            ),
            (inv("unwatch", None, &[("id", "7")]), Command::Unwatch(7)),
            (
                inv("alerts", None, &[("state", "off")]),
                Command::Alerts(false),
            ),
            (
                inv("digest", None, &[]),
                Command::Digest(DigestCommand::Show),
            ),
            (
                inv("digest", None, &[("setting", "off")]),
                Command::Digest(DigestCommand::Off),
            ),
            (
                inv("feed", Some("remove"), &[("id", "3")]),
                Command::FeedRemove(3),
            ),
            (
                inv("feed", Some("add"), &[("url", " https://a.example/rss ")]),
                Command::FeedAdd("https://a.example/rss".into()),
            ),
            (
                inv("test", None, &[("input", "The UN met")]),
                Command::Test("The UN met".into()),
            ),
            (inv("rules", None, &[]), Command::Rules),
            (inv("help", None, &[]), Command::Help),
        ];
        for (invocation, expected) in cases {
            assert_eq!(to_command(&invocation), Ok(expected), "{invocation:?}");
        }
    }

    #[test]
    fn bad_options_give_a_reply_not_a_command() {
        for bad in [
            inv("watch", Some("keyword"), &[("text", "  ")]),
            inv("watch", Some("query"), &[("expression", "AND AND")]),
            inv("digest", None, &[("setting", "25:99")]),
            inv("unwatch", None, &[("id", "seven")]),
            inv("nope", None, &[]),
        ] {
            assert!(to_command(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_shared_command_is_registered_once() {
        let defs = serde_json::to_value(definitions(false)).unwrap();
        let names: Vec<&str> = defs
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        for (name, _, _) in crate::commands::COMMANDS {
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name}");
        }
        let watch = &defs[0];
        assert_eq!(watch["default_member_permissions"], "16");
    }
}
