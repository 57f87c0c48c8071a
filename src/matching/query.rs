//! The boolean query language of `query:` rules (v1).
//!
//! ```text
//! query   := or
//! or      := and ("OR" and)*
//! and     := unary (["AND"] unary)*        adjacent terms are ANDed
//! unary   := "NOT" unary | primary
//! primary := "(" or ")" | "\"phrase\"" | word
//! ```
//!
//! Precedence is NOT > AND > OR, as users expect from search engines.
//! Operators are upper case; lower-case `and`/`or`/`not` are refused with a
//! hint rather than searched for, because they are almost always a mistyped
//! operator. Curly quotes count as quotes (phones type them).
//!
//! Syntax that later versions will give a meaning (`NEAR/3`, `title:`,
//! `person:"…"`, `sanction*`) is refused as "not supported yet" rather than
//! read as plain words, so that a saved rule never changes meaning when the
//! language grows.

/// A parsed boolean query over terms of type `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr<T> {
    /// A term that must appear.
    Term(T),
    /// True when the inner query is false.
    Not(Box<Expr<T>>),
    /// True when every part is true.
    And(Vec<Expr<T>>),
    /// True when any part is true.
    Or(Vec<Expr<T>>),
}

impl<T> Expr<T> {
    /// Evaluates with `present` telling whether a term is in the text.
    pub fn eval(&self, present: &mut impl FnMut(&T) -> bool) -> bool {
        match self {
            Expr::Term(t) => present(t),
            Expr::Not(e) => !e.eval(present),
            Expr::And(es) => es.iter().all(|e| e.eval(present)),
            Expr::Or(es) => es.iter().any(|e| e.eval(present)),
        }
    }

