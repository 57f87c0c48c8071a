//! The query language of `query:` rules.
//!
//! ```text
//! query   := or
//! or      := and ("OR" and)*
//! and     := unary (["AND"] unary)*         adjacent terms are ANDed
//! unary   := "NOT" unary | near
//! near    := primary ("NEAR/" n primary)*   within n words, either order
//! primary := field ":" primary              title:, body:, source:
//!          | ref ":" (word | "phrase")      person:, country:, keyword:
//!          | "(" or ")" | "phrase" | word   a word may end in * (sanction*)
//! ```
//!
//! Precedence is NEAR > NOT > AND > OR: `NOT a NEAR/3 b` leaves out
//! articles where a is near b, and `a OR b AND c` is `a OR (b AND c)`, as
//! users expect from search engines. Operators are upper case; lower-case
//! `and`/`or`/`not`/`near` are refused with a hint rather than searched for,
//! because they are almost always a mistyped operator. Curly quotes count as
//! quotes (phones type them).
//!
//! `a NEAR/n b` holds when an occurrence of a and one of b have at most n
//! words between them, in either order, in the same field (`NEAR/0`: next
//! to each other). A chain `a NEAR/3 b NEAR/5 c` needs a b that is near
//! both. Its operands are words, phrases, references or `(x OR y)` groups of
//! them. A field qualifier applies to everything it is put on
//! (`title:(Russia OR Ukraine)`); `source:` looks at the feed's or outlet's
//! name, and a term without a qualifier at the title and the body.

use super::token::{BODY, SOURCE, TITLE};

/// Which texts of an article a term is looked for in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Fields(u8);

impl Fields {
    /// The headline only.
    pub const TITLE: Fields = Fields(1 << TITLE);
    /// The text only.
    pub const BODY: Fields = Fields(1 << BODY);
    /// The feed's or outlet's name only.
    pub const SOURCE: Fields = Fields(1 << SOURCE);
    /// Headline and text: terms without a qualifier.
    pub const CONTENT: Fields = Fields(1 << TITLE | 1 << BODY);

    /// Whether words of field `field` count.
    pub fn contains(self, field: u8) -> bool {
        self.0 & (1 << field) != 0
    }

    fn name(self) -> &'static str {
        match self {
            Fields::TITLE => "title:",
            Fields::BODY => "body:",
            Fields::SOURCE => "source:",
            _ => "",
        }
    }
}

/// Most words `NEAR/n` may allow between its terms.
pub(crate) const MAX_NEAR: u16 = 100;

/// A parsed query over terms of type `T`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Expr<T> {
    /// A term that must appear.
    Term(T),
    /// True when the inner query is false.
    Not(Box<Expr<T>>),
    /// True when every part is true.
    And(Vec<Expr<T>>),
    /// True when any part is true.
    Or(Vec<Expr<T>>),
    /// Parts near each other: part `k` and part `k + 1` at most `slop[k]`
    /// words apart, in either order. Parts are terms or ORs of terms.
    Near(Vec<Expr<T>>, Vec<u16>),
}

impl<T> Expr<T> {
    /// Evaluates with `present` telling whether a term is in the text,
    /// counting NEAR as AND (what it is when its words are close enough).
    pub fn eval(&self, present: &mut impl FnMut(&T) -> bool) -> bool {
        match self {
            Expr::Term(t) => present(t),
            Expr::Not(e) => !e.eval(present),
            Expr::And(es) | Expr::Near(es, _) => es.iter().all(|e| e.eval(present)),
            Expr::Or(es) => es.iter().any(|e| e.eval(present)),
        }
    }

