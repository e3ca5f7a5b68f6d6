//! Byte and text helpers every layer shares: hexadecimal, percent escapes, ASCII trimming,
//! log-safe quoting and RFC 3339 times. This is the bottom layer: it knows no type of the crate.

use std::borrow::Cow;

pub mod der;
pub mod digest_map;
pub mod pattern;
pub mod rfc3339;

/// The value of one hexadecimal digit, either case.
pub fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes hexadecimal digits (either case, no separators); `None` for an odd length or a
/// non-digit.
pub fn hex_decode(digits: &[u8]) -> Option<Vec<u8>> {
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| Some((hex_value(pair[0])? << 4) | hex_value(pair[1])?))
        .collect()
}

/// Lower-case hexadecimal.
pub fn hex_lower(bytes: &[u8]) -> String {
    hex(bytes, b"0123456789abcdef")
}

/// Upper-case hexadecimal (as Application Gateway and nginx write thumbprints and serials).
pub fn hex_upper(bytes: &[u8]) -> String {
    hex(bytes, b"0123456789ABCDEF")
}

fn hex(bytes: &[u8], digits: &[u8; 16]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes, digits);
    out
}

/// Appends lower-case hexadecimal to `out`.
pub fn push_hex_lower(out: &mut String, bytes: &[u8]) {
    push_hex(out, bytes, b"0123456789abcdef");
}

fn push_hex(out: &mut String, bytes: &[u8], digits: &[u8; 16]) {
    for &b in bytes {
        out.push(char::from(digits[usize::from(b >> 4)]));
        out.push(char::from(digits[usize::from(b & 0x0f)]));
    }
}

/// The byte a `%XX` escape at `input[i]` (the `%`) stands for; `None` when the two hex
/// digits are not there.
pub fn percent_escape_at(input: &[u8], i: usize) -> Option<u8> {
    let hi = hex_value(*input.get(i + 1)?)?;
    let lo = hex_value(*input.get(i + 2)?)?;
    Some((hi << 4) | lo)
}

/// Decodes `%XX` escapes; a malformed escape fails.
pub fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            out.push(percent_escape_at(input, i)?);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Percent-encoding with upper-case escapes: letters, digits, `-`, `_`, `.`, `~` and `safe`
/// are kept; with `space_plus` a space is `+` (a URL query, Go's `url.QueryEscape`),
/// otherwise `%20` (Python's `urllib.parse.quote`).
pub fn percent_encode(input: &[u8], safe: &[u8], space_plus: bool) -> String {
    let mut out = String::with_capacity(input.len() + input.len() / 4);
    for &b in input {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || safe.contains(&b)
        {
            out.push(char::from(b));
        } else if b == b' ' && space_plus {
            out.push('+');
        } else {
            push_percent_escape(&mut out, b);
        }
    }
    out
}

/// The ASCII characters `escape` picks as `%XX` escapes (upper-case hex), every other
/// character as it is.
pub fn percent_escape_only(text: &str, escape: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for ch in text.chars() {
        match u8::try_from(ch) {
            Ok(b) if ch.is_ascii() && escape(ch) => push_percent_escape(&mut out, b),
            _ => out.push(ch),
        }
    }
    out
}

/// Appends `%XX`, upper-case hex.
fn push_percent_escape(out: &mut String, b: u8) {
    out.push('%');
    push_hex(out, &[b], b"0123456789ABCDEF");
}

/// The lines of one header as one value: a single line as it is, several joined with `", "`
/// (as HTTP allows for list-valued headers), so ambiguity stays visible; `None` without a line.
pub fn join_lines<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Option<Cow<'a, [u8]>> {
    let mut lines = lines.into_iter();
    let first = lines.next()?;
    let Some(second) = lines.next() else {
        return Some(Cow::Borrowed(first));
    };
    let mut joined = first.to_vec();
    for line in std::iter::once(second).chain(lines) {
        joined.extend_from_slice(b", ");
        joined.extend_from_slice(line);
    }
    Some(Cow::Owned(joined))
}

/// Trims ASCII whitespace only: a name padded with other Unicode spaces is another name.
pub fn trim_ascii(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_whitespace())
}

/// The longest quoted value a log line carries, in bytes of input.
pub const LOG_VALUE_LIMIT: usize = 256;