    /// The same query over other terms.
    pub fn try_map<U, E>(self, f: &mut impl FnMut(T) -> Result<U, E>) -> Result<Expr<U>, E> {
        Ok(match self {
            Expr::Term(t) => Expr::Term(f(t)?),
            Expr::Not(e) => Expr::Not(Box::new(e.try_map(f)?)),
            Expr::And(es) => Expr::And(
                es.into_iter()
                    .map(|e| e.try_map(f))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Or(es) => Expr::Or(
                es.into_iter()
                    .map(|e| e.try_map(f))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// Visits every term with whether it is positive (under an even number
    /// of NOTs): positive terms are what a hit reports as its matched words.
    pub fn visit_terms(&self, positive: bool, f: &mut impl FnMut(&T, bool)) {
        match self {
            Expr::Term(t) => f(t, positive),
            Expr::Not(e) => e.visit_terms(!positive, f),
            Expr::And(es) | Expr::Or(es) => es.iter().for_each(|e| e.visit_terms(positive, f)),
        }
    }

    /// Whether the query is true for a text that contains none of its terms,
    /// i.e. it would match nearly every article.
    pub fn matches_empty_text(&self) -> bool {
        self.eval(&mut |_| false)
    }
}

/// A query term as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawTerm {
    /// The word, or the text between the quotes.
    pub text: String,
    /// 1-based column (in characters) where the term starts.
    pub column: usize,
}

/// A syntax error in a query, at a 1-based column of the query text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    /// 1-based column, in characters, of the query text (after `query:`).
    pub column: usize,
    /// What was wrong or expected there.
    pub message: String,
}

impl QueryError {
    fn new(column: usize, message: impl Into<String>) -> QueryError {
        QueryError {
            column,
            message: message.into(),
        }
    }
}

/// Nesting deeper than this is refused, so that a hostile query cannot
/// exhaust the stack of the recursive parser.
const MAX_DEPTH: usize = 32;

/// Parses a query (see the module documentation).
pub(crate) fn parse_query(text: &str) -> Result<Expr<RawTerm>, QueryError> {
    let items = lex(text)?;
    let end_column = text.chars().count() + 1;
    let mut parser = Parser {
        items,
        at: 0,
        end_column,
        depth: 0,
    };
    let expr = parser.or()?;
    match parser.peek() {
        None => Ok(expr),
        Some(item) => Err(match item.lex {
            Lex::RParen => QueryError::new(item.column, "unexpected ) with no ( to close"),
            _ => QueryError::new(item.column, format!("unexpected {}", item.lex.describe())),
        }),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Lex {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Word(String),
    Phrase(String),
}

impl Lex {
    fn describe(&self) -> String {
        match self {
            Lex::LParen => "(".into(),
            Lex::RParen => ")".into(),
            Lex::And => "AND".into(),
            Lex::Or => "OR".into(),
            Lex::Not => "NOT".into(),
            Lex::Word(w) => format!("\"{w}\""),
            Lex::Phrase(p) => format!("\"{p}\""),
        }
    }
}

#[derive(Debug, Clone)]
struct Item {
    lex: Lex,
    column: usize,
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '„' | '«' | '»')
}

/// Field names that issue 6's qualifiers will use.
const FIELDS: &[&str] = &[
    "title", "source", "body", "person", "country", "keyword", "query",
];

fn lex(text: &str) -> Result<Vec<Item>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut items = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            items.push(Item {
                lex: Lex::LParen,
                column,
            });
            i += 1;
        } else if c == ')' {
            items.push(Item {
                lex: Lex::RParen,
                column,
            });
            i += 1;
        } else if is_quote(c) {
            let close = chars[i + 1..]
                .iter()
                .position(|&c| is_quote(c))
                .map(|p| i + 1 + p);
            let Some(close) = close else {
                return Err(QueryError::new(column, "this quote is never closed"));
            };
            let phrase: String = chars[i + 1..close].iter().collect();
            if phrase.trim().is_empty() {
                return Err(QueryError::new(
                    column,
                    "empty quotes: put a phrase between them",
                ));
            }
            items.push(Item {
                lex: Lex::Phrase(phrase),
                column,
            });
            i = close + 1;
        } else {
            let start = i;
            while i < chars.len()
                && !(chars[i].is_whitespace()
                    || matches!(chars[i], '(' | ')')
                    || is_quote(chars[i]))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            items.push(Item {
                lex: classify_word(word, column)?,
                column,
            });
        }
    }
    Ok(items)
}

fn classify_word(word: String, column: usize) -> Result<Lex, QueryError> {
    match word.as_str() {
        "AND" => return Ok(Lex::And),
        "OR" => return Ok(Lex::Or),
        "NOT" => return Ok(Lex::Not),
        _ => {}
    }
    for op in ["AND", "OR", "NOT"] {
        if word.eq_ignore_ascii_case(op) {
            return Err(QueryError::new(
                column,
                format!(
                    "write {op} in capitals for the operator, or put \"{word}\" in quotes to search for the word"
                ),
            ));
        }
    }
    let upper = word.to_ascii_uppercase();
    if upper == "NEAR" || upper.starts_with("NEAR/") {
        return Err(QueryError::new(
            column,
            "NEAR is not supported yet; use AND",
        ));
    }
    if word.len() > 1 && word.ends_with('*') {
        return Err(QueryError::new(
            column,
            format!("wildcards such as \"{word}\" are not supported yet; list the forms with OR"),
        ));
    }
    if let Some((field, _)) = word.split_once(':')
        && FIELDS.iter().any(|f| f.eq_ignore_ascii_case(field))
    {
        return Err(QueryError::new(
            column,
            format!("\"{field}:\" inside a query is not supported yet"),
        ));
    }
    if word.len() > 1
        && let Some(rest) = word.strip_prefix('-')
    {
        return Err(QueryError::new(
            column,
            format!("to exclude a word write NOT {rest}"),
        ));
    }
    if word.len() > 1
        && let Some(rest) = word.strip_prefix('+')
    {
        return Err(QueryError::new(
            column,
            format!("every term is required already: write {rest} without the +"),
        ));
    }
    Ok(Lex::Word(word))
}

struct Parser {
    items: Vec<Item>,
    at: usize,
    end_column: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Item> {
        self.items.get(self.at)
    }

    fn next(&mut self) -> Option<Item> {
        let item = self.items.get(self.at).cloned();
        self.at += 1;
        item
    }

    fn or(&mut self) -> Result<Expr<RawTerm>, QueryError> {
        let first = self.and()?;
        self.or_rest(first)
    }

    fn and(&mut self) -> Result<Expr<RawTerm>, QueryError> {
        let first = self.unary()?;
        self.and_rest(first)
    }

    fn and_rest(&mut self, first: Expr<RawTerm>) -> Result<Expr<RawTerm>, QueryError> {
        let mut parts = vec![first];
        loop {
            match self.peek().map(|i| &i.lex) {
                Some(Lex::And) => {
                    self.next();
                    parts.push(self.unary_after("AND")?);
                }
                Some(Lex::Word(_) | Lex::Phrase(_) | Lex::LParen | Lex::Not) => {
                    parts.push(self.unary()?)
                }
                _ => break,
            }
        }
        Ok(flatten(parts, Expr::And))
    }

