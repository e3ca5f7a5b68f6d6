//! `x-forwarded-client-cert` (XFCC), as Envoy's connection manager writes it.
//!
//! Grammar: elements separated by `,` (one per proxy hop); inside an element, `Key=Value` pairs
//! separated by `;`; keys are case-insensitive; a value that contains `,`, `;` or `=` is
//! double-quoted, with `"` inside escaped as `\"`. Envoy writes `By`, `Hash` (hex SHA-256 of the
//! DER), `Cert` (URL-encoded PEM), `Chain` (URL-encoded PEM of the whole chain), `Subject`,
//! `URI`, `DNS`.
//!
//! The parser is strict: anything ambiguous (several elements, a duplicate key, an unbalanced
//! quote, a stray quote, an empty key) is an error, never a best guess.

use std::fmt;

use crate::text::percent_escape_only;

/// Why an XFCC value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XfccError {
    /// The value holds no element, or its element holds no `Key=Value` pair.
    Empty,
    /// More than one non-empty element (the count): not what `SANITIZE_SET` writes, so which
    /// one this proxy wrote cannot be told.
    SeveralElements(usize),
    /// The double quotes do not pair up (or a quoted value ends on a lone backslash).
    UnbalancedQuote,
    /// A double quote where none may be: in a key, inside an unquoted value, or with text
    /// after the closing quote.
    StrayQuote,
    /// A backslash inside quotes is followed by something other than `"` or `\`.
    BadEscape,
    /// A `;`-separated pair has no `=`.
    MissingEquals,
    /// A pair has nothing before its `=`.
    EmptyKey,
    /// A key appears twice in the element (the key, lower case): which value counts would be
    /// a guess.
    DuplicateKey(String),
    /// The header value is not valid UTF-8.
    NotUtf8,
}

impl fmt::Display for XfccError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XfccError::Empty => f.write_str("x-forwarded-client-cert is empty"),
            XfccError::SeveralElements(n) => write!(
                f,
                "x-forwarded-client-cert has {n} elements where one is expected (use SANITIZE_SET)"
            ),
            XfccError::UnbalancedQuote => {
                f.write_str("x-forwarded-client-cert has an unbalanced quote")
            }
            XfccError::StrayQuote => {
                f.write_str("x-forwarded-client-cert has a quote inside an unquoted value")
            }
            XfccError::BadEscape => {
                f.write_str("x-forwarded-client-cert has a bad escape inside quotes")
            }
            XfccError::MissingEquals => {
                f.write_str("x-forwarded-client-cert has a pair without '='")
            }
            XfccError::EmptyKey => f.write_str("x-forwarded-client-cert has an empty key"),
            XfccError::DuplicateKey(k) => write!(f, "x-forwarded-client-cert repeats the key {k}"),
            XfccError::NotUtf8 => f.write_str("x-forwarded-client-cert is not valid UTF-8"),
        }
    }
}

impl std::error::Error for XfccError {}

/// One XFCC element: its pairs, keys in lower case, values unquoted and unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pairs: Vec<(String, String)>,
}

impl Element {
    /// The value of a key (case-insensitive).
    pub fn get(&self, key: &str) -> Option<&str> {
        let key = key.to_ascii_lowercase();
        self.pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Splits on `sep` outside double quotes; checks quotes balance.
fn split_outside_quotes(text: &str, sep: char) -> Result<Vec<&str>, XfccError> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if quoted || escaped {
        return Err(XfccError::UnbalancedQuote);
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn unquote(value: &str) -> Result<String, XfccError> {
    let Some(inner) = value.strip_prefix('"') else {
        if value.contains('"') {
            return Err(XfccError::StrayQuote);
        }
        return Ok(value.to_string());
    };
    let inner = inner.strip_suffix('"').ok_or(XfccError::StrayQuote)?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('"' | '\\')) => out.push(e),
                _ => return Err(XfccError::BadEscape),
            },
            '"' => return Err(XfccError::StrayQuote),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn parse_element(text: &str) -> Result<Element, XfccError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for pair in split_outside_quotes(text, ';')? {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').ok_or(XfccError::MissingEquals)?;
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() {
            return Err(XfccError::EmptyKey);
        }
        if key.contains('"') {
            return Err(XfccError::StrayQuote);
        }
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(XfccError::DuplicateKey(key));
        }
        pairs.push((key, unquote(value.trim())?));
    }
    if pairs.is_empty() {
        return Err(XfccError::Empty);
    }
    Ok(Element { pairs })
}

/// Parses an XFCC value that must hold exactly one element (what a connection manager with
/// `SANITIZE_SET` writes).
pub fn parse_single(value: &[u8]) -> Result<Element, XfccError> {
    let text = std::str::from_utf8(value).map_err(|_| XfccError::NotUtf8)?;
    let elements = split_outside_quotes(text, ',')?;
    let non_empty: Vec<&str> = elements
        .into_iter()
        .filter(|e| !e.trim().is_empty())
        .collect();
    match non_empty.as_slice() {
        [] => Err(XfccError::Empty),
        [one] => parse_element(one),
        many => Err(XfccError::SeveralElements(many.len())),
    }
}

/// Envoy's URL encoding of a PEM in XFCC `Cert` and `Chain` values: newline, space, `+`, `/`
/// and `=` become percent escapes, nothing else changes.
pub fn envoy_url_encode(pem: &str) -> String {
    percent_escape_only(pem, |c| matches!(c, '\n' | ' ' | '+' | '/' | '='))
}
