//! Table-driven tests of the whole matcher, one collection per rule kind,
//! in the style of aho-corasick's: `t!(name, rules, text, expected)`.
//!
//! `rules` are specs; rule ids are their indices. `text` is the article body,
//! or `title\n==\nbody`. `expected` lists (rule index, terms) in rule order.

use super::*;

#[derive(Debug)]
struct TestCase {
    name: &'static str,
    rules: &'static [&'static str],
    text: &'static str,
    expected: &'static [(usize, &'static [&'static str])],
}

macro_rules! t {
    ($name:ident, $rules:expr, $text:expr, $expected:expr $(,)?) => {
        TestCase {
            name: stringify!($name),
            rules: $rules,
            text: $text,
            expected: $expected,
        }
    };
}

const NONE: &[(usize, &[&str])] = &[];

/// Normalisation, as seen through keyword rules.
const NORMALISATION: &[TestCase] = &[
    t!(
        norm_case_insensitive,
        &["keyword:security council"],
        "SECURITY COUNCIL VOTES",
        &[(0, &["SECURITY COUNCIL"])]
    ),
    t!(
        norm_diacritics_in_text,
        &["keyword:Bogota"],
        "Talks in Bogotá ended.",
        &[(0, &["Bogotá"])]
    ),
    t!(
        norm_diacritics_in_rule,
        &["keyword:Bogotá"],
        "Talks in Bogota ended.",
        &[(0, &["Bogota"])]
    ),
    t!(
        norm_decomposed_accent,
        &["keyword:Bogota"],
        "In Bogota\u{301} today",
        &[(0, &["Bogota\u{301}"])]
    ),
    t!(
        norm_sharp_s,
        &["keyword:Strasse"],
        "in der Straße",
        &[(0, &["Straße"])]
    ),
    t!(
        norm_fullwidth,
        &["keyword:UN"],
        "ＵＮ report",
        &[(0, &["ＵＮ"])]
    ),
    t!(
        norm_curly_apostrophe_in_name,
        &["keyword:Côte d'Ivoire"],
        "in Côte d’Ivoire",
        &[(0, &["Côte d’Ivoire"])]
    ),
    t!(
        norm_en_dash,
        &["keyword:Russia-Ukraine war"],
        "the Russia–Ukraine war",
        &[(0, &["Russia–Ukraine war"])]
    ),
    t!(
        norm_soft_hyphen,
        &["keyword:security"],
        "Secu\u{AD}rity first",
        &[(0, &["Secu\u{AD}rity"])]
    ),
    t!(
        norm_zero_width,
        &["keyword:security"],
        "Secu\u{200B}rity first",
        &[(0, &["Secu\u{200B}rity"])]
    ),
    t!(
        norm_nbsp_in_phrase,
        &["keyword:UN Security Council"],
        "the UN\u{A0}Security Council",
        &[(0, &["UN Security Council"])]
    ),
    t!(
        norm_digit_groups,
        &["keyword:1,000 troops"],
        "sent 1,000 troops",
        &[(0, &["1,000 troops"])]
    ),
    t!(
        norm_digit_groups_differ,
        &["keyword:1,000 troops"],
        "sent 1000 troops",
        NONE
    ),
];