    /// A unary expression that must follow `after`.
    fn unary_after(&mut self, after: &str) -> Result<Expr<RawTerm>, QueryError> {
        match self.peek() {
            Some(item)
                if matches!(
                    item.lex,
                    Lex::Word(_) | Lex::Phrase(_) | Lex::LParen | Lex::Not
                ) =>
            {
                self.unary()
            }
            Some(item) => Err(QueryError::new(
                item.column,
                format!(
                    "expected a word, a quoted phrase or ( after {after}, found {}",
                    item.lex.describe()
                ),
            )),
            None => Err(QueryError::new(
                self.end_column,
                format!("expected a word, a quoted phrase or ( after {after}"),
            )),
        }
    }

    fn unary(&mut self) -> Result<Expr<RawTerm>, QueryError> {
        if self.peek().is_some_and(|i| i.lex == Lex::Not) {
            self.next();
            let inner = self.unary_after("NOT")?;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr<RawTerm>, QueryError> {
        let Some(item) = self.next() else {
            return Err(QueryError::new(
                self.end_column,
                "expected a word, a quoted phrase or (",
            ));
        };
        match item.lex {
            Lex::Word(text) | Lex::Phrase(text) => Ok(Expr::Term(RawTerm {
                text,
                column: item.column,
            })),
            Lex::LParen => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(QueryError::new(item.column, "too many nested parentheses"));
                }
                let inner = self.unary_after("(")?;
                let inner = self.and_rest(inner)?;
                let inner = self.or_rest(inner)?;
                self.depth -= 1;
                match self.next() {
                    Some(Item {
                        lex: Lex::RParen, ..
                    }) => Ok(inner),
                    Some(other) => Err(QueryError::new(
                        other.column,
                        format!(
                            "expected ) to close the ( from column {}, found {}",
                            item.column,
                            other.lex.describe()
                        ),
                    )),
                    None => Err(QueryError::new(
                        self.end_column,
                        format!("expected ) to close the ( from column {}", item.column),
                    )),
                }
            }
            other => Err(QueryError::new(
                item.column,
                format!(
                    "expected a word, a quoted phrase or (, found {}",
                    other.describe()
                ),
            )),
        }
    }

