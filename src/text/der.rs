//! A minimal DER reader and writer: tag-length-value walking for the structures the crate reads
//! by hand (OCSP responses, large CRLs), where a full parser would hold every element in memory
//! at once. Only definite lengths in their shortest form are accepted (DER), tags of one byte.

use super::rfc3339::days_from_civil;

/// Universal tags the crate meets.
pub mod tag {
    /// BOOLEAN.
    pub const BOOLEAN: u8 = 0x01;
    /// INTEGER.
    pub const INTEGER: u8 = 0x02;
    /// BIT STRING.
    pub const BIT_STRING: u8 = 0x03;
    /// OCTET STRING.
    pub const OCTET_STRING: u8 = 0x04;
    /// NULL.
    pub const NULL: u8 = 0x05;
    /// OBJECT IDENTIFIER.
    pub const OID: u8 = 0x06;
    /// ENUMERATED.
    pub const ENUMERATED: u8 = 0x0a;
    /// UTCTime.
    pub const UTC_TIME: u8 = 0x17;
    /// GeneralizedTime.
    pub const GENERALIZED_TIME: u8 = 0x18;
    /// SEQUENCE (constructed).
    pub const SEQUENCE: u8 = 0x30;
    /// SET (constructed).
    pub const SET: u8 = 0x31;
    /// Context-specific, constructed, number `n` (`[n] EXPLICIT` or a constructed `[n] IMPLICIT`).
    pub const fn context(n: u8) -> u8 {
        0xa0 | n
    }
    /// Context-specific, primitive, number `n` (a primitive `[n] IMPLICIT`).
    pub const fn context_primitive(n: u8) -> u8 {
        0x80 | n
    }
}

/// The input is not the DER expected; the text says where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerError(pub &'static str);

impl std::fmt::Display for DerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for DerError {}

/// One element: its tag, its contents, and its whole encoding (for signatures over it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The identifier octet.
    pub tag: u8,
    /// The contents octets.
    pub contents: &'a [u8],
    /// Tag, length and contents, as they were in the input.
    pub raw: &'a [u8],
}

/// Reads elements one after the other from a byte string.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `input`.
    pub fn new(input: &'a [u8]) -> Reader<'a> {
        Reader { rest: input }
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The tag of the next element, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element, whatever its tag.
    pub fn any(&mut self) -> Result<Tlv<'a>, DerError> {
        let input = self.rest;
        let (&tag, after_tag) = input.split_first().ok_or(DerError("truncated element"))?;
        if tag & 0x1f == 0x1f {
            return Err(DerError("multi-byte tag"));
        }
        let (&first, after_len) = after_tag
            .split_first()
            .ok_or(DerError("truncated length"))?;
        let (len, after_len) = if first < 0x80 {
            (usize::from(first), after_len)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return Err(DerError("indefinite or oversized length"));
            }
            let bytes = after_len.get(..count).ok_or(DerError("truncated length"))?;
            if bytes[0] == 0 {
                return Err(DerError("length not in its shortest form"));
            }
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            if len < 0x80 {
                return Err(DerError("length not in its shortest form"));
            }
            (len, &after_len[count..])
        };
        let contents = after_len.get(..len).ok_or(DerError("truncated contents"))?;
        let header = input.len() - after_len.len();
        self.rest = &after_len[len..];
        Ok(Tlv {
            tag,
            contents,
            raw: &input[..header + len],
        })
    }

    /// The next element, which must have tag `tag`.
    pub fn expect(&mut self, tag: u8, what: &'static str) -> Result<Tlv<'a>, DerError> {
        let tlv = self.any().map_err(|_| DerError(what))?;
        if tlv.tag != tag {
            return Err(DerError(what));
        }
        Ok(tlv)
    }

    /// The next element if it has tag `tag`; `None` (nothing read) otherwise.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.any().map(Some)
        } else {
            Ok(None)
        }
    }

    /// The contents of the next element, which must have tag `tag`, as a new reader.
    pub fn nested(&mut self, tag: u8, what: &'static str) -> Result<Reader<'a>, DerError> {
        Ok(Reader::new(self.expect(tag, what)?.contents))
    }
}

/// A UTCTime or GeneralizedTime element (`YYMMDDHHMMSSZ` / `YYYYMMDDHHMMSS[.f]Z`) as Unix
/// seconds.
pub fn time(tlv: &Tlv<'_>) -> Result<i64, DerError> {
    let bad = DerError("not a UTCTime or GeneralizedTime in UTC");
    let text = std::str::from_utf8(tlv.contents).map_err(|_| bad.clone())?;
    let (year, rest) = match tlv.tag {
        tag::UTC_TIME => {
            let yy: i64 = digits(text.get(..2)).ok_or(bad.clone())?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
        }
        tag::GENERALIZED_TIME => (digits(text.get(..4)).ok_or(bad.clone())?, &text[4..]),
        _ => return Err(bad),
    };
    let rest = rest.strip_suffix('Z').ok_or(bad.clone())?;
    // Seconds are required; a GeneralizedTime fraction is ignored (the crate works in seconds).
    let rest = match (tlv.tag, rest.split_once('.')) {
        (tag::GENERALIZED_TIME, Some((whole, fraction)))
            if !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit()) =>
        {
            whole
        }
        (_, Some(_)) => return Err(bad),
        (_, None) => rest,
    };
    if rest.len() != 10 {
        return Err(bad);
    }
    let field = |r: std::ops::Range<usize>| digits(rest.get(r));
    let (month, day, hour, minute, second) = (
        field(0..2).ok_or(bad.clone())?,
        field(2..4).ok_or(bad.clone())?,
        field(4..6).ok_or(bad.clone())?,
        field(6..8).ok_or(bad.clone())?,
        field(8..10).ok_or(bad.clone())?,
    );
    // A day the month does not have and a leap second are refused, as x509-parser (the time
    // crate) refused them: a date must name one instant.
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=12).contains(&month)
        || !(1..=month_days).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad);
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