/// `keyword:` rules.
const KEYWORDS: &[TestCase] = &[
    t!(
        kw_phrase,
        &["keyword:UN Security Council"],
        "The UN Security Council met.",
        &[(0, &["UN Security Council"])]
    ),
    t!(
        kw_phrase_partial_no,
        &["keyword:UN Security Council"],
        "The Security Council met.",
        NONE
    ),
    t!(
        kw_phrase_line_breaks,
        &["keyword:UN Security Council"],
        "the UN\n  Security\r\nCouncil met",
        &[(0, &["UN Security Council"])]
    ),
    t!(
        kw_phrase_not_across_full_stop,
        &["keyword:UN Security Council"],
        "It went to the UN. Security Council members left.",
        NONE
    ),
    t!(
        kw_phrase_not_across_comma,
        &["keyword:Russia Ukraine"],
        "Russia, Ukraine and others",
        NONE
    ),
    t!(
        kw_phrase_punctuation_in_rule,
        &["keyword:Yes, Minister"],
        "a rerun of Yes, Minister tonight",
        &[(0, &["Yes, Minister"])]
    ),
    t!(
        kw_whole_word_not_in_fun,
        &["keyword:UN"],
        "It was fun.",
        NONE
    ),
    t!(
        kw_whole_word_not_in_unesco,
        &["keyword:UN"],
        "UNESCO said",
        NONE
    ),
    t!(
        kw_whole_word_not_prefix,
        &["keyword:sanction"],
        "new sanctions",
        NONE
    ),
    t!(
        kw_acronym_in_caps,
        &["keyword:UN"],
        "The UN said",
        &[(0, &["UN"])]
    ),
    t!(
        kw_acronym_not_french_un,
        &["keyword:UN"],
        "Ils ont signé un accord.",
        NONE
    ),
    t!(
        kw_acronym_not_capitalised_un,
        &["keyword:UN"],
        "Un accord a été signé.",
        NONE
    ),
    t!(
        kw_acronym_dotted,
        &["keyword:UN"],
        "the U.N. said",
        &[(0, &["U.N."])]
    ),
    t!(
        kw_us_acronym,
        &["keyword:US"],
        "US troops arrived",
        &[(0, &["US"])]
    ),
    t!(
        kw_us_not_pronoun,
        &["keyword:US"],
        "Tell us more. Us too.",
        NONE
    ),
    t!(
        kw_us_dotted,
        &["keyword:US"],
        "U.S. troops arrived",
        &[(0, &["U.S."])]
    ),
    t!(
        kw_nato_caps,
        &["keyword:NATO"],
        "NATO allies",
        &[(0, &["NATO"])]
    ),
    t!(
        kw_nato_house_style,
        &["keyword:NATO"],
        "Nato allies",
        &[(0, &["Nato"])]
    ),
    t!(kw_nato_lowercase_no, &["keyword:NATO"], "nato allies", NONE),
    t!(
        kw_lowercase_typed_matches_any_case,
        &["keyword:un"],
        "signé un accord",
        &[(0, &["un"])]
    ),
    t!(
        kw_longer_caps_any_case,
        &["keyword:UNESCO"],
        "Unesco heritage",
        &[(0, &["Unesco"])]
    ),
    t!(
        kw_possessive_straight,
        &["keyword:UN"],
        "the UN's envoy",
        &[(0, &["UN"])]
    ),
    t!(
        kw_possessive_curly,
        &["keyword:Putin"],
        "Putin’s war",
        &[(0, &["Putin"])]
    ),
    t!(
        kw_possessive_in_phrase,
        &["keyword:Security Council"],
        "the Security Council's vote",
        &[(0, &["Security Council"])]
    ),
    t!(
        kw_hyphenated_part,
        &["keyword:UN"],
        "a UN-backed plan",
        &[(0, &["UN"])]
    ),
    t!(
        kw_hyphenated_rule_spaced_text,
        &["keyword:UN-backed"],
        "a UN backed plan",
        &[(0, &["UN backed"])]
    ),
    t!(
        kw_hyphenated_rule_hyphenated_text,
        &["keyword:UN-backed"],
        "a UN-backed plan",
        &[(0, &["UN-backed"])]
    ),
    t!(
        kw_in_title,
        &["keyword:Lavrov"],
        "Cleverly to confront Lavrov\n==\nThe minister flew in.",
        &[(0, &["Lavrov"])]
    ),
    t!(
        kw_not_across_title_and_body,
        &["keyword:Lavrov said"],
        "Cleverly to confront Lavrov\n==\nsaid the minister.",
        NONE
    ),
    t!(
        kw_terms_deduplicated_in_order,
        &["keyword:Kyiv"],
        "Kyiv. Then Kyiv again, KYIV.",
        &[(0, &["Kyiv", "KYIV"])]
    ),
];

