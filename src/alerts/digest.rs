//! Digests: a chat's hits since its previous digest, as messages. Pure code.
//!
//! What a digest says: a one-line summary on top (N hits across M rules,
//! the rules that fired most), then one group per rule in rule order, each
//! listing its stories best first — carried by more outlets first, then
//! newest — as a linked headline with source and time. The same story from
//! several outlets (one story, or the same headline) is listed once with
//! the other outlets named. A group
//! shows at most [`STORIES_PER_RULE`] stories and ends with "and N more".
//! A period with no hits is one line, "nothing matched".
//!
//! Limits: the digest is cut into parts so that each part's plain
//! rendering ([`render_plain`]) fits [`part_budget`] for the chat's
//! platform, measured in UTF-16 code units (what Telegram counts; never
//! fewer than Discord's characters). Parts are cut only between stories,
//! so a link or a headline is never split; a group that goes on in the
//! next part says so.

use std::{collections::BTreeMap, fmt::Write};

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

use crate::chat::{Digest, DigestGroup, DigestItem, Outgoing, Platform};

/// Stories listed per rule; the rest are counted ("and N more").
pub const STORIES_PER_RULE: usize = 10;

/// Longest headline shown; longer ones end with "…".
const MAX_HEADLINE: usize = 300;

/// How many rules the summary line names.
const SUMMARY_TOP_RULES: usize = 3;

/// The largest plain rendering of one digest part for a platform:
/// Telegram's 4096 characters, Discord's 2000 characters of content. The
/// console takes Telegram's, so that what it prints is what a Telegram
/// chat would get.
pub fn part_budget(platform: Platform) -> usize {
    match platform {
        Platform::Telegram | Platform::Console => 4096,
        Platform::Discord => 2000,
    }
}

/// One hit to report: a rule of the chat and the article it matched.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestHit {
    /// The rule's id.
    pub rule_id: i64,
    /// The rule SPEC.
    pub rule: String,
    /// The article's id.
    pub article_id: i64,
    /// Headline.
    pub headline: String,
    /// Link.
    pub url: Option<String>,
    /// The outlet.
    pub source: String,
    /// Publication time, or when wirewatch saw the article.
    pub time: DateTime<Utc>,
    /// Other outlets known to have carried the same article.
    pub also: Vec<String>,
    /// The story the article belongs to, if known: hits on one story are
    /// listed once (so are hits whose headlines read the same).
    pub story_id: Option<i64>,
}

/// What a digest is made of.
#[derive(Debug, Clone)]
pub struct DigestInput<'a> {
    /// The hits of the period, in any order.
    pub hits: &'a [DigestHit],
    /// Start of the period (the previous digest).
    pub since: DateTime<Utc>,
    /// End of the period (now).
    pub until: DateTime<Utc>,
    /// The chat's zone, for every time shown.
    pub zone: Tz,
    /// Send nothing at all when nothing matched (`/digest quiet`).
    pub quiet: bool,
    /// Largest plain rendering of one part ([`part_budget`]).
    pub budget: usize,
}

/// Builds the digest's messages, in sending order. Empty only for a quiet
/// chat on a day when nothing matched.
pub fn build_digest(input: &DigestInput<'_>) -> Vec<Outgoing> {
    let frame = Digest {
        part: 1,
        parts: 1,
        since: input.since,
        until: input.until,
        zone: input.zone.name().to_owned(),
        summary: None,
        groups: Vec::new(),
    };
    if input.hits.is_empty() {
        return if input.quiet {
            Vec::new()
        } else {
            vec![Outgoing::Digest(frame)]
        };
    }
    let groups = group_hits(input.hits);
    let frame = Digest {
        summary: Some(summary_line(input.hits.len(), &groups)),
        ..frame
    };
    split(frame, groups, input.budget)
        .into_iter()
        .map(Outgoing::Digest)
        .collect()
}

/// A rule's stories, best first, before splitting.
struct RuleStories {
    rule_id: i64,
    rule: String,
    hits: u32,
    stories: Vec<DigestItem>,
}

