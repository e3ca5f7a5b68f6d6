//! Per-route rules: the first rule that matches a request decides its mode and, optionally,
//! its identities; requests no rule matches use `clientCertMode`.
//!
//! A rule matches on path prefix (whole segments), exact path, host (exact or `*.` wildcard,
//! port ignored, case-insensitive) and method; every condition given must hold. Paths use the
//! same canonical form as the exclusion paths (an exact path ignores a trailing slash). When the
//! request path is ambiguous (see [`crate::path`]) or the host is not a plain `host[:port]`, such
//! a condition can neither be said to hold nor not to hold; then every rule that could match is
//! a candidate, up to the first one that surely matches, and the strictest candidate decides
//! (its mode, and the identities of every candidate must be met). A crafted path or host can
//! therefore never select a weaker rule.

use std::fmt;

use crate::config::{MODE_NAMES, RawRule};
use crate::scope::Mode;
use crate::scope::path::{PathEntryError, canonical_entry, under_prefix};
use crate::validation::{Identity, IdentityError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    BothPaths,
    Path {
        field: &'static str,
        value: String,
        problem: PathEntryError,
    },
    Host(String),
    Method(String),
    Mode(String),
    Identity {
        index: usize,
        problem: IdentityError,
    },
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::BothPaths => f.write_str("pathPrefix and pathExact cannot both be set"),
            RuleError::Path {
                field,
                value,
                problem,
            } => write!(f, "{field}: {value:?} {problem}"),
            RuleError::Host(h) => write!(
                f,
                "hosts: {h:?} is not a host name (letters, digits, '-', '.', optionally starting with '*.')"
            ),
            RuleError::Method(m) => write!(f, "methods: {m:?} is not an HTTP method token"),
            RuleError::Mode(m) => write!(
                f,
                "mode: unknown mode {m:?}, expected one of {}",
                MODE_NAMES.join(", ")
            ),
            RuleError::Identity { index, problem } => match problem.attribute() {
                Some(attr) => write!(f, "identities[{index}].{attr}: {problem}"),
                None => write!(f, "identities[{index}]: {problem}"),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathMatch {
    Any,
    /// Canonical prefix without trailing slash ("" is the root).
    Prefix(String),
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    Exact(String),
    /// `*.example.com` stored as `.example.com`.
    Suffix(String),
}

/// A compiled rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    path: PathMatch,
    hosts: Vec<HostMatch>,
    methods: Vec<String>,
    pub mode: Mode,
    /// `None`: the global `validation.identities` apply.
    pub identities: Option<Vec<Identity>>,
}

fn host_pattern(raw: &str) -> Result<HostMatch, RuleError> {
    let lower = raw.trim().to_ascii_lowercase();
    let (wild, name) = match lower.strip_prefix("*.") {
        Some(rest) => (true, rest.to_string()),
        None => (false, lower.clone()),
    };
    let ok = !name.is_empty()
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if !ok {
        return Err(RuleError::Host(raw.to_string()));
    }
    Ok(if wild {
        HostMatch::Suffix(format!(".{name}"))
    } else {
        HostMatch::Exact(name)
    })
}

/// The host of an `:authority`, lower case, without port or trailing dot.
/// `None` when the authority is not a plain `host[:port]` (a host condition is then
/// ambiguous, like an ambiguous path, and can never select a weaker rule).
pub fn request_host(authority: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(authority).ok()?.to_ascii_lowercase();
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let ok = !inside.is_empty()
            && inside
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !ok {
            return None;
        }
        (format!("[{inside}]"), after.strip_prefix(':'))
    } else {
        match text.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (text.clone(), None),
        }
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let host = host.strip_suffix('.').unwrap_or(&host).to_string();
    let plain = host.starts_with('[')
        || (!host.is_empty()
            && host.split('.').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }));
    plain.then_some(host)
}