fn digits(text: Option<&str>) -> Option<i64> {
    let text = text?;
    if text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

/// Encodes one element: `tag`, the DER length of `contents`, `contents`.
pub fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(contents.len() + 6);
    out.push(tag);
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
}

/// Encodes one element whose contents are several elements, concatenated.
pub fn constructed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

/// The dotted text of an OBJECT IDENTIFIER's contents (`1.3.6.1.5.5.7.48.1.2`), for messages;
/// `?` for contents that are not a well-formed OID.
pub fn oid_text(contents: &[u8]) -> String {
    let mut arcs: Vec<u128> = Vec::new();
    let mut value: u128 = 0;
    for (i, b) in contents.iter().enumerate() {
        let fresh = i == 0 || contents[i - 1] & 0x80 == 0;
        if (fresh && *b == 0x80) || value > u128::MAX >> 8 {
            return "?".into();
        }
        value = (value << 7) | u128::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(value);
            value = 0;
        }
    }
    let Some((&first, rest)) = arcs.split_first() else {
        return "?".into();
    };
    if contents.last().is_some_and(|b| b & 0x80 != 0) {
        return "?".into();
    }
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut text = format!("{a}.{b}");
    for arc in rest {
        text.push('.');
        text.push_str(&arc.to_string());
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn elements_round_trip_with_short_and_long_lengths() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let contents = vec![7u8; len];
            let encoded = tlv(tag::OCTET_STRING, &contents);
            let mut reader = Reader::new(&encoded);
            let got = reader.any().unwrap();
            assert_eq!((got.tag, got.contents.len()), (tag::OCTET_STRING, len));
            assert_eq!(got.raw, encoded.as_slice());
            assert!(reader.is_empty());
        }
    }

    #[test]
    fn non_der_lengths_and_truncation_are_refused() {
        for bad in [
            &[0x04, 0x81, 0x05, 1, 2, 3, 4, 5][..], // long form for a short length
            &[0x04, 0x82, 0x00, 0x80],              // leading zero length byte
            &[0x04, 0x80],                          // indefinite
            &[0x04, 0x03, 1, 2],                    // truncated
            &[0x1f, 0x01, 0x00],                    // multi-byte tag
            &[0x04],
        ] {
            assert!(Reader::new(bad).any().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn times_in_both_forms() {
        let utc = Tlv {
            tag: tag::UTC_TIME,
            contents: b"700101000000Z",
            raw: &[],
        };
        assert_eq!(time(&utc).unwrap(), 0);
        let gen_time = Tlv {
            tag: tag::GENERALIZED_TIME,
            contents: b"20261130120000Z",
            raw: &[],
        };
        assert_eq!(time(&gen_time).unwrap(), 1_796_040_000);
        let fraction = Tlv {
            contents: b"20261130120000.5Z",
            ..gen_time
        };
        assert_eq!(time(&fraction).unwrap(), 1_796_040_000);
        let y2049 = Tlv {
            contents: b"491231235959Z",
            ..utc
        };
        assert_eq!(time(&y2049).unwrap(), 2_524_607_999);
        let leap_day = Tlv {
            contents: b"20280229000000Z",
            ..gen_time
        };
        assert!(time(&leap_day).is_ok());
        for bad in [
            &b"20261130120000"[..],
            b"2026113012000Z",
            b"20261330120000Z",
            b"20261130120000+0100",
            b"20260229120000Z",
            b"20261131120000Z",
            b"20261130235960Z",
        ] {
            assert!(
                time(&Tlv {
                    contents: bad,
                    ..gen_time
                })
                .is_err()
            );
        }
    }

    #[test]
    fn oids_as_text() {
        assert_eq!(
            oid_text(&[0x2b, 6, 1, 5, 5, 7, 0x30, 1, 2]),
            "1.3.6.1.5.5.7.48.1.2"
        );
        assert_eq!(oid_text(&[0x55, 0x1d, 0x25]), "2.5.29.37");
        assert_eq!(oid_text(&[0x88, 0x37, 0x03]), "2.999.3");
        assert_eq!(
            oid_text(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]),
            "1.2.840.113549"
        );
        for bad in [&[][..], &[0x2b, 0x86], &[0x80, 0x01]] {
            assert_eq!(oid_text(bad), "?", "{bad:?}");
        }
    }
}
