//! A strict JSON parser into a small tree with byte offsets: what the configuration reader
//! ([`super::read`]) walks.
//!
//! It accepts exactly what `serde_json::from_slice::<serde_json::Value>` accepts, reads numbers
//! as serde_json does (its default algorithm, not `float_roundtrip`: integers as `u64` or `i64`,
//! anything else as the `f64` its parser computes, `-0` a float) and refuses with serde_json's
//! words at serde_json's position, so the configuration language did not change when serde left
//! the module. `fuzz/fuzz_targets/config.rs` and `tests/native/config.rs` hold it against
//! serde_json. Nesting is bounded as serde_json bounds it (127 arrays or objects deep), so a
//! hostile configuration cannot exhaust the stack of the parser, the reader or the drop.
//!
//! Duplicate keys are kept, in order: refusing them is the reader's business (serde_json's
//! `Value` keeps the last).

/// One JSON value and where it lies in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The offset of its first byte.
    pub start: usize,
    /// The offset just after its last byte.
    pub end: usize,
    /// What it is.
    pub kind: Kind,
}

/// What a value is.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as serde_json reads it (its text is `start..end` of the document).
    Number(Number),
    /// A string, escapes decoded.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object's members in document order, duplicates kept.
    Object(Vec<Member>),
}

/// One member of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The key, escapes decoded.
    pub key: String,
    /// The offset just after the key's closing quote.
    pub key_end: usize,
    /// The value.
    pub value: Value,
}

/// A number as serde_json reads it into its `Value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer from 0 to `u64::MAX`.
    PosInt(u64),
    /// A negative integer from `i64::MIN`.
    NegInt(i64),
    /// Anything else: a fraction, an exponent, `-0`, an integer beyond 64 bits.
    Float(f64),
}

/// Why a text is not JSON: serde_json's error code, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong.
    pub code: Code,
    /// The offset serde_json computes its line and column from ([`position`]).
    pub offset: usize,
}

/// serde_json's syntax error codes, the ones its `Value` parser can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// `EOF while parsing a list`.
    EofWhileParsingList,
    /// `EOF while parsing an object`.
    EofWhileParsingObject,
    /// `EOF while parsing a string`.
    EofWhileParsingString,
    /// `EOF while parsing a value`.
    EofWhileParsingValue,
    /// ``expected `:` ``.
    ExpectedColon,
    /// ``expected `,` or `]` ``.
    ExpectedListCommaOrEnd,
    /// ``expected `,` or `}` ``.
    ExpectedObjectCommaOrEnd,
    /// `expected ident` (a misspelt `true`, `false` or `null`).
    ExpectedSomeIdent,
    /// `expected value`.
    ExpectedSomeValue,
    /// `invalid escape`.
    InvalidEscape,
    /// `invalid number`.
    InvalidNumber,
    /// `number out of range`.
    NumberOutOfRange,
    /// `invalid unicode code point` (a string that is not UTF-8).
    InvalidUnicodeCodePoint,
    /// `control character (\u0000-\u001F) found while parsing a string`.
    ControlCharacterWhileParsingString,
    /// `key must be a string`.
    KeyMustBeAString,
    /// `lone leading surrogate in hex escape` (serde_json's words for a lone trailing one too).
    LoneLeadingSurrogateInHexEscape,
    /// `trailing comma`.
    TrailingComma,
    /// `trailing characters`.
    TrailingCharacters,
    /// `unexpected end of hex escape`.
    UnexpectedEndOfHexEscape,
    /// `recursion limit exceeded`.
    RecursionLimitExceeded,
}

