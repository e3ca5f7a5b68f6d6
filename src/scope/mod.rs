//! What a request's path, host and method decide before any certificate is looked at: whether
//! the path is excluded, and which mode and identities apply. A crafted request can never make
//! this weaker than configured: an ambiguous path is never excluded, and an ambiguous rule
//! condition lets the strictest candidate decide.

pub mod path;
pub mod rules;

use std::borrow::Cow;

use crate::config::MODE_NAMES;
use path::{ExclusionPaths, canonical_path, literal_path};
use rules::{Rule, RuleInput, Selection, request_authority, select};

/// What the filter enforces outside exclusion paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `clientCertEnabled: false` or `Ignore`: strip the client's header, nothing else.
    Disabled,
    /// A valid certificate is needed; missing or invalid is answered with 401.
    Required,
    /// No certificate passes without the header; an invalid one is answered with 401.
    Optional,
    /// Same as [`Mode::Optional`] at the HTTP layer (Azure differs only in the TLS prompt).
    OptionalInteractiveUser,
}

impl Mode {
    /// A mode's name in any letter case (`Ignore` is [`Mode::Disabled`]).
    pub fn parse(value: &str) -> Option<Mode> {
        match value.to_ascii_lowercase().as_str() {
            "required" => Some(Mode::Required),
            "optional" => Some(Mode::Optional),
            "optionalinteractiveuser" => Some(Mode::OptionalInteractiveUser),
            "ignore" => Some(Mode::Disabled),
            _ => None,
        }
    }

    /// The name used in logs and documentation.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Disabled => MODE_NAMES[3],
            Mode::Required => MODE_NAMES[0],
            Mode::Optional => MODE_NAMES[1],
            Mode::OptionalInteractiveUser => MODE_NAMES[2],
        }
    }

    /// How strict a mode is: Required > the optional modes > disabled.
    pub fn strictness(self) -> u8 {
        match self {
            Mode::Disabled => 0,
            Mode::Optional | Mode::OptionalInteractiveUser => 1,
            Mode::Required => 2,
        }
    }
}

/// The request facts the scope is decided on. A field the configuration does not need may be
/// left empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestLine<'a> {
    /// `:path`, raw bytes.
    pub path: &'a [u8],
    /// `:method`.
    pub method: &'a [u8],
    /// Whether the request carries a method-override header (its method is then ambiguous).
    pub method_overridden: bool,
    /// `:authority`.
    pub authority: &'a [u8],
    /// The name of the route Envoy chose (`xds.route_name`), if any.
    pub route: Option<&'a [u8]>,
}

/// What the path, host and method decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope<'c> {
    /// The path lies, unambiguously, under an exclusion path.
    pub excluded: bool,
    /// The mode and identities the rules chose.
    pub selection: Selection<'c>,
}

/// Decides the scope of one request. `uses_path` / `uses_host` say whether any exclusion or
/// rule looks at them (known at configure time); when not, they are not parsed.
/// `default_report_only` is the top-level `reportOnly`.
#[allow(clippy::too_many_arguments)]
pub fn scope<'c>(
    exclusions: &ExclusionPaths,
    rules: &'c [Rule],
    default_mode: Mode,
    default_report_only: bool,
    request: RequestLine<'_>,
    uses_path: bool,
    uses_host: bool,
) -> Scope<'c> {
    let path = if uses_path {
        canonical_path(request.path)
    } else {
        None
    };
    // Lowered once for every case-insensitive comparison; a path already in lower case (the
    // usual one) is not copied.
    let lower: Option<Cow<'_, str>> = path.as_deref().map(|p| {
        if p.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(p.to_ascii_lowercase())
        } else {
            Cow::Borrowed(p)
        }
    });
    // The path as written, when decoding escapes changed it: Envoy's router (without
    // `normalize_path`) and a server that does not decode read that one, so a weaker outcome
    // needs both readings to agree (`/%70ublic` is `/public` only to some).
    let literal: Option<&str> = match &path {
        Some(Cow::Owned(_)) => literal_path(request.path),
        _ => None,
    };
    let literal_lower: Option<Cow<'_, str>> = literal.map(|p| Cow::Owned(p.to_ascii_lowercase()));
    let authority = if uses_host {
        request_authority(request.authority)
    } else {
        None
    };
    let input = RuleInput {
        path: path.as_deref(),
        path_lower: lower.as_deref(),
        literal,
        literal_lower: literal_lower.as_deref(),
        authority: authority.as_ref(),
        method: (!request.method_overridden).then_some(request.method),
        route: request.route,
    };
    Scope {
        excluded: exclusions.matches_readings(
            lower.as_deref(),
            literal_lower.as_deref(),
            matches!(path, Some(Cow::Owned(_))),
        ),
        selection: select(rules, default_mode, default_report_only, &input),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_in_any_case_and_name_themselves() {
        for (text, mode) in [
            ("required", Mode::Required),
            ("OPTIONAL", Mode::Optional),
            ("OptionalInteractiveUser", Mode::OptionalInteractiveUser),
            ("iGnOrE", Mode::Disabled),
        ] {
            assert_eq!(Mode::parse(text), Some(mode), "{text}");
            assert_eq!(Mode::parse(mode.name()), Some(mode));
        }
        assert_eq!(Mode::parse("Sometimes"), None);
        assert_eq!(Mode::parse("disabled"), None, "the portal's name is Ignore");
    }

    #[test]
    fn strictness_orders_required_over_optional_over_disabled() {
        assert!(Mode::Required.strictness() > Mode::Optional.strictness());
        assert_eq!(
            Mode::Optional.strictness(),
            Mode::OptionalInteractiveUser.strictness()
        );
        assert!(Mode::Optional.strictness() > Mode::Disabled.strictness());
    }
}
