use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};

use super::*;

const WIRE: &str = "The UN Security Council failed on Friday to adopt a resolution on \
safe passage for grain ships leaving Ukraine's Black Sea ports, after Russia cast its veto \
and China abstained. Thirteen of the council's fifteen members voted in favour of the text, \
which was drafted by the United Kingdom and France. Britain's foreign secretary accused \
Moscow of weaponising hunger and said the veto would be felt most keenly in Africa and the \
Middle East. Russia's ambassador dismissed the draft as a propaganda exercise.";

const OTHER: &str = "The UN Security Council met on Tuesday to discuss the humanitarian \
situation in Sudan, where fighting between the army and a paramilitary force has displaced \
millions. Members heard briefings from the UN's aid chief and called for a ceasefire during \
Ramadan. No resolution was put to a vote, and diplomats said talks on a draft text would \
continue next week in New York.";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .expect("valid time")
}

fn index() -> StoryIndex {
    StoryIndex::new(StdDuration::from_secs(48 * 3600))
}

fn probe<'a>(url: Option<&'a str>, guid: Option<&'a str>, sig: &'a Signature) -> Probe<'a> {
    Probe {
        canonical_url: url,
        guid,
        signature: sig,
    }
}

#[test]
fn a_republished_copy_joins_the_story_with_its_similarity() {
    let mut idx = index();
    let first = Signature::of("Russia vetoes UN grain corridor resolution", WIRE);
    idx.insert(1, 10, t0(), Some("https://a.example/1"), None, first);
    let copy_body = format!("{WIRE} Sign up for our morning newsletter.");
    let copy = Signature::of("Moscow blocks Security Council grain text", &copy_body);
    let joined = idx
        .find(&probe(Some("https://b.example/x"), None, &copy))
        .expect("joins");
    assert_eq!(joined.story_id, 10);
    let Evidence::Similar {
        article_id, score, ..
    } = joined.evidence
    else {
        panic!("expected similarity, got {:?}", joined.evidence);
    };
    assert_eq!(article_id, 1);
    assert!(score > 0.6, "{score}");
}

#[test]
fn a_different_story_on_the_same_topic_starts_a_new_one() {
    let mut idx = index();
    idx.insert(
        1,
        10,
        t0(),
        None,
        None,
        Signature::of("Russia vetoes", WIRE),
    );
    let other = Signature::of("Security Council discusses Sudan", OTHER);
    assert_eq!(idx.find(&probe(None, None, &other)), None);
}

#[test]
fn the_same_url_or_guid_joins_whatever_the_text() {
    let mut idx = index();
    idx.insert(
        1,
        10,
        t0(),
        Some("https://a.example/1"),
        Some("urn:a:1"),
        Signature::of("t", WIRE),
    );
    let edited = Signature::of("Edited headline", "completely new text of the update");
    let by_url = idx
        .find(&probe(Some("https://a.example/1"), None, &edited))
        .expect("joins by URL");
    assert!(matches!(
        by_url.evidence,
        Evidence::SameUrl { article_id: 1, .. }
    ));
    let by_guid = idx
        .find(&probe(None, Some("urn:a:1"), &edited))
        .expect("joins by guid");
    assert!(matches!(
        by_guid.evidence,
        Evidence::SameGuid { article_id: 1, .. }
    ));
    assert!(by_guid.evidence.to_string().contains("urn:a:1"));
}

#[test]
fn articles_older_than_the_window_are_forgotten() {
    let mut idx = index();
    let sig = Signature::of("t", WIRE);
    idx.insert(1, 10, t0(), Some("https://a.example/1"), None, sig.clone());
    idx.insert(2, 10, t0() + Duration::hours(30), None, None, sig.clone());
    assert_eq!(idx.evict(t0() + Duration::hours(47)), 0);
    assert_eq!(idx.evict(t0() + Duration::hours(49)), 1);
    assert_eq!(idx.len(), 1);
    assert_eq!(
        idx.find(&probe(
            Some("https://a.example/1"),
            None,
            &Signature::of("x", "y z")
        )),
        None
    );
    // The younger copy still explains the story.
    let joined = idx.find(&probe(None, None, &sig)).expect("still there");
    assert!(matches!(
        joined.evidence,
        Evidence::Similar { article_id: 2, .. }
    ));
    assert_eq!(idx.evict(t0() + Duration::hours(79)), 1);
    assert!(idx.is_empty());
}