    /// The same query over other terms.
    pub fn try_map<U, E>(self, f: &mut impl FnMut(T) -> Result<U, E>) -> Result<Expr<U>, E> {
        let all = |es: Vec<Expr<T>>, f: &mut _| -> Result<Vec<Expr<U>>, E> {
            es.into_iter().map(|e| e.try_map(f)).collect()
        };
        Ok(match self {
            Expr::Term(t) => Expr::Term(f(t)?),
            Expr::Not(e) => Expr::Not(Box::new(e.try_map(f)?)),
            Expr::And(es) => Expr::And(all(es, f)?),
            Expr::Or(es) => Expr::Or(all(es, f)?),
            Expr::Near(es, slop) => Expr::Near(all(es, f)?, slop),
        })
    }

    /// Visits every term with whether it is positive (under an even number
    /// of NOTs): positive terms are what a hit reports as its matched words.
    pub fn visit_terms(&self, positive: bool, f: &mut impl FnMut(&T, bool)) {
        match self {
            Expr::Term(t) => f(t, positive),
            Expr::Not(e) => e.visit_terms(!positive, f),
            Expr::And(es) | Expr::Or(es) | Expr::Near(es, _) => {
                es.iter().for_each(|e| e.visit_terms(positive, f))
            }
        }
    }

    /// Whether the query is true for a text that contains none of its terms,
    /// i.e. it would match nearly every article.
    pub fn matches_empty_text(&self) -> bool {
        self.eval(&mut |_| false)
    }

    /// The terms of a NEAR operand: the term, or the terms of an OR of terms.
    pub fn near_operand_terms(&self) -> Option<Vec<&T>> {
        match self {
            Expr::Term(t) => Some(vec![t]),
            Expr::Or(es) => es
                .iter()
                .map(|e| match e {
                    Expr::Term(t) => Some(t),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }
}

/// What a reference inside a query (`person:"Vladimir Putin"`) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefKind {
    /// `person:` a person, as a `person:` rule.
    Person,
    /// `country:` a country, as a `country:` rule (`+capital` inside quotes).
    Country,
    /// `keyword:` a phrase, as a `keyword:` rule (the same as a plain term).
    Keyword,
}

/// A query term as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawTerm {
    /// The word, or the text between the quotes.
    pub text: String,
    /// 1-based column (in characters) where the term starts.
    pub column: usize,
    /// `person:`, `country:` or `keyword:` in front of it.
    pub reference: Option<RefKind>,
    /// The field qualifier that applies to it, if any.
    pub fields: Option<Fields>,
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
    pub(crate) fn new(column: usize, message: impl Into<String>) -> QueryError {
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
    Near(u16),
    Field(Fields),
    Ref(RefKind),
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
            Lex::Near(n) => format!("NEAR/{n}"),
            Lex::Field(f) => f.name().into(),
            Lex::Ref(RefKind::Person) => "person:".into(),
            Lex::Ref(RefKind::Country) => "country:".into(),
            Lex::Ref(RefKind::Keyword) => "keyword:".into(),
            Lex::Word(w) => format!("\"{w}\""),
            Lex::Phrase(p) => format!("\"{p}\""),
        }
    }

    /// Can start an operand (a term, a group, a qualified term).
    fn starts_primary(&self) -> bool {
        matches!(
            self,
            Lex::Word(_) | Lex::Phrase(_) | Lex::LParen | Lex::Field(_) | Lex::Ref(_)
        )
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

/// What a `name:` prefix of a word is.
enum Prefix {
    Field(Fields),
    Ref(RefKind),
    Query,
}

fn prefix_of(name: &str) -> Option<Prefix> {
    let lower = name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "title" => Prefix::Field(Fields::TITLE),
        "body" => Prefix::Field(Fields::BODY),
        "source" => Prefix::Field(Fields::SOURCE),
        "person" => Prefix::Ref(RefKind::Person),
        "country" => Prefix::Ref(RefKind::Country),
        "keyword" => Prefix::Ref(RefKind::Keyword),
        "query" => Prefix::Query,
        _ => return None,
    })
}

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
            let next = chars.get(i).copied();
            lex_word(word, column, next, &mut items)?;
        }
    }
    Ok(items)
}