/// Printable ASCII only, quotes and backslashes escaped, at most [`LOG_VALUE_LIMIT`] bytes
/// (then `...`): safe inside a double-quoted field of a log line, whatever a client sent.
pub fn log_safe(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(LOG_VALUE_LIMIT) {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > LOG_VALUE_LIMIT {
        out.push_str("...");
    }
    out
}

/// `text` as a JSON string literal, escaped as serde_json writes it (`"`, `\\`, and control
/// characters; `\b \f \n \r \t` by name, the others as `\u00xx`), so a reply body needs no
/// JSON serializer in the module.
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                out.push_str("\\u00");
                push_hex_lower(&mut out, &[c as u8]);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Sorts `items` in place (a heapsort: O(n log n) on any input, a few hundred bytes of code).
/// The standard library's sorts add several kilobytes to the module per element type, which
/// is worth it for the large lists (a CRL's serials), not for a Name's few attributes. Not
/// stable: equal items may swap, so only for items whose equal ones are indistinguishable.
pub fn heap_sort<T: Ord>(items: &mut [T]) {
    let len = items.len();
    for root in (0..len / 2).rev() {
        sift_down(items, root, len);
    }
    for end in (1..len).rev() {
        items.swap(0, end);
        sift_down(items, 0, end);
    }
}

/// Moves `items[root]` down the heap `items[..end]` until both its children are smaller.
fn sift_down<T: Ord>(items: &mut [T], mut root: usize, end: usize) {
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && items[child] < items[child + 1] {
            child += 1;
        }
        if items[root] >= items[child] {
            return;
        }
        items.swap(root, child);
        root = child;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hex_digits_decode_in_either_case_and_nothing_else_does() {
        for (digit, value) in [
            (b'0', 0),
            (b'9', 9),
            (b'a', 10),
            (b'f', 15),
            (b'A', 10),
            (b'F', 15),
        ] {
            assert_eq!(hex_value(digit), Some(value), "{}", char::from(digit));
        }
        for not_digit in [b'g', b'G', b'/', b':', b'@', b'`', b' '] {
            assert_eq!(hex_value(not_digit), None, "{}", char::from(not_digit));
        }
    }

    #[test]
    fn hex_round_trips_and_refuses_odd_or_foreign_input() {
        let bytes = [0x00, 0x0f, 0xa5, 0xff];
        assert_eq!(hex_lower(&bytes), "000fa5ff");
        assert_eq!(hex_upper(&bytes), "000FA5FF");
        assert_eq!(hex_decode(b"000fA5Ff"), Some(bytes.to_vec()));
        assert_eq!(hex_decode(b""), Some(Vec::new()));
        assert_eq!(hex_decode(b"abc"), None);
        assert_eq!(hex_decode(b"zz"), None);
    }

    #[test]
    fn percent_escapes_decode_and_malformed_ones_fail() {
        assert_eq!(percent_decode(b"a%2Fb%2fc"), Some(b"a/b/c".to_vec()));
        assert_eq!(percent_decode(b"plain"), Some(b"plain".to_vec()));
        for bad in [&b"%"[..], b"%2", b"%zz", b"a%2g"] {
            assert_eq!(percent_decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn percent_encoding_as_python_quote_and_go_query_escape() {
        assert_eq!(
            percent_encode(b"-----BEGIN X-----\nab+/=\n", b"+=/", false),
            "-----BEGIN%20X-----%0Aab+/=%0A"
        );
        assert_eq!(
            percent_encode(b"Subject=\"CN=a b,O=c\";x~_.", b"", true),
            "Subject%3D%22CN%3Da+b%2CO%3Dc%22%3Bx~_."
        );
        assert_eq!(percent_encode(&[0xc3, 0xa9], b"", true), "%C3%A9");
    }

    #[test]
    fn trimming_is_ascii_only() {
        assert_eq!(trim_ascii(" \t alice \r\n"), "alice");
        assert_eq!(trim_ascii("\u{a0}alice"), "\u{a0}alice");
    }

    #[test]
    fn log_values_are_printable_escaped_and_bounded() {
        assert_eq!(
            log_safe(b"/a\"b\\c\n\x7f\xff"),
            "/a\\\"b\\\\c\\x0a\\x7f\\xff"
        );
        let long = vec![b'a'; LOG_VALUE_LIMIT + 1];
        let logged = log_safe(&long);
        assert_eq!(logged.len(), LOG_VALUE_LIMIT + 3);
        assert!(logged.ends_with("a..."));
        assert_eq!(log_safe(&long[..LOG_VALUE_LIMIT]).len(), LOG_VALUE_LIMIT);
    }

    #[test]
    fn heap_sort_sorts_as_the_standard_sort_does() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in [0usize, 1, 2, 3, 7, 8, 64, 1000] {
            let mut items: Vec<(u8, String)> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    ((seed % 5) as u8, format!("{}", seed % 7))
                })
                .collect();
            let mut expected = items.clone();
            expected.sort();
            super::heap_sort(&mut items);
            assert_eq!(items, expected, "{len} items");
        }
    }

    #[test]
    fn json_string_escapes_as_serde_json_does() {
        let mut all: String = (0u32..0x80).filter_map(char::from_u32).collect();
        all.push_str("é€😀\u{2028}/");
        for text in [all.as_str(), "", "plain", "a\"b\\c", "\u{0}\u{1f}\u{7f}"] {
            assert_eq!(
                super::json_string(text),
                serde_json::to_string(text).unwrap(),
                "{text:?}"
            );
        }
    }
}