#[test]
fn removing_an_article_forgets_it_everywhere() {
    let mut idx = index();
    let sig = Signature::of("t", WIRE);
    idx.insert(
        1,
        10,
        t0(),
        Some("https://a.example/1"),
        Some("g"),
        sig.clone(),
    );
    idx.remove(1);
    assert_eq!(
        idx.find(&probe(Some("https://a.example/1"), Some("g"), &sig)),
        None
    );
    assert!(idx.is_empty());
}

#[test]
fn the_also_line_names_a_few_outlets_then_counts_the_rest() {
    let outlets: Vec<String> = ["Reuters", "The Guardian", "AP", "DW", "NPR"]
        .map(String::from)
        .to_vec();
    assert_eq!(also_line(&outlets, 2), "Reuters, The Guardian, +3");
    assert_eq!(also_line(&outlets[..2], 2), "Reuters, The Guardian");
    assert_eq!(also_line(&[], 2), "");
}

#[test]
fn one_line_items_join_only_by_url_or_guid() {
    let mut idx = index();
    let short = "The UN Security Council met on Friday.";
    idx.insert(
        1,
        10,
        t0(),
        None,
        None,
        Signature::of("Council meets", short),
    );
    let same_words = Signature::of("Council meets", short);
    assert_eq!(idx.find(&probe(None, None, &same_words)), None);
}

#[test]
fn removing_every_article_leaves_no_bucket_list_url_or_guid_behind() {
    let mut idx = index();
    // Copies of one text share most of their buckets; more copies than a
    // bucket keeps, so that some fall out of their buckets.
    let n = i64::try_from(BUCKET_KEEP).expect("small") + 40;
    for i in 0..n {
        let body = format!("{WIRE} Copy {} of the wire story.", i % 7);
        let url = format!("https://outlet.example/{}", i % 5);
        let guid = format!("guid-{}", i % 3);
        let sig = Signature::of("Russia vetoes grain deal", &body);
        idx.insert(i, 1, t0(), Some(&url), Some(&guid), sig);
    }
    assert!(idx.lists.iter().any(|l| l.len() == BUCKET_KEEP));
    // A copy still finds the most recent articles of its buckets.
    let copy = Signature::of(
        "Grain deal vetoed",
        &format!("{WIRE} Copy 3 of the wire story."),
    );
    let joined = idx.find(&probe(None, None, &copy)).expect("joins");
    assert!(joined.evidence.article_id() >= n - 40, "{joined:?}");
    // Out of order, and some twice.
    for i in (0..n).rev().step_by(2).chain((0..n).step_by(2)).chain(0..n) {
        idx.remove(i);
    }
    assert!(idx.is_empty());
    assert!(idx.bands.iter().all(|t| t.is_empty()));
    assert!(idx.lists.iter().all(Vec::is_empty));
    assert!(idx.urls.is_empty() && idx.guids.is_empty());
    assert_eq!(idx.free_slots.len(), idx.slots.len());
    // The freed slots serve new articles.
    let sig = Signature::of("Russia vetoes grain deal", WIRE);
    idx.insert(1000, 2, t0(), Some("https://outlet.example/0"), None, sig);
    let again = idx
        .find(&probe(Some("https://outlet.example/0"), None, &copy))
        .expect("joins by URL");
    assert_eq!((again.story_id, again.evidence.article_id()), (2, 1000));
    assert_eq!(idx.slots.len(), usize::try_from(n).expect("small"));
}