/// Classifies one whitespace-delimited word (`next` is the character right
/// after it), splitting off a `title:` or `person:` prefix.
fn lex_word(
    word: String,
    column: usize,
    next: Option<char>,
    items: &mut Vec<Item>,
) -> Result<(), QueryError> {
    if let Some((name, rest)) = word.split_once(':')
        && let Some(prefix) = prefix_of(name)
    {
        let (lex, needs) = match prefix {
            Prefix::Query => {
                return Err(QueryError::new(
                    column,
                    "query: cannot be used inside a query; write the query itself",
                ));
            }
            Prefix::Field(f) => (Lex::Field(f), "a word, a quoted phrase or ( right after it"),
            Prefix::Ref(r) => (
                Lex::Ref(r),
                "a name right after it, in quotes if it has spaces: person:\"Vladimir Putin\"",
            ),
        };
        items.push(Item { lex, column });
        let rest_column = column + name.chars().count() + 1;
        if !rest.is_empty() {
            return lex_word(rest.to_string(), rest_column, next, items);
        }
        let ok = match (&items[items.len() - 1].lex, next) {
            (_, Some(c)) if is_quote(c) => true,
            (Lex::Field(_), Some('(')) => true,
            _ => false,
        };
        if !ok {
            return Err(QueryError::new(
                rest_column,
                format!("{name}: needs {needs}"),
            ));
        }
        return Ok(());
    }
    let lex = classify_word(word, column)?;
    items.push(Item { lex, column });
    Ok(())
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
    if upper == "NEAR" {
        return Err(QueryError::new(
            column,
            "write NEAR/n, with n the most words allowed between the two terms, e.g. Putin NEAR/5 Trump",
        ));
    }
    if let Some(n) = upper.strip_prefix("NEAR/") {
        if !word.starts_with("NEAR/") {
            return Err(QueryError::new(
                column,
                format!(
                    "write NEAR/{n} in capitals for the operator, or put \"{word}\" in quotes to search for it"
                ),
            ));
        }
        return match n.parse::<u16>() {
            Ok(n) if n <= MAX_NEAR => Ok(Lex::Near(n)),
            Ok(_) => Err(QueryError::new(
                column,
                format!("NEAR allows at most {MAX_NEAR} words between terms"),
            )),
            Err(_) => Err(QueryError::new(
                column,
                "NEAR/ needs a number of words, e.g. NEAR/5",
            )),
        };
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
                Some(lex) if lex.starts_primary() || *lex == Lex::Not => parts.push(self.unary()?),
                _ => break,
            }
        }
        Ok(flatten(parts, Expr::And))
    }

    /// An error for a missing operand after `after`.
    fn expected_after(&self, after: &str) -> QueryError {
        match self.peek() {
            Some(item) => QueryError::new(
                item.column,
                format!(
                    "expected a word, a quoted phrase or ( after {after}, found {}",
                    item.lex.describe()
                ),
            ),
            None => QueryError::new(
                self.end_column,
                format!("expected a word, a quoted phrase or ( after {after}"),
            ),
        }
    }

    /// A unary expression that must follow `after`.
    fn unary_after(&mut self, after: &str) -> Result<Expr<RawTerm>, QueryError> {
        match self.peek() {
            Some(item) if item.lex.starts_primary() || item.lex == Lex::Not => self.unary(),
            _ => Err(self.expected_after(after)),
        }
    }

    fn unary(&mut self) -> Result<Expr<RawTerm>, QueryError> {
        if self.peek().is_some_and(|i| i.lex == Lex::Not) {
            self.next();
            let inner = self.unary_after("NOT")?;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.near()
    }

    /// A primary, or a NEAR chain of them.
    fn near(&mut self) -> Result<Expr<RawTerm>, QueryError> {
        let column = self.peek().map_or(self.end_column, |i| i.column);
        let first = self.primary()?;
        if !matches!(self.peek().map(|i| &i.lex), Some(Lex::Near(_))) {
            return Ok(first);
        }
        let mut parts = vec![(first, column)];
        let mut slop = Vec::new();
        while let Some(Item {
            lex: Lex::Near(n), ..
        }) = self.peek().cloned()
        {
            self.next();
            if let Some(item) = self.peek()
                && item.lex == Lex::Not
            {
                return Err(QueryError::new(
                    item.column,
                    "NOT cannot be inside NEAR: write (a NEAR/5 b) NOT c",
                ));
            }
            let column = self.peek().map_or(self.end_column, |i| i.column);
            let part = self.primary_after(&format!("NEAR/{n}"))?;
            parts.push((part, column));
            slop.push(n);
        }
        for (part, column) in &parts {
            if part.near_operand_terms().is_none() {
                return Err(QueryError::new(
                    *column,
                    "NEAR joins words, quoted phrases, references or (a OR b) groups of them",
                ));
            }
        }
        Ok(Expr::Near(
            parts.into_iter().map(|(p, _)| p).collect(),
            slop,
        ))
    }

    /// A primary that must follow `after`.
    fn primary_after(&mut self, after: &str) -> Result<Expr<RawTerm>, QueryError> {
        match self.peek() {
            Some(item) if item.lex.starts_primary() => self.primary(),
            _ => Err(self.expected_after(after)),
        }
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
                reference: None,
                fields: None,
            })),
            Lex::Ref(kind) => match self.next() {
                Some(Item {
                    lex: Lex::Word(text) | Lex::Phrase(text),
                    column,
                }) => Ok(Expr::Term(RawTerm {
                    text,
                    column,
                    reference: Some(kind),
                    fields: None,
                })),
                _ => Err(QueryError::new(
                    item.column,
                    format!(
                        "{} needs a name right after it, in quotes if it has spaces",
                        item.lex.describe()
                    ),
                )),
            },
            Lex::Field(fields) => {
                let inner = self.primary_after(fields.name())?;
                apply_fields(inner, fields, item.column)
            }
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

