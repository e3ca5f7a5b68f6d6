//! Per-route rules: the first rule that matches a request decides its mode and, optionally,
//! its identities; requests no rule matches use `clientCertMode`.
//!
//! A rule matches on Envoy route name, path prefix (whole segments), exact path, host and
//! method; every condition given must hold. A weaker outcome may only come from a condition on
//! which the filter and Envoy (and the upstream) surely agree, so each condition answers "holds",
//! "does not hold" or "ambiguous":
//!
//! * `routeNames`: the route Envoy chose (`xds.route_name`), which never disagrees with
//!   routing; on an ambiguous path it is ambiguous all the same, since the upstream may
//!   resolve the path to another resource than the route's.
//! * paths: the canonical path (see [`crate::scope::path`]; an exact path ignores a trailing
//!   slash), compared both case-sensitively (Envoy's default) and case-insensitively (many
//!   frameworks): a condition holds only if it holds both ways, fails only if it fails both
//!   ways, and is ambiguous otherwise; an ambiguous path makes it ambiguous too.
//! * hosts: as Envoy's virtual hosts match `:authority`: case-insensitive, with the port and a
//!   trailing dot significant (`public.contoso.com` is not `public.contoso.com:443` nor
//!   `public.contoso.com.`), `*.contoso.com` for names under `contoso.com`. An authority that
//!   differs from an entry only by a port or a trailing dot, which Envoy folds when told to
//!   (`strip_any_host_port`, `strip_trailing_host_dot`), is ambiguous, as is one that is not a
//!   plain `host[:port]`.
//! * methods: case-insensitive; `HEAD` is ambiguous unless `GET` and `HEAD` are both listed or
//!   both not (servers answer `HEAD` with `GET` handlers), and any method is ambiguous when the
//!   request carries a method-override header.
//!
//! When a condition is ambiguous, every rule that could match is a candidate, up to the first
//! one that surely matches, and the strictest candidate decides (its mode, and the identities of
//! every candidate must be met). A crafted request can therefore never select a weaker rule.

use std::fmt;

use crate::config::{MODE_NAMES, RawRule};
use crate::scope::Mode;
use crate::scope::path::{PathEntryError, canonical_entry, under_prefix};
use crate::validation::{Identity, IdentityError};

/// Why an entry of `rules` was refused at configure time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    /// The rule sets both `pathPrefix` and `pathExact`.
    BothPaths,
    /// `pathPrefix` or `pathExact` is not a plain absolute path.
    Path {
        /// `pathPrefix` or `pathExact`.
        field: &'static str,
        /// The path as configured.
        value: String,
        /// What is wrong with it.
        problem: PathEntryError,
    },
    /// A `hosts` entry (given as configured) is not `[*.]name[:port]`.
    Host(String),
    /// A `methods` entry (given as configured) is not a method token (letters, `-`, `_`).
    Method(String),
    /// `mode` (given as configured) names no known mode.
    Mode(String),
    /// An entry of the rule's `identities` is not usable.
    Identity {
        /// The entry's position in the rule's `identities`, from 0.
        index: usize,
        /// Which attribute is at fault, and why.
        problem: IdentityError,
    },
    /// `identities: []` would mean "any certificate" for the rule: say so by leaving it out.
    EmptyIdentities,
    /// `hosts`, `routeNames` or `methods` is an empty list. Read as "any of none", it would
    /// match no request; read as "no condition", every request. Neither is what was meant
    /// (typically a template whose list came out empty), so it is refused.
    EmptyConditions(&'static str),
    /// A `routeNames` entry is empty.
    RouteName,
    /// `name` (given as configured) is not 1 to 64 letters, digits, `_` or `-`.
    Name(String),
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
                "hosts: {h:?} is not a host name (letters, digits, '-', '.', optionally starting with '*.', optionally ending with ':port')"
            ),
            RuleError::EmptyIdentities => f.write_str(
                "identities: an empty list would accept any certificate; leave it out to use validation.identities"
            ),
            RuleError::RouteName => f.write_str("routeNames: a route name cannot be empty"),
            RuleError::EmptyConditions(field) => write!(
                f,
                "{field}: an empty list would match no request, or every request; leave it out to match any"
            ),
            RuleError::Name(name) => write!(
                f,
                "name: {name:?} is not 1 to {MAX_RULE_NAME} letters, digits, '_' or '-' (it names stats and log fields)"
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

impl std::error::Error for RuleError {}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathMatch {
    Any,
    /// Canonical prefix without trailing slash ("" is the root).
    Prefix(PathEntry),
    /// Canonical path.
    Exact(PathEntry),
}

/// A configured path in canonical form, in both letter cases, prepared at configure time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PathEntry {
    /// As written (case-sensitive comparison, as Envoy routes by default).
    written: String,
    /// In lower case (case-insensitive comparison, as many frameworks route).
    lower: String,
}