    /// Continues an OR chain whose first AND group is `first`.
    fn or_rest(&mut self, first: Expr<RawTerm>) -> Result<Expr<RawTerm>, QueryError> {
        let mut parts = vec![first];
        while self.peek().is_some_and(|i| i.lex == Lex::Or) {
            self.next();
            let right = self.unary_after("OR")?;
            parts.push(self.and_rest(right)?);
        }
        Ok(flatten(parts, Expr::Or))
    }
}

/// One part stays itself; several become `make(parts)`, with nested parts of
/// the same operator merged (`A AND (B AND C)` is `A AND B AND C`).
fn flatten(
    mut parts: Vec<Expr<RawTerm>>,
    make: fn(Vec<Expr<RawTerm>>) -> Expr<RawTerm>,
) -> Expr<RawTerm> {
    if parts.len() == 1
        && let Some(only) = parts.pop()
    {
        return only;
    }
    let is_and = matches!(make(Vec::new()), Expr::And(_));
    let mut flat = Vec::with_capacity(parts.len());
    for p in parts {
        match p {
            Expr::And(inner) if is_and => flat.extend(inner),
            Expr::Or(inner) if !is_and => flat.extend(inner),
            other => flat.push(other),
        }
    }
    make(flat)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact rendering of a parsed query, for table tests.
    fn show(e: &Expr<RawTerm>) -> String {
        match e {
            Expr::Term(t) => t.text.clone(),
            Expr::Not(e) => format!("-{}", show(e)),
            Expr::And(es) => format!("&({})", es.iter().map(show).collect::<Vec<_>>().join(" ")),
            Expr::Or(es) => format!("|({})", es.iter().map(show).collect::<Vec<_>>().join(" ")),
        }
    }

    /// (name, query, parsed form)
    const PARSES: &[(&str, &str, &str)] = &[
        ("single_word", "Russia", "Russia"),
        ("phrase", "\"Security Council\"", "Security Council"),
        ("curly_quotes", "“Security Council”", "Security Council"),
        ("explicit_and", "a AND b", "&(a b)"),
        ("implicit_and", "a b c", "&(a b c)"),
        ("or", "a OR b OR c", "|(a b c)"),
        ("and_binds_tighter_than_or", "a OR b AND c", "|(a &(b c))"),
        ("and_then_or", "a AND b OR c", "|(&(a b) c)"),
        ("not_binds_tightest", "NOT a AND b", "&(-a b)"),
        ("trailing_not", "a NOT b", "&(a -b)"),
        ("double_not", "a AND NOT NOT b", "&(a --b)"),
        ("parentheses", "(a OR b) AND c", "&(|(a b) c)"),
        ("nested_parentheses", "((a))", "a"),
        (
            "brief_example",
            "\"Security Council\" AND (Russia OR Ukraine) NOT football",
            "&(Security Council |(Russia Ukraine) -football)",
        ),
        (
            "or_inside_parentheses_then_and",
            "(a OR b c) d",
            "&(|(a &(b c)) d)",
        ),
        ("hyphenated_word", "UN-backed", "UN-backed"),
        ("colon_in_word", "10:30", "10:30"),
        ("lone_dash_is_a_word", "a - b", "&(a - b)"),
    ];

    #[test]
    fn parse_case_names_are_unique() {
        let mut names: Vec<_> = PARSES.iter().map(|c| c.0).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn parses_each_case() {
        for (name, query, want) in PARSES {
            let got = parse_query(query).unwrap_or_else(|e| panic!("case {name}: {e}"));
            assert_eq!(show(&got), *want, "case {name}");
        }
    }

    /// (name, query, column, part of the message)
    const ERRORS: &[(&str, &str, usize, &str)] = &[
        ("trailing_and", "Russia AND", 11, "after AND"),
        ("trailing_or", "Russia OR", 10, "after OR"),
        ("trailing_not", "Russia NOT", 11, "after NOT"),
        ("leading_and", "AND Russia", 1, "found AND"),
        (
            "double_operator",
            "Russia AND OR Ukraine",
            12,
            "after AND, found OR",
        ),
        (
            "unclosed_paren",
            "(Russia OR Ukraine",
            19,
            "expected ) to close the ( from column 1",
        ),
        ("stray_close_paren", "Russia)", 7, "unexpected )"),
        ("empty_parens", "()", 2, "after (, found )"),
        (
            "unclosed_quote",
            "Russia \"Security Council",
            8,
            "never closed",
        ),
        ("empty_quotes", "Russia \"\"", 8, "empty quotes"),
        (
            "lowercase_and",
            "Russia and Ukraine",
            8,
            "write AND in capitals",
        ),
        (
            "titlecase_or",
            "Russia Or Ukraine",
            8,
            "write OR in capitals",
        ),
        (
            "near_reserved",
            "Putin NEAR/3 Trump",
            7,
            "NEAR is not supported yet",
        ),
        ("wildcard_reserved", "sanction*", 1, "wildcards"),
        (
            "field_reserved",
            "title:Russia",
            1,
            "\"title:\" inside a query",
        ),
        (
            "entity_reserved",
            "person:\"Vladimir Putin\"",
            1,
            "\"person:\"",
        ),
        ("minus_negation", "Russia -football", 8, "NOT football"),
        ("plus_required", "+Russia", 1, "without the +"),
    ];

    #[test]
    fn error_case_names_are_unique() {
        let mut names: Vec<_> = ERRORS.iter().map(|c| c.0).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn reports_each_error_with_its_column() {
        for (name, query, column, part) in ERRORS {
            let err = parse_query(query).expect_err(name);
            assert_eq!(err.column, *column, "case {name}: {err}");
            assert!(err.message.contains(part), "case {name}: {err}");
        }
    }

    #[test]
    fn refuses_deep_nesting() {
        let q = format!("{}a{}", "(".repeat(100), ")".repeat(100));
        let err = parse_query(&q).expect_err("too deep");
        assert!(err.message.contains("nested"), "{err}");
    }

    #[test]
    fn knows_queries_that_match_empty_text() {
        let empty = |q: &str| parse_query(q).expect("parses").matches_empty_text();
        assert!(empty("NOT football"));
        assert!(empty("NOT a NOT b"));
        assert!(empty("a OR NOT b"));
        assert!(!empty("a NOT b"));
        assert!(!empty("NOT NOT a"));
        assert!(!empty("(a OR b) NOT c"));
    }

    #[test]
    fn marks_terms_under_not_as_negative() {
        let e = parse_query("a NOT (b OR NOT c)").expect("parses");
        let mut seen = Vec::new();
        e.visit_terms(true, &mut |t, positive| {
            seen.push((t.text.clone(), positive))
        });
        assert_eq!(
            seen,
            [("a".into(), true), ("b".into(), false), ("c".into(), true)]
        );
    }
}