/// Groups hits by rule (in rule order), merges each rule's hits on the
/// same story, and ranks the stories.
fn group_hits(hits: &[DigestHit]) -> Vec<RuleStories> {
    let mut by_rule: BTreeMap<i64, Vec<&DigestHit>> = BTreeMap::new();
    for hit in hits {
        by_rule.entry(hit.rule_id).or_default().push(hit);
    }
    by_rule
        .into_values()
        .map(|mut hits| {
            // The earliest article of a story is the one shown.
            hits.sort_by_key(|h| (h.time, h.article_id));
            // (story id, headline key, story)
            let mut stories: Vec<(Option<i64>, String, DigestItem)> = Vec::new();
            for hit in &hits {
                let key = story_key(&hit.headline);
                let same = stories.iter_mut().find(|(story_id, k, _)| {
                    (hit.story_id.is_some() && *story_id == hit.story_id)
                        || (!key.is_empty() && *k == key)
                });
                match same {
                    Some((_, _, story)) => {
                        add_outlets(story, std::iter::once(&hit.source).chain(&hit.also))
                    }
                    None => {
                        let mut story = DigestItem {
                            article_id: hit.article_id,
                            headline: headline(&hit.headline),
                            url: hit.url.clone(),
                            source: hit.source.clone(),
                            time: hit.time,
                            also: Vec::new(),
                        };
                        add_outlets(&mut story, &hit.also);
                        stories.push((hit.story_id, key, story));
                    }
                }
            }
            let mut stories: Vec<DigestItem> = stories.into_iter().map(|(_, _, s)| s).collect();
            stories.sort_by(|a, b| {
                b.also
                    .len()
                    .cmp(&a.also.len())
                    .then(b.time.cmp(&a.time))
                    .then(b.article_id.cmp(&a.article_id))
            });
            RuleStories {
                rule_id: hits[0].rule_id,
                rule: hits[0].rule.clone(),
                hits: u32::try_from(hits.len()).unwrap_or(u32::MAX),
                stories,
            }
        })
        .collect()
}

/// Adds outlets to a story's "also", skipping its own and repeats.
fn add_outlets<'a>(story: &mut DigestItem, outlets: impl IntoIterator<Item = &'a String>) {
    for outlet in outlets {
        if !outlet.eq_ignore_ascii_case(&story.source)
            && !story.also.iter().any(|o| o.eq_ignore_ascii_case(outlet))
        {
            story.also.push(outlet.clone());
        }
    }
}