/// `person:` rules.
const PERSONS: &[TestCase] = &[
    t!(
        person_full_name,
        &["person:James Cleverly"],
        "James Cleverly said",
        &[(0, &["James Cleverly"])]
    ),
    t!(
        person_full_name_any_case,
        &["person:James Cleverly"],
        "as james cleverly said",
        &[(0, &["james cleverly"])]
    ),
    t!(
        person_surname_after_title,
        &["person:James Cleverly"],
        "Mr Cleverly said",
        &[(0, &["Cleverly"])]
    ),
    t!(
        person_surname_in_headline,
        &["person:James Cleverly"],
        "Cleverly to confront Lavrov",
        &[(0, &["Cleverly"])]
    ),
    t!(
        person_surname_all_caps_headline,
        &["person:James Cleverly"],
        "CLEVERLY TO CONFRONT LAVROV",
        &[(0, &["CLEVERLY"])]
    ),
    t!(
        person_surname_lowercase_no,
        &["person:James Cleverly"],
        "a cleverly worded statement",
        NONE
    ),
    t!(
        person_surname_typed_lowercase,
        &["person:james cleverly"],
        "a cleverly worded note by Mr Cleverly",
        &[(0, &["Cleverly"])]
    ),
    t!(
        person_surname_possessive,
        &["person:James Cleverly"],
        "Cleverly’s visit",
        &[(0, &["Cleverly"])]
    ),
    t!(
        person_first_name_alone_no,
        &["person:James Cleverly"],
        "James Bond returns",
        NONE
    ),
    t!(
        person_full_and_surname_reported_once_each,
        &["person:James Cleverly"],
        "James Cleverly spoke. Later Mr Cleverly left.",
        &[(0, &["James Cleverly", "Cleverly"])]
    ),
    t!(
        person_alias_transliteration,
        &["person:Olena Zelenska | Olena Zelenskaya | Олена Зеленська"],
        "Olena Zelenskaya visited",
        &[(0, &["Olena Zelenskaya"])]
    ),
    t!(
        person_alias_cyrillic,
        &["person:Olena Zelenska | Olena Zelenskaya | Олена Зеленська"],
        "Олена Зеленська заявила",
        &[(0, &["Олена Зеленська"])]
    ),
    t!(
        person_alias_cyrillic_surname,
        &["person:Olena Zelenska | Olena Zelenskaya | Олена Зеленська"],
        "пані Зеленська заявила",
        &[(0, &["Зеленська"])]
    ),
    t!(
        person_alias_cyrillic_lowercase_no,
        &["person:Olena Zelenska | Olena Zelenskaya | Олена Зеленська"],
        "зеленська",
        NONE
    ),
    t!(
        person_one_word_alias_capitalised,
        &["person:Lula"],
        "Lula said",
        &[(0, &["Lula"])]
    ),
    t!(
        person_one_word_alias_lowercase_no,
        &["person:Lula"],
        "a lula fish",
        NONE
    ),
    t!(
        person_diacritics,
        &["person:Luiz Inácio Lula da Silva"],
        "Luiz Inacio Lula da Silva spoke",
        &[(0, &["Luiz Inacio Lula da Silva"])]
    ),
    t!(
        person_hyphenated_surname,
        &["person:Pedro Sánchez Pérez-Castejón"],
        "Mr Pérez-Castejón said",
        &[(0, &["Pérez-Castejón"])]
    ),
];

/// `person:` rules in scripts without spaces or case.
const PERSONS_OTHER_SCRIPTS: &[TestCase] = &[
    t!(
        person_han_alias_in_running_text,
        &["person:Xi Jinping | 习近平"],
        "习近平主席表示",
        &[(0, &["习近平"])]
    ),
    t!(
        person_han_alias_partial_no,
        &["person:Xi Jinping | 习近平"],
        "近平主席表示",
        NONE
    ),
    t!(
        person_arabic_alias,
        &["person:Mohammed bin Salman | محمد بن سلمان"],
        "قال محمد بن سلمان",
        &[(0, &["محمد بن سلمان"])]
    ),
];

