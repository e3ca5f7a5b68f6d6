//! Byte and text helpers every layer shares: hexadecimal, percent escapes, ASCII trimming,
//! log-safe quoting and RFC 3339 times. This is the bottom layer: it knows no type of the crate.

pub mod der;
pub mod json_path;
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

/// Decodes `%XX` escapes; a malformed escape fails.
pub fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            let hi = hex_value(*input.get(i + 1)?)?;
            let lo = hex_value(*input.get(i + 2)?)?;
            out.push((hi << 4) | lo);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
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

#[cfg(test)]
mod tests {
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
}
