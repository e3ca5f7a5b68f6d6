//! Exclusion-path matching that a crafted path cannot fool.
//!
//! Azure matches exclusion paths with a case-insensitive "starts with". We keep the case
//! insensitivity but match whole segments, and we exclude a request only when its path
//! *unambiguously* lies under an excluded entry. The request path is first put in a canonical
//! form by [`canonicalize`]; anything that an upstream could resolve to a different path makes
//! the path ambiguous, and an ambiguous path is never excluded (enforcement stays on):
//!
//! * only the path counts: the query (`?...`) and fragment (`#...`) are cut off first;
//! * the path must start with `/` (no `*`, no absolute-form URI);
//! * a raw `\`, `;`, space, control character or non-ASCII byte makes it ambiguous;
//! * a percent escape of `/`, `\`, `;`, `%`, `?`, `#`, a control character or a non-ASCII byte
//!   makes it ambiguous (encoded separators, double encoding, overlong UTF-8); a malformed escape
//!   too; every other escape is decoded (`%2e` becomes `.`, `%41` becomes `a`);
//! * after decoding, a `.` or `..` segment, or an empty segment other than a trailing one
//!   (`//`), makes it ambiguous;
//! * so do spellings that servers fold together with another path: a segment that ends in `.`
//!   or a space (plain or encoded: Windows drops them), an NTFS alternate stream (`::$DATA`, any
//!   `:$`) and an 8.3 short name (`ADMINI~1`: `~` followed by a digit);
//! * exclusion paths compare letters in lower case (ASCII), as Azure does; rules compare them
//!   both ways (see [`crate::scope::rules`]).
//!
//! Exclusion entries are held to the same rules at configure time, so an entry can always be
//! compared segment by segment with a canonical request path.

use std::borrow::Cow;
use std::fmt;

use crate::text::percent_escape_at;

/// Why a configured path (an exclusion entry, or a rule's `pathPrefix` or `pathExact`) was refused
/// at configure time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathEntryError {
    /// The entry does not start with `/`.
    NotAbsolute,
    /// The entry holds `?` or `#`: exclusion paths and rule paths match the path only.
    HasQueryOrFragment,
    /// The entry is not a plain path: dot or empty segments, `;`, `\`, control or non-ASCII
    /// characters, escaped separators, or a spelling servers fold together with another path.
    Ambiguous,
}

impl fmt::Display for PathEntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathEntryError::NotAbsolute => "does not start with '/'",
            PathEntryError::HasQueryOrFragment => {
                "contains '?' or '#'; an exclusion path matches the path only"
            }
            PathEntryError::Ambiguous => {
                "is not a plain path: dot segments, empty segments, ';', '\\', control or \
                 non-ASCII characters and escaped separators are not allowed"
            }
        })
    }
}

impl std::error::Error for PathEntryError {}

/// The compiled exclusion list: canonical, lower-case prefixes without a trailing slash
/// (the root entry `/` is kept as the empty prefix, which matches every path).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExclusionPaths {
    prefixes: Vec<String>,
}

impl ExclusionPaths {
    /// Adds one entry after checking it is a plain absolute path.
    pub fn add(&mut self, entry: &str) -> Result<(), PathEntryError> {
        let canonical = canonical_entry(entry)?.to_ascii_lowercase();
        if !self.prefixes.contains(&canonical) {
            self.prefixes.push(canonical);
        }
        Ok(())
    }

    /// Whether no exclusion path is configured (then no path is excluded).
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// The canonical entries, for logs and the documentation of what was understood.
    pub fn entries(&self) -> impl Iterator<Item = &str> {
        self.prefixes
            .iter()
            .map(|p| if p.is_empty() { "/" } else { p.as_str() })
    }

    /// True only when the request path (`:path`, raw bytes) unambiguously lies at or under one
    /// of the entries, on a segment boundary.
    pub fn matches(&self, raw_path: &[u8]) -> bool {
        if self.prefixes.is_empty() {
            return false;
        }
        let Some(path) = canonical_path(raw_path) else {
            return false;
        };
        let decoded = matches!(path, Cow::Owned(_));
        let literal = literal_path(raw_path)
            .filter(|_| decoded)
            .map(str::to_ascii_lowercase);
        self.matches_readings(
            Some(&path.to_ascii_lowercase()),
            literal.as_deref(),
            decoded,
        )
    }

    /// Whether a request path is excluded under both of its readings: `lower`, the canonical
    /// path in lower case (`None`: ambiguous), and, when decoding its escapes changed it
    /// (`decoded`), `literal_lower`, the path as written in lower case. A router or server
    /// that does not decode `/%70ublic` does not see `/public`, so only a path both readings
    /// place under an exclusion is excluded.
    pub fn matches_readings(
        &self,
        lower: Option<&str>,
        literal_lower: Option<&str>,
        decoded: bool,
    ) -> bool {
        self.matches_canonical(lower) && (!decoded || self.matches_canonical(literal_lower))
    }

    /// As [`ExclusionPaths::matches`], for a path already canonicalized (`None`: ambiguous).
    pub fn matches_canonical(&self, path: Option<&str>) -> bool {
        path.is_some_and(|path| {
            self.prefixes
                .iter()
                .any(|prefix| under_prefix(path, prefix))
        })
    }
}

/// A configured path (exclusion entry or rule path) in canonical form, letter case kept,
/// without a trailing slash; the root `/` becomes the empty string. Refuses anything that is
/// not a plain path.
pub(crate) fn canonical_entry(entry: &str) -> Result<String, PathEntryError> {
    if !entry.starts_with('/') {
        return Err(PathEntryError::NotAbsolute);
    }
    if entry.contains(['?', '#']) {
        return Err(PathEntryError::HasQueryOrFragment);
    }
    let mut canonical = canonical_path(entry.as_bytes())
        .ok_or(PathEntryError::Ambiguous)?
        .into_owned();
    if canonical.ends_with('/') {
        canonical.pop();
    }
    Ok(canonical)
}