/// `country:` rules.
const COUNTRIES: &[TestCase] = &[
    t!(
        country_common_name,
        &["country:Russia"],
        "Russia said",
        &[(0, &["Russia"])]
    ),
    t!(
        country_rule_text_lowercase,
        &["country:russia"],
        "Russia said",
        &[(0, &["Russia"])]
    ),
    t!(
        country_official_name,
        &["country:Russia"],
        "the Russian Federation said",
        &[(0, &["Russian Federation"])]
    ),
    t!(
        country_demonym,
        &["country:Russia"],
        "Russian troops",
        &[(0, &["Russian"])]
    ),
    t!(
        country_demonym_plural,
        &["country:Ukraine"],
        "Ukrainians fled",
        &[(0, &["Ukrainians"])]
    ),
    t!(
        country_lookup_by_demonym,
        &["country:Ukrainian"],
        "Ukraine's army",
        &[(0, &["Ukraine"])]
    ),
    t!(
        country_demonym_lowercase_no,
        &["country:Russia"],
        "a russian doll",
        NONE
    ),
    t!(
        country_native_name,
        &["country:Russia"],
        "Россия заявила",
        &[(0, &["Россия"])]
    ),
    t!(
        country_han_name_in_running_text,
        &["country:China"],
        "中国外交部发言人",
        &[(0, &["中国"])]
    ),
    t!(
        country_uk,
        &["country:United Kingdom"],
        "the UK said",
        &[(0, &["UK"])]
    ),
    t!(
        country_uk_dotted,
        &["country:United Kingdom"],
        "the U.K. said",
        &[(0, &["U.K."])]
    ),
    t!(
        country_britain,
        &["country:UK"],
        "Britain and Great Britain",
        &[(0, &["Britain", "Great Britain"])]
    ),
    t!(
        country_british,
        &["country:UK"],
        "British troops",
        &[(0, &["British"])]
    ),
    t!(
        country_us_acronym,
        &["country:US"],
        "US troops",
        &[(0, &["US"])]
    ),
    t!(
        country_us_dotted,
        &["country:US"],
        "U.S. officials",
        &[(0, &["U.S."])]
    ),
    t!(
        country_us_not_pronoun,
        &["country:US"],
        "Join us. Us first.",
        NONE
    ),
    t!(
        country_usa,
        &["country:United States"],
        "USA today",
        &[(0, &["USA"])]
    ),
    t!(
        country_america,
        &["country:US"],
        "America first",
        &[(0, &["America"])]
    ),
    t!(
        country_americans,
        &["country:US"],
        "Americans voted",
        &[(0, &["Americans"])]
    ),
    t!(
        country_not_latin_america,
        &["country:US"],
        "across Latin America and South American states",
        NONE
    ),
    t!(
        country_turkey_both_names,
        &["country:Turkey"],
        "Türkiye, also called Turkey",
        &[(0, &["Türkiye", "Turkey"])]
    ),
    t!(
        country_turkey_bird_no,
        &["country:Turkey"],
        "roast turkey",
        NONE
    ),
    t!(
        country_ivory_coast,
        &["country:Ivory Coast"],
        "in Côte d’Ivoire",
        &[(0, &["Côte d’Ivoire"])]
    ),
    t!(
        country_uae_acronym,
        &["country:UAE"],
        "the UAE said",
        &[(0, &["UAE"])]
    ),
    t!(
        country_emirates_airline_no,
        &["country:UAE"],
        "an Emirates flight",
        NONE
    ),
    t!(
        country_bare_code_no,
        &["country:Germany", "country:Russia"],
        "DE and RU and DEU",
        NONE
    ),
    t!(
        country_inside_longer_name_no,
        &["country:Guinea"],
        "Equatorial Guinea and Guinea-Bissau and Papua New Guinea",
        NONE
    ),
    t!(
        country_alone_next_to_longer_name,
        &["country:Guinea"],
        "Equatorial Guinea and Guinea",
        &[(0, &["Guinea"])]
    ),
    t!(
        country_not_northern_ireland,
        &["country:Ireland"],
        "Northern Ireland",
        NONE
    ),
    t!(
        country_not_new_mexico,
        &["country:Mexico"],
        "New Mexico",
        NONE
    ),
    t!(
        country_territory_not_sovereign,
        &["country:US", "country:US Virgin Islands"],
        "the US Virgin Islands",
        &[(1, &["US Virgin Islands"])]
    ),
    t!(
        country_possessive,
        &["country:Russia"],
        "Russia’s army",
        &[(0, &["Russia"])]
    ),
    t!(
        country_in_title_snippet_from_body,
        &["country:Russia"],
        "Russia warns\n==\nMoscow said Russian jets flew.",
        &[(0, &["Russia", "Russian"])]
    ),
];