impl Rule {
    pub fn compile(raw: &RawRule, trust_enabled: bool) -> Result<Rule, RuleError> {
        let entry = |field: &'static str, value: &str| {
            canonical_entry(value).map_err(|problem| RuleError::Path {
                field,
                value: value.to_string(),
                problem,
            })
        };
        let path = match (&raw.path_prefix, &raw.path_exact) {
            (Some(_), Some(_)) => return Err(RuleError::BothPaths),
            (Some(p), None) => PathMatch::Prefix(entry("pathPrefix", p)?),
            (None, Some(p)) => {
                let mut canonical = entry("pathExact", p)?;
                if canonical.is_empty() {
                    canonical.push('/');
                }
                PathMatch::Exact(canonical)
            }
            (None, None) => PathMatch::Any,
        };
        let hosts = raw
            .hosts
            .iter()
            .flatten()
            .map(|h| host_pattern(h))
            .collect::<Result<Vec<_>, _>>()?;
        let methods = raw
            .methods
            .iter()
            .flatten()
            .map(|m| {
                let upper = m.trim().to_ascii_uppercase();
                if !upper.is_empty()
                    && upper
                        .bytes()
                        .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_')
                {
                    Ok(upper)
                } else {
                    Err(RuleError::Method(m.clone()))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mode = Mode::parse(&raw.mode).ok_or_else(|| RuleError::Mode(raw.mode.clone()))?;
        let identities = match &raw.identities {
            None => None,
            Some(list) => Some(
                list.iter()
                    .enumerate()
                    .map(|(index, id)| {
                        Identity::compile(id, trust_enabled)
                            .map_err(|problem| RuleError::Identity { index, problem })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok(Rule {
            path,
            hosts,
            methods,
            mode,
            identities,
        })
    }

    /// Host and method conditions.
    /// The host condition; `None` when the rule has one and the host is ambiguous.
    fn matches_host(&self, host: Option<&str>) -> Option<bool> {
        if self.hosts.is_empty() {
            return Some(true);
        }
        let host = host?;
        Some(self.hosts.iter().any(|h| match h {
            HostMatch::Exact(name) => host == name,
            HostMatch::Suffix(suffix) => {
                host.len() > suffix.len() && host.ends_with(suffix.as_str())
            }
        }))
    }

    fn matches_method(&self, method: &[u8]) -> bool {
        self.methods.is_empty()
            || self
                .methods
                .iter()
                .any(|m| m.as_bytes().eq_ignore_ascii_case(method))
    }

    /// The path condition against a canonical path; `None` when the path is ambiguous and
    /// the rule has a path condition.
    fn matches_path(&self, canonical: Option<&str>) -> Option<bool> {
        match (&self.path, canonical) {
            (PathMatch::Any, _) => Some(true),
            (_, None) => None,
            (PathMatch::Prefix(prefix), Some(path)) => Some(under_prefix(path, prefix)),
            // A trailing slash does not make another path here (frameworks serve `/login/`
            // as `/login`), so it cannot step around an exact rule.
            (PathMatch::Exact(exact), Some(path)) => {
                let trimmed = match path.strip_suffix('/') {
                    Some(t) if !t.is_empty() => t,
                    _ => path,
                };
                Some(trimmed == exact)
            }
        }
    }

    pub fn uses_host(&self) -> bool {
        !self.hosts.is_empty()
    }

    pub fn uses_method(&self) -> bool {
        !self.methods.is_empty()
    }
}

/// What the rules decided for one request: the mode, and which identity lists must be met
/// (`None` in the list stands for the global identities).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection<'r> {
    pub mode: Mode,
    pub identities: Vec<Option<&'r [Identity]>>,
}

/// Applies the rules to a request. `canonical` is the canonical path and `host` the
/// authority's host (`None` when ambiguous).
pub fn select<'r>(
    rules: &'r [Rule],
    default_mode: Mode,
    canonical: Option<&str>,
    host: Option<&str>,
    method: &[u8],
) -> Selection<'r> {
    let mut candidates: Vec<(Mode, Option<&'r [Identity]>)> = Vec::new();
    let mut settled = false;
    for rule in rules {
        if !rule.matches_method(method) {
            continue;
        }
        let host = rule.matches_host(host);
        let path = rule.matches_path(canonical);
        if host == Some(false) || path == Some(false) {
            continue;
        }
        candidates.push((rule.mode, rule.identities.as_deref()));
        if host == Some(true) && path == Some(true) {
            settled = true;
            break;
        }
        // Ambiguous: this rule may apply; keep looking for one that surely does.
    }
    if !settled {
        candidates.push((default_mode, None));
    }
    let mode = candidates
        .iter()
        .map(|(m, _)| *m)
        .max_by_key(|m| m.strictness())
        .unwrap_or(default_mode);
    Selection {
        mode,
        identities: candidates.into_iter().map(|(_, ids)| ids).collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rule(hosts: &[&str], methods: &[&str], path_exact: Option<&str>) -> Rule {
        let list = |items: &[&str]| {
            (!items.is_empty()).then(|| items.iter().map(|s| (*s).to_string()).collect())
        };
        let raw = RawRule {
            hosts: list(hosts),
            methods: list(methods),
            path_exact: path_exact.map(str::to_string),
            mode: "Required".to_string(),
            ..RawRule::default()
        };
        Rule::compile(&raw, false).unwrap()
    }

    #[test]
    fn request_host_is_the_plain_lower_case_host_or_nothing() {
        let table: [(&[u8], Option<&str>); 24] = [
            (b"api.contoso.com", Some("api.contoso.com")),
            (b"API.Contoso.COM:8443", Some("api.contoso.com")),
            (b"api.contoso.com.", Some("api.contoso.com")),
            (b"api.contoso.com.:443", Some("api.contoso.com")),
            (b"a-b.c", Some("a-b.c")),
            (b"127.0.0.1:80", Some("127.0.0.1")),
            (b"[::1]", Some("[::1]")),
            (b"[::1]:8443", Some("[::1]")),
            (b"[::FFFF:127.0.0.1]", Some("[::ffff:127.0.0.1]")),
            // A port must be digits, and there must be one after ':'.
            (b"api.contoso.com:", None),
            (b"api.contoso.com:x", None),
            (b"api.contoso.com:44x", None),
            (b"api.contoso.com:443:443", None),
            (b"[::1]:", None),
            (b"[::1]:x", None),
            // An IPv6 literal holds hex digits, ':' and '.' only, and something.
            (b"[]", None),
            (b"[zz::1]", None),
            (b"[::1", None),
            // A name is dot-separated labels of letters, digits and '-'.
            (b"", None),
            (b".", None),
            (b"api..contoso.com", None),
            (b"api contoso.com", None),
            (b"api.contoso.com/evil", None),
            (b"caf\xc3\xa9.example", None),
        ];
        for (authority, expected) in table {
            assert_eq!(
                request_host(authority).as_deref(),
                expected,
                "{:?}",
                String::from_utf8_lossy(authority)
            );
        }
        assert_eq!(request_host(b"\xff.example"), None, "not UTF-8");
    }

    #[test]
    fn host_patterns_are_names_or_wildcards_over_a_name() {
        let ok = [
            (
                "api.contoso.com",
                HostMatch::Exact("api.contoso.com".into()),
            ),
            (
                " API.Contoso.com ",
                HostMatch::Exact("api.contoso.com".into()),
            ),
            ("a-b", HostMatch::Exact("a-b".into())),
            ("*.contoso.com", HostMatch::Suffix(".contoso.com".into())),
            ("*.C", HostMatch::Suffix(".c".into())),
        ];
        for (raw, expected) in ok {
            assert_eq!(host_pattern(raw), Ok(expected), "{raw:?}");
        }
        for raw in [
            "", "*.", "*", "*.*.a", "a.*", "a..b", ".a", "a.", "a b", "a_b", "a/b",
        ] {
            assert_eq!(
                host_pattern(raw),
                Err(RuleError::Host(raw.to_string())),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn a_wildcard_matches_names_strictly_under_it_and_nothing_else() {
        let wildcard = rule(&["*.secure.test"], &[], None);
        for (host, expected) in [
            ("api.secure.test", true),
            ("a.b.secure.test", true),
            ("secure.test", false),
            ("xsecure.test", false),
            // Not a name (request_host never gives one), but not under the wildcard either.
            (".secure.test", false),
            // Longer than the suffix but not under it.
            ("api.other.test", false),
            ("a-much-longer-name.example", false),
        ] {
            assert_eq!(wildcard.matches_host(Some(host)), Some(expected), "{host}");
        }
        assert_eq!(wildcard.matches_host(None), None, "an ambiguous host");
        let any = rule(&[], &[], None);
        assert_eq!(any.matches_host(None), Some(true), "no host condition");
    }

    #[test]
    fn an_exact_path_ignores_one_trailing_slash_and_the_root_is_exact() {
        let root = rule(&[], &[], Some("/"));
        for (path, expected) in [("/", true), ("/a", false), ("/a/", false)] {
            assert_eq!(root.matches_path(Some(path)), Some(expected), "{path}");
        }
        let login = rule(&[], &[], Some("/login"));
        for (path, expected) in [
            ("/login", true),
            ("/login/", true),
            ("/login//", false),
            ("/login/x", false),
            ("/", false),
        ] {
            assert_eq!(login.matches_path(Some(path)), Some(expected), "{path}");
        }
        assert_eq!(login.matches_path(None), None, "an ambiguous path");
    }

    #[test]
    fn methods_are_upper_case_tokens_of_letters_dashes_and_underscores() {
        let compile = |method: &str| {
            let raw = RawRule {
                methods: Some(vec![method.to_string()]),
                mode: "Required".to_string(),
                ..RawRule::default()
            };
            Rule::compile(&raw, false).map(|rule| rule.methods)
        };
        for (raw, method) in [
            ("get", "GET"),
            (" Post ", "POST"),
            ("m-search", "M-SEARCH"),
            ("x_custom", "X_CUSTOM"),
        ] {
            assert_eq!(compile(raw), Ok(vec![method.to_string()]), "{raw:?}");
        }
        for raw in ["", " ", "GE T", "GET1", "G/ET", "GÉT"] {
            assert_eq!(
                compile(raw),
                Err(RuleError::Method(raw.to_string())),
                "{raw:?}"
            );
        }
    }

    /// `uses_host` and `uses_method` decide whether a request's `:authority` and `:method` are
    /// read at all ([`crate::decision::Needs`]).
    #[test]
    fn a_rule_uses_the_host_and_method_only_when_it_names_them() {
        for (hosts, methods, uses_host, uses_method) in [
            (&[][..], &[][..], false, false),
            (&["api.contoso.com"][..], &[][..], true, false),
            (&[][..], &["POST"][..], false, true),
            (&["*.contoso.com"][..], &["get", "PUT"][..], true, true),
        ] {
            let r = rule(hosts, methods, None);
            assert_eq!(
                (r.uses_host(), r.uses_method()),
                (uses_host, uses_method),
                "{hosts:?} {methods:?}"
            );
        }
    }
}