impl Code {
    /// serde_json's message for the code.
    pub fn message(self) -> &'static str {
        match self {
            Code::EofWhileParsingList => "EOF while parsing a list",
            Code::EofWhileParsingObject => "EOF while parsing an object",
            Code::EofWhileParsingString => "EOF while parsing a string",
            Code::EofWhileParsingValue => "EOF while parsing a value",
            Code::ExpectedColon => "expected `:`",
            Code::ExpectedListCommaOrEnd => "expected `,` or `]`",
            Code::ExpectedObjectCommaOrEnd => "expected `,` or `}`",
            Code::ExpectedSomeIdent => "expected ident",
            Code::ExpectedSomeValue => "expected value",
            Code::InvalidEscape => "invalid escape",
            Code::InvalidNumber => "invalid number",
            Code::NumberOutOfRange => "number out of range",
            Code::InvalidUnicodeCodePoint => "invalid unicode code point",
            Code::ControlCharacterWhileParsingString => {
                "control character (\\u0000-\\u001F) found while parsing a string"
            }
            Code::KeyMustBeAString => "key must be a string",
            Code::LoneLeadingSurrogateInHexEscape => "lone leading surrogate in hex escape",
            Code::TrailingComma => "trailing comma",
            Code::TrailingCharacters => "trailing characters",
            Code::UnexpectedEndOfHexEscape => "unexpected end of hex escape",
            Code::RecursionLimitExceeded => "recursion limit exceeded",
        }
    }
}

impl SyntaxError {
    /// The error as serde_json displays it: `expected value at line 1 column 20`.
    pub fn message(&self, text: &[u8]) -> String {
        let mut out = self.code.message().to_string();
        push_position(&mut out, text, self.offset);
        out
    }
}

/// serde_json's line (from 1) and column (bytes since the line's start) of an offset.
pub fn position(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |newline| newline + 1);
    let line = 1 + before[..line_start].iter().filter(|&&b| b == b'\n').count();
    (line, before.len() - line_start)
}

/// Appends ` at line L column C`, as serde_json ends its messages.
pub fn push_position(out: &mut String, text: &[u8], offset: usize) {
    let (line, column) = position(text, offset);
    out.push_str(" at line ");
    out.push_str(&line.to_string());
    out.push_str(" column ");
    out.push_str(&column.to_string());
}

/// Parses a whole document: one value, whitespace around it.
pub fn parse(text: &[u8]) -> Result<Value, SyntaxError> {
    let mut parser = Parser {
        text,
        i: 0,
        depth: 128,
    };
    let value = parser.value()?;
    match parser.whitespace() {
        Some(_) => Err(parser.peek_error(Code::TrailingCharacters)),
        None => Ok(value),
    }
}

/// The parser's state; each method mirrors the serde_json function of the same role (named in
/// its comment), including the offset each error is reported at.
struct Parser<'a> {
    text: &'a [u8],
    /// The next byte to read.
    i: usize,
    /// serde_json's `remaining_depth`: 128, one less inside each array or object; 0 is refused.
    depth: u8,
}