impl PathEntry {
    fn new(written: String) -> PathEntry {
        PathEntry {
            lower: written.to_ascii_lowercase(),
            written,
        }
    }
}

/// One `hosts` entry, lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostMatch {
    /// `*.` in front: names under `name` (never `name` itself).
    wildcard: bool,
    /// The name, without `*.` or port.
    name: String,
    /// `:port` as written, or `None`.
    port: Option<String>,
}

/// The longest rule `name` accepted.
pub const MAX_RULE_NAME: usize = 64;

/// Whether `name` can name a rule: it becomes part of stat names (`rule.<name>.forwarded`, so
/// no `.`), of the filter state and of log lines (so nothing a reader could take for a field
/// separator or a quote).
pub fn valid_rule_name(name: &str) -> bool {
    (1..=MAX_RULE_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A compiled rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `name`, checked by [`valid_rule_name`]; `None` when the rule has none.
    pub name: Option<String>,
    /// `reportOnly` as the rule sets it; `None` follows the top-level `reportOnly`.
    pub report_only: Option<bool>,
    routes: Vec<String>,
    path: PathMatch,
    hosts: Vec<HostMatch>,
    methods: Vec<String>,
    /// `mode`: the mode when the rule applies.
    pub mode: Mode,
    /// `None`: the global `validation.identities` apply.
    pub identities: Option<Vec<Identity>>,
}

fn host_pattern(raw: &str) -> Result<HostMatch, RuleError> {
    let lower = raw.trim().to_ascii_lowercase();
    let (wildcard, rest) = match lower.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, lower.as_str()),
    };
    let (name, port) = match rest.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (rest, None),
    };
    let name_ok = !name.is_empty()
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !name_ok || !port_ok {
        return Err(RuleError::Host(raw.to_string()));
    }
    Ok(HostMatch {
        wildcard,
        name: name.to_string(),
        port: port.map(str::to_string),
    })
}

/// Compiles every entry of an optional list of strings.
fn each<T>(
    list: &Option<Vec<String>>,
    compile: impl Fn(&String) -> Result<T, RuleError>,
) -> Result<Vec<T>, RuleError> {
    list.iter().flatten().map(compile).collect()
}

/// A request's `:authority` as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// The whole authority, lower case, port and trailing dot kept: what Envoy's virtual-host
    /// matching compares by default.
    pub exact: String,
    /// The host alone: without the port and a trailing dot.
    pub host: String,
}

/// The `:authority` of a request, or `None` when it is not a plain `host[:port]` (a host
/// condition is then ambiguous, like an ambiguous path, and can never select a weaker rule).
pub fn request_authority(authority: &[u8]) -> Option<Authority> {
    let text = std::str::from_utf8(authority).ok()?.to_ascii_lowercase();
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let ok = !inside.is_empty()
            && inside
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !ok || !(after.is_empty() || after.starts_with(':')) {
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
    plain.then_some(Authority { exact: text, host })
}

/// The header names clients use to ask a framework to treat a request as another method.
pub const METHOD_OVERRIDE_HEADERS: [&str; 3] = [
    "x-http-method-override",
    "x-method-override",
    "x-http-method",
];

/// What the rules look at in one request, each prepared once.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleInput<'a> {
    /// The canonical path with its letter case kept; `None` when ambiguous.
    pub path: Option<&'a str>,
    /// The same path in lower case (computed once per request, shared with the exclusions).
    pub path_lower: Option<&'a str>,
    /// The path as written, when decoding its escapes changed it (`None` otherwise): a path
    /// condition must hold the same way for both readings, or it is ambiguous.
    pub literal: Option<&'a str>,
    /// The same, in lower case.
    pub literal_lower: Option<&'a str>,
    /// The authority; `None` when it is not a plain `host[:port]`.
    pub authority: Option<&'a Authority>,
    /// The method; `None` when ambiguous (a method-override header was sent).
    pub method: Option<&'a [u8]>,
    /// The name of the route Envoy chose (`xds.route_name`); `None` when it has none.
    pub route: Option<&'a [u8]>,
}

