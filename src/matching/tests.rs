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
        person_other_first_name_no,
        &["person:Barack Obama"],
        "The speech Michelle Obama gave moved the crowd.",
        NONE
    ),
    t!(
        person_own_first_name_other_spelling,
        &["person:Vladimir Putin"],
        "Die Vorwürfe gegen Wladimir Putin wiegen schwer.",
        &[(0, &["Putin"])]
    ),
    t!(
        person_after_possessive,
        &["person:Vladimir Putin"],
        "analysts said Russia’s Putin would not back down",
        &[(0, &["Putin"])]
    ),
    t!(
        person_after_title,
        &["person:Barack Obama"],
        "a letter to President Obama from the senators",
        &[(0, &["Obama"])]
    ),
    t!(
        person_ambiguous_surname_month_no,
        &["person:Theresa May"],
        "Prices have risen since May 20, and in May the council met.",
        NONE
    ),
    t!(
        person_ambiguous_surname_after_title,
        &["person:Theresa May"],
        "A donor to PM May's party said",
        &[(0, &["May"])]
    ),
    t!(
        person_ambiguous_surname_full_name,
        &["person:Theresa May"],
        "Theresa May will visit Washington in May.",
        &[(0, &["Theresa May"])]
    ),
    t!(
        person_surname_particles,
        &["person:Ursula von der Leyen"],
        "Mrs von der Leyen said",
        &[(0, &["von der Leyen"])]
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

/// `country:` rules on inflected forms (see the gazetteer's curation).
const INFLECTIONS: &[TestCase] = &[
    t!(
        inflected_russian_genitive,
        &["country:Russia"],
        "на сайте Гидрометцентра России",
        &[(0, &["России"])]
    ),
    t!(
        inflected_russian_instrumental_lowercase_no,
        &["country:Russia"],
        "переговоры с россией",
        NONE
    ),
    t!(
        inflected_russian_official_name,
        &["country:Russia"],
        "президент Российской Федерации",
        &[(0, &["Российской Федерации"])]
    ),
    t!(
        inflected_russian_abbreviation,
        &["country:Russia", "country:US"],
        "ГСУ СК РФ и посольство США",
        &[(0, &["РФ"]), (1, &["США"])]
    ),
    t!(
        inflected_russian_adjective,
        &["country:Russia"],
        "российские космонавты",
        &[(0, &["российские"])]
    ),
    t!(
        inflected_russian_feminine_a,
        &["country:Ukraine", "country:Poland"],
        "помощь Украине и Польше",
        &[(0, &["Украине"]), (1, &["Польше"])]
    ),
    t!(
        inflected_russian_masculine,
        &["country:China", "country:Egypt"],
        "в Китае и Египте",
        &[(0, &["Китае"]), (1, &["Египте"])]
    ),
    t!(
        inflected_not_inside_equatorial_guinea,
        &["country:Guinea", "country:Equatorial Guinea"],
        "из Экваториальной Гвинеи",
        &[(1, &["Экваториальной Гвинеи"])]
    ),
    t!(
        inflected_not_inside_guinea_bissau,
        &["country:Guinea"],
        "президент Гвинеи-Бисау",
        NONE
    ),
    t!(
        inflected_not_inside_new_guinea,
        &["country:Guinea"],
        "остров Новой Гвинеи",
        NONE
    ),
    t!(
        inflected_not_inside_south_sudan,
        &["country:Sudan", "country:South Sudan"],
        "в Южном Судане",
        &[(1, &["Южном Судане"])]
    ),
    t!(
        inflected_not_inside_northern_ireland,
        &["country:Ireland"],
        "в Северной Ирландии",
        NONE
    ),
    t!(
        inflected_first_name_not_declined,
        &["country:El Salvador"],
        "картины Сальвадора Дали",
        NONE
    ),
    t!(
        inflected_ukrainian,
        &["country:Ukraine", "country:Russia"],
        "війна Росії проти України",
        &[(0, &["України"]), (1, &["Росії"])]
    ),
    t!(
        inflected_capital_opt_in,
        &["country:Russia", "country:Russia +capital"],
        "морозы в Москве",
        &[(1, &["Москве"])]
    ),
    t!(
        inflected_german_adjective,
        &["country:Ukraine", "country:Israel"],
        "in der ukrainischen Hauptstadt, ein Israelisches Start-up",
        &[(0, &["ukrainischen"]), (1, &["Israelisches"])]
    ),
    t!(
        inflected_german_bare_stem_no,
        &["country:Russia", "country:Germany"],
        "Russisch Brot, auf Deutsch",
        NONE
    ),
    t!(
        inflected_german_not_indian_ocean,
        &["country:India"],
        "im Indischen Ozean",
        NONE
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

/// `query:` rules with NEAR.
const NEAR: &[TestCase] = &[
    t!(
        near_within,
        &["query:Putin NEAR/3 Trump"],
        "Putin met with Trump on Friday.",
        &[(0, &["Putin", "Trump"])]
    ),
    t!(
        near_either_order,
        &["query:Putin NEAR/3 Trump"],
        "Trump later called Putin.",
        &[(0, &["Trump", "Putin"])]
    ),
    t!(
        near_exactly_at_limit,
        &["query:Putin NEAR/3 Trump"],
        "Putin, Xi, Modi and Trump",
        &[(0, &["Putin", "Trump"])]
    ),
    t!(
        near_too_far,
        &["query:Putin NEAR/2 Trump"],
        "Putin, Xi, Modi and Trump",
        NONE
    ),
    t!(
        near_zero_is_adjacent,
        &["query:grain NEAR/0 deal"],
        "a deal on grain, then a grain deal",
        &[(0, &["deal", "grain"])]
    ),
    t!(
        near_zero_not_one_apart,
        &["query:grain NEAR/0 deal"],
        "grain export deal",
        NONE
    ),
    t!(
        near_any_occurrence_pair,
        &["query:Putin NEAR/2 Trump"],
        "Putin spoke first. Many words later, much later, Trump arrived and later Putin and Trump met.",
        &[(0, &["Putin", "Trump"])]
    ),
    t!(
        near_not_across_title_and_body,
        &["query:Putin NEAR/5 Trump"],
        "Talks with Putin\n==\nTrump said",
        NONE
    ),
    t!(
        near_phrase_operand,
        &["query:\"grain deal\" NEAR/4 Russia"],
        "The grain deal that Russia left",
        &[(0, &["grain deal", "Russia"])]
    ),
    t!(
        near_or_group,
        &["query:(Putin OR Kremlin) NEAR/3 sanctions"],
        "the Kremlin rejected new sanctions",
        &[(0, &["Kremlin", "sanctions"])]
    ),
    t!(
        near_chain,
        &["query:Putin NEAR/2 Xi NEAR/2 Modi"],
        "Putin and Xi met Modi",
        &[(0, &["Putin", "Xi", "Modi"])]
    ),
    t!(
        near_chain_broken,
        &["query:Putin NEAR/2 Xi NEAR/2 Modi"],
        "Putin and Xi met. Much later on, far away, Modi spoke.",
        NONE
    ),
    t!(
        near_not_same_occurrence,
        &["query:Council NEAR/3 Council"],
        "the Council met",
        NONE
    ),
    t!(
        near_same_term_twice,
        &["query:Council NEAR/3 Council"],
        "the Council and the Council",
        &[(0, &["Council"])]
    ),
    t!(
        near_with_and_not,
        &["query:Putin NEAR/3 Trump NOT golf"],
        "Putin met Trump for golf",
        NONE
    ),
    t!(
        near_snippet_shows_the_pair,
        &["query:Putin NEAR/1 Trump"],
        "Putin spoke. Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Later Putin and Trump met.",
        &[(0, &["Putin", "Trump"])]
    ),
];

/// `title:`, `body:` and `source:` qualifiers.
const FIELDS: &[TestCase] = &[
    t!(
        field_title_in_title,
        &["query:title:Russia"],
        "Russia warns\n==\nThe minister spoke.",
        &[(0, &["Russia"])]
    ),
    t!(
        field_title_not_in_body,
        &["query:title:Russia"],
        "Minister warns\n==\nRussia said.",
        NONE
    ),
    t!(
        field_body_not_in_title,
        &["query:body:Russia"],
        "Russia warns\n==\nThe minister spoke.",
        NONE
    ),
    t!(
        field_title_group,
        &["query:title:(Russia OR Ukraine) grain"],
        "Ukraine exports\n==\ngrain ships",
        &[(0, &["Ukraine", "grain"])]
    ),
    t!(
        field_source,
        &["query:source:Reuters Russia"],
        "Russia warns",
        &[(0, &["Russia", "Reuters"])]
    ),
    t!(
        field_source_other_outlet,
        &["query:source:BBC Russia"],
        "Russia warns",
        NONE
    ),
    t!(
        field_plain_term_not_in_source,
        &["keyword:Reuters", "query:Reuters"],
        "Russia warns",
        NONE
    ),
    t!(
        field_title_reference,
        &["query:title:(country:Russia) grain"],
        "Russian envoy leaves\n==\ngrain talks",
        &[(0, &["Russian", "grain"])]
    ),
];

/// Trailing wildcards.
const WILDCARDS: &[TestCase] = &[
    t!(
        wildcard_plural,
        &["keyword:sanction*"],
        "new sanctions on banks",
        &[(0, &["sanctions"])]
    ),
    t!(
        wildcard_exact_word,
        &["keyword:sanction*"],
        "a sanction",
        &[(0, &["sanction"])]
    ),
    t!(
        wildcard_any_case,
        &["keyword:sanction*"],
        "SANCTIONED",
        &[(0, &["SANCTIONED"])]
    ),
    t!(
        wildcard_not_inside,
        &["keyword:sanction*"],
        "unsanctioned",
        NONE
    ),
    t!(
        wildcard_in_phrase,
        &["keyword:\"sanction* against\""],
        "sanctions against Iran",
        &[(0, &["sanctions against"])]
    ),
    t!(
        wildcard_in_query,
        &["query:Russia* AND export*"],
        "Russian grain exporters",
        &[(0, &["Russian", "exporters"])]
    ),
    t!(
        wildcard_diacritics_folded,
        &["keyword:Bogot*"],
        "in Bogotá",
        &[(0, &["Bogotá"])]
    ),
    t!(
        wildcard_hyphenated_whole,
        &["keyword:cooper*"],
        "the co-operation",
        &[(0, &["co-operation"])]
    ),
    t!(
        wildcard_phrases_around_a_hyphenated_whole,
        &["keyword:\"the cooper*\"", "keyword:\"and sanction*\""],
        "the co-operation and sanctions against Iran",
        &[(0, &["the co-operation"]), (1, &["and sanctions"])]
    ),
    t!(
        wildcard_several_lengths,
        &["keyword:sanction*", "keyword:sanctions*", "keyword:san*"],
        "sanctions",
        &[
            (0, &["sanctions"]),
            (1, &["sanctions"]),
            (2, &["sanctions"])
        ]
    ),
    // A shorter prefix after a longer one: the start gate then looks at
    // fewer bytes, and the longer prefix must still be found.
    t!(
        wildcard_shorter_prefix_later,
        &["keyword:sanction*", "keyword:sat*"],
        "Sanctions",
        &[(0, &["Sanctions"])]
    ),
];

/// Persons and countries inside queries.
const REFERENCES: &[TestCase] = &[
    t!(
        ref_brief_example,
        &["query:person:\"Vladimir Putin\" AND country:Ukraine"],
        "Mr Putin said Ukrainian forces",
        &[(0, &["Putin", "Ukrainian"])]
    ),
    t!(
        ref_person_surname_rules_apply,
        &["query:person:\"James Cleverly\" AND grain"],
        "cleverly worded grain deal",
        NONE
    ),
    t!(
        ref_country_blocker_applies,
        &["query:country:Guinea AND mining"],
        "mining in Equatorial Guinea",
        NONE
    ),
    t!(
        ref_country_capital_opt_in,
        &["query:country:\"Russia +capital\" AND grain"],
        "Moscow halts grain exports",
        &[(0, &["Moscow", "grain"])]
    ),
    t!(
        ref_country_no_capital_by_default,
        &["query:country:Russia AND grain"],
        "Moscow halts grain exports",
        NONE
    ),
    t!(
        ref_keyword,
        &["query:keyword:UN AND Gaza"],
        "the United Nations in Gaza",
        &[(0, &["United Nations", "Gaza"])]
    ),
];

/// Capitals and seats of government, opt-in per rule.
const CAPITALS: &[TestCase] = &[
    t!(
        capital_off_by_default,
        &["country:Russia"],
        "Moscow said",
        NONE
    ),
    t!(
        capital_opt_in,
        &["country:Russia +capital"],
        "Moscow said",
        &[(0, &["Moscow"])]
    ),
    t!(
        capital_seat_opt_in,
        &["country:Russia +capital"],
        "the Kremlin said",
        &[(0, &["Kremlin"])]
    ),
    t!(
        capital_native_script,
        &["country:Russia +capital"],
        "Москва заявила",
        &[(0, &["Москва"])]
    ),
    t!(
        capital_names_still_count,
        &["country:Russia +capital"],
        "Russian officials in Moscow",
        &[(0, &["Russian", "Moscow"])]
    ),
    t!(
        capital_lowercase_no,
        &["country:US +capital"],
        "the white house on the corner",
        NONE
    ),
    t!(
        capital_seat_us,
        &["country:United States +capital"],
        "The White House and the Pentagon",
        &[(0, &["White House", "Pentagon"])]
    ),
    t!(
        capital_washington_post_no,
        &["country:US +capital"],
        "The Washington Post reported",
        NONE
    ),
    t!(
        capital_kiev_spelling,
        &["country:Ukraine +capital"],
        "Kiev and Kyiv",
        &[(0, &["Kiev", "Kyiv"])]
    ),
    t!(
        capital_country_inside_its_capital,
        &["country:Mexico"],
        "Mexico City",
        &[(0, &["Mexico"])]
    ),
    t!(
        capital_whole_with_opt_in,
        &["country:Mexico +capital"],
        "Mexico City",
        &[(0, &["Mexico City"])]
    ),
    t!(
        capital_two_rules_one_country,
        &["country:Russia", "country:Russia +capital"],
        "Moscow and Russia",
        &[(0, &["Russia"]), (1, &["Moscow", "Russia"])]
    ),
];

/// `NOT …` after a person or country.
const EXCLUSIONS: &[TestCase] = &[
    t!(
        exclusion_keeps_other_articles,
        &["country:Georgia NOT Atlanta"],
        "Georgia and Armenia signed",
        &[(0, &["Georgia"])]
    ),
    t!(
        exclusion_drops_article,
        &["country:Georgia NOT Atlanta"],
        "Atlanta, Georgia: the governor said",
        NONE
    ),
    t!(
        exclusion_several,
        &["country:Georgia NOT Atlanta NOT Savannah"],
        "Savannah, Georgia",
        NONE
    ),
    t!(
        exclusion_phrase,
        &["country:Georgia NOT \"Georgia state\""],
        "Georgia State won",
        NONE
    ),
    t!(
        exclusion_other_rules_unaffected,
        &["country:Georgia NOT Atlanta", "country:Georgia"],
        "Atlanta, Georgia",
        &[(1, &["Georgia"])]
    ),
    t!(
        exclusion_person,
        &["person:Michael Jordan NOT (basketball OR NBA)"],
        "Michael Jordan, NBA legend",
        NONE
    ),
    t!(
        exclusion_person_kept,
        &["person:Michael Jordan NOT (basketball OR NBA)"],
        "Michael Jordan, the economist",
        &[(0, &["Michael Jordan"])]
    ),
    t!(
        exclusion_with_capital,
        &["country:Georgia +capital NOT Atlanta"],
        "Tbilisi said",
        &[(0, &["Tbilisi"])]
    ),
];

/// The acronym table: either form in the rule matches either in the text.
const ACRONYMS: &[TestCase] = &[
    t!(
        acronym_rule_expansion_text,
        &["keyword:UN"],
        "the United Nations said",
        &[(0, &["United Nations"])]
    ),
    t!(
        acronym_expansion_rule_acronym_text,
        &["keyword:United Nations"],
        "the UN said",
        &[(0, &["UN"])]
    ),
    t!(
        acronym_expansion_rule_not_lowercase_un,
        &["keyword:United Nations"],
        "signé un accord",
        NONE
    ),
    t!(
        acronym_french_elision,
        &["keyword:UN"],
        "le chef de l'ONU a déclaré",
        &[(0, &["ONU"])]
    ),
    t!(
        acronym_nato_expansion,
        &["keyword:North Atlantic Treaty Organization"],
        "Nato allies",
        &[(0, &["Nato"])]
    ),
    t!(
        acronym_unsc_all_forms,
        &["keyword:UNSC"],
        "the UN Security Council, the United Nations Security Council and the Совет Безопасности ООН",
        &[(
            0,
            &[
                "UN Security Council",
                "United Nations Security Council",
                "Совет Безопасности ООН"
            ]
        )]
    ),
    t!(
        acronym_phrase_rule_acronym_text,
        &["keyword:UN Security Council"],
        "The UNSC met",
        &[(0, &["UNSC"])]
    ),
    t!(
        acronym_inside_phrase,
        &["keyword:UN envoy"],
        "the United Nations envoy said",
        &[(0, &["United Nations envoy"])]
    ),
    t!(
        acronym_in_query,
        &["query:EU AND sanctions"],
        "European Union sanctions",
        &[(0, &["European Union", "sanctions"])]
    ),
    t!(
        acronym_cyrillic,
        &["keyword:EU"],
        "Евросоюз ввёл санкции",
        &[(0, &["Евросоюз"])]
    ),
    t!(
        acronym_who_not_question,
        &["keyword:World Health Organization"],
        "Who said that?",
        NONE
    ),
    t!(
        acronym_lowercase_rule_no_table,
        &["keyword:un"],
        "the United Nations",
        NONE
    ),
];

/// Hyphenated words, as parts and as a whole.
const HYPHENS: &[TestCase] = &[
    t!(
        hyphen_whole_rule_text_hyphenated,
        &["keyword:cooperation"],
        "economic co-operation",
        &[(0, &["co-operation"])]
    ),
    t!(
        hyphen_hyphenated_rule_whole_text,
        &["keyword:co-operation"],
        "economic cooperation",
        &[(0, &["cooperation"])]
    ),
    t!(
        hyphen_parts_still_match,
        &["keyword:Bissau"],
        "Guinea-Bissau",
        &[(0, &["Bissau"])]
    ),
    t!(
        hyphen_email,
        &["keyword:email"],
        "by e-mail",
        &[(0, &["e-mail"])]
    ),
    t!(
        hyphen_whole_in_phrase,
        &["keyword:cooperation agreement"],
        "a co-operation agreement",
        &[(0, &["co-operation agreement"])]
    ),
    t!(
        hyphen_person_joined,
        &["person:Jean-Marie Le Pen"],
        "JeanMarie Le Pen",
        &[(0, &["JeanMarie Le Pen"])]
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
    ("inflections", INFLECTIONS),
    ("queries", QUERIES),
    ("near", NEAR),
    ("fields", FIELDS),
    ("wildcards", WILDCARDS),
    ("references", REFERENCES),
    ("capitals", CAPITALS),
    ("exclusions", EXCLUSIONS),
    ("acronyms", ACRONYMS),
    ("hyphens", HYPHENS),
    ("overlaps", OVERLAPS),
];

fn article(text: &str) -> Article<'_> {
    match text.split_once("\n==\n") {
        Some((title, body)) => Article {
            title,
            body,
            source: "Reuters",
        },
        None => Article {
            title: "",
            body: text,
            source: "Reuters",
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
    let a = article(case.text);
    for hit in &hits {
        let mut written = Vec::new();
        for p in &hit.positions {
            let text = match p.field {
                Field::Title => a.title,
                Field::Body => a.body,
                Field::Source => a.source,
            };
            let term = text
                .get(p.range.clone())
                .unwrap_or_else(|| panic!("case {}: position {p:?} outside the text", case.name));
            written.push(term.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        written.dedup();
        let mut terms = hit.terms.clone();
        terms.sort();
        written.sort();
        written.dedup();
        assert_eq!(terms, written, "case {}: positions and terms", case.name);
        if hit.positions.iter().all(|p| p.field == Field::Source) {
            continue;
        }
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
fn near_cases() {
    NEAR.iter().for_each(run);
}

#[test]
fn field_cases() {
    FIELDS.iter().for_each(run);
}

#[test]
fn wildcard_cases() {
    WILDCARDS.iter().for_each(run);
}

#[test]
fn reference_cases() {
    REFERENCES.iter().for_each(run);
}

#[test]
fn inflection_cases() {
    INFLECTIONS.iter().for_each(run);
}

#[test]
fn capital_cases() {
    CAPITALS.iter().for_each(run);
}

#[test]
fn exclusion_cases() {
    EXCLUSIONS.iter().for_each(run);
}

#[test]
fn acronym_cases() {
    ACRONYMS.iter().for_each(run);
}

#[test]
fn hyphen_cases() {
    HYPHENS.iter().for_each(run);
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

fn matcher_of(rules: &[(i64, &str)]) -> Matcher {
    let mut builder = MatcherBuilder::new();
    for (id, spec) in rules {
        builder.add(*id, &RuleSpec::parse(spec).expect("valid"));
    }
    builder.build()
}

fn ids(matcher: &Matcher, text: &str) -> Vec<i64> {
    matcher
        .find(&article(text))
        .iter()
        .map(|h| h.rule_id)
        .collect()
}

#[test]
fn near_snippet_is_around_the_pair_not_the_first_mention() {
    let matcher = matcher_of(&[(1, "query:Putin NEAR/1 Trump")]);
    let text = format!(
        "Putin spoke. {} Later Putin and Trump met.",
        "Filler words go here. ".repeat(30)
    );
    let hits = matcher.find(&article(&text));
    assert!(
        hits[0].snippet.text.contains("Putin and Trump met"),
        "{}",
        hits[0].snippet.text
    );
}

#[test]
fn positions_give_field_range_and_word_index() {
    let matcher = matcher_of(&[(1, "person:James Cleverly")]);
    let text = "Cleverly in Moscow\n==\nForeign Secretary James Cleverly met l'ONU.";
    let hits = matcher.find(&article(text));
    assert_eq!(
        hits[0].positions,
        [
            TermPosition {
                field: Field::Title,
                range: 0..8,
                word: 0,
                words: 1
            },
            TermPosition {
                field: Field::Body,
                range: 18..32,
                word: 2,
                words: 2
            }
        ]
    );
}

#[test]
fn rules_are_added_and_removed_one_at_a_time() {
    let mut matcher = matcher_of(&[(1, "country:Russia"), (2, "keyword:grain")]);
    let text = "Russia halts grain exports via the Black Sea";
    assert_eq!(ids(&matcher, text), [1, 2]);

    matcher.add_rule(3, &RuleSpec::parse("keyword:Black Sea").expect("valid"));
    matcher.add_rule(4, &RuleSpec::parse("country:Russia").expect("valid"));
    assert_eq!(ids(&matcher, text), [1, 2, 3, 4]);
    assert_eq!(matcher.rule_count(), 4);

    assert!(matcher.remove_rule(1));
    assert!(!matcher.remove_rule(1), "already gone");
    assert_eq!(ids(&matcher, text), [2, 3, 4]);
    assert!(matcher.remove_rule(3));
    assert!(matcher.remove_rule(4));
    assert_eq!(ids(&matcher, text), [2]);
    assert_eq!(matcher.rule_count(), 1);

    // A pattern no rule uses any more leaves the trie; adding it back works.
    let before = matcher.stats().patterns;
    matcher.add_rule(5, &RuleSpec::parse("keyword:Black Sea").expect("valid"));
    assert_eq!(matcher.stats().patterns, before + 1);
    assert_eq!(ids(&matcher, text), [2, 5]);
}

#[test]
fn incremental_changes_match_a_full_build() {
    let specs = [
        "keyword:UN Security Council",
        "person:Vladimir Putin",
        "country:Ukraine +capital",
        "query:grain NEAR/3 Russia*",
        "query:title:sanction* NOT football",
        "country:Georgia NOT Atlanta",
        "keyword:EU",
    ];
    let text = "Sanctions on Moscow\n==\nPutin told the UN Security Council that Russian grain would flow. Kyiv and the European Union disagreed; Georgia abstained.";
    let mut incremental = Matcher::empty();
    for (id, spec) in specs.iter().enumerate() {
        incremental.add_rule(id as i64, &RuleSpec::parse(spec).expect("valid"));
        incremental.add_rule(
            100 + id as i64,
            &RuleSpec::parse("keyword:filler").expect("valid"),
        );
    }
    for id in 0..specs.len() as i64 {
        assert!(incremental.remove_rule(100 + id));
    }
    let full = matcher_of(
        &specs
            .iter()
            .enumerate()
            .map(|(i, s)| (i as i64, *s))
            .collect::<Vec<_>>(),
    );
    assert_eq!(incremental.find(&article(text)), full.find(&article(text)));
    assert_eq!(ids(&full, text), [0, 1, 2, 3, 4, 5, 6]);
}

/// A word whose trie node holds one pattern and nothing else is matched
/// from its dictionary slot alone: the slot must follow every change to
/// the node, and keep the pattern's spelling requirement.
#[test]
fn a_word_node_changed_by_other_rules_still_matches_as_its_rules_say() {
    let texts = [
        "The QZX said grain prices rose",
        "qzx grain deal was signed",
        "Grain deal talks",
    ];
    // What changes, the rule id, the rule added (None: removed), the ids
    // matching each text.
    type Step<'a> = (&'a str, i64, Option<&'a str>, [&'a [i64]; 3]);
    let steps: [Step; 6] = [
        (
            "one pattern, any spelling",
            1,
            Some("keyword:grain"),
            [&[1], &[1], &[1]],
        ),
        ("an acronym", 2, Some("keyword:QZX"), [&[1, 2], &[1], &[1]]),
        (
            "a phrase continues a word",
            3,
            Some("keyword:grain deal"),
            [&[1, 2], &[1, 3], &[1, 3]],
        ),
        (
            "a second spelling of a word",
            4,
            Some("keyword:qzx"),
            [&[1, 2, 4], &[1, 3, 4], &[1, 3]],
        ),
        (
            "the second spelling goes",
            4,
            None,
            [&[1, 2], &[1, 3], &[1, 3]],
        ),
        ("the phrase goes", 3, None, [&[1, 2], &[1], &[1]]),
    ];
    let mut matcher = Matcher::empty();
    for (what, id, spec, expected) in steps {
        match spec {
            Some(spec) => matcher.add_rule(id, &RuleSpec::parse(spec).expect("valid")),
            None => assert!(matcher.remove_rule(id), "{what}"),
        }
        for (text, want) in texts.iter().zip(expected) {
            assert_eq!(ids(&matcher, text), want, "{what}: {text}");
        }
    }
    // The other order: the acronym's spelling added to a word that had
    // another.
    let matcher = matcher_of(&[(4, "keyword:qzx"), (2, "keyword:QZX")]);
    assert_eq!(ids(&matcher, texts[0]), [2, 4]);
    assert_eq!(ids(&matcher, texts[1]), [4]);
}

#[test]
fn identical_rules_of_many_chats_are_one_group() {
    let mut builder = MatcherBuilder::new();
    for id in 0..1000 {
        let spec = if id % 2 == 0 {
            "country:Russia"
        } else {
            "keyword:grain deal"
        };
        builder.add(id, &RuleSpec::parse(spec).expect("valid"));
    }
    let matcher = builder.build();
    let stats = matcher.stats();
    assert_eq!((stats.rules, stats.distinct_rules), (1000, 2));
    assert_eq!(stats.always_evaluated, 0);
    let doc = Analyzed::new(&article("Russia leaves the grain deal"));
    let matches = matcher.find_in(&doc);
    assert_eq!(matches.len(), 1000);
    assert_eq!(matches.explanation_count(), 2, "one per distinct rule");
    assert_eq!(matches.rule_ids().count(), 1000);
    assert_eq!(matches.iter().count(), 1000);
    let hits = matches.into_hits();
    assert_eq!(hits.len(), 1000);
    assert!(hits.windows(2).all(|w| w[0].rule_id < w[1].rule_id));
    assert_eq!(hits[0].terms, ["Russia"]);
    assert_eq!(hits[1].terms, ["grain deal"]);
}

#[test]
fn removing_one_of_many_identical_rules_keeps_the_others() {
    let mut matcher = matcher_of(&[(1, "country:Russia"), (2, "country:Russia")]);
    assert!(matcher.remove_rule(1));
    assert_eq!(ids(&matcher, "Russia"), [2]);
    assert_eq!(matcher.stats().distinct_rules, 1);
    assert!(matcher.remove_rule(2));
    assert_eq!(matcher.stats().distinct_rules, 0);
    assert!(ids(&matcher, "Russia").is_empty());
}

#[test]
fn a_repeated_id_gives_one_hit_per_rule_added() {
    let matcher = matcher_of(&[(7, "keyword:Russia"), (7, "country:Russia")]);
    assert_eq!(ids(&matcher, "Russia"), [7, 7]);
}

#[test]
fn common_words_of_a_query_do_not_make_it_a_candidate_everywhere() {
    // Posted under "grain deal" only: an article with "the" and "Russia" but
    // no "grain deal" never evaluates it; the result is the same either way,
    // which is what this checks, with many such queries.
    let mut builder = MatcherBuilder::new();
    for id in 0..500 {
        let spec = format!("query:\"grain deal {id}\" AND (the OR Russia)");
        builder.add(id, &RuleSpec::parse(&spec).expect("valid"));
    }
    let matcher = builder.build();
    assert!(ids(&matcher, "the Russia of the grain deal").is_empty());
    assert_eq!(ids(&matcher, "the grain deal 42"), [42]);
}

#[test]
fn filter_sets_and_wildcards_keep_every_match() {
    // A query posted under one term and filtered on a set of three others,
    // and wildcards of several lengths (long, short, non-ASCII) that share
    // their first bytes.
    let matcher = matcher_of(&[
        (1, "query:grain AND (Odesa OR Kherson OR Mykolaiv)"),
        (2, "keyword:internationali*"),
        (3, "keyword:Zürich*"),
        (4, "keyword:inter*"),
        (5, "keyword:internation*"),
    ]);
    assert_eq!(ids(&matcher, "Grain ships leave Mykolaiv"), [1]);
    assert_eq!(ids(&matcher, "Grain ships leave Odesa"), [1]);
    assert_eq!(
        ids(&matcher, "Grain ships leave Constanta"),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&matcher, "Kherson without the other word"),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&matcher, "The internationalisation of Zürichsee"),
        [2, 3, 4, 5]
    );
    assert_eq!(ids(&matcher, "An interim international"), [4, 5]);
    assert_eq!(ids(&matcher, "Zürich"), [3]);
}

#[test]
fn a_wildcard_matches_alone_and_in_a_phrase_as_rules_come_and_go() {
    // A wildcard that is a whole rule alone is recorded straight from its
    // prefix's slot; a phrase that begins with it gives its trie node a
    // child, and the slot must follow both ways. The same for a
    // hyphenated word as a whole.
    let mut matcher = matcher_of(&[(1, "keyword:sanction*"), (2, "keyword:al-Shabaab")]);
    let text = "New sanctions against al-Shabaab; the US sanctions relief";
    assert_eq!(ids(&matcher, text), [1, 2]);
    let phrase = |s: &str| RuleSpec::parse(s).expect("valid");
    matcher.add_rule(3, &phrase("keyword:\"sanction* relief\""));
    matcher.add_rule(4, &phrase("keyword:\"al-Shabaab fighters\""));
    assert_eq!(ids(&matcher, text), [1, 2, 3]);
    assert_eq!(
        ids(&matcher, "al-Shabaab fighters and sanctions"),
        [1, 2, 4]
    );
    assert!(matcher.remove_rule(3));
    assert!(matcher.remove_rule(4));
    assert_eq!(ids(&matcher, text), [1, 2]);
    assert_eq!(ids(&matcher, "SANCTIONED al-Shabaab"), [1, 2]);
    assert!(matcher.remove_rule(1));
    assert_eq!(ids(&matcher, text), [2]);
}