/// `a * 10 + b` would overflow `max` (serde_json's `overflow!`).
fn overflows(a: u64, b: u64, max: u64) -> bool {
    a >= max / 10 && (a > max / 10 || b > max % 10)
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.i).copied()
    }

    /// `next_char`.
    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    /// serde_json's `error`: about the byte just read.
    fn error(&self, code: Code) -> SyntaxError {
        SyntaxError {
            code,
            offset: self.i,
        }
    }

    /// serde_json's `peek_error`: about the byte about to be read.
    fn peek_error(&self, code: Code) -> SyntaxError {
        SyntaxError {
            code,
            offset: (self.i + 1).min(self.text.len()),
        }
    }

    /// `parse_whitespace`: skips JSON whitespace, returns the next byte (not read).
    fn whitespace(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.i += 1;
        }
        self.peek()
    }

    /// `deserialize_any` into a `Value`.
    fn value(&mut self) -> Result<Value, SyntaxError> {
        let Some(first) = self.whitespace() else {
            return Err(self.peek_error(Code::EofWhileParsingValue));
        };
        let start = self.i;
        let kind = match first {
            b'n' => self.ident(b"null", Kind::Null)?,
            b't' => self.ident(b"true", Kind::Bool(true))?,
            b'f' => self.ident(b"false", Kind::Bool(false))?,
            b'-' => {
                self.i += 1;
                Kind::Number(self.integer(false)?)
            }
            b'0'..=b'9' => Kind::Number(self.integer(true)?),
            b'"' => {
                self.i += 1;
                Kind::String(self.string()?)
            }
            b'[' | b'{' => {
                self.depth -= 1;
                if self.depth == 0 {
                    return Err(self.peek_error(Code::RecursionLimitExceeded));
                }
                self.i += 1;
                let kind = if first == b'[' {
                    Kind::Array(self.array()?)
                } else {
                    Kind::Object(self.object()?)
                };
                self.depth += 1;
                kind
            }
            _ => return Err(self.peek_error(Code::ExpectedSomeValue)),
        };
        Ok(Value {
            start,
            end: self.i,
            kind,
        })
    }

    /// `parse_ident`, its first byte included (already peeked).
    fn ident(&mut self, word: &[u8], kind: Kind) -> Result<Kind, SyntaxError> {
        for &expected in word {
            match self.next() {
                None => return Err(self.error(Code::EofWhileParsingValue)),
                Some(b) if b != expected => return Err(self.error(Code::ExpectedSomeIdent)),
                Some(_) => {}
            }
        }
        Ok(kind)
    }

    /// The elements after `[` (`SeqAccess`), and the `]`.
    fn array(&mut self) -> Result<Vec<Value>, SyntaxError> {
        let mut items = Vec::new();
        loop {
            match self.whitespace() {
                None => return Err(self.peek_error(Code::EofWhileParsingList)),
                Some(b']') => break,
                Some(_) if items.is_empty() => {}
                Some(b',') => {
                    self.i += 1;
                    match self.whitespace() {
                        Some(b']') => return Err(self.peek_error(Code::TrailingComma)),
                        Some(_) => {}
                        None => return Err(self.peek_error(Code::EofWhileParsingValue)),
                    }
                }
                Some(_) => return Err(self.peek_error(Code::ExpectedListCommaOrEnd)),
            }
            items.push(self.value()?);
        }
        self.i += 1;
        Ok(items)
    }

    /// The members after `{` (`MapAccess`), and the `}`.
    fn object(&mut self) -> Result<Vec<Member>, SyntaxError> {
        let mut members = Vec::new();
        loop {
            match self.whitespace() {
                None => return Err(self.peek_error(Code::EofWhileParsingObject)),
                Some(b'}') => break,
                Some(b'"') if members.is_empty() => {}
                Some(_) if members.is_empty() => {
                    return Err(self.peek_error(Code::KeyMustBeAString));
                }
                Some(b',') => {
                    self.i += 1;
                    match self.whitespace() {
                        Some(b'"') => {}
                        Some(b'}') => return Err(self.peek_error(Code::TrailingComma)),
                        Some(_) => return Err(self.peek_error(Code::KeyMustBeAString)),
                        None => return Err(self.peek_error(Code::EofWhileParsingValue)),
                    }
                }
                Some(_) => return Err(self.peek_error(Code::ExpectedObjectCommaOrEnd)),
            }
            self.i += 1;
            let key = self.string()?;
            let key_end = self.i;
            // `parse_object_colon`.
            match self.whitespace() {
                Some(b':') => self.i += 1,
                Some(_) => return Err(self.peek_error(Code::ExpectedColon)),
                None => return Err(self.peek_error(Code::EofWhileParsingObject)),
            }
            let value = self.value()?;
            members.push(Member {
                key,
                key_end,
                value,
            });
        }
        self.i += 1;
        Ok(members)
    }

    /// The rest of a string after its opening quote (`parse_str`), and the closing quote.
    fn string(&mut self) -> Result<String, SyntaxError> {
        let mut out = Vec::new();
        loop {
            match self.next() {
                None => return Err(self.error(Code::EofWhileParsingString)),
                Some(b'"') => break,
                Some(b'\\') => self.escape(&mut out)?,
                Some(0..=0x1f) => return Err(self.error(Code::ControlCharacterWhileParsingString)),
                Some(b) => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|e| SyntaxError {
            code: Code::InvalidUnicodeCodePoint,
            // serde_json points back from the closing quote by the undecodable bytes' count.
            offset: self
                .i
                .saturating_sub(e.as_bytes().len() - e.utf8_error().valid_up_to()),
        })
    }

    /// One escape after its backslash (`parse_escape`).
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), SyntaxError> {
        let decoded = match self.next() {
            None => return Err(self.error(Code::EofWhileParsingString)),
            Some(b'u') => return self.unicode_escape(out),
            Some(b @ (b'"' | b'\\' | b'/')) => b,
            Some(b'b') => b'\x08',
            Some(b'f') => b'\x0c',
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(_) => return Err(self.error(Code::InvalidEscape)),
        };
        out.push(decoded);
        Ok(())
    }

    /// Four hex digits (`decode_hex_escape`).
    fn hex4(&mut self) -> Result<u16, SyntaxError> {
        let Some(digits) = self.text.get(self.i..self.i + 4) else {
            self.i = self.text.len();
            return Err(self.error(Code::EofWhileParsingString));
        };
        self.i += 4;
        let mut n = 0u16;
        for &d in digits {
            let Some(v) = (d as char).to_digit(16) else {
                return Err(self.error(Code::InvalidEscape));
            };
            n = n << 4 | v as u16;
        }
        Ok(n)
    }

    /// `\u` and its digits, a surrogate pair in two escapes (`parse_unicode_escape`).
    fn unicode_escape(&mut self, out: &mut Vec<u8>) -> Result<(), SyntaxError> {
        let n = self.hex4()?;
        let code = match n {
            0xDC00..=0xDFFF => return Err(self.error(Code::LoneLeadingSurrogateInHexEscape)),
            0xD800..=0xDBFF => {
                for expected in [b'\\', b'u'] {
                    match self.next() {
                        None => return Err(self.error(Code::EofWhileParsingString)),
                        Some(b) if b != expected => {
                            return Err(self.error(Code::UnexpectedEndOfHexEscape));
                        }
                        Some(_) => {}
                    }
                }
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(self.error(Code::LoneLeadingSurrogateInHexEscape));
                }
                ((((n - 0xD800) as u32) << 10) | (low - 0xDC00) as u32) + 0x1_0000
            }
            _ => n as u32,
        };
        // Never a surrogate here, so always a char.
        if let Some(c) = char::from_u32(code) {
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        }
        Ok(())
    }

    /// A number after its sign (`parse_integer`).
    fn integer(&mut self, positive: bool) -> Result<Number, SyntaxError> {
        let significand = match self.next() {
            None => return Err(self.error(Code::EofWhileParsingValue)),
            Some(b'0') => {
                // There can be only one leading '0'.
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.peek_error(Code::InvalidNumber));
                }
                0
            }
            Some(c @ b'1'..=b'9') => {
                let mut significand = (c - b'0') as u64;
                while let Some(c @ b'0'..=b'9') = self.peek() {
                    let digit = (c - b'0') as u64;
                    if overflows(significand, digit, u64::MAX) {
                        return Ok(Number::Float(self.long_integer(positive, significand)?));
                    }
                    self.i += 1;
                    significand = significand * 10 + digit;
                }
                significand
            }
            Some(_) => return Err(self.error(Code::InvalidNumber)),
        };
        // `parse_number`.
        Ok(match self.peek() {
            Some(b'.') => Number::Float(self.decimal(positive, significand, 0)?),
            Some(b'e' | b'E') => Number::Float(self.exponent(positive, significand, 0)?),
            _ if positive => Number::PosInt(significand),
            _ => {
                let negative = (significand as i64).wrapping_neg();
                // A float on underflow, or for `-0`.
                if negative >= 0 {
                    Number::Float(-(significand as f64))
                } else {
                    Number::NegInt(negative)
                }
            }
        })
    }

    /// The digits of an integer beyond `u64`: counted, not kept (`parse_long_integer`).
    fn long_integer(&mut self, positive: bool, significand: u64) -> Result<f64, SyntaxError> {
        let mut exponent: i32 = 0;
        loop {
            match self.peek() {
                Some(b'0'..=b'9') => {
                    self.i += 1;
                    exponent = exponent.wrapping_add(1);
                }
                Some(b'.') => return self.decimal(positive, significand, exponent),
                Some(b'e' | b'E') => return self.exponent(positive, significand, exponent),
                _ => return self.f64_from_parts(positive, significand, exponent),
            }
        }
    }

    /// The fraction, from its `.` (`parse_decimal`).
    fn decimal(
        &mut self,
        positive: bool,
        mut significand: u64,
        exponent_before: i32,
    ) -> Result<f64, SyntaxError> {
        self.i += 1;
        let mut exponent_after: i32 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            let digit = (c - b'0') as u64;
            if overflows(significand, digit, u64::MAX) {
                // `parse_decimal_overflow`: the digits that do not fit are ignored.
                while let Some(b'0'..=b'9') = self.peek() {
                    self.i += 1;
                }
                let exponent = exponent_before.wrapping_add(exponent_after);
                return match self.peek() {
                    Some(b'e' | b'E') => self.exponent(positive, significand, exponent),
                    _ => self.f64_from_parts(positive, significand, exponent),
                };
            }
            self.i += 1;
            significand = significand * 10 + digit;
            exponent_after = exponent_after.wrapping_sub(1);
        }
        // At least one digit after the point.
        if exponent_after == 0 {
            return Err(match self.peek() {
                Some(_) => self.peek_error(Code::InvalidNumber),
                None => self.peek_error(Code::EofWhileParsingValue),
            });
        }
        let exponent = exponent_before.wrapping_add(exponent_after);
        match self.peek() {
            Some(b'e' | b'E') => self.exponent(positive, significand, exponent),
            _ => self.f64_from_parts(positive, significand, exponent),
        }
    }

    /// The exponent, from its `e` (`parse_exponent`).
    fn exponent(
        &mut self,
        positive: bool,
        significand: u64,
        starting: i32,
    ) -> Result<f64, SyntaxError> {
        self.i += 1;
        let positive_exponent = match self.peek() {
            Some(b'+') => {
                self.i += 1;
                true
            }
            Some(b'-') => {
                self.i += 1;
                false
            }
            _ => true,
        };
        let mut exponent: i32 = match self.next() {
            None => return Err(self.error(Code::EofWhileParsingValue)),
            Some(c @ b'0'..=b'9') => (c - b'0') as i32,
            Some(_) => return Err(self.error(Code::InvalidNumber)),
        };
        while let Some(c @ b'0'..=b'9') = self.peek() {
            self.i += 1;
            let digit = (c - b'0') as i32;
            if overflows(exponent as u64, digit as u64, i32::MAX as u64) {
                // `parse_exponent_overflow`: an error instead of infinity, else zero.
                if significand != 0 && positive_exponent {
                    return Err(self.error(Code::NumberOutOfRange));
                }
                while let Some(b'0'..=b'9') = self.peek() {
                    self.i += 1;
                }
                return Ok(if positive { 0.0 } else { -0.0 });
            }
            exponent = exponent * 10 + digit;
        }
        let exponent = if positive_exponent {
            starting.saturating_add(exponent)
        } else {
            starting.saturating_sub(exponent)
        };
        self.f64_from_parts(positive, significand, exponent)
    }

    /// `significand × 10^exponent` as serde_json computes it (`f64_from_parts` without
    /// `float_roundtrip`); infinity is refused.
    fn f64_from_parts(
        &self,
        positive: bool,
        significand: u64,
        mut exponent: i32,
    ) -> Result<f64, SyntaxError> {
        let mut f = significand as f64;
        loop {
            match POW10.get(exponent.unsigned_abs() as usize) {
                Some(&pow) => {
                    if exponent >= 0 {
                        f *= pow;
                        if f.is_infinite() {
                            return Err(self.error(Code::NumberOutOfRange));
                        }
                    } else {
                        f /= pow;
                    }
                    break;
                }
                None => {
                    if f == 0.0 {
                        break;
                    }
                    if exponent >= 0 {
                        return Err(self.error(Code::NumberOutOfRange));
                    }
                    f /= 1e308;
                    exponent += 308;
                }
            }
        }
        Ok(if positive { f } else { -f })
    }
}