impl Rule {
    /// Checks and normalizes one configured rule; `trust_enabled` is `validation.validateTrust`
    /// (for the rule's identities).
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
            (Some(p), None) => PathMatch::Prefix(PathEntry::new(entry("pathPrefix", p)?)),
            (None, Some(p)) => {
                let mut canonical = entry("pathExact", p)?;
                if canonical.is_empty() {
                    canonical.push('/');
                }
                PathMatch::Exact(PathEntry::new(canonical))
            }
            (None, None) => PathMatch::Any,
        };
        for (field, list) in [
            ("hosts", &raw.hosts),
            ("routeNames", &raw.route_names),
            ("methods", &raw.methods),
        ] {
            if list.as_ref().is_some_and(Vec::is_empty) {
                return Err(RuleError::EmptyConditions(field));
            }
        }
        let hosts = each(&raw.hosts, |h| host_pattern(h))?;
        let routes = each(&raw.route_names, |name| {
            if name.is_empty() {
                Err(RuleError::RouteName)
            } else {
                Ok(name.clone())
            }
        })?;
        let methods = each(&raw.methods, |m| {
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
        })?;
        let mode = Mode::parse(&raw.mode).ok_or_else(|| RuleError::Mode(raw.mode.clone()))?;
        let identities = match &raw.identities {
            None => None,
            Some(list) if list.is_empty() => return Err(RuleError::EmptyIdentities),
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
        let name = match &raw.name {
            Some(name) if !valid_rule_name(name) => return Err(RuleError::Name(name.clone())),
            name => name.clone(),
        };
        Ok(Rule {
            name,
            report_only: raw.report_only,
            routes,
            path,
            hosts,
            methods,
            mode,
            identities,
        })
    }

    /// The route condition. Envoy has chosen the route, so the name never disagrees with
    /// routing; but on the chosen route, an ambiguous path (`/docs/../admin` with Envoy's
    /// normalization off, `/docs/..%2fadmin` with escaped slashes kept) may still be resolved
    /// by the upstream to another resource: then the condition is ambiguous.
    fn matches_route(&self, route: Option<&[u8]>, path: Option<&str>) -> Option<bool> {
        if self.routes.is_empty() {
            return Some(true);
        }
        let named = route.is_some_and(|route| self.routes.iter().any(|r| r.as_bytes() == route));
        match (named, path) {
            (false, _) => Some(false),
            (true, Some(_)) => Some(true),
            (true, None) => None,
        }
    }

    /// The host condition; `None` when it is ambiguous.
    fn matches_host(&self, authority: Option<&Authority>) -> Option<bool> {
        if self.hosts.is_empty() {
            return Some(true);
        }
        let authority = authority?;
        let mut ambiguous = false;
        for entry in &self.hosts {
            let exact = match &entry.port {
                Some(port) => format!("{}:{port}", entry.name),
                None => entry.name.clone(),
            };
            let under = |text: &str, name: &str| {
                text.strip_suffix(name)
                    .and_then(|head| head.strip_suffix('.'))
                    .is_some_and(|label| !label.is_empty())
            };
            let (surely, maybe) = if entry.wildcard {
                (
                    under(&authority.exact, &exact),
                    under(&authority.host, &entry.name),
                )
            } else {
                (authority.exact == exact, authority.host == entry.name)
            };
            if surely {
                return Some(true);
            }
            // The same name but for a port or a trailing dot: Envoy may fold them.
            ambiguous |= maybe;
        }
        if ambiguous { None } else { Some(false) }
    }

    /// The method condition; `None` when it is ambiguous.
    fn matches_method(&self, method: Option<&[u8]>) -> Option<bool> {
        if self.methods.is_empty() {
            return Some(true);
        }
        let listed = |m: &[u8]| {
            self.methods
                .iter()
                .any(|l| l.as_bytes().eq_ignore_ascii_case(m))
        };
        let method = method?;
        if method.eq_ignore_ascii_case(b"HEAD") && listed(b"HEAD") != listed(b"GET") {
            return None;
        }
        Some(listed(method))
    }

    /// The path condition against a canonical path (`path` with its letter case kept, `lower`
    /// the same in lower case); `None` when the path is ambiguous, or when the condition holds
    /// one way of comparing letter case and not the other.
    /// The path condition over both readings of the path (decoded, and as written when they
    /// differ): `None` unless they agree.
    fn matches_path_readings(&self, input: &RuleInput<'_>) -> Option<bool> {
        let decoded = self.matches_path(input.path, input.path_lower);
        match input.literal {
            None => decoded,
            Some(literal) => {
                let written = self.matches_path(Some(literal), input.literal_lower);
                (decoded == written).then_some(decoded).flatten()
            }
        }
    }

    fn matches_path(&self, path: Option<&str>, lower: Option<&str>) -> Option<bool> {
        let compare = |entry: &str, path: &str| -> bool {
            match &self.path {
                PathMatch::Any => true,
                PathMatch::Prefix(_) => under_prefix(path, entry),
                // A trailing slash does not make another path here (frameworks serve `/login/`
                // as `/login`), so it cannot step around an exact rule.
                PathMatch::Exact(_) => {
                    let trimmed = match path.strip_suffix('/') {
                        Some(t) if !t.is_empty() => t,
                        _ => path,
                    };
                    trimmed == entry
                }
            }
        };
        let entry = match &self.path {
            PathMatch::Any => return Some(true),
            PathMatch::Prefix(entry) | PathMatch::Exact(entry) => entry,
        };
        let sensitive = compare(&entry.written, path?);
        let insensitive = compare(&entry.lower, lower?);
        (sensitive == insensitive).then_some(sensitive)
    }

    /// One line for `client-cert-auth lint`: the conditions, then the mode.
    pub fn describe(&self) -> String {
        let mut conditions = Vec::new();
        if !self.routes.is_empty() {
            conditions.push(format!("routeNames {}", self.routes.join(", ")));
        }
        match &self.path {
            PathMatch::Any => {}
            PathMatch::Prefix(p) => {
                let p = &p.written;
                conditions.push(format!("pathPrefix {}", if p.is_empty() { "/" } else { p }));
            }
            PathMatch::Exact(p) => conditions.push(format!("pathExact {}", p.written)),
        }
        if !self.hosts.is_empty() {
            let hosts: Vec<String> = self
                .hosts
                .iter()
                .map(|h| {
                    let wild = if h.wildcard { "*." } else { "" };
                    let port = h
                        .port
                        .as_deref()
                        .map(|p| format!(":{p}"))
                        .unwrap_or_default();
                    format!("{wild}{}{port}", h.name)
                })
                .collect();
            conditions.push(format!("hosts {}", hosts.join(", ")));
        }
        if !self.methods.is_empty() {
            conditions.push(format!("methods {}", self.methods.join(", ")));
        }
        let when = if conditions.is_empty() {
            "every request".to_string()
        } else {
            conditions.join("; ")
        };
        let identities = match &self.identities {
            None => String::new(),
            Some(list) => format!(
                ", {} identit{} of its own",
                list.len(),
                if list.len() == 1 { "y" } else { "ies" }
            ),
        };
        let name = self
            .name
            .as_deref()
            .map(|n| format!("[{n}] "))
            .unwrap_or_default();
        let report_only = match self.report_only {
            Some(true) => " (report only)",
            Some(false) => " (enforced)",
            None => "",
        };
        format!(
            "{name}{when} -> {}{identities}{report_only}",
            self.mode.name()
        )
    }

    /// True when the rule has no condition: it surely matches every request, so no later rule
    /// can apply.
    pub fn matches_everything(&self) -> bool {
        matches!(self.path, PathMatch::Any)
            && self.routes.is_empty()
            && self.hosts.is_empty()
            && self.methods.is_empty()
    }

    /// Whether a condition reads the route name.
    pub fn uses_route(&self) -> bool {
        !self.routes.is_empty()
    }

    /// Whether a condition reads the `:authority` (`hosts`).
    pub fn uses_host(&self) -> bool {
        !self.hosts.is_empty()
    }

    /// Whether a condition reads the method (`methods`).
    pub fn uses_method(&self) -> bool {
        !self.methods.is_empty()
    }
}

