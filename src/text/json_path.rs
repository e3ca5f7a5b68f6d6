//! Where in a JSON document a byte offset lies, as a field path (`rules[0].paths`): the field a
//! configuration error names.
//!
//! serde_json reports a data error (wrong type, unknown field, bad value) with the line and
//! column just after the token it was reading; this walks the document up to there and names
//! the member or element being read. Tracking the path while deserializing instead (a wrapping
//! deserializer, as `serde_path_to_error` does) multiplies the deserialization code by every
//! type of the configuration: about 80 KB of a module whose configuration is read once.

/// One level of the path being walked.
enum Frame {
    /// Inside an object: the member's key once read, and whether a key comes next.
    Object {
        key: Option<String>,
        expect_key: bool,
    },
    /// Inside an array: the index of the element being read.
    Array { index: usize },
}

/// The byte offset of a serde_json position (1-based line, column counted in bytes from the
/// start of the line, pointing just after the last byte read).
pub fn offset_of(text: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].iter().position(|&b| b == b'\n') {
            Some(newline) => start += newline + 1,
            None => return text.len(),
        }
    }
    (start + column).min(text.len())
}

/// The path of the member or element being read at byte `end` of `text` (`""` at the top).
/// Keys are written as they are spelt in the document, escapes decoded where simple.
pub fn path_at(text: &[u8], end: usize) -> String {
    let text = &text[..end.min(text.len())];
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'{' => stack.push(Frame::Object {
                key: None,
                expect_key: true,
            }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array { index }) => *index += 1,
                Some(Frame::Object { key, expect_key }) => {
                    *key = None;
                    *expect_key = true;
                }
                None => {}
            },
            b'"' => {
                let (value, next) = string_at(text, i + 1);
                if let Some(Frame::Object { key, expect_key }) = stack.last_mut()
                    && *expect_key
                {
                    *key = Some(value);
                    *expect_key = false;
                }
                i = next;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object { key: Some(key), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

/// The string starting at `start` (just after its opening quote), and the index after its
/// closing quote (or the end of `text`).
fn string_at(text: &[u8], start: usize) -> (String, usize) {
    let mut out = Vec::new();
    let mut i = start;
    while i < text.len() {
        match text[i] {
            b'"' => return (String::from_utf8_lossy(&out).into_owned(), i + 1),
            b'\\' if i + 1 < text.len() => {
                out.push(match text[i + 1] {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    other => other,
                });
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_end(text: &str) -> String {
        path_at(text.as_bytes(), text.len())
    }

    #[test]
    fn the_path_names_the_member_or_element_being_read() {
        let table = [
            (r#"{"a": 1"#, "a"),
            (r#"{"a""#, "a"),
            (r#"{"a": 1, "b""#, "b"),
            (r#"{"a": 1, "#, ""),
            (r#"{"rules": [{"paths""#, "rules[0].paths"),
            (
                r#"{"rules": [{}, {"x": [1, 2, {"y": "z""#,
                "rules[1].x[2].y",
            ),
            (r#"{"v": {"ids": [{"cn": 1}"#, "v.ids[0]"),
            (r#"{"v": {"ids": [{"cn": 1}]}"#, "v"),
            (r#"{"a": "x,]}[{\"", "b": 2"#, "b"),
            (r#"{"a\"b": 1"#, "a\"b"),
            (r#"{"a": [1, 2"#, "a[1]"),
            ("", ""),
        ];
        for (text, path) in table {
            assert_eq!(at_end(text), path, "{text}");
        }
    }

    #[test]
    fn offsets_follow_serde_json_lines_and_columns() {
        let text = b"{\n  \"a\": 1,\n  \"b\": true\n}";
        assert_eq!(offset_of(text, 1, 1), 1);
        assert_eq!(offset_of(text, 2, 5), 7);
        assert_eq!(&text[..offset_of(text, 3, 5)], b"{\n  \"a\": 1,\n  \"b\"");
        assert_eq!(offset_of(text, 9, 1), text.len());
        assert_eq!(offset_of(text, 1, 99), text.len());
    }
}