/// True when a canonical path is at or under a canonical prefix, on a segment boundary.
pub(crate) fn under_prefix(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The canonical, lower-case form of the path part of a request target, or `None` when the path
/// is ambiguous (see the module documentation for the rules).
pub fn canonicalize(raw: &[u8]) -> Option<String> {
    canonical_path(raw).map(|p| p.to_ascii_lowercase())
}

/// The canonical form of the path part of a request target with its letter case kept, or
/// `None` when the path is ambiguous (see the module documentation for the rules).
pub fn canonical_path(raw: &[u8]) -> Option<Cow<'_, str>> {
    let end = raw
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(raw.len());
    let raw = &raw[..end];
    if raw.first() != Some(&b'/') {
        return None;
    }
    let out = decoded(raw)?;
    // `out` starts with '/', so the first split element is the empty string before it.
    let mut segments = out.split('/').skip(1).peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        // The dot segments `.` and `..` end in a dot: `folded` refuses them with the rest.
        if (segment.is_empty() && !last) || folded(segment) {
            return None;
        }
    }
    Some(out)
}

/// The path part of a request target as written (escapes not decoded), when it is printable
/// ASCII: the reading of a router or server that does not decode.
pub fn literal_path(raw: &[u8]) -> Option<&str> {
    let end = raw
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(raw.len());
    let raw = &raw[..end];
    raw.iter()
        .all(u8::is_ascii_graphic)
        .then(|| std::str::from_utf8(raw).ok())
        .flatten()
}

/// The path with its percent escapes decoded; `None` for a byte that is not printable ASCII
/// (a space only when escaped), a backslash or `;`, or an escape of `/`, `%`, `?` or `#`.
/// Without escapes the path itself is returned, not a copy.
fn decoded(raw: &[u8]) -> Option<Cow<'_, str>> {
    let allowed = |decoded: u8, escaped: bool| {
        (decoded.is_ascii_graphic() || (decoded == b' ' && escaped))
            && !matches!(decoded, b'\\' | b';')
    };
    if !raw.contains(&b'%') {
        return raw
            .iter()
            .all(|&b| allowed(b, false))
            .then(|| std::str::from_utf8(raw).ok().map(Cow::Borrowed))
            .flatten();
    }
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        let decoded = if b == b'%' {
            let d = percent_escape_at(raw, i)?;
            i += 3;
            if matches!(d, b'/' | b'%' | b'?' | b'#') {
                return None;
            }
            d
        } else {
            i += 1;
            b
        };
        if !allowed(decoded, b == b'%') {
            return None;
        }
        out.push(char::from(decoded));
    }
    Some(Cow::Owned(out))
}

/// A segment that servers fold together with another spelling: Windows (IIS, NTFS) drops a
/// trailing dot or space (`admin.` is `admin`), opens the default stream of `admin::$DATA`
/// (`:$` starts a stream type), and finds `ADMINI~1` as the 8.3 short name of
/// `administrator` (`~` then a digit).
fn folded(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    matches!(bytes.last(), Some(b'.' | b' '))
        || segment.contains(":$")
        || bytes
            .windows(2)
            .any(|w| w[0] == b'~' && w[1].is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_path_is_canonical_without_its_trailing_slash() {
        let table = [
            ("/", Ok("")),
            ("/Public/", Ok("/Public")),
            ("/a%2Db", Ok("/a-b")),
            ("/a/b", Ok("/a/b")),
            ("public", Err(PathEntryError::NotAbsolute)),
            ("", Err(PathEntryError::NotAbsolute)),
            ("/a?x=1", Err(PathEntryError::HasQueryOrFragment)),
            ("/a#x", Err(PathEntryError::HasQueryOrFragment)),
            ("/a/../b", Err(PathEntryError::Ambiguous)),
            ("//a", Err(PathEntryError::Ambiguous)),
            ("/a b", Err(PathEntryError::Ambiguous)),
        ];
        for (entry, expected) in table {
            assert_eq!(
                canonical_entry(entry),
                expected.map(str::to_string),
                "{entry:?}"
            );
        }
    }

    #[test]
    fn a_path_is_under_a_prefix_only_on_a_segment_boundary() {
        let table = [
            ("/a", "/a", true),
            ("/a/", "/a", true),
            ("/a/b", "/a", true),
            ("/ab", "/a", false),
            ("/b", "/a", false),
            ("/", "/a", false),
            ("/", "", true),
            ("/x/y", "", true),
        ];
        for (path, prefix, expected) in table {
            assert_eq!(
                under_prefix(path, prefix),
                expected,
                "{path} under {prefix:?}"
            );
        }
    }

    #[test]
    fn entries_are_kept_once_in_canonical_form_with_the_root_as_a_slash() {
        let mut set = ExclusionPaths::default();
        assert!(set.is_empty());
        for entry in ["/Public/", "/public", "/", "/api/%41"] {
            assert_eq!(set.add(entry), Ok(()), "{entry}");
        }
        assert!(!set.is_empty());
        assert_eq!(
            set.entries().collect::<Vec<_>>(),
            ["/public", "/", "/api/a"]
        );
        assert_eq!(set.add("x"), Err(PathEntryError::NotAbsolute));
        assert_eq!(set.entries().count(), 3, "a refused entry is not kept");
    }
}