/// Puts the qualifier `fields` on every term of `expr`; a term qualified
/// otherwise already is an error (`title:(source:x)`).
fn apply_fields(
    expr: Expr<RawTerm>,
    fields: Fields,
    column: usize,
) -> Result<Expr<RawTerm>, QueryError> {
    expr.try_map(&mut |mut term: RawTerm| match term.fields {
        Some(other) if other != fields => Err(QueryError::new(
            column,
            format!(
                "{} and {} on the same term: use one",
                fields.name(),
                other.name()
            ),
        )),
        _ => {
            term.fields = Some(fields);
            Ok(term)
        }
    })
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
        let list = |es: &[Expr<RawTerm>]| es.iter().map(show).collect::<Vec<_>>().join(" ");
        match e {
            Expr::Term(t) => {
                let mut s = String::new();
                if let Some(f) = t.fields {
                    s.push_str(f.name());
                }
                match t.reference {
                    Some(RefKind::Person) => s.push_str("P="),
                    Some(RefKind::Country) => s.push_str("C="),
                    Some(RefKind::Keyword) => s.push_str("K="),
                    None => {}
                }
                s.push_str(&t.text);
                s
            }
            Expr::Not(e) => format!("-{}", show(e)),
            Expr::And(es) => format!("&({})", list(es)),
            Expr::Or(es) => format!("|({})", list(es)),
            Expr::Near(es, slop) => format!("~{slop:?}({})", list(es)),
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
        ("unknown_prefix_is_a_word", "http://x", "http://x"),
        ("lone_dash_is_a_word", "a - b", "&(a - b)"),
        ("near", "Putin NEAR/3 Trump", "~[3](Putin Trump)"),
        ("near_zero", "a NEAR/0 b", "~[0](a b)"),
        ("near_chain", "a NEAR/3 b NEAR/5 c", "~[3, 5](a b c)"),
        (
            "near_binds_tighter_than_and",
            "a NEAR/2 b AND c",
            "&(~[2](a b) c)",
        ),
        (
            "near_binds_tighter_than_or",
            "a OR b NEAR/2 c",
            "|(a ~[2](b c))",
        ),
        ("not_of_near", "x NOT a NEAR/2 b", "&(x -~[2](a b))"),
        ("near_group", "(a OR b) NEAR/4 c", "~[4](|(a b) c)"),
        (
            "near_phrase",
            "\"grain deal\" NEAR/5 Russia",
            "~[5](grain deal Russia)",
        ),
        ("wildcard_is_a_word", "sanction*", "sanction*"),
        ("title_word", "title:Russia", "title:Russia"),
        (
            "title_phrase",
            "title:\"Security Council\"",
            "title:Security Council",
        ),
        (
            "title_group",
            "title:(Russia OR Ukraine) grain",
            "&(|(title:Russia title:Ukraine) grain)",
        ),
        ("field_any_case", "Title:Russia", "title:Russia"),
        (
            "source_word",
            "source:Reuters Russia",
            "&(source:Reuters Russia)",
        ),
        ("body_word", "body:grain", "body:grain"),
        (
            "person_ref",
            "person:\"Vladimir Putin\" AND country:Ukraine",
            "&(P=Vladimir Putin C=Ukraine)",
        ),
        ("keyword_ref", "keyword:UN", "K=UN"),
        (
            "country_ref_with_capital",
            "country:\"Russia +capital\"",
            "C=Russia +capital",
        ),
        ("title_ref", "title:(person:Putin)", "title:P=Putin"),
        (
            "near_refs",
            "person:Putin NEAR/5 country:Ukraine",
            "~[5](P=Putin C=Ukraine)",
        ),
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
        ("near_without_number", "Putin NEAR Trump", 7, "write NEAR/n"),
        (
            "near_lowercase",
            "Putin near/3 Trump",
            7,
            "write NEAR/3 in capitals",
        ),
        ("near_not_a_number", "a NEAR/x b", 3, "needs a number"),
        ("near_too_far", "a NEAR/500 b", 3, "at most 100"),
        ("near_trailing", "a NEAR/3", 9, "after NEAR/3"),
        ("near_leading", "NEAR/3 a", 1, "found NEAR/3"),
        (
            "near_with_not",
            "a NEAR/3 NOT b",
            10,
            "NOT cannot be inside NEAR",
        ),
        ("near_of_and_group", "(a b) NEAR/3 c", 1, "NEAR joins words"),
        (
            "near_of_not_group",
            "a NEAR/3 (b OR NOT c)",
            10,
            "NEAR joins words",
        ),
        (
            "field_then_space",
            "title: Russia",
            7,
            "title: needs a word",
        ),
        ("field_at_end", "grain title:", 13, "title: needs"),
        ("ref_then_space", "person: Putin", 8, "person: needs a name"),
        ("ref_of_group", "person:(Putin)", 8, "person: needs a name"),
        (
            "conflicting_fields",
            "title:(source:Reuters)",
            1,
            "title: and source: on the same term",
        ),
        ("nested_query", "query:x", 1, "query: cannot be used"),
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
        assert!(empty("NOT a NEAR/3 b"));
        assert!(!empty("a NOT b"));
        assert!(!empty("NOT NOT a"));
        assert!(!empty("(a OR b) NOT c"));
        assert!(!empty("a NEAR/3 b"));
        assert!(!empty("source:Reuters"));
    }

    #[test]
    fn marks_terms_under_not_as_negative() {
        let e = parse_query("a NOT (b OR NOT c) NOT d NEAR/2 e").expect("parses");
        let mut seen = Vec::new();
        e.visit_terms(true, &mut |t, positive| {
            seen.push((t.text.clone(), positive))
        });
        assert_eq!(
            seen,
            [
                ("a".into(), true),
                ("b".into(), false),
                ("c".into(), true),
                ("d".into(), false),
                ("e".into(), false)
            ]
        );
    }
}
