//! Every item of every real feed, matched against rules of every kind: the
//! matcher must cope with whatever text the world sends (mojibake, RTL,
//! CJK, combining marks) and explain each hit with valid ranges.

use wirewatch::{
    feeds::parse::parse_feed,
    matching::{Article, MatcherBuilder, RuleSpec},
};

const RULES: &[&str] = &[
    "keyword:UN Security Council",
    "keyword:UN",
    "keyword:Bogotá",
    "keyword:climate change",
    "person:James Cleverly",
    "person:Olena Zelenska | Олена Зеленська",
    "country:Russia",
    "country:Germany",
    "country:China",
    "country:Brazil",
    "query:\"Security Council\" AND (Russia OR Ukraine) NOT football",
];

#[test]
fn every_real_feed_item_can_be_matched_and_every_hit_explains_itself() {
    let mut builder = MatcherBuilder::new();
    for (id, spec) in RULES.iter().enumerate() {
        builder.add(id as i64, &RuleSpec::parse(spec).unwrap());
    }
    let matcher = builder.build();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/feeds/real");
    let mut items = 0;
    let mut hits = 0;
    let mut rules_that_fired = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let Ok(feed) = parse_feed(&std::fs::read(&path).unwrap(), None, None) else {
            continue;
        };
        for item in &feed.items {
            items += 1;
            let body = format!("{}\n{}", item.summary, item.content);
            for hit in matcher.find(&Article {
                title: &item.title,
                body: &body,
                source: "corpus",
            }) {
                hits += 1;
                rules_that_fired.insert(hit.rule_id);
                assert!(
                    !hit.terms.is_empty(),
                    "{}: hit without terms",
                    path.display()
                );
                let text = &hit.snippet.text;
                for r in &hit.snippet.highlights {
                    assert!(
                        r.start < r.end
                            && r.end <= text.len()
                            && text.is_char_boundary(r.start)
                            && text.is_char_boundary(r.end),
                        "{}: bad highlight {r:?} in {text:?}",
                        path.display()
                    );
                }
            }
        }
    }
    assert!(items > 1000, "only {items} items read");
    assert!(
        hits > 0 && rules_that_fired.len() >= 3,
        "{hits} hits from rules {rules_that_fired:?}"
    );
}