/// What makes two headlines the same story: their letters and digits,
/// lower-cased (wire copy differs in quotes, dashes and spacing).
fn story_key(headline: &str) -> String {
    headline
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

fn headline(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        "(untitled)".to_owned()
    } else if text.chars().count() > MAX_HEADLINE {
        let cut: String = text.chars().take(MAX_HEADLINE - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        text
    }
}

fn summary_line(hits: usize, groups: &[RuleStories]) -> String {
    let mut top: Vec<&RuleStories> = groups.iter().collect();
    top.sort_by(|a, b| b.hits.cmp(&a.hits).then(a.rule_id.cmp(&b.rule_id)));
    let named: Vec<String> = top
        .iter()
        .take(SUMMARY_TOP_RULES)
        .map(|g| format!("#{} {} ({})", g.rule_id, g.rule, g.hits))
        .collect();
    let rules = groups.len();
    format!(
        "{hits} {} across {rules} {}; most: {}",
        plural(hits, "hit", "hits"),
        plural(rules, "rule", "rules"),
        named.join(", ")
    )
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// Length as platforms count it: UTF-16 code units.
fn len16(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Cuts the groups into parts whose plain rendering fits `budget`.
fn split(frame: Digest, groups: Vec<RuleStories>, budget: usize) -> Vec<Digest> {
    let zone = zone_of(&frame.zone);
    let local = Local::of(&frame);
    // Headers are measured with the widest part numbers the digest could
    // need, so filling in the real numbers never makes a part longer.
    let most_parts = 1 + groups.iter().map(|g| g.stories.len() + 1).sum::<usize>();
    let widest = u32::try_from(most_parts).unwrap_or(u32::MAX);
    let header_len = len16(&header_line(&frame, widest, widest, zone));
    let first_len = header_len + frame.summary.as_deref().map_or(0, |s| 1 + len16(s));

    let mut parts: Vec<Digest> = Vec::new();
    let mut current = Digest {
        groups: Vec::new(),
        ..frame.clone()
    };
    let mut used = first_len;
    for group in groups {
        let shown = group.stories.len().min(STORIES_PER_RULE);
        let more = u32::try_from(group.stories.len() - shown).unwrap_or(u32::MAX);
        let line_of = |continued: bool| {
            2 + len16(&group_line(
                group.rule_id,
                &group.rule,
                group.hits,
                continued,
            ))
        };
        let cost_of = |story: &Option<DigestItem>| match story {
            Some(item) => 1 + len16(&item_text(item, local)),
            None => 1 + len16(&more_line(more)),
        };
        // `started`: the group appeared in an earlier or this part;
        // `open`: it has a piece in the current part.
        let (mut started, mut open) = (false, false);
        // The "and N more" line goes last, like one more story.
        let lines = group
            .stories
            .into_iter()
            .take(shown)
            .map(Some)
            .chain((more > 0).then_some(None));
        for story in lines {
            let opening = |open: bool, started: bool| if open { 0 } else { line_of(started) };
            if used + opening(open, started) + cost_of(&story) > budget
                && !current.groups.is_empty()
            {
                let fresh = Digest {
                    summary: None,
                    groups: Vec::new(),
                    ..frame.clone()
                };
                parts.push(std::mem::replace(&mut current, fresh));
                used = header_len;
                open = false;
            }
            let opening = opening(open, started);
            // Alone in a part and still too long: shorten the story.
            let story = story.map(|item| {
                let room = budget.saturating_sub(used + opening + 1);
                fit(item, room, local)
            });
            used += opening + cost_of(&story);
            if !open {
                current.groups.push(DigestGroup {
                    rule_id: group.rule_id,
                    rule: group.rule.clone(),
                    hits: group.hits,
                    continued: started,
                    items: Vec::new(),
                    more: 0,
                });
                (started, open) = (true, true);
            }
            if let Some(piece) = current.groups.last_mut() {
                match story {
                    Some(item) => piece.items.push(item),
                    None => piece.more = more,
                }
            }
        }
    }
    parts.push(current);
    let count = u32::try_from(parts.len()).unwrap_or(u32::MAX);
    for (i, part) in parts.iter_mut().enumerate() {
        part.part = u32::try_from(i + 1).unwrap_or(u32::MAX);
        part.parts = count;
    }
    parts
}

/// Shortens a story that does not fit `room` on its own: the headline
/// first, then the other outlets, and only as a last resort the link,
/// which is dropped whole rather than cut.
fn fit(mut item: DigestItem, room: usize, local: Local) -> DigestItem {
    let over = |item: &DigestItem| len16(&item_text(item, local)).saturating_sub(room);
    let excess = over(&item);
    if excess == 0 {
        return item;
    }
    let keep = len16(&item.headline).saturating_sub(excess + 1);
    let mut cut = String::new();
    let mut cut_len = 0;
    for c in item.headline.chars() {
        cut_len += c.len_utf16();
        if cut_len > keep {
            break;
        }
        cut.push(c);
    }
    item.headline = format!("{}…", cut.trim_end());
    if over(&item) > 0 {
        item.also.clear();
    }
    if over(&item) > 0 {
        item.url = None;
    }
    item
}

fn zone_of(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

fn header_line(d: &Digest, part: u32, parts: u32, zone: Tz) -> String {
    let numbering = if parts > 1 {
        format!(" ({part}/{parts})")
    } else {
        String::new()
    };
    let until = d.until.with_timezone(&zone).format("%a %-d %b %Y %H:%M %Z");
    let since = d.since.with_timezone(&zone).format("%a %-d %b %H:%M");
    if d.groups.is_empty() && d.summary.is_none() {
        format!("DIGEST{numbering}  {until} · nothing matched since {since}")
    } else {
        format!("DIGEST{numbering}  {until} · since {since}")
    }
}

fn group_line(rule_id: i64, rule: &str, hits: u32, continued: bool) -> String {
    if continued {
        format!("#{rule_id} {rule} (continued)")
    } else {
        let noun = plural(hits as usize, "hit", "hits");
        format!("#{rule_id} {rule} · {hits} {noun}")
    }
}

/// How a digest shows times: in the chat's zone, with the year only when
/// it is not the digest's own.
#[derive(Clone, Copy)]
struct Local {
    zone: Tz,
    year: i32,
}

impl Local {
    fn of(d: &Digest) -> Self {
        let zone = zone_of(&d.zone);
        Self {
            zone,
            year: d.until.with_timezone(&zone).year(),
        }
    }
}

fn item_text(item: &DigestItem, local: Local) -> String {
    let mut out = format!("• {}", item.headline);
    if let Some(url) = &item.url {
        let _ = write!(out, "\n  {url}");
    }
    let time = item.time.with_timezone(&local.zone);
    let when = if time.year() == local.year {
        time.format("%-d %b %H:%M")
    } else {
        time.format("%-d %b %Y %H:%M")
    };
    let _ = write!(out, "\n  {} · {when}", item.source);
    if !item.also.is_empty() {
        let _ = write!(out, " · also: {}", item.also.join(", "));
    }
    out
}

fn more_line(more: u32) -> String {
    format!(
        "  and {more} more {}",
        plural(more as usize, "story", "stories")
    )
}

/// The plain-text form of a digest part, as the console prints it and as
/// other platforms send it when they have no richer form.
pub fn render_plain(d: &Digest) -> String {
    let zone = zone_of(&d.zone);
    let local = Local::of(d);
    let mut out = header_line(d, d.part, d.parts, zone);
    if let Some(summary) = &d.summary {
        let _ = write!(out, "\n{summary}");
    }
    for g in &d.groups {
        let _ = write!(
            out,
            "\n\n{}",
            group_line(g.rule_id, &g.rule, g.hits, g.continued)
        );
        for item in &g.items {
            let _ = write!(out, "\n{}", item_text(item, local));
        }
        if g.more > 0 {
            let _ = write!(out, "\n{}", more_line(g.more));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn hit(rule_id: i64, article_id: i64, headline: &str, source: &str, time: &str) -> DigestHit {
        DigestHit {
            rule_id,
            rule: format!("keyword:rule{rule_id}"),
            article_id,
            headline: headline.to_owned(),
            url: Some(format!("https://news.example/{article_id}")),
            source: source.to_owned(),
            time: at(time),
            also: Vec::new(),
            story_id: None,
        }
    }

    fn input(hits: &[DigestHit], budget: usize) -> DigestInput<'_> {
        DigestInput {
            hits,
            since: at("2026-11-26T08:00:00Z"),
            until: at("2026-11-27T08:00:00Z"),
            zone: chrono_tz::Europe::London,
            quiet: false,
            budget,
        }
    }

    fn digests(msgs: Vec<Outgoing>) -> Vec<Digest> {
        msgs.into_iter()
            .map(|m| match m {
                Outgoing::Digest(d) => d,
                other => panic!("not a digest: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_digest_groups_by_rule_and_lists_stories_best_first() {
        let mut carried = hit(1, 3, "Council meets", "Reuters", "2026-11-26T10:00:00Z");
        carried.also = vec!["AP".to_owned()];
        let hits = vec![
            hit(2, 1, "Grain deal stalls", "BBC", "2026-11-26T09:00:00Z"),
            hit(
                1,
                2,
                "Newest single-outlet story",
                "DW",
                "2026-11-27T07:00:00Z",
            ),
            carried,
            hit(
                1,
                4,
                "Older single-outlet story",
                "NPR",
                "2026-11-26T09:30:00Z",
            ),
            // The same story as article 3, from another outlet's feed.
            hit(
                1,
                5,
                "Council  meets!",
                "Al Jazeera",
                "2026-11-26T11:00:00Z",
            ),
        ];
        let parts = digests(build_digest(&input(&hits, 4096)));
        assert_eq!(parts.len(), 1);
        let d = &parts[0];
        assert_eq!(
            d.summary.as_deref(),
            Some("5 hits across 2 rules; most: #1 keyword:rule1 (4), #2 keyword:rule2 (1)")
        );
        let rules: Vec<i64> = d.groups.iter().map(|g| g.rule_id).collect();
        assert_eq!(rules, [1, 2]);
        let order: Vec<i64> = d.groups[0].items.iter().map(|i| i.article_id).collect();
        assert_eq!(order, [3, 2, 4], "most outlets, then newest");
        assert_eq!(d.groups[0].items[0].also, ["AP", "Al Jazeera"]);
        assert_eq!(d.groups[0].hits, 4);

        let text = render_plain(d);
        for needle in [
            "DIGEST  Fri 27 Nov 2026 08:00 GMT · since Thu 26 Nov 08:00",
            "#1 keyword:rule1 · 4 hits",
            "• Council meets\n  https://news.example/3\n  Reuters · 26 Nov 10:00 · also: AP, Al Jazeera",
            "#2 keyword:rule2 · 1 hit",
        ] {
            assert!(text.contains(needle), "{text}\n--- lacks: {needle}");
        }
    }

    #[test]
    fn times_are_shown_in_the_chats_zone() {
        let hits = [hit(1, 1, "A", "BBC", "2026-07-01T06:30:00Z")];
        let mut input = input(&hits, 4096);
        input.zone = chrono_tz::Asia::Kolkata;
        input.until = at("2026-07-01T02:30:00Z");
        input.since = at("2026-06-30T02:30:00Z");
        let text = render_plain(&digests(build_digest(&input))[0]);
        assert!(text.contains("Wed 1 Jul 2026 08:00 IST"), "{text}");
        assert!(text.contains("since Tue 30 Jun 08:00"), "{text}");
        assert!(text.contains("BBC · 1 Jul 12:00"), "{text}");
    }

    #[test]
    fn hits_on_one_story_are_listed_once_whatever_their_headlines() {
        let mut first = hit(
            1,
            1,
            "Council meets on Ukraine",
            "BBC",
            "2026-11-26T10:00:00Z",
        );
        let mut second = hit(1, 2, "UN body convenes", "Reuters", "2026-11-26T10:30:00Z");
        let other = hit(1, 3, "Unrelated", "AP", "2026-11-26T11:00:00Z");
        first.story_id = Some(7);
        second.story_id = Some(7);
        let d = &digests(build_digest(&input(&[other, second, first], 4096)))[0];
        let items = &d.groups[0].items;
        assert_eq!(items.len(), 2);
        assert_eq!(
            (items[0].article_id, &items[0].also),
            (1, &vec!["Reuters".to_owned()])
        );
        assert_eq!(d.groups[0].hits, 3);
    }

    #[test]
    fn stories_from_another_year_show_their_year() {
        let hits = [
            hit(1, 1, "Old", "BBC", "2023-02-24T16:30:00Z"),
            hit(1, 2, "New", "BBC", "2026-11-26T16:30:00Z"),
        ];
        let text = render_plain(&digests(build_digest(&input(&hits, 4096)))[0]);
        assert!(text.contains("BBC · 24 Feb 2023 16:30"), "{text}");
        assert!(text.contains("BBC · 26 Nov 16:30"), "{text}");
    }

    #[test]
    fn long_groups_end_with_and_n_more() {
        let hits: Vec<DigestHit> = (0..25)
            .map(|i| hit(1, i, &format!("Story {i}"), "BBC", "2026-11-26T10:00:00Z"))
            .collect();
        let d = &digests(build_digest(&input(&hits, 4096)))[0];
        assert_eq!(d.groups[0].items.len(), STORIES_PER_RULE);
        assert_eq!(d.groups[0].more, 15);
        assert!(render_plain(d).ends_with("\n  and 15 more stories"));
    }

    #[test]
    fn nothing_matched_is_one_line_unless_the_chat_is_quiet() {
        let d = digests(build_digest(&input(&[], 4096)));
        assert_eq!(d.len(), 1);
        assert_eq!(
            render_plain(&d[0]),
            "DIGEST  Fri 27 Nov 2026 08:00 GMT · nothing matched since Thu 26 Nov 08:00"
        );
        let mut quiet = input(&[], 4096);
        quiet.quiet = true;
        assert!(build_digest(&quiet).is_empty());
    }

    /// 500 hits over 40 rules, some with long and non-ASCII headlines.
    fn many_hits() -> Vec<DigestHit> {
        (0..500)
            .map(|i| {
                let mut h = hit(
                    1 + i % 40,
                    1000 + i,
                    &format!(
                        "Story {i}: Зеленський 🇺🇦 and the Security Council {}",
                        "x".repeat((i % 7 * 30) as usize)
                    ),
                    ["BBC", "Reuters", "AP"][(i % 3) as usize],
                    "2026-11-26T10:00:00Z",
                );
                h.url = Some(format!(
                    "https://news.example/{i}/{}",
                    "p".repeat((i % 5 * 40) as usize)
                ));
                h
            })
            .collect()
    }

    #[test]
    fn five_hundred_hits_split_within_each_platforms_limit_without_cutting_links() {
        let hits = many_hits();
        for platform in [Platform::Telegram, Platform::Discord, Platform::Console] {
            let budget = part_budget(platform);
            let parts = digests(build_digest(&input(&hits, budget)));
            assert!(parts.len() > 1, "{platform}: 500 hits fit one message?");
            let mut shown: HashMap<i64, usize> = HashMap::new();
            let mut more: HashMap<i64, u32> = HashMap::new();
            let mut hits_per_rule: HashMap<i64, u32> = HashMap::new();
            for (i, part) in parts.iter().enumerate() {
                assert_eq!((part.part, part.parts), (i as u32 + 1, parts.len() as u32));
                let text = render_plain(part);
                assert!(
                    len16(&text) <= budget,
                    "{platform} part {}: {}",
                    i + 1,
                    len16(&text)
                );
                assert!(!part.groups.is_empty());
                for g in &part.groups {
                    hits_per_rule.insert(g.rule_id, g.hits);
                    *shown.entry(g.rule_id).or_default() += g.items.len();
                    *more.entry(g.rule_id).or_default() += g.more;
                    for item in &g.items {
                        let url = item.url.as_deref().expect("link kept");
                        let whole = hits
                            .iter()
                            .find(|h| h.article_id == item.article_id)
                            .unwrap();
                        assert_eq!(Some(url), whole.url.as_deref());
                        assert!(text.contains(&format!("\n  {url}\n")), "link cut: {url}");
                    }
                }
            }
            assert_eq!(hits_per_rule.values().sum::<u32>(), 500);
            for rule in 1..=40 {
                assert_eq!(shown[&rule], STORIES_PER_RULE, "{platform} rule {rule}");
                assert_eq!(
                    more[&rule],
                    500 / 40 - STORIES_PER_RULE as u32 + u32::from(rule <= 500 % 40)
                );
            }
            // Only the first part carries the summary.
            assert!(parts[0].summary.is_some());
            assert!(parts[1..].iter().all(|p| p.summary.is_none()));
        }
    }

    #[test]
    fn a_group_cut_between_parts_says_it_continues() {
        let hits: Vec<DigestHit> = (0..10)
            .map(|i| {
                hit(
                    1,
                    i,
                    &format!("Story number {i}"),
                    "BBC",
                    "2026-11-26T10:00:00Z",
                )
            })
            .collect();
        let parts = digests(build_digest(&input(&hits, 400)));
        assert!(parts.len() > 1);
        assert!(!parts[0].groups[0].continued);
        for p in &parts[1..] {
            assert!(p.groups[0].continued);
            let text = render_plain(p);
            assert!(text.contains("#1 keyword:rule1 (continued)"), "{text}");
            assert!(
                text.starts_with(&format!("DIGEST ({}/{})", p.part, p.parts)),
                "{text}"
            );
        }
        let listed: usize = parts.iter().map(|p| p.groups[0].items.len()).sum();
        assert_eq!(listed, 10);
    }

    #[test]
    fn a_story_too_long_for_a_message_loses_headline_text_never_its_link() {
        let mut long = hit(1, 1, &"word ".repeat(200), "BBC", "2026-11-26T10:00:00Z");
        long.url = Some(format!("https://news.example/{}", "a".repeat(120)));
        let parts = digests(build_digest(&input(std::slice::from_ref(&long), 400)));
        assert_eq!(parts.len(), 1);
        let text = render_plain(&parts[0]);
        assert!(len16(&text) <= 400, "{}", len16(&text));
        assert!(text.contains(long.url.as_deref().unwrap()), "{text}");
        assert!(parts[0].groups[0].items[0].headline.ends_with('…'));
    }

    #[test]
    fn a_digest_round_trips_through_the_outbox_json() {
        let hits = [hit(1, 1, "A", "BBC", "2026-11-26T10:00:00Z")];
        let msg = build_digest(&input(&hits, 4096)).remove(0);
        let json = serde_json::to_string(&msg).unwrap();
        assert!(json.starts_with("{\"type\":\"digest\""), "{json}");
        assert_eq!(serde_json::from_str::<Outgoing>(&json).unwrap(), msg);
    }
}