/// `query:` rules.
const QUERIES: &[TestCase] = &[
    t!(
        q_brief_example,
        &["query:\"Security Council\" AND (Russia OR Ukraine) NOT football"],
        "The Security Council discussed Russia.",
        &[(0, &["Security Council", "Russia"])]
    ),
    t!(
        q_brief_example_not,
        &["query:\"Security Council\" AND (Russia OR Ukraine) NOT football"],
        "Security Council, Russia and football",
        NONE
    ),
    t!(
        q_brief_example_missing_or,
        &["query:\"Security Council\" AND (Russia OR Ukraine) NOT football"],
        "The Security Council discussed China.",
        NONE
    ),
    t!(
        q_or,
        &["query:Russia OR Ukraine"],
        "Ukraine said",
        &[(0, &["Ukraine"])]
    ),
    t!(
        q_implicit_and,
        &["query:Russia sanctions"],
        "sanctions on Russia",
        &[(0, &["sanctions", "Russia"])]
    ),
    t!(
        q_implicit_and_missing,
        &["query:Russia sanctions"],
        "sanctions on Iran",
        NONE
    ),
    t!(
        q_acronym_term,
        &["query:UN AND Russia"],
        "un accord avec la Russia",
        NONE
    ),
    t!(
        q_acronym_term_caps,
        &["query:UN AND Russia"],
        "the UN and Russia",
        &[(0, &["UN", "Russia"])]
    ),
    t!(
        q_precedence_or_lowest,
        &["query:a OR b AND c"],
        "only a here",
        &[(0, &["a"])]
    ),
    t!(
        q_precedence_and_binds,
        &["query:a OR b AND c"],
        "only b here",
        NONE
    ),
    t!(
        q_not_group,
        &["query:Russia NOT (football OR tennis)"],
        "Russia at tennis",
        NONE
    ),
    t!(
        q_phrase_whole_words,
        &["query:\"Security Council\""],
        "Security Councillors",
        NONE
    ),
    t!(
        q_curly_quotes,
        &["query:“Security Council” Russia"],
        "Security Council and Russia",
        &[(0, &["Security Council", "Russia"])]
    ),
    t!(
        q_hyphenated_term,
        &["query:UN-backed"],
        "a UN-backed plan",
        &[(0, &["UN-backed"])]
    ),
];

/// Several rules over the same words: all fire.
const OVERLAPS: &[TestCase] = &[
    t!(
        overlap_putin,
        &[
            "keyword:Putin",
            "keyword:Vladimir Putin",
            "person:Vladimir Putin"
        ],
        "Vladimir Putin said",
        &[
            (0, &["Putin"]),
            (1, &["Vladimir Putin"]),
            (2, &["Vladimir Putin"])
        ]
    ),
    t!(
        overlap_nested_phrases,
        &[
            "keyword:Security Council",
            "keyword:UN Security Council",
            "keyword:Council"
        ],
        "the UN Security Council",
        &[
            (0, &["Security Council"]),
            (1, &["UN Security Council"]),
            (2, &["Council"])
        ]
    ),
    t!(
        overlap_keyword_and_country,
        &[
            "keyword:Russia",
            "country:Russia",
            "query:Russia NOT Ukraine"
        ],
        "Russia",
        &[(0, &["Russia"]), (1, &["Russia"]), (2, &["Russia"])]
    ),
    t!(
        overlap_same_phrase_different_case_rules,
        &["keyword:UN", "keyword:un"],
        "un accord",
        &[(1, &["un"])]
    ),
    t!(
        overlap_duplicate_rules,
        &["country:Russia", "country:Russian Federation"],
        "Russia",
        &[(0, &["Russia"]), (1, &["Russia"])]
    ),
];