/// What the rules decided for one request: the mode, and which identity lists must be met
/// (`None` in the list stands for the global identities).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection<'r> {
    /// The strictest mode among the rules that may apply (and `clientCertMode` unless one
    /// surely does).
    pub mode: Mode,
    /// The rules' own identity lists among those, each of which must be met.
    pub identities: Vec<&'r [Identity]>,
    /// Whether `validation.identities` must be met too: a rule without its own list may
    /// apply, or no rule surely does.
    pub global_identities: bool,
    /// The index of the rule whose mode decided: the strictest candidate, the first of equals;
    /// `None` for `clientCertMode`.
    pub rule: Option<usize>,
    /// Whether a refusal is only reported: true only when every candidate is report only (a
    /// rule by its own `reportOnly` or the top level's, `clientCertMode` by the top level's),
    /// so an ambiguous request can never borrow another rule's leniency.
    pub report_only: bool,
}

/// Applies the rules to a request. `default_report_only` is the top-level `reportOnly`.
/// Allocates only when a rule with its own identities may apply (the request path stays
/// allocation-free in the usual configurations).
pub fn select<'r>(
    rules: &'r [Rule],
    default_mode: Mode,
    default_report_only: bool,
    input: &RuleInput<'_>,
) -> Selection<'r> {
    let mut selection = Selection {
        mode: default_mode,
        identities: Vec::new(),
        global_identities: false,
        rule: None,
        report_only: true,
    };
    let mut first = true;
    let mut settled = false;
    for (index, rule) in rules.iter().enumerate() {
        let conditions = [
            rule.matches_route(input.route, input.path),
            rule.matches_method(input.method),
            rule.matches_host(input.authority),
            rule.matches_path_readings(input),
        ];
        if conditions.contains(&Some(false)) {
            continue;
        }
        selection.add(
            first,
            Some(index),
            rule.mode,
            rule.identities.as_deref(),
            rule.report_only.unwrap_or(default_report_only),
        );
        first = false;
        if conditions.iter().all(|c| *c == Some(true)) {
            settled = true;
            break;
        }
        // Ambiguous: this rule may apply; keep looking for one that surely does.
    }
    if !settled {
        selection.add(first, None, default_mode, None, default_report_only);
    }
    selection
}