/// 10^0 to 10^308, serde_json's table.
#[rustfmt::skip]
static POW10: [f64; 309] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31,
    1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45, 1e46,
    1e47, 1e48, 1e49, 1e50, 1e51, 1e52, 1e53, 1e54, 1e55, 1e56, 1e57, 1e58, 1e59, 1e60, 1e61,
    1e62, 1e63, 1e64, 1e65, 1e66, 1e67, 1e68, 1e69, 1e70, 1e71, 1e72, 1e73, 1e74, 1e75, 1e76,
    1e77, 1e78, 1e79, 1e80, 1e81, 1e82, 1e83, 1e84, 1e85, 1e86, 1e87, 1e88, 1e89, 1e90, 1e91,
    1e92, 1e93, 1e94, 1e95, 1e96, 1e97, 1e98, 1e99, 1e100, 1e101, 1e102, 1e103, 1e104, 1e105,
    1e106, 1e107, 1e108, 1e109, 1e110, 1e111, 1e112, 1e113, 1e114, 1e115, 1e116, 1e117, 1e118,
    1e119, 1e120, 1e121, 1e122, 1e123, 1e124, 1e125, 1e126, 1e127, 1e128, 1e129, 1e130, 1e131,
    1e132, 1e133, 1e134, 1e135, 1e136, 1e137, 1e138, 1e139, 1e140, 1e141, 1e142, 1e143, 1e144,
    1e145, 1e146, 1e147, 1e148, 1e149, 1e150, 1e151, 1e152, 1e153, 1e154, 1e155, 1e156, 1e157,
    1e158, 1e159, 1e160, 1e161, 1e162, 1e163, 1e164, 1e165, 1e166, 1e167, 1e168, 1e169, 1e170,
    1e171, 1e172, 1e173, 1e174, 1e175, 1e176, 1e177, 1e178, 1e179, 1e180, 1e181, 1e182, 1e183,
    1e184, 1e185, 1e186, 1e187, 1e188, 1e189, 1e190, 1e191, 1e192, 1e193, 1e194, 1e195, 1e196,
    1e197, 1e198, 1e199, 1e200, 1e201, 1e202, 1e203, 1e204, 1e205, 1e206, 1e207, 1e208, 1e209,
    1e210, 1e211, 1e212, 1e213, 1e214, 1e215, 1e216, 1e217, 1e218, 1e219, 1e220, 1e221, 1e222,
    1e223, 1e224, 1e225, 1e226, 1e227, 1e228, 1e229, 1e230, 1e231, 1e232, 1e233, 1e234, 1e235,
    1e236, 1e237, 1e238, 1e239, 1e240, 1e241, 1e242, 1e243, 1e244, 1e245, 1e246, 1e247, 1e248,
    1e249, 1e250, 1e251, 1e252, 1e253, 1e254, 1e255, 1e256, 1e257, 1e258, 1e259, 1e260, 1e261,
    1e262, 1e263, 1e264, 1e265, 1e266, 1e267, 1e268, 1e269, 1e270, 1e271, 1e272, 1e273, 1e274,
    1e275, 1e276, 1e277, 1e278, 1e279, 1e280, 1e281, 1e282, 1e283, 1e284, 1e285, 1e286, 1e287,
    1e288, 1e289, 1e290, 1e291, 1e292, 1e293, 1e294, 1e295, 1e296, 1e297, 1e298, 1e299, 1e300,
    1e301, 1e302, 1e303, 1e304, 1e305, 1e306, 1e307, 1e308
];
