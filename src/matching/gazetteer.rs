//! Countries: the names, short forms and demonyms a `country:` rule matches.
//!
//! The table `assets/gazetteer/countries.tsv` is derived from mledoze/countries
//! (ODbL-1.0, attribution in `assets/gazetteer/README.md`) by
//! [`tests::regenerate_table`], which applies the curation below to the shared
//! source file; a test checks the committed table is what the generator makes.
//!
//! One line per country or territory: codes, the common and official names,
//! other names (English short forms, other spellings that are real names, the
//! names in the country's own languages), demonyms with their plurals, and
//! capitals and seats of government (`Moscow`, `Москва`, `Kremlin`), which a
//! rule only matches when it opts in with `+capital`.
//! Curation, decided here so that it is reviewable in one place:
//! - bare ISO codes are not names, except `UK` and `US`, which English news
//!   uses as names; other two-letter forms collide with initials and other
//!   acronyms (`SA`, `NZ`, `IN`);
//! - inverted forms (`Korea, Republic of`) and names that are common words or
//!   other things (`Island`, `Mann`, `Emirates`) are dropped;
//! - a name shared by several entries stays with the entry it is the common
//!   or official name of; a demonym shared with a sovereign country stays
//!   with the sovereign (`French` is France, not the French Southern Lands);
//! - `America` names the United States: it is how English news most often
//!   says it, and the continents that contain the word (`Latin America`,
//!   `South American`) are listed in [`NOT_COUNTRIES`] so they don't count;
//! - capitals that are common first names or surnames (`Hamilton`,
//!   `Victoria`, `Stanley`) or fold to a common word (`Malé`) are dropped,
//!   and well-known other things named after a capital (`Washington Post`,
//!   `Paris Saint-Germain`) are in [`NOT_COUNTRIES`] too;
//! - names are also listed in the inflected forms running text uses, where
//!   regular endings make them without producing other words. Russian names
//!   are declined into their five other cases (`России`, `Россию`,
//!   `Россией`; `Южного Судана`; `Москвы`, `в Киеве` for capitals), with
//!   plurals and abbreviations (`США`, `РФ`, `Нидерландов`) written by hand;
//!   the Ukrainian forms of Ukraine, Russia and Kyiv (`України`, `Києва`) are
//!   written by hand; Russian and German adjectives (`российских`,
//!   `russischen`) are demonyms, from hand-picked stems. Not declined: names
//!   Russian leaves undeclined (`Чили`, `Перу`), names of three letters or
//!   fewer (`Чад`: `в чаду`), first names (`Сальвадора Дали`), and
//!   adjectives with other common meanings (`шведский стол`, `Индийский
//!   океан`). A form that is a name of another entry is dropped, and the
//!   longer places a form can sit in (`Новой Гвинеи`, `Северной Ирландии`)
//!   are in [`NOT_COUNTRIES`]. Czech, Slovak, Polish and Serbo-Croatian forms
//!   are not generated: Latin-script forms (`Irana`, `Kubu`) need a review
//!   of their own against common words and names.
//!
//! When matching, names are proper nouns: a capitalised word of a name must be
//! written capitalised in the text (`Turkey`, not `turkey`; `Chad`, not
//! `chad`), short all-capital forms (`UK`, `UAE`) only match as acronyms, and a
//! name found inside a longer name of another place does not count (`Guinea`
//! in `Equatorial Guinea`, `Ireland` in `Northern Ireland`), while one inside
//! a longer name of the same country does (`Mexico` in `Mexico City`).

use std::collections::HashMap;
use std::sync::OnceLock;

use super::rule::{Phrase, RuleError};
use super::token::{CaseReq, Tokens};

/// The derived table (see the module documentation).
const TABLE: &str = include_str!("../../assets/gazetteer/countries.tsv");

/// Index of a country in the gazetteer.
pub(crate) type CountryId = u16;

/// Places whose names contain a country's name or demonym but that are not
/// that country: an occurrence inside one of these does not count.
const NOT_COUNTRIES: &[&str] = &[
    "Latin America",
    "Latin American",
    "Latin Americans",
    "South America",
    "South American",
    "South Americans",
    "North America",
    "North American",
    "North Americans",
    "Central America",
    "Central American",
    "Central Americans",
    "Pan American",
    "New Mexico",
    "New Mexican",
    "New Mexicans",
    "New Jersey",
    "New Guinea",
    "Northern Ireland",
    "North Pole",
    "South Pole",
    "Indian Ocean",
    "Indischer Ozean",
    "Indischen Ozean",
    "Indischen Ozeans",
    "Новая Гвинея",
    "Новой Гвинеи",
    "Новой Гвинее",
    "Новую Гвинею",
    "Новой Гвинеей",
    "Северная Ирландия",
    "Северной Ирландии",
    "Северную Ирландию",
    "Северной Ирландией",
    "Gulf of Guinea",
    "Niger Delta",
    "Niger River",
    "George Washington",
    "Booker T. Washington",
    "Denzel Washington",
    "Washington Post",
    "Washington State",
    "Washington Nationals",
    "Washington Commanders",
    "Washington Wizards",
    "University of Washington",
    "Paris Saint-Germain",
    "Paris Hilton",
    "Paris, Texas",
];

/// One entry of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Country {
    /// ISO 3166-1 alpha-2 code.
    pub code: &'static str,
    /// ISO 3166-1 alpha-3 code.
    pub code3: &'static str,
    /// Common English name, used when showing the country.
    pub common: &'static str,
    /// Official English name.
    pub official: &'static str,
    /// Other names.
    pub aliases: Vec<&'static str>,
    /// Demonyms and their plurals.
    pub demonyms: Vec<&'static str>,
    /// Capitals and seats of government (`+capital`).
    pub capitals: Vec<&'static str>,
}

impl Country {
    /// Every name the country is matched by, demonyms included.
    pub fn match_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        [self.common, self.official]
            .into_iter()
            .chain(self.aliases.iter().copied())
            .chain(self.demonyms.iter().copied())
    }
}

/// How well a looked-up name identifies a country: lower is better.
const PRIORITY_COMMON: u8 = 0;
const PRIORITY_OFFICIAL: u8 = 1;
const PRIORITY_ALIAS: u8 = 2;
const PRIORITY_DEMONYM: u8 = 3;
const PRIORITY_CODE: u8 = 4;

/// The loaded table, its lookup index and its compiled phrases.
#[derive(Debug)]
pub(crate) struct Gazetteer {
    /// The entries, indexed by [`CountryId`].
    pub countries: Vec<Country>,
    /// Lookup key → (priority, country).
    by_key: HashMap<String, Vec<(u8, CountryId)>>,
    /// (lookup key, name as written, country) for "did you mean".
    names: Vec<(String, &'static str, CountryId)>,
    /// Phrases each country is matched by, indexed by [`CountryId`].
    pub phrases: Vec<Vec<Phrase>>,
    /// Phrases of each country's capitals and seats, by [`CountryId`].
    pub capital_phrases: Vec<Vec<Phrase>>,
    /// Lookup key of a capital → its country, to point `country:Moscow` at
    /// `country:Russia +capital`.
    capital_keys: HashMap<String, CountryId>,
    /// Phrases of [`NOT_COUNTRIES`].
    pub blockers: Vec<Phrase>,
}

/// The gazetteer, loaded from the embedded table on first use.
pub(crate) fn get() -> &'static Gazetteer {
    static GAZETTEER: OnceLock<Gazetteer> = OnceLock::new();
    GAZETTEER.get_or_init(|| Gazetteer::load(TABLE))
}