impl<'r> Selection<'r> {
    /// One more candidate that may apply (`first`: the first one): the first of the strictest
    /// modes decides, its identities (`None`: the global ones) must be met too, and a refusal
    /// is only reported if every candidate says so.
    fn add(
        &mut self,
        first: bool,
        rule: Option<usize>,
        mode: Mode,
        identities: Option<&'r [Identity]>,
        report_only: bool,
    ) {
        if first || mode.strictness() > self.mode.strictness() {
            self.mode = mode;
            self.rule = rule;
        }
        self.report_only &= report_only;
        match identities {
            Some(list) => self.identities.push(list),
            None => self.global_identities = true,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The path condition for a plain path, in its two letter-case forms.
    fn at(rule: &Rule, path: &str) -> Option<bool> {
        rule.matches_path(Some(path), Some(&path.to_ascii_lowercase()))
    }

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
    fn an_authority_keeps_its_spelling_and_names_its_plain_host_or_nothing() {
        /// An authority, and what it parses to: (exact, host).
        type Row<'a> = (&'a [u8], Option<(&'a str, &'a str)>);
        let table: [Row<'_>; 24] = [
            (
                b"api.contoso.com",
                Some(("api.contoso.com", "api.contoso.com")),
            ),
            (
                b"API.Contoso.COM:8443",
                Some(("api.contoso.com:8443", "api.contoso.com")),
            ),
            (
                b"api.contoso.com.",
                Some(("api.contoso.com.", "api.contoso.com")),
            ),
            (
                b"api.contoso.com.:443",
                Some(("api.contoso.com.:443", "api.contoso.com")),
            ),
            (b"a-b.c", Some(("a-b.c", "a-b.c"))),
            (b"127.0.0.1:80", Some(("127.0.0.1:80", "127.0.0.1"))),
            (b"[::1]", Some(("[::1]", "[::1]"))),
            (b"[::1]:8443", Some(("[::1]:8443", "[::1]"))),
            (
                b"[::FFFF:127.0.0.1]",
                Some(("[::ffff:127.0.0.1]", "[::ffff:127.0.0.1]")),
            ),
            // A port must be digits, and there must be one after ':'.
            (b"api.contoso.com:", None),
            (b"api.contoso.com:x", None),
            (b"api.contoso.com:44x", None),
            (b"api.contoso.com:443:443", None),
            (b"[::1]:", None),
            (b"[::1]x", None),
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
            let got = request_authority(authority);
            assert_eq!(
                got.as_ref().map(|a| (a.exact.as_str(), a.host.as_str())),
                expected,
                "{:?}",
                String::from_utf8_lossy(authority)
            );
        }
        assert_eq!(request_authority(b"\xff.example"), None, "not UTF-8");
    }

    #[test]
    fn host_patterns_are_names_or_wildcards_over_a_name_with_an_optional_port() {
        let entry = |wildcard: bool, name: &str, port: Option<&str>| HostMatch {
            wildcard,
            name: name.to_string(),
            port: port.map(str::to_string),
        };
        let ok = [
            ("api.contoso.com", entry(false, "api.contoso.com", None)),
            (" API.Contoso.com ", entry(false, "api.contoso.com", None)),
            ("a-b", entry(false, "a-b", None)),
            (
                "api.contoso.com:8443",
                entry(false, "api.contoso.com", Some("8443")),
            ),
            ("*.contoso.com", entry(true, "contoso.com", None)),
            ("*.C:1", entry(true, "c", Some("1"))),
        ];
        for (raw, expected) in ok {
            assert_eq!(host_pattern(raw), Ok(expected), "{raw:?}");
        }
        for raw in [
            "", "*.", "*", "*.*.a", "a.*", "a..b", ".a", "a.", "a b", "a_b", "a/b", "a:", "a:x",
            "a:1:2", ":80",
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
        let at = |authority: &str| {
            wildcard.matches_host(request_authority(authority.as_bytes()).as_ref())
        };
        for (host, expected) in [
            ("api.secure.test", Some(true)),
            ("a.b.secure.test", Some(true)),
            ("secure.test", Some(false)),
            ("xsecure.test", Some(false)),
            // Longer than the suffix but not under it.
            ("api.other.test", Some(false)),
            ("a-much-longer-name.example", Some(false)),
            // Under it but for a port or a trailing dot, which Envoy may fold: ambiguous.
            ("api.secure.test:443", None),
            ("api.secure.test.", None),
            ("secure.test:443", Some(false)),
        ] {
            assert_eq!(at(host), expected, "{host}");
        }
        assert_eq!(wildcard.matches_host(None), None, "an ambiguous host");
        let any = rule(&[], &[], None);
        assert_eq!(any.matches_host(None), Some(true), "no host condition");
    }

    #[test]
    fn an_exact_path_ignores_one_trailing_slash_and_the_root_is_exact() {
        let root = rule(&[], &[], Some("/"));
        for (path, expected) in [("/", true), ("/a", false), ("/a/", false)] {
            assert_eq!(at(&root, path), Some(expected), "{path}");
        }
        let login = rule(&[], &[], Some("/login"));
        for (path, expected) in [
            ("/login", true),
            ("/login/", true),
            ("/login//", false),
            ("/login/x", false),
            ("/", false),
        ] {
            assert_eq!(at(&login, path), Some(expected), "{path}");
        }
        assert_eq!(login.matches_path(None, None), None, "an ambiguous path");
    }

    /// `hosts: []` (a template whose list came out empty) would otherwise make the rule a
    /// catch-all: an `Ignore` rule would turn enforcement off for every request.
    #[test]
    fn an_empty_condition_list_is_refused() {
        let empty = Some(Vec::new());
        for (field, raw) in [
            (
                "hosts",
                RawRule {
                    hosts: empty.clone(),
                    ..RawRule::default()
                },
            ),
            (
                "routeNames",
                RawRule {
                    route_names: empty.clone(),
                    ..RawRule::default()
                },
            ),
            (
                "methods",
                RawRule {
                    methods: empty.clone(),
                    ..RawRule::default()
                },
            ),
        ] {
            let raw = RawRule {
                mode: "Ignore".to_string(),
                ..raw
            };
            let err = Rule::compile(&raw, false).unwrap_err();
            assert_eq!(err, RuleError::EmptyConditions(field));
            assert!(
                err.to_string()
                    .starts_with(&format!("{field}: an empty list")),
                "{err}"
            );
        }
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

    #[test]
    fn a_rule_describes_its_conditions_and_only_a_rule_without_any_matches_everything() {
        let compile = |raw: RawRule| Rule::compile(&raw, false).unwrap();
        let list = |items: &[&str]| Some(items.iter().map(|s| (*s).to_string()).collect());
        let cases = [
            (
                RawRule {
                    mode: "Required".into(),
                    ..RawRule::default()
                },
                "every request -> Required",
                true,
            ),
            (
                RawRule {
                    path_prefix: Some("/".into()),
                    mode: "Ignore".into(),
                    ..RawRule::default()
                },
                "pathPrefix / -> Ignore",
                false,
            ),
            (
                RawRule {
                    route_names: list(&["docs", "api"]),
                    mode: "optional".into(),
                    ..RawRule::default()
                },
                "routeNames docs, api -> Optional",
                false,
            ),
            (
                RawRule {
                    path_exact: Some("/Login/".into()),
                    hosts: list(&["*.A.test:8443", "b.test"]),
                    methods: list(&["get"]),
                    mode: "Required".into(),
                    ..RawRule::default()
                },
                "pathExact /Login; hosts *.a.test:8443, b.test; methods GET -> Required",
                false,
            ),
            (
                RawRule {
                    hosts: list(&["a.test"]),
                    mode: "Ignore".into(),
                    ..RawRule::default()
                },
                "hosts a.test -> Ignore",
                false,
            ),
            (
                RawRule {
                    methods: list(&["POST"]),
                    mode: "Ignore".into(),
                    ..RawRule::default()
                },
                "methods POST -> Ignore",
                false,
            ),
            (
                RawRule {
                    route_names: list(&["r"]),
                    mode: "Ignore".into(),
                    ..RawRule::default()
                },
                "routeNames r -> Ignore",
                false,
            ),
        ];
        for (raw, description, everything) in cases {
            let rule = compile(raw);
            assert_eq!(rule.describe(), description);
            assert_eq!(rule.matches_everything(), everything, "{description}");
        }
        let with_identities = compile(RawRule {
            mode: "Required".into(),
            identities: Some(vec![
                crate::config::RawIdentity {
                    common_name: Some("a".into()),
                    ..Default::default()
                },
                crate::config::RawIdentity {
                    common_name: Some("b".into()),
                    ..Default::default()
                },
            ]),
            ..RawRule::default()
        });
        assert_eq!(
            with_identities.describe(),
            "every request -> Required, 2 identities of its own"
        );
    }

    /// `uses_host` and `uses_method` decide whether a request's `:authority` and `:method` are
    /// read at all ([`crate::decision::config::Needs`]).
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
