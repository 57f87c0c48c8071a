//! A rule tried on articles already seen, before it is saved: how many it
//! would have matched, and a few of them as examples (`/test --history`,
//! `wirewatch check --history`). Reading the articles is the caller's job.

use super::compiled::{Analyzed, Article, MatcherBuilder};
use super::explain::Hit;
use super::rule::RuleSpec;

/// A rule tried on a set of articles.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// Articles tried.
    pub articles: usize,
    /// Articles the rule matched.
    pub matched: usize,
    /// The first matches, in the order the articles came: (index of the
    /// article, its hit).
    pub examples: Vec<(usize, Hit)>,
}

/// Tries `spec` on every article of `articles`, keeping the first `examples`
/// hits.
pub fn try_rule<'a>(
    spec: &RuleSpec,
    articles: impl IntoIterator<Item = Article<'a>>,
    examples: usize,
) -> Trial {
    let mut builder = MatcherBuilder::new();
    builder.add(0, spec);
    let matcher = builder.build();
    let mut trial = Trial {
        articles: 0,
        matched: 0,
        examples: Vec::new(),
    };
    for (i, article) in articles.into_iter().enumerate() {
        trial.articles += 1;
        let doc = Analyzed::new(&article);
        let matches = matcher.find_in(&doc);
        if matches.is_empty() {
            continue;
        }
        trial.matched += 1;
        if trial.examples.len() < examples
            && let Some(hit) = matches.into_hits().into_iter().next()
        {
            trial.examples.push((i, hit));
        }
    }
    trial
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_matches_and_keeps_the_first_examples() {
        let spec = RuleSpec::parse("country:Russia").expect("valid");
        let bodies = [
            "Russia said",
            "nothing here",
            "Russian jets",
            "Ukraine only",
            "Moscow and Russia",
        ];
        let trial = try_rule(
            &spec,
            bodies.iter().map(|b| Article {
                title: "",
                body: b,
                source: "Test",
            }),
            2,
        );
        assert_eq!((trial.articles, trial.matched), (5, 3));
        let shown: Vec<(usize, Vec<String>)> = trial
            .examples
            .iter()
            .map(|(i, h)| (*i, h.terms.clone()))
            .collect();
        assert_eq!(
            shown,
            [(0, vec!["Russia".to_string()]), (2, vec!["Russian".into()])]
        );
    }

    #[test]
    fn no_articles_no_matches() {
        let spec = RuleSpec::parse("keyword:grain").expect("valid");
        let trial = try_rule(&spec, std::iter::empty(), 3);
        assert_eq!((trial.articles, trial.matched), (0, 0));
        assert!(trial.examples.is_empty());
    }
}