/// The key a name is looked up by: its normalised words, without a leading
/// `the` (`The Netherlands` = `Netherlands`).
fn lookup_key(name: &str) -> String {
    let tokens = Tokens::of(name);
    let mut words: Vec<&str> = (0..tokens.len()).map(|i| tokens.word(i)).collect();
    if words.len() > 1 && words[0] == "the" {
        words.remove(0);
    }
    words.join(" ")
}

fn proper_phrase(name: &str) -> Option<Phrase> {
    Phrase::with_case(name, CaseReq::for_proper_name)
}

impl Gazetteer {
    /// Parses `table`. Malformed lines are skipped; a test checks that the
    /// embedded table has none, so nothing is skipped in practice.
    fn load(table: &'static str) -> Gazetteer {
        let mut countries = Vec::new();
        for line in table.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&'static str> = line.split('\t').collect();
            let &[code, code3, common, official, aliases, demonyms, capitals] = cols.as_slice()
            else {
                continue;
            };
            let list = |s: &'static str| s.split('|').filter(|n| !n.is_empty()).collect::<Vec<_>>();
            countries.push(Country {
                code,
                code3,
                common,
                official,
                aliases: list(aliases),
                demonyms: list(demonyms),
                capitals: list(capitals),
            });
        }
        let mut by_key: HashMap<String, Vec<(u8, CountryId)>> = HashMap::new();
        let mut names = Vec::new();
        let mut phrases = Vec::with_capacity(countries.len());
        let mut capital_phrases = Vec::with_capacity(countries.len());
        let mut capital_keys = HashMap::new();
        for (index, c) in countries.iter().enumerate() {
            // The table has a few hundred entries, far below u16::MAX.
            let id = CountryId::try_from(index).unwrap_or(CountryId::MAX);
            let named = [(PRIORITY_COMMON, c.common), (PRIORITY_OFFICIAL, c.official)]
                .into_iter()
                .chain(c.aliases.iter().map(|a| (PRIORITY_ALIAS, *a)))
                .chain(c.demonyms.iter().map(|d| (PRIORITY_DEMONYM, *d)));
            for (priority, name) in named {
                let key = lookup_key(name);
                if key.is_empty() {
                    continue;
                }
                by_key.entry(key.clone()).or_default().push((priority, id));
                names.push((key, name, id));
            }
            for code in [c.code, c.code3] {
                by_key
                    .entry(code.to_lowercase())
                    .or_default()
                    .push((PRIORITY_CODE, id));
            }
            let mut own: Vec<Phrase> = Vec::new();
            for p in c.match_names().filter_map(proper_phrase) {
                if !own.contains(&p) {
                    own.push(p);
                }
            }
            phrases.push(own);
            let mut seats: Vec<Phrase> = Vec::new();
            for capital in &c.capitals {
                capital_keys.insert(lookup_key(capital), id);
                if let Some(p) = proper_phrase(capital)
                    && !seats.contains(&p)
                {
                    seats.push(p);
                }
            }
            capital_phrases.push(seats);
        }
        let blockers = NOT_COUNTRIES
            .iter()
            .copied()
            .filter_map(proper_phrase)
            .collect();
        Gazetteer {
            countries,
            by_key,
            names,
            phrases,
            capital_phrases,
            capital_keys,
            blockers,
        }
    }

    /// The country a rule's text names: any of its names or demonyms, in any
    /// case, or its ISO code.
    pub fn lookup(&self, name: &str) -> Result<CountryId, RuleError> {
        let key = lookup_key(name);
        if key.is_empty() {
            return Err(RuleError::NothingToMatch {
                text: name.to_string(),
            });
        }
        let Some(found) = self.by_key.get(&key) else {
            let suggestions = match self.capital_keys.get(&key) {
                Some(id) => vec![format!(
                    "{} +capital",
                    self.countries[usize::from(*id)].common
                )],
                None => self.close_names(&key),
            };
            return Err(RuleError::UnknownCountry {
                name: name.to_string(),
                suggestions,
            });
        };
        let best = found.iter().map(|(p, _)| *p).min().unwrap_or(PRIORITY_CODE);
        let mut ids: Vec<CountryId> = found
            .iter()
            .filter(|(p, _)| *p == best)
            .map(|(_, id)| *id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        match ids.as_slice() {
            [id] => Ok(*id),
            _ => Err(RuleError::AmbiguousCountry {
                name: name.to_string(),
                candidates: ids
                    .iter()
                    .map(|id| self.countries[usize::from(*id)].common.to_string())
                    .collect(),
            }),
        }
    }

    /// Up to three names close to `key`, one per country, closest first.
    fn close_names(&self, key: &str) -> Vec<String> {
        let mut scored: Vec<(f64, &'static str, CountryId)> = self
            .names
            .iter()
            .map(|(k, name, id)| {
                // `Korea` should offer `North Korea` and `South Korea`, which
                // contain it as a word but are far from it letter by letter.
                let contains_word = k.split(' ').any(|w| w == key);
                let score = strsim::jaro_winkler(key, k).max(if contains_word { 0.9 } else { 0.0 });
                (score, *name, *id)
            })
            .filter(|(score, _, _)| *score >= 0.85)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for (_, name, id) in scored {
            if out.len() == 3 {
                break;
            }
            if !seen.contains(&id) {
                seen.push(id);
                out.push(name.to_string());
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn id(name: &str) -> CountryId {
        get().lookup(name).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn code(name: &str) -> &'static str {
        get().countries[usize::from(id(name))].code
    }

    #[test]
    fn embedded_table_loads_completely() {
        let rows = TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        assert_eq!(get().countries.len(), rows, "no malformed lines");
        assert_eq!(rows, 250);
    }

    /// (name typed by a user, ISO code)
    const LOOKUPS: &[(&str, &str)] = &[
        ("Russia", "RU"),
        ("russia", "RU"),
        ("RUSSIA", "RU"),
        ("Russian Federation", "RU"),
        ("Russian", "RU"),
        ("Ukrainians", "UA"),
        ("UK", "GB"),
        ("Britain", "GB"),
        ("Great Britain", "GB"),
        ("United Kingdom", "GB"),
        ("British", "GB"),
        ("US", "US"),
        ("USA", "US"),
        ("United States of America", "US"),
        ("America", "US"),
        ("Americans", "US"),
        ("Turkey", "TR"),
        ("Türkiye", "TR"),
        ("Turkiye", "TR"),
        ("Ivory Coast", "CI"),
        ("Côte d’Ivoire", "CI"),
        ("UAE", "AE"),
        ("the Netherlands", "NL"),
        ("Holland", "NL"),
        ("Burma", "MM"),
        ("DRC", "CD"),
        ("Congo", "CG"),
        ("Czech Republic", "CZ"),
        ("Bogotá", "CO"),
    ];

    #[test]
    fn looks_up_names_case_and_accent_insensitively() {
        for (name, want) in LOOKUPS {
            if *name == "Bogotá" {
                // A capital is not a country: the error points at `+capital`.
                assert_eq!(
                    get().lookup(name),
                    Err(RuleError::UnknownCountry {
                        name: "Bogotá".into(),
                        suggestions: vec!["Colombia +capital".into()]
                    })
                );
                continue;
            }
            assert_eq!(code(name), *want, "{name}");
        }
    }

    #[test]
    fn capitals_and_seats_are_curated() {
        let capitals = |code: &str| -> Vec<&str> {
            get()
                .countries
                .iter()
                .find(|c| c.code == code)
                .map(|c| c.capitals.clone())
                .unwrap_or_default()
        };
        assert!(capitals("RU").contains(&"Moscow"));
        assert!(capitals("RU").contains(&"Москва"));
        assert!(capitals("RU").contains(&"Kremlin"));
        assert!(capitals("US").contains(&"Washington"));
        assert!(capitals("US").contains(&"White House"));
        assert!(capitals("UA").contains(&"Kyiv") && capitals("UA").contains(&"Kiev"));
        assert!(capitals("SG").is_empty(), "Singapore is a name already");
        assert!(capitals("BM").is_empty(), "Hamilton is a surname");
        assert!(capitals("MV").is_empty(), "Malé folds to male");
        assert_eq!(capitals("JM"), ["Kingston"]);
        assert!(capitals("NF").is_empty(), "Kingston stays with Jamaica");
    }

    #[test]
    fn codes_are_accepted_for_lookup() {
        assert_eq!(code("RUS"), "RU");
        assert_eq!(code("de"), "DE");
    }

    #[test]
    fn ambiguous_demonyms_list_the_candidates() {
        let err = get().lookup("Congolese").expect_err("two Congos");
        assert_eq!(
            err,
            RuleError::AmbiguousCountry {
                name: "Congolese".into(),
                candidates: vec!["DR Congo".into(), "Congo".into()]
            }
        );
    }

    #[test]
    fn unknown_names_suggest_up_to_three_close_ones() {
        let RuleError::UnknownCountry { suggestions, .. } =
            get().lookup("Ukrane").expect_err("typo")
        else {
            panic!("unknown country");
        };
        assert_eq!(suggestions.first().map(String::as_str), Some("Ukraine"));
        assert!(suggestions.len() <= 3);
        let RuleError::UnknownCountry { suggestions, .. } =
            get().lookup("Untied Kingdom").expect_err("typo")
        else {
            panic!("unknown country");
        };
        assert_eq!(
            suggestions.first().map(String::as_str),
            Some("United Kingdom")
        );
        let RuleError::UnknownCountry { suggestions, .. } =
            get().lookup("Korea").expect_err("which one")
        else {
            panic!("unknown country");
        };
        assert!(
            suggestions.contains(&"North Korea".to_string()),
            "{suggestions:?}"
        );
        assert!(
            suggestions.contains(&"South Korea".to_string()),
            "{suggestions:?}"
        );
    }

    /// The entry with ISO code `code`.
    fn entry(code: &str) -> &'static Country {
        get()
            .countries
            .iter()
            .find(|c| c.code == code)
            .expect("country")
    }

    /// The names a `country:` rule matches for `code`.
    fn names(code: &str) -> Vec<&'static str> {
        entry(code).match_names().collect()
    }

    #[test]
    fn curated_names_are_in_and_out() {
        assert!(names("GB").contains(&"UK"));
        assert!(!names("GB").contains(&"GB"), "bare codes are not names");
        assert!(names("US").contains(&"US"));
        assert!(names("RU").contains(&"Russians"));
        assert!(names("CH").contains(&"Swiss"));
        assert!(!names("CH").contains(&"Swisss"), "invariant plural");
        assert!(!names("IS").contains(&"Island"), "common word");
        assert!(!names("AE").contains(&"Emirates"), "the airline");
        assert!(!names("TF").contains(&"French"), "French is France");
        assert!(names("FR").contains(&"French"));
        assert!(
            !names("KR").iter().any(|n| n.contains(',')),
            "inverted forms dropped"
        );
    }

    #[test]
    fn inflected_forms_are_generated() {
        let has = |code: &str, forms: &[&str]| {
            let names = names(code);
            for form in forms {
                assert!(names.contains(form), "{code}: {form} missing");
            }
        };
        has(
            "RU",
            &["России", "Россию", "Россией", "Российской Федерации", "РФ"],
        );
        has("RU", &["Росії", "российских", "russischen", "russische"]);
        has(
            "UA",
            &["Украины", "Украине", "Украину", "Украиной", "України"],
        );
        has("UA", &["украинской", "ukrainischen"]);
        has("DE", &["Германии", "ФРГ", "немецкого", "deutschen"]);
        has("FR", &["Франции", "Францию", "französischen"]);
        has("CN", &["Китая", "Китае", "КНР", "chinesischen"]);
        has("US", &["США", "Соединённых Штатов", "американских"]);
        has("PL", &["Польши", "Польшей"]);
        has("EG", &["Египта", "Египте"]);
        has("BY", &["Беларуси", "Беларусью", "Белоруссии"]);
        has("IL", &["Израиля", "israelisches"]);
        has("SS", &["Южного Судана", "Южном Судане"]);
        has("GW", &["Гвинеи-Бисау"]);
        has("LK", &["Шри-Ланки"]);
        has("BA", &["Боснии и Герцеговины"]);
        has("CD", &["Демократической Республики Конго"]);
        has("NL", &["Нидерландов"]);
        let capitals = |code: &str| entry(code).capitals.clone();
        for form in ["Москвы", "Москве", "Москвой"] {
            assert!(capitals("RU").contains(&form), "{form}");
        }
        for form in ["Киева", "Киеве", "Києва"] {
            assert!(capitals("UA").contains(&form), "{form}");
        }
        assert!(!names("RU").contains(&"Москвы"), "capitals stay opt-in");
    }

    #[test]
    fn inflected_forms_that_would_mislead_are_not_generated() {
        let g = get();
        let lacks = |code: &str, forms: &[&str], why: &str| {
            let names = names(code);
            for form in forms {
                assert!(!names.contains(form), "{code}: {form} ({why})");
            }
        };
        lacks(
            "TD",
            &["Чада", "Чаду", "Чаде"],
            "в чаду: too short to decline",
        );
        lacks("SV", &["Сальвадора", "Сальвадоре"], "Сальвадор Дали");
        lacks("EG", &["Египета"], "fleeting vowel");
        lacks("KG", &["Кыргыза Республикасы"], "Kyrgyz, not Russian");
        lacks("NF", &["Норфолк", "Норфолка"], "the English county");
        lacks("RU", &["russisch", "русских"], "the language");
        lacks("DE", &["deutsch"], "the language");
        lacks("SE", &["шведский", "шведского"], "шведский стол");
        lacks("IN", &["индийский", "Индийского"], "Индийский океан");
        lacks("FI", &["финский", "Финском"], "Финский залив");
        assert!(
            names("CL")
                .iter()
                .all(|n| !n.starts_with("Чил") || *n == "Чили"),
            "indeclinable"
        );
        assert!(
            names("GN").iter().all(|n| !n.contains("Бисау")),
            "Guinea-Bissau's forms stay with it"
        );
        // No Cyrillic name or demonym names two entries (a few shared Latin
        // spellings predate the inflections and are not this test's concern).
        let mut owners: HashMap<String, Vec<&str>> = HashMap::new();
        for c in &g.countries {
            for name in c
                .match_names()
                .filter(|n| n.chars().any(|ch| matches!(ch, 'а'..='я' | 'А'..='Я')))
            {
                let list = owners.entry(lookup_key(name)).or_default();
                if !list.contains(&c.code) {
                    list.push(c.code);
                }
            }
        }
        let shared: Vec<_> = owners.iter().filter(|(_, o)| o.len() > 1).collect();
        assert!(shared.is_empty(), "{shared:?}");
        assert!(
            NOT_COUNTRIES.contains(&"Новой Гвинеи") && NOT_COUNTRIES.contains(&"Северной Ирландии"),
            "longer places hold the inflected forms"
        );
    }

    /// The source file the table is derived from, if this checkout has it.
    fn source_path() -> std::path::PathBuf {
        match std::env::var_os("WIREWATCH_GAZETTEER_SOURCE") {
            Some(p) => p.into(),
            None => concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/data/gazetteer/countries_mledoze.json"
            )
            .into(),
        }
    }

    const TABLE_PATH: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/gazetteer/countries.tsv"
    );

    /// Rebuilds `assets/gazetteer/countries.tsv` from the shared source:
    /// `cargo test --lib matching::gazetteer::tests::regenerate_table -- --ignored`.
    #[test]
    #[ignore = "writes assets/gazetteer/countries.tsv"]
    fn regenerate_table() {
        let json = std::fs::read_to_string(source_path()).expect("shared gazetteer source");
        let table = generate::derive_table(&json).expect("derivable");
        std::fs::write(TABLE_PATH, table).expect("table written");
    }

    #[test]
    fn embedded_table_is_what_the_generator_makes() {
        // The source lives outside the repository (../shared); a checkout
        // without it can't check, and the embedded table is still tested above.
        let Ok(json) = std::fs::read_to_string(source_path()) else {
            return;
        };
        let table = generate::derive_table(&json).expect("derivable");
        assert!(
            table == TABLE,
            "assets/gazetteer/countries.tsv is stale: run the ignored regenerate_table test"
        );
    }

    /// The derivation from mledoze/countries' `countries.json`.
    mod generate {
        use std::collections::{BTreeMap, HashMap};

        use serde_json::Value;

        use super::super::lookup_key;

        /// Languages whose name for each country is kept (the source's
        /// translations, less Breton and Welsh, which news rarely uses), and
        /// for German also its genitive.
        const TRANSLATIONS: &[&str] = &[
            "ara", "ces", "deu", "est", "fin", "fra", "hrv", "hun", "ita", "jpn", "kor", "nld",
            "per", "pol", "por", "rus", "slk", "spa", "srp", "swe", "tur", "urd", "zho",
        ];

        /// Translated names not kept, and why.
        const DENIED_TRANSLATIONS: &[&str] = &[
            "Chili",   // Chile (fr): the pepper
            "Cipro",   // Cyprus (it): the antibiotic
            "Gana",    // Ghana (es, it): a Spanish verb
            "Granada", // Grenada (es): the Spanish city
            "Indie",   // India (cs, nl): an English word
            "Kina",    // China (sv, hr): a currency and a name
            "Malte",   // Malta (fr): a first name
            "Norfolk", // Norfolk Island: the English county
            "Норфолк", // Norfolk Island (ru): the English county
            "Norra",   // Norway (et): Swedish for "northern"
            "Tunis",   // Tunisia (hu, tr): its capital, a +capital name
            "马里",    // Mali (zh): also the start of 马里奥, Mario
            "阿曼",    // Oman (zh): also the start of 阿曼达, Amanda
        ];

        /// A translated name is kept unless it is a short Latin-script word
        /// (three letters or fewer collide with words and initials) or denied.
        fn is_translation_kept(name: &str) -> bool {
            let short = name.is_ascii() && letters(name) <= 3;
            !name.is_empty() && !short && !DENIED_TRANSLATIONS.contains(&name)
        }

        /// The German genitive of a one-word German name (`Russlands`,
        /// `Chinas`), which German news writes without an apostrophe.
        fn german_genitive(name: &str) -> Option<String> {
            let one_word = !name.is_empty() && !name.contains([' ', '-']);
            let sibilant = name.ends_with(['s', 'ß', 'x', 'z']);
            (one_word && !sibilant && is_translation_kept(name)).then(|| format!("{name}s"))
        }

        /// Two-letter forms kept as names (see the module documentation).
        const SHORT_NAMES: &[&str] = &["UK", "US"];

        /// Names in the source that are not kept, and why.
        const DENIED: &[&str] = &[
            "Island",     // Iceland: an English word
            "Mann",       // Isle of Man: a surname
            "Mannin",     // Isle of Man: rare, and a surname
            "Maurice",    // Mauritius: a first name
            "Moris",      // Mauritius: a first name
            "Dominique",  // Dominica: a first name
            "Emirates",   // UAE: the airline
            "Prathet",    // Thailand: the word "country"
            "Zhonghua",   // China: part of many names
            "Portuguesa", // Portugal: an adjective
            "Mexicanos",  // Mexico: an adjective
            "Timor",      // Timor-Leste: West Timor is Indonesia
            "Guiana",     // French Guiana: the whole Guiana region
            "Abode of Peace",
            "ʁɛpublika de an'ɡɔla", // Angola: a phonetic transcription
        ];

        /// Usual English names the source lacks.
        const EXTRA_NAMES: &[(&str, &[&str])] = &[
            ("GB", &["Britain"]),
            ("TR", &["Turkey"]),
            ("US", &["America", "EEUU", "EE. UU.", "EE.UU."]),
            ("CN", &["PRC"]),
            ("VA", &["Holy See"]),
            ("VI", &["US Virgin Islands"]),
            ("TC", &["Turks and Caicos"]),
        ];

        /// People nouns the source lacks (its demonyms are adjectives).
        const EXTRA_DEMONYMS: &[(&str, &[&str])] = &[
            ("GB", &["Briton", "Britons", "Brit", "Brits"]),
            ("DK", &["Dane", "Danes"]),
            ("PL", &["Pole", "Poles"]),
            ("ES", &["Spaniard", "Spaniards"]),
            ("FI", &["Finns"]),
            ("SE", &["Swede", "Swedes"]),
            ("TR", &["Turk", "Turks"]),
            (
                "FR",
                &["Frenchman", "Frenchmen", "Frenchwoman", "Frenchwomen"],
            ),
            ("NL", &["Dutchman", "Dutchmen", "Dutchwoman", "Dutchwomen"]),
            ("IE", &["Irishman", "Irishmen", "Irishwoman", "Irishwomen"]),
        ];

        /// Capitals in the source that are not kept: common first names or
        /// surnames, a capital shared with another entry (kept there), names
        /// that fold to common words (`Malé` is `male`), and one better known
        /// as another place (Saint-Denis near Paris).
        const DENIED_CAPITALS: &[(&str, &str)] = &[
            ("AI", "The Valley"),
            ("BM", "Hamilton"),
            ("BQ", "Oranjestad"),
            ("BQ", "The Bottom"),
            ("CC", "West Island"),
            ("FK", "Stanley"),
            ("IM", "Douglas"),
            ("MS", "Plymouth"),
            ("MV", "Malé"),
            ("NF", "Kingston"),
            ("RE", "Saint-Denis"),
            ("SC", "Victoria"),
            ("SH", "Jamestown"),
            ("US", "Washington D.C."),
        ];

        /// Other names of capitals (older English forms, the name in the
        /// country's own script) and seats of power that English news uses
        /// for a country's government (`the Kremlin`, `Downing Street`).
        const EXTRA_CAPITALS: &[(&str, &[&str])] = &[
            ("RU", &["Москва", "Kremlin"]),
            ("UA", &["Kiev", "Київ", "Киев", "Bankova"]),
            (
                "US",
                &[
                    "Washington",
                    "Washington DC",
                    "White House",
                    "Pentagon",
                    "Capitol Hill",
                    "Foggy Bottom",
                ],
            ),
            ("GB", &["Downing Street", "Whitehall", "Westminster"]),
            (
                "FR",
                &["Élysée", "Élysée Palace", "Quai d'Orsay", "Matignon"],
            ),
            ("CN", &["北京", "Peking", "Zhongnanhai"]),
            ("JP", &["東京", "Kantei", "Kasumigaseki"]),
            ("KR", &["서울"]),
            ("KP", &["평양"]),
            ("TW", &["台北", "臺北"]),
            ("IT", &["Palazzo Chigi", "Quirinale"]),
            ("ES", &["Moncloa"]),
            ("BR", &["Planalto"]),
            ("IN", &["Delhi", "Raisina Hill", "South Block"]),
            ("IR", &["Teheran", "تهران"]),
            ("IQ", &["بغداد"]),
            ("SY", &["دمشق"]),
            ("SA", &["الرياض"]),
            ("EG", &["القاهرة"]),
            ("BY", &["Минск", "Мінск"]),
            ("KZ", &["Nur-Sultan", "Астана"]),
            ("MM", &["Nay Pyi Taw", "Naypyitaw"]),
            ("PL", &["Warszawa"]),
            ("CZ", &["Praha"]),
            ("AT", &["Wien"]),
            ("DK", &["København"]),
            ("RS", &["Beograd", "Београд"]),
        ];

        /// The cases a Russian name is declined into (the nominative is the
        /// name itself).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Case {
            Genitive,
            Dative,
            Accusative,
            Instrumental,
            Prepositional,
        }

        const CASES: [Case; 5] = [
            Case::Genitive,
            Case::Dative,
            Case::Accusative,
            Case::Instrumental,
            Case::Prepositional,
        ];

        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Gender {
            Feminine,
            Masculine,
        }

        /// Entries whose other spellings in the Russian alphabet are Russian
        /// (Kyrgyzstan's are Kyrgyz: `Кыргыз Республикасы`).
        const RUSSIAN_OTHER_SPELLINGS_OF: &[&str] = &["RU", "BY", "KZ"];

        /// Russian names that end in a soft sign and are feminine (the others,
        /// `Израиль`, `Тайвань`, are masculine).
        const RUSSIAN_FEMININE_SOFT: &[&str] = &["Беларусь"];

        /// Russian names whose stem loses a vowel when declined.
        const RUSSIAN_FLEETING_VOWEL: &[(&str, &str)] = &[("Египет", "Египт")];

        /// Russian names not declined, and why.
        const RUSSIAN_NOT_DECLINED: &[&str] = &[
            "Сальвадор", // El Salvador: a first name (картины Сальвадора Дали)
        ];

        /// Russian forms written by hand: abbreviations used as names, and
        /// plural names, whose genitive the rules below can't guess.
        const RUSSIAN_EXTRA_FORMS: &[(&str, &[&str])] = &[
            (
                "US",
                &[
                    "США",
                    "Соединённые Штаты",
                    "Соединённых Штатов",
                    "Соединённым Штатам",
                    "Соединёнными Штатами",
                    "Соединённых Штатах",
                    "Соединённых Штатов Америки",
                    "Соединённым Штатам Америки",
                    "Соединёнными Штатами Америки",
                    "Соединённых Штатах Америки",
                ],
            ),
            ("RU", &["РФ"]),
            ("CN", &["КНР"]),
            ("DE", &["ФРГ"]),
            ("KP", &["КНДР"]),
            ("ZA", &["ЮАР"]),
            (
                "AE",
                &[
                    "ОАЭ",
                    "Объединённых Арабских Эмиратов",
                    "Объединённым Арабским Эмиратам",
                    "Объединёнными Арабскими Эмиратами",
                    "Объединённых Арабских Эмиратах",
                ],
            ),
            (
                "NL",
                &["Нидерландов", "Нидерландам", "Нидерландами", "Нидерландах"],
            ),
            (
                "BQ",
                &[
                    "Карибских Нидерландов",
                    "Карибским Нидерландам",
                    "Карибскими Нидерландами",
                    "Карибских Нидерландах",
                ],
            ),
            (
                "PH",
                &["Филиппин", "Филиппинам", "Филиппинами", "Филиппинах"],
            ),
            ("MV", &["Мальдив", "Мальдивам", "Мальдивами", "Мальдивах"]),
        ];

        /// Ukrainian forms, written by hand: the table has Ukrainian names
        /// only for Ukraine itself, and Russia is added for Ukrainian news.
        const UKRAINIAN_FORMS: &[(&str, &[&str])] = &[
            ("UA", &["України", "Україні", "Україну", "Україною"]),
            ("RU", &["Росія", "Росії", "Росію", "Росією"]),
        ];

        /// Capitals declined by the Russian rules, and Ukrainian forms of
        /// Kyiv written by hand.
        const RUSSIAN_CAPITALS: &[&str] = &["Москва", "Киев", "Минск", "Астана"];
        const UKRAINIAN_CAPITAL_FORMS: &[(&str, &[&str])] =
            &[("UA", &["Києва", "Києві", "Києву", "Києвом"])];

        /// Stems of Russian adjectives that mean "of the country" (`российск`
        /// → `российский`, `российских`), kept only where the adjective
        /// names nothing else: `шведский стол` (a buffet), `болгарский
        /// перец` (a pepper), `Финский залив`, `Индийский океан`, and
        /// `английский` and `русский` (languages and peoples, not states)
        /// are left out. Idioms as rare in news as English ones are kept
        /// (`американские горки`, a roller coaster, like `American`).
        const RUSSIAN_ADJECTIVES: &[(&str, &str)] = &[
            ("RU", "российск"),
            ("UA", "украинск"),
            ("BY", "белорусск"),
            ("US", "американск"),
            ("CN", "китайск"),
            ("JP", "японск"),
            ("DE", "немецк"),
            ("FR", "французск"),
            ("GB", "британск"),
            ("IT", "итальянск"),
            ("ES", "испанск"),
            ("PL", "польск"),
            ("CZ", "чешск"),
            ("SK", "словацк"),
            ("HU", "венгерск"),
            ("RO", "румынск"),
            ("RS", "сербск"),
            ("HR", "хорватск"),
            ("GR", "греческ"),
            ("AT", "австрийск"),
            ("CH", "швейцарск"),
            ("BE", "бельгийск"),
            ("NL", "нидерландск"),
            ("NO", "норвежск"),
            ("DK", "датск"),
            ("EE", "эстонск"),
            ("LV", "латвийск"),
            ("LT", "литовск"),
            ("MD", "молдавск"),
            ("GE", "грузинск"),
            ("AM", "армянск"),
            ("AZ", "азербайджанск"),
            ("KZ", "казахстанск"),
            ("TR", "турецк"),
            ("IL", "израильск"),
            ("PS", "палестинск"),
            ("IR", "иранск"),
            ("IQ", "иракск"),
            ("SY", "сирийск"),
            ("LB", "ливанск"),
            ("EG", "египетск"),
            ("SA", "саудовск"),
            ("AF", "афганск"),
            ("PK", "пакистанск"),
            ("KP", "северокорейск"),
            ("KR", "южнокорейск"),
            ("CA", "канадск"),
            ("MX", "мексиканск"),
            ("BR", "бразильск"),
            ("VE", "венесуэльск"),
            ("AU", "австралийск"),
        ];

        /// The endings of a Russian adjective whose stem ends in `к`, in
        /// every case, gender and number.
        const RUSSIAN_ADJECTIVE_ENDINGS: &[&str] = &[
            "ий", "ого", "ому", "им", "ом", "ая", "ой", "ую", "ое", "ие", "их", "ими",
        ];

        /// Stems of German adjectives that mean "of the country"
        /// (`russisch` → `russische`, `russischen`). The bare stem is not a
        /// form: it is also the language (`auf Russisch`) and in names of
        /// other things (`Russisch Brot`, `Britisch-Kolumbien`). Adjectives
        /// that are mostly about something else are left out: `koreanisch`
        /// (which Korea?), `arabisch`, `englisch`, `schweizerisch` (the Swiss
        /// write `Schweizer`).
        const GERMAN_ADJECTIVES: &[(&str, &str)] = &[
            ("RU", "russisch"),
            ("UA", "ukrainisch"),
            ("BY", "belarussisch"),
            ("BY", "weißrussisch"),
            ("DE", "deutsch"),
            ("AT", "österreichisch"),
            ("FR", "französisch"),
            ("GB", "britisch"),
            ("US", "amerikanisch"),
            ("CN", "chinesisch"),
            ("JP", "japanisch"),
            ("KR", "südkoreanisch"),
            ("KP", "nordkoreanisch"),
            ("IN", "indisch"),
            ("PK", "pakistanisch"),
            ("AF", "afghanisch"),
            ("IL", "israelisch"),
            ("PS", "palästinensisch"),
            ("IR", "iranisch"),
            ("IQ", "irakisch"),
            ("SY", "syrisch"),
            ("LB", "libanesisch"),
            ("SA", "saudisch"),
            ("EG", "ägyptisch"),
            ("TR", "türkisch"),
            ("GR", "griechisch"),
            ("IT", "italienisch"),
            ("ES", "spanisch"),
            ("PT", "portugiesisch"),
            ("NL", "niederländisch"),
            ("BE", "belgisch"),
            ("DK", "dänisch"),
            ("SE", "schwedisch"),
            ("NO", "norwegisch"),
            ("FI", "finnisch"),
            ("IE", "irisch"),
            ("PL", "polnisch"),
            ("CZ", "tschechisch"),
            ("SK", "slowakisch"),
            ("HU", "ungarisch"),
            ("RO", "rumänisch"),
            ("BG", "bulgarisch"),
            ("RS", "serbisch"),
            ("HR", "kroatisch"),
            ("GE", "georgisch"),
            ("AM", "armenisch"),
            ("AZ", "aserbaidschanisch"),
            ("KZ", "kasachisch"),
            ("CA", "kanadisch"),
            ("MX", "mexikanisch"),
            ("BR", "brasilianisch"),
            ("VE", "venezolanisch"),
            ("AU", "australisch"),
        ];

        /// The endings of a German adjective after an article or none.
        const GERMAN_ADJECTIVE_ENDINGS: &[&str] = &["e", "en", "er", "es", "em"];

        /// Whether `name` is written in the Russian alphabet only (other
        /// Cyrillic alphabets, Ukrainian `і`, Kazakh `қ`, Serbian `ј`, are
        /// not declined by Russian rules).
        fn is_russian_alphabet(name: &str) -> bool {
            name.chars().any(|c| matches!(c, 'а'..='я' | 'А'..='Я'))
                && name
                    .chars()
                    .all(|c| matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' | ' ' | '-' | '—' | '’'))
        }

        fn is_vowel(c: char) -> bool {
            "аеёиоуыэюя".contains(c.to_lowercase().next().unwrap_or(c))
        }

        /// `word` without its last `n` characters.
        fn cut(word: &str, n: usize) -> String {
            let keep = word.chars().count().saturating_sub(n);
            word.chars().take(keep).collect()
        }

        /// The gender of a Russian noun, from its ending.
        fn gender_of(noun: &str) -> Gender {
            let feminine = noun.ends_with(['а', 'я']) || RUSSIAN_FEMININE_SOFT.contains(&noun);
            if feminine {
                Gender::Feminine
            } else {
                Gender::Masculine
            }
        }

        /// A Russian noun in `case`, or `None` when it is not declined:
        /// foreign names ending in a vowel other than `а`/`я` (`Чили`,
        /// `Перу`, `Того`), plurals, words of three letters or fewer
        /// (`Чад`: `в чаду` is "in the fumes") and the exceptions above.
        fn russian_noun(word: &str, case: Case) -> Option<String> {
            use Case::*;
            let count = word.chars().count();
            if count <= 3 || RUSSIAN_NOT_DECLINED.contains(&word) {
                return None;
            }
            let mut rev = word.chars().rev();
            let last = rev.next()?;
            let before = rev.next()?;
            let ending = match (before, last) {
                ('и', 'я') => match case {
                    Genitive | Dative | Prepositional => "и",
                    Accusative => "ю",
                    Instrumental => "ей",
                },
                ('е', 'я') => match case {
                    Genitive => "и",
                    Dative | Prepositional => "е",
                    Accusative => "ю",
                    Instrumental => "ей",
                },
                (_, 'я') => return None,
                (b, 'а') if !is_vowel(b) => {
                    let velar_or_sibilant = "гкхжшщч".contains(b);
                    let sibilant = "жшщчц".contains(b);
                    match case {
                        Genitive if velar_or_sibilant => "и",
                        Genitive => "ы",
                        Dative | Prepositional => "е",
                        Accusative => "у",
                        Instrumental if sibilant => "ей",
                        Instrumental => "ой",
                    }
                }
                (_, 'а') => return None,
                (_, 'ь') if gender_of(word) == Gender::Feminine => match case {
                    Genitive | Dative | Prepositional => "и",
                    Accusative => return Some(word.to_string()),
                    Instrumental => "ью",
                },
                // Masculine soft stems: `-й` and `-ь` decline alike, but
                // `-ий` takes `-ии` in the prepositional.
                (b, 'й' | 'ь') => match case {
                    Genitive => "я",
                    Dative => "ю",
                    Accusative => return Some(word.to_string()),
                    Instrumental => "ем",
                    Prepositional if (b, last) == ('и', 'й') => "и",
                    Prepositional => "е",
                },
                (_, l) if is_vowel(l) || "жшщчц".contains(l) || !l.is_alphabetic() => {
                    return None;
                }
                _ => {
                    // A masculine name ending in a hard consonant keeps
                    // its whole self as the stem.
                    let stem = RUSSIAN_FLEETING_VOWEL
                        .iter()
                        .find(|(n, _)| *n == word)
                        .map_or(word, |(_, stem)| stem);
                    let ending = match case {
                        Genitive => "а",
                        Dative => "у",
                        Accusative => return Some(word.to_string()),
                        Instrumental => "ом",
                        Prepositional => "е",
                    };
                    return Some(format!("{stem}{ending}"));
                }
            };
            let stem_len = if matches!(last, 'я' | 'а' | 'й' | 'ь') {
                1
            } else {
                0
            };
            Some(format!("{}{ending}", cut(word, stem_len)))
        }

        /// Whether `word` has the ending of a Russian adjective.
        fn is_russian_adjective(word: &str) -> bool {
            let last = word.rsplit('-').next().unwrap_or(word);
            last.chars().count() > 4
                && ["ая", "яя", "ый", "ий", "ой", "ое", "ые", "ие"]
                    .iter()
                    .any(|e| last.ends_with(e))
        }

        /// A Russian adjective agreeing with a noun of `gender` in `case`;
        /// `None` for endings not handled (neuter, plural, soft).
        fn russian_adjective(word: &str, gender: Gender, case: Case) -> Option<String> {
            use Case::*;
            if let Some((head, last)) = word.rsplit_once('-') {
                return Some(format!("{head}-{}", russian_adjective(last, gender, case)?));
            }
            let stem = cut(word, 2);
            let velar = stem.ends_with(['г', 'к', 'х']);
            let hard = word.ends_with("ый") || word.ends_with("ой");
            let ending = match (gender, word.ends_with("ая"), hard) {
                (Gender::Feminine, true, _) => match case {
                    Accusative => "ую",
                    _ => "ой",
                },
                (Gender::Masculine, false, hard) if hard || (word.ends_with("ий") && velar) => {
                    match case {
                        Genitive => "ого",
                        Dative => "ому",
                        Accusative => return Some(word.to_string()),
                        Instrumental if hard => "ым",
                        Instrumental => "им",
                        Prepositional => "ом",
                    }
                }
                _ => return None,
            };
            Some(format!("{stem}{ending}"))
        }

        /// One word of a name in `case`: a hyphenated word declines its last
        /// part (`Шри-Ланки`), or its first when the last does not decline
        /// (`Гвинеи-Бисау`).
        fn russian_word(word: &str, case: Case) -> Option<String> {
            let Some((first, rest)) = word.split_once('-') else {
                return russian_noun(word, case);
            };
            let (head, last) = word.rsplit_once('-')?;
            if let Some(last) = russian_noun(last, case) {
                return Some(format!("{head}-{last}"));
            }
            russian_noun(first, case).map(|first| format!("{first}-{rest}"))
        }

        /// A name of several words in `case`: its head noun (the first word
        /// that declines) and the adjectives before it change, the words
        /// after it (`Республика Конго`) stay as they are; a name of two
        /// joined by `и` declines both. `None` when the name doesn't decline.
        fn russian_phrase(name: &str, case: Case) -> Option<String> {
            if name.contains(" и ") {
                let parts: Option<Vec<String>> =
                    name.split(" и ").map(|p| russian_phrase(p, case)).collect();
                return parts.map(|p| p.join(" и "));
            }
            let words: Vec<&str> = name.split(' ').collect();
            let last = words.len() - 1;
            let head = (0..words.len()).find(|&i| {
                (i == last || !is_russian_adjective(words[i]))
                    && russian_word(words[i], case).is_some()
            });
            let Some(head) = head else {
                // Nothing declines (`Сан-Томе и Принсипи`): the name is the
                // same in every case.
                return words
                    .iter()
                    .all(|w| !is_russian_adjective(w) && !w.ends_with('ы'))
                    .then(|| name.to_string());
            };
            let gender = gender_of(words[head].rsplit('-').next().unwrap_or(words[head]));
            let mut out = Vec::with_capacity(words.len());
            for (i, word) in words.iter().enumerate() {
                let declined = if i == head {
                    russian_word(word, case)?
                } else if i < head && is_russian_adjective(word) {
                    russian_adjective(word, gender, case)?
                } else {
                    word.to_string()
                };
                out.push(declined);
            }
            Some(out.join(" "))
        }

        /// The case forms of a Russian name that differ from it.
        fn russian_forms(name: &str) -> Vec<String> {
            if !is_russian_alphabet(name) || name.to_lowercase().contains("остров") {
                return Vec::new();
            }
            let mut forms = Vec::new();
            for case in CASES {
                if let Some(form) = russian_phrase(name, case)
                    && form != name
                    && !forms.contains(&form)
                {
                    forms.push(form);
                }
            }
            forms
        }

        /// Demonyms whose plural is the same word.
        const INVARIANT: &[&str] = &["French", "Dutch", "Malagasy"];

        fn plural(demonym: &str) -> Option<String> {
            let last = demonym.rsplit([' ', '-']).next().unwrap_or(demonym);
            let same = INVARIANT.contains(&last)
                || ["ese", "ic", "s", "sh", "x", "z"]
                    .iter()
                    .any(|end| last.ends_with(end));
            (!same).then(|| format!("{demonym}s"))
        }

        fn letters(s: &str) -> usize {
            s.chars().filter(|c| c.is_alphabetic()).count()
        }

        /// A source name kept as a name, cleaned; `None` when dropped.
        /// Three-letter codes stay when the source lists them as names: only
        /// `USA` is, and it is one.
        fn keep_name(name: &str, cca2: &str) -> Option<String> {
            let name = name.trim();
            if SHORT_NAMES.contains(&name) {
                return Some(name.to_string());
            }
            let name = name
                .strip_prefix("The ")
                .or_else(|| name.strip_prefix("the "))
                .unwrap_or(name);
            let dropped = name == cca2
                || (name.is_ascii() && letters(name) <= 2)
                || name.contains([',', '(', '\t', '|'])
                || DENIED.contains(&name);
            (!dropped).then(|| name.to_string())
        }

        struct Entry {
            capitals: Vec<String>,
            cca2: String,
            cca3: String,
            common: String,
            official: String,
            independent: bool,
            aliases: Vec<String>,
            /// Case forms of the names, kept unless another entry claims them.
            inflected: Vec<String>,
            demonyms: Vec<String>,
        }

        fn text(v: &Value, path: &[&str]) -> String {
            let mut v = v;
            for p in path {
                v = &v[*p];
            }
            v.as_str().unwrap_or_default().trim().to_string()
        }

        fn read(v: &Value) -> Entry {
            let cca2 = text(v, &["cca2"]);
            let cca3 = text(v, &["cca3"]);
            let mut aliases = Vec::new();
            let alts = v["altSpellings"].as_array().cloned().unwrap_or_default();
            let natives: BTreeMap<String, Value> = v["name"]["native"]
                .as_object()
                .map(|m| m.clone().into_iter().collect())
                .unwrap_or_default();
            let translations = TRANSLATIONS
                .iter()
                .map(|lang| text(v, &["translations", lang, "common"]))
                .filter(|name| is_translation_kept(name))
                .chain(german_genitive(&text(
                    v,
                    &["translations", "deu", "common"],
                )));
            let candidates = alts
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .chain(natives.values().map(|n| text(n, &["common"])))
                .chain(translations)
                .chain(
                    EXTRA_NAMES
                        .iter()
                        .filter(|(c, _)| *c == cca2)
                        .flat_map(|(_, names)| names.iter().map(|n| n.to_string())),
                );
            for name in candidates {
                if let Some(name) = keep_name(&name, &cca2)
                    && !aliases.contains(&name)
                {
                    aliases.push(name);
                }
            }
            let common = text(v, &["name", "common"]);
            let official = text(v, &["name", "official"]);
            // A "demonym" that is the country's own name (`Djibouti`) is a
            // name already, and has no plural.
            let own_names: Vec<String> = [&common, &official]
                .into_iter()
                .chain(aliases.iter())
                .map(|n| lookup_key(n))
                .collect();
            let mut demonyms = Vec::new();
            for gender in ["m", "f"] {
                let raw = text(v, &["demonyms", "eng", gender]);
                for d in raw.split(", ").flat_map(|d| d.split(" or ")) {
                    let d = d.trim();
                    if d.is_empty() || own_names.contains(&lookup_key(d)) {
                        continue;
                    }
                    for form in std::iter::once(d.to_string()).chain(plural(d)) {
                        if !demonyms.contains(&form) {
                            demonyms.push(form);
                        }
                    }
                }
            }
            for (_, extra) in EXTRA_DEMONYMS.iter().filter(|(c, _)| *c == cca2) {
                demonyms.extend(extra.iter().map(|d| d.to_string()));
            }
            for (_, stem) in RUSSIAN_ADJECTIVES.iter().filter(|(c, _)| *c == cca2) {
                demonyms.extend(
                    RUSSIAN_ADJECTIVE_ENDINGS
                        .iter()
                        .map(|e| format!("{stem}{e}")),
                );
            }
            for (_, stem) in GERMAN_ADJECTIVES.iter().filter(|(c, _)| *c == cca2) {
                demonyms.extend(
                    GERMAN_ADJECTIVE_ENDINGS
                        .iter()
                        .map(|e| format!("{stem}{e}")),
                );
            }
            // The Russian names: the translation, the native name where
            // Russian is an official language, and for a few of those the
            // other spellings in the Russian alphabet (`Белоруссия`).
            let russian_names: Vec<String> = [
                text(v, &["translations", "rus", "common"]),
                text(v, &["name", "native", "rus", "common"]),
                text(v, &["name", "native", "rus", "official"]),
            ]
            .into_iter()
            .chain(
                alts.iter()
                    .filter(|_| RUSSIAN_OTHER_SPELLINGS_OF.contains(&cca2.as_str()))
                    .filter_map(|a| a.as_str().map(|a| a.trim().to_string())),
            )
            .filter(|n| aliases.contains(n) || *n == common || *n == official)
            .collect();
            let hand_written = RUSSIAN_EXTRA_FORMS
                .iter()
                .chain(UKRAINIAN_FORMS)
                .filter(|(c, _)| *c == cca2)
                .flat_map(|(_, forms)| forms.iter().map(|f| f.to_string()));
            let mut inflected: Vec<String> = Vec::new();
            for form in russian_names
                .iter()
                .flat_map(|n| russian_forms(n))
                .chain(hand_written)
            {
                if !inflected.contains(&form) {
                    inflected.push(form);
                }
            }
            let mut capitals: Vec<String> = Vec::new();
            let listed = v["capital"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|c| c.as_str().map(|c| c.trim().to_string()))
                .filter(|c| !DENIED_CAPITALS.contains(&(cca2.as_str(), c.as_str())));
            let extra = EXTRA_CAPITALS
                .iter()
                .filter(|(c, _)| *c == cca2)
                .flat_map(|(_, names)| names.iter().map(|n| n.to_string()));
            let declined = EXTRA_CAPITALS
                .iter()
                .filter(|(c, _)| *c == cca2)
                .flat_map(|(_, names)| names.iter())
                .filter(|n| RUSSIAN_CAPITALS.contains(n))
                .flat_map(|n| russian_forms(n))
                .chain(
                    UKRAINIAN_CAPITAL_FORMS
                        .iter()
                        .filter(|(c, _)| *c == cca2)
                        .flat_map(|(_, forms)| forms.iter().map(|f| f.to_string())),
                );
            for capital in listed.chain(extra).chain(declined) {
                let key = lookup_key(&capital);
                // A capital that is the country's name (`Singapore`) is a
                // name already.
                if key.is_empty()
                    || own_names.contains(&key)
                    || capitals.iter().any(|c| lookup_key(c) == key)
                {
                    continue;
                }
                capitals.push(capital);
            }
            Entry {
                capitals,
                common,
                official,
                independent: v["independent"].as_bool() != Some(false),
                cca2,
                cca3,
                aliases,
                inflected,
                demonyms,
            }
        }

        /// The table text derived from the source JSON.
        pub fn derive_table(json: &str) -> Result<String, serde_json::Error> {
            let data: Vec<Value> = serde_json::from_str(json)?;
            let mut entries: Vec<Entry> = data.iter().map(read).collect();

            // A name shared by several entries stays where it ranks best
            // (common 0, official 1, other 2).
            let mut best: HashMap<String, u8> = HashMap::new();
            for e in &entries {
                let ranked = [(0, &e.common), (1, &e.official)]
                    .into_iter()
                    .chain(e.aliases.iter().map(|a| (2, a)));
                for (rank, name) in ranked {
                    let slot = best.entry(lookup_key(name)).or_insert(rank);
                    *slot = (*slot).min(rank);
                }
            }
            for e in &mut entries {
                e.aliases.retain(|a| best.get(&lookup_key(a)) == Some(&2));
            }

            // A case form that is a name of another entry, or a form of
            // names of two, names neither: it is dropped.
            let mut claimed: HashMap<String, Vec<usize>> = HashMap::new();
            for (i, e) in entries.iter().enumerate() {
                let names = [&e.common, &e.official]
                    .into_iter()
                    .chain(&e.aliases)
                    .chain(&e.inflected)
                    .chain(&e.demonyms)
                    .chain(&e.capitals);
                for name in names {
                    let owners = claimed.entry(lookup_key(name)).or_default();
                    if !owners.contains(&i) {
                        owners.push(i);
                    }
                }
            }
            for (i, e) in entries.iter_mut().enumerate() {
                let mut own: Vec<String> = [&e.common, &e.official]
                    .into_iter()
                    .chain(&e.aliases)
                    .map(|n| lookup_key(n))
                    .collect();
                for form in std::mem::take(&mut e.inflected) {
                    let key = lookup_key(&form);
                    let only_ours = claimed.get(&key).is_some_and(|owners| owners == &[i]);
                    if only_ours && !own.contains(&key) {
                        own.push(key);
                        e.aliases.push(form);
                    }
                }
            }

            // A demonym shared with a sovereign country stays with it.
            let mut sovereign_demonyms: HashMap<String, bool> = HashMap::new();
            for e in &entries {
                for d in &e.demonyms {
                    *sovereign_demonyms.entry(lookup_key(d)).or_default() |= e.independent;
                }
            }
            for e in &mut entries {
                let independent = e.independent;
                let own_names: Vec<String> = [&e.common, &e.official]
                    .into_iter()
                    .chain(e.aliases.iter())
                    .map(|n| lookup_key(n))
                    .collect();
                let mut seen = Vec::new();
                e.demonyms.retain(|d| {
                    let key = lookup_key(d);
                    let keep = !key.is_empty()
                        && (independent || !sovereign_demonyms.get(&key).copied().unwrap_or(false))
                        && !own_names.contains(&key)
                        && !seen.contains(&key);
                    seen.push(key);
                    keep
                });
            }

            let mut out = String::new();
            out.push_str(
                "# wirewatch country gazetteer. Derived from mledoze/countries (https://github.com/mledoze/countries),\n\
                 # countries.json at commit 5e9f370050f83ad2ba4cb885f75d66114badf72c, and offered under the\n\
                 # Open Database License (ODbL-1.0): see README.md and LICENSE-ODbL-1.0.txt next to this file.\n\
                 # Regenerate: cargo test --lib matching::gazetteer::tests::regenerate_table -- --ignored\n\
                 # cca2\tcca3\tcommon\tofficial\tother names (|)\tdemonyms and plurals (|)\tcapitals and seats of government (|)\n",
            );
            for e in &entries {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    e.cca2,
                    e.cca3,
                    e.common,
                    e.official,
                    e.aliases.join("|"),
                    e.demonyms.join("|"),
                    e.capitals.join("|")
                ));
            }
            Ok(out)
        }
    }
}