const COLLECTIONS: &[(&str, &[TestCase])] = &[
    ("normalisation", NORMALISATION),
    ("keywords", KEYWORDS),
    ("persons", PERSONS),
    ("persons_other_scripts", PERSONS_OTHER_SCRIPTS),
    ("countries", COUNTRIES),
    ("queries", QUERIES),
    ("overlaps", OVERLAPS),
];

fn article(text: &str) -> Article<'_> {
    match text.split_once("\n==\n") {
        Some((title, body)) => Article {
            title,
            body,
            source: "Test",
        },
        None => Article {
            title: "",
            body: text,
            source: "Test",
        },
    }
}

fn run(case: &TestCase) {
    let mut builder = MatcherBuilder::new();
    for (i, spec) in case.rules.iter().enumerate() {
        let spec = RuleSpec::parse(spec)
            .unwrap_or_else(|e| panic!("case {}: rule {spec}: {e}", case.name));
        builder.add(i as i64, &spec);
    }
    let matcher = builder.build();
    let hits = matcher.find(&article(case.text));
    let got: Vec<(usize, Vec<&str>)> = hits
        .iter()
        .map(|h| {
            (
                h.rule_id as usize,
                h.terms.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let want: Vec<(usize, Vec<&str>)> = case
        .expected
        .iter()
        .map(|(i, t)| (*i, t.to_vec()))
        .collect();
    assert_eq!(got, want, "case {}: {:?}", case.name, case.text);
    for hit in &hits {
        assert!(
            !hit.snippet.highlights.is_empty(),
            "case {}: no highlight",
            case.name
        );
        for h in &hit.snippet.highlights {
            assert!(
                hit.snippet.text.get(h.clone()).is_some(),
                "case {}: bad highlight",
                case.name
            );
        }
    }
}

#[test]
fn case_names_are_unique() {
    let mut names: Vec<&str> = COLLECTIONS
        .iter()
        .flat_map(|(_, cases)| cases.iter().map(|c| c.name))
        .collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate case names");
}

#[test]
fn normalisation_cases() {
    NORMALISATION.iter().for_each(run);
}

#[test]
fn keyword_cases() {
    KEYWORDS.iter().for_each(run);
}

#[test]
fn person_cases() {
    PERSONS.iter().for_each(run);
}

#[test]
fn person_other_script_cases() {
    PERSONS_OTHER_SCRIPTS.iter().for_each(run);
}

#[test]
fn country_cases() {
    COUNTRIES.iter().for_each(run);
}

#[test]
fn query_cases() {
    QUERIES.iter().for_each(run);
}

#[test]
fn overlap_cases() {
    OVERLAPS.iter().for_each(run);
}

#[test]
fn hits_come_in_rule_id_order_whatever_the_order_added() {
    let mut builder = MatcherBuilder::new();
    for (id, spec) in [
        (30, "keyword:Russia"),
        (10, "country:Russia"),
        (20, "query:Russia OR Ukraine"),
    ] {
        builder.add(id, &RuleSpec::parse(spec).expect("valid"));
    }
    let matcher = builder.build();
    assert_eq!(matcher.rule_count(), 3);
    let ids: Vec<i64> = matcher
        .find(&article("Russia"))
        .iter()
        .map(|h| h.rule_id)
        .collect();
    assert_eq!(ids, [10, 20, 30]);
}

#[test]
fn empty_matcher_finds_nothing() {
    let matcher = Matcher::empty();
    assert_eq!(matcher.rule_count(), 0);
    assert!(matcher.find(&article("Russia and the UN")).is_empty());
    assert!(
        MatcherBuilder::default()
            .build()
            .find(&article(""))
            .is_empty()
    );
}

#[test]
fn snippet_highlights_every_match_in_the_body() {
    let mut builder = MatcherBuilder::new();
    builder.add(1, &RuleSpec::parse("person:James Cleverly").expect("valid"));
    let matcher = builder.build();
    let text = "Cleverly in Moscow\n==\nForeign Secretary James Cleverly met his counterpart.\n\nMr Cleverly said talks were frank.";
    let hits = matcher.find(&article(text));
    let snippet = &hits[0].snippet;
    assert_eq!(
        snippet.text,
        "Foreign Secretary James Cleverly met his counterpart. Mr Cleverly said talks were frank."
    );
    let marked: Vec<&str> = snippet
        .highlights
        .iter()
        .map(|h| &snippet.text[h.clone()])
        .collect();
    assert_eq!(marked, ["James Cleverly", "Cleverly"]);
    // Terms list the title too, in order of appearance.
    assert_eq!(hits[0].terms, ["Cleverly", "James Cleverly"]);
}

#[test]
fn hits_serialise_to_json_and_back() {
    let mut builder = MatcherBuilder::new();
    builder.add(7, &RuleSpec::parse("keyword:UN").expect("valid"));
    let hits = builder.build().find(&article("The UN said"));
    let json = serde_json::to_string(&hits).expect("serialises");
    let back: Vec<Hit> = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, hits);
}

#[test]
fn matcher_is_send_sync_and_clone() {
    fn assert_shareable<T: Send + Sync + Clone + 'static>() {}
    assert_shareable::<Matcher>();
    assert_shareable::<RuleSpec>();
}

#[test]
fn many_rules_share_one_dictionary() {
    // 2,000 rules over 20 distinct phrases intern 20 patterns, not 2,000.
    let mut builder = MatcherBuilder::new();
    for i in 0..2000 {
        let spec = RuleSpec::parse(&format!("keyword:term{} alpha", i % 20)).expect("valid");
        builder.add(i, &spec);
    }
    let matcher = builder.build();
    let shown = format!("{matcher:?}");
    assert!(shown.contains("patterns: 20"), "{shown}");
    let hits = matcher.find(&article("term3 alpha"));
    assert_eq!(hits.len(), 100);
    assert!(hits.iter().all(|h| h.rule_id % 20 == 3));
}

/// Text no rule author thinks of: every character of the Basic Multilingual
/// Plane, in runs glued to letters, through the whole matcher (snippets
/// included) without a panic.
#[test]
fn survives_every_bmp_character() {
    let mut builder = MatcherBuilder::new();
    for (i, spec) in [
        "keyword:a",
        "keyword:1",
        "country:Japan",
        "person:Ann Lee",
        "query:a NOT b",
    ]
    .iter()
    .enumerate()
    {
        builder.add(i as i64, &RuleSpec::parse(spec).expect("valid"));
    }
    let matcher = builder.build();
    let chars: Vec<char> = (0u32..=0xFFFF).filter_map(char::from_u32).collect();
    for chunk in chars.chunks(64) {
        let glued: String = chunk.iter().flat_map(|&c| [c, 'a', '.', c, ' ']).collect();
        let tight: String = chunk.iter().collect();
        for text in [&glued, &tight] {
            for hit in matcher.find(&article(text)) {
                for h in &hit.snippet.highlights {
                    assert!(hit.snippet.text.get(h.clone()).is_some(), "{text:?}");
                }
            }
            let _ = normalize(text);
        }
    }
}

#[test]
fn one_character_folding_to_several_words_is_safe() {
    // `¼` folds to the words `1` and `4` (around a fraction slash): two words
    // from one source character. `㍻` is a symbol, kept as it is.
    let mut builder = MatcherBuilder::new();
    builder.add(1, &RuleSpec::parse("keyword:1").expect("valid"));
    builder.add(2, &RuleSpec::parse("keyword:4").expect("valid"));
    builder.add(3, &RuleSpec::parse("keyword:平成").expect("valid"));
    let hits = builder
        .build()
        .find(&article("Kälte ¼ mile, ㍻ era, FlÃ¼chtlinge"));
    let found: Vec<(i64, Vec<&str>)> = hits
        .iter()
        .map(|h| (h.rule_id, h.terms.iter().map(String::as_str).collect()))
        .collect();
    // In `FlÃ¼chtlinge` (mojibake) the 1 and 4 are glued to letters: no match.
    assert_eq!(found, [(1, vec!["¼"]), (2, vec!["¼"])]);
}
