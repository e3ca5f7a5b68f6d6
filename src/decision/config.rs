//! The compiled configuration the decision runs on.
//!
//! Parsing happens in two steps, once, at configure time: the configuration reader
//! ([`crate::config::read`]) reads the JSON into [`RawConfig`] (the configuration language,
//! [`crate::config`]), then [`Config::from_json`]
//! checks every value and compiles it: mode resolved, exclusion paths split and normalised,
//! rules, certificates and CRLs parsed, header names and replies fixed, and which request
//! inputs a request needs ([`Needs`]) worked out. Any problem is a [`ConfigError`] that names
//! the field and quotes the value; the glue refuses to start on it, so the filter never runs
//! half-configured.

use std::fmt;

use crate::cert::front::{Cidr, RFC9440_CHAIN_HEADER, default_name};
use crate::config::{FrontFormat, MODE_NAMES, RawConfig, RawHeaderSource, Source, read};
use crate::decision::cache::DEFAULT_CAPACITY;
use crate::outcome::DenyReason;
use crate::output::{Forward, ForwardConfigError, Reply, Responses, ResponsesError};
use crate::scope::Mode;
use crate::scope::path::{ExclusionPaths, PathEntryError};
use crate::scope::rules::{Rule, RuleError};
use crate::validation::crypto::SharedSignatures;
use crate::validation::{Identity, Validation, ValidationConfigError};

/// The largest `cacheSize` accepted.
pub const MAX_CACHE_SIZE: usize = 1_000_000;

/// Which request inputs the configuration needs, so no request reads more than it must.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// `:path` (exclusions or rules look at it).
    pub path: bool,
    /// `:method` (a rule has `methods`).
    pub method: bool,
    /// `:authority` (a rule has `hosts`).
    pub authority: bool,
    /// The route name Envoy chose (a rule has `routeNames`).
    pub route: bool,
    /// The connection's certificate (source `connection` or `auto`).
    pub peer_certificate: bool,
    /// `x-forwarded-client-cert` (source `xfcc` or `auto`).
    pub xfcc: bool,
}

impl Needs {
    fn of(
        enabled: bool,
        mode: Mode,
        rules: &[Rule],
        exclusions: &ExclusionPaths,
        source: Source,
    ) -> Needs {
        let active =
            enabled && (mode != Mode::Disabled || rules.iter().any(|r| r.mode != Mode::Disabled));
        Needs {
            path: active && (!exclusions.is_empty() || !rules.is_empty()),
            method: active && rules.iter().any(Rule::uses_method),
            authority: active && rules.iter().any(Rule::uses_host),
            route: active && rules.iter().any(Rule::uses_route),
            peer_certificate: active && matches!(source, Source::Connection | Source::Auto),
            xfcc: active && matches!(source, Source::Xfcc | Source::Auto),
        }
    }
}

/// The validated configuration the filter runs on.
#[derive(Debug)]
pub struct Config {
    /// `clientCertEnabled`; when false nothing but the header strip happens, rules included.
    pub enabled: bool,
    /// The request inputs a request needs under this configuration.
    pub needs: Needs,
    /// The mode of requests no rule matches (`Disabled` for `Ignore` or when not enabled).
    pub mode: Mode,
    /// `clientCertExclusionPaths`, split and normalised: paths that never need a certificate.
    pub exclusions: ExclusionPaths,
    /// `rules`, compiled, in order: the first that surely matches a request decides its mode
    /// and identities.
    pub rules: Vec<Rule>,
    /// The `validation` object, compiled: date policy, trust anchors, CRLs, EKU, identities.
    pub validation: Validation,
    /// `cacheSize`: how many certificates' verdicts each worker remembers, at most
    /// [`MAX_CACHE_SIZE`]; 0 turns the cache off.
    pub cache_size: usize,
    /// `certificateSource`: where the client certificate comes from.
    pub source: Source,
    /// `stripXfcc`: remove `x-forwarded-client-cert` from a request that goes upstream; by
    /// default true unless the source is `connection`.
    pub strip_xfcc: bool,
    /// `forward`: the headers set for the upstream, and the names stripped from every request.
    pub forward: Forward,
    /// `header`, compiled, with `certificateSource: "header"`: the proxy's certificate header
    /// and the peers trusted to send it.
    pub front: Option<FrontSource>,
    /// `responses`: the local reply for each denial reason.
    pub responses: Responses,
    /// `reportOnly`: refusals are reported, not enforced, where no rule says otherwise.
    pub report_only: bool,
    /// Some identity (global or a rule's) has a `subjectPattern`: the subject is printed as
    /// nginx prints it once per certificate.
    pub subject_patterns: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            needs: Needs {
                peer_certificate: true,
                ..Needs::default()
            },
            mode: Mode::Required,
            exclusions: ExclusionPaths::default(),
            rules: Vec::new(),
            validation: Validation::default(),
            cache_size: DEFAULT_CAPACITY,
            source: Source::Connection,
            strip_xfcc: false,
            forward: Forward::default(),
            front: None,
            responses: Responses::default(),
            report_only: false,
            subject_patterns: false,
        }
    }
}

/// `header`, compiled: which header carries the certificate, in which format, and which
/// immediate peers may send it.
#[derive(Debug, Clone)]
pub struct FrontSource {
    /// How the proxy encodes the certificate.
    pub format: FrontFormat,
    /// The certificate header, lower case.
    pub name: String,
    /// RFC 9440's `Client-Cert-Chain`, for that format only.
    pub chain_name: Option<&'static str>,
    /// `trustedProxies`.
    pub trusted: Vec<Cidr>,
    /// `trustedProxies` as written (trimmed), in the same order, for `lint`.
    pub trusted_text: Vec<String>,
}

impl FrontSource {
    fn compile(raw: &RawHeaderSource) -> Result<FrontSource, ConfigError> {
        let problem = |field: String, problem: String| ConfigError::Header { field, problem };
        let name = match (&raw.name, default_name(raw.format)) {
            (Some(name), _) => {
                let lower = name.trim().to_ascii_lowercase();
                let usable = !lower.is_empty()
                    && lower
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    && !matches!(
                        lower.as_str(),
                        "host" | "content-length" | "transfer-encoding"
                    );
                if !usable {
                    return Err(problem(
                        "header.name".to_string(),
                        format!("{name:?} is not a usable header name"),
                    ));
                }
                lower
            }
            (None, Some(default)) => default.to_string(),
            (None, None) => {
                return Err(problem(
                    "header.name".to_string(),
                    format!(
                        "required for format {}, which has no standard header: the header your proxy writes the certificate into",
                        if raw.format == FrontFormat::Nginx {
                            "nginx"
                        } else {
                            "appGateway"
                        }
                    ),
                ));
            }
        };
        if raw.trusted_proxies.is_empty() {
            return Err(problem(
                "header.trustedProxies".to_string(),
                "lists no proxy: the header would never be used".to_string(),
            ));
        }
        let trusted = raw
            .trusted_proxies
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let field = format!("header.trustedProxies[{i}]");
                let cidr = Cidr::parse(entry.trim())
                    .map_err(|e| problem(field.clone(), format!("{entry:?} {e}")))?;
                match cidr.catch_all() {
                    Some(what) => Err(problem(
                        field,
                        format!(
                            "{entry:?} trusts {what}: any client could hand over a certificate \
                             header; list the proxies' own addresses"
                        ),
                    )),
                    None => Ok(cidr),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FrontSource {
            format: raw.format,
            name,
            chain_name: (raw.format == FrontFormat::Rfc9440).then_some(RFC9440_CHAIN_HEADER),
            trusted,
            trusted_text: raw
                .trusted_proxies
                .iter()
                .map(|e| e.trim().to_string())
                .collect(),
        })
    }
}

/// Why a configuration was refused. Every variant names the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The text is not JSON, or a field has the wrong type, or a key is unknown.
    Json {
        /// The path of the field at fault (`validation.crls[0]`); empty for a syntax error or
        /// a top level that is not an object.
        field: String,
        /// What is wrong, in serde_json's words with its position (or `expected a JSON object`).
        message: String,
    },
    /// `clientCertMode` is not one of the known names.
    UnknownMode {
        /// The mode as written.
        value: String,
    },
    /// One exclusion path is not usable.
    ExclusionPath {
        /// The entry's position among the non-empty entries, from 0.
        index: usize,
        /// The entry as written (trimmed).
        value: String,
        /// Why the path was refused.
        problem: PathEntryError,
    },
    /// The `validation` object is inconsistent or holds something that does not parse.
    Validation(ValidationConfigError),
    /// `cacheSize` is out of range.
    CacheSize {
        /// The size asked for, more than [`MAX_CACHE_SIZE`].
        value: usize,
    },
    /// Two rules have the same `name`.
    DuplicateRuleName {
        /// The later rule's position in `rules`, from 0.
        index: usize,
        /// The earlier rule's position.
        first: usize,
        /// The name both carry.
        name: String,
    },
    /// One rule is not usable.
    Rule {
        /// The rule's position in `rules`, from 0.
        index: usize,
        /// Which field of the rule is at fault, and why.
        problem: RuleError,
    },
    /// The `forward` object names a header that cannot be set.
    Forward(ForwardConfigError),
    /// `header` (the certificate source `header`) is missing, misplaced or unusable.
    Header {
        /// The field at fault (`header.trustedProxies[1]`).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The `responses` object holds a reply that cannot be sent.
    Responses(ResponsesError),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Json { field, message } if field.is_empty() || field == "." => {
                write!(f, "configuration is not valid: {message}")
            }
            ConfigError::Json { field, message } => write!(f, "{field}: {message}"),
            ConfigError::UnknownMode { value } => write!(
                f,
                "clientCertMode: unknown mode {value:?}, expected one of {}",
                MODE_NAMES.join(", ")
            ),
            ConfigError::ExclusionPath {
                index,
                value,
                problem,
            } => write!(f, "clientCertExclusionPaths[{index}]: {value:?} {problem}"),
            ConfigError::Validation(e) => e.fmt(f),
            ConfigError::CacheSize { value } => {
                write!(
                    f,
                    "cacheSize: {value} is more than the {MAX_CACHE_SIZE} allowed"
                )
            }
            ConfigError::Rule { index, problem } => write!(f, "rules[{index}].{problem}"),
            ConfigError::DuplicateRuleName { index, first, name } => write!(
                f,
                "rules[{index}].name: {name:?} is already the name of rules[{first}]; rule names must be unique"
            ),
            ConfigError::Forward(e) => e.fmt(f),
            ConfigError::Header { field, problem } => write!(f, "{field}: {problem}"),
            ConfigError::Responses(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The largest configuration text read (8 MiB).
pub const MAX_CONFIG_BYTES: usize = 8 << 20;

impl Config {
    /// Parses and validates the plugin configuration. Empty input (or only whitespace) means
    /// the defaults: `Required`, no exclusions.
    pub fn from_json(bytes: &[u8]) -> Result<Config, ConfigError> {
        // The text is read into a tree before its fields are checked, which can take many
        // times its size (`[[0],[0],...]`): a bound, so that a huge text is refused with a
        // message rather than running the VM out of memory. A pasted CRL of 100,000 entries
        // is about 4 MB.
        if bytes.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::Json {
                field: String::new(),
                message: format!(
                    "the configuration is {} bytes, more than {MAX_CONFIG_BYTES}; give large CRLs as revocationSources",
                    bytes.len()
                ),
            });
        }
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            None => return Config::from_raw(RawConfig::default()),
            // Only an object is a configuration (serde read a struct from a positional array too).
            Some(b'{') => {}
            Some(_) => {
                return Err(ConfigError::Json {
                    field: String::new(),
                    message: "expected a JSON object".to_string(),
                });
            }
        }
        let raw = read::config(bytes).map_err(|e| ConfigError::Json {
            field: e.field,
            message: e.message,
        })?;
        let mut config = Config::from_raw(raw)?;
        // The VMs of this configuration, and only they, share the signatures they verify.
        config
            .validation
            .share_signatures(SharedSignatures::of_configuration(bytes));
        Ok(config)
    }

    /// Validates an already deserialized configuration.
    pub fn from_raw(raw: RawConfig) -> Result<Config, ConfigError> {
        let mode = match &raw.client_cert_mode {
            None => Mode::Required,
            Some(value) => Mode::parse(value).ok_or_else(|| ConfigError::UnknownMode {
                value: value.clone(),
            })?,
        };
        let enabled = raw.client_cert_enabled != Some(false);
        let mode = if enabled { mode } else { Mode::Disabled };
        let mut exclusions = ExclusionPaths::default();
        if let Some(list) = &raw.client_cert_exclusion_paths {
            for (index, entry) in list.entries().into_iter().enumerate() {
                exclusions
                    .add(entry)
                    .map_err(|problem| ConfigError::ExclusionPath {
                        index,
                        value: entry.to_string(),
                        problem,
                    })?;
            }
        }
        let validation = Validation::compile(&raw.validation.unwrap_or_default())
            .map_err(ConfigError::Validation)?;
        let cache_size = raw.cache_size.unwrap_or(DEFAULT_CAPACITY);
        if cache_size > MAX_CACHE_SIZE {
            return Err(ConfigError::CacheSize { value: cache_size });
        }
        let rules = raw
            .rules
            .iter()
            .flatten()
            .enumerate()
            .map(|(index, rule)| {
                Rule::compile(rule, validation.trust_enabled())
                    .map_err(|problem| ConfigError::Rule { index, problem })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (index, rule) in rules.iter().enumerate() {
            let Some(name) = &rule.name else { continue };
            if let Some(first) = rules[..index]
                .iter()
                .position(|r| r.name.as_ref() == Some(name))
            {
                return Err(ConfigError::DuplicateRuleName {
                    index,
                    first,
                    name: name.clone(),
                });
            }
        }
        let source = raw.certificate_source.unwrap_or(Source::Connection);
        let strip_xfcc = raw
            .strip_xfcc
            .unwrap_or(matches!(source, Source::Xfcc | Source::Auto));
        let front = match (source, &raw.header) {
            (Source::Header, Some(header)) => Some(FrontSource::compile(header)?),
            (Source::Header, None) => {
                return Err(ConfigError::Header {
                    field: "header".to_string(),
                    problem: "required with certificateSource \"header\" (format, trustedProxies)"
                        .to_string(),
                });
            }
            (_, Some(_)) => {
                return Err(ConfigError::Header {
                    field: "header".to_string(),
                    problem: "only with certificateSource \"header\"; it would be ignored"
                        .to_string(),
                });
            }
            (_, None) => None,
        };
        let mut forward =
            Forward::compile(&raw.forward.unwrap_or_default(), validation.trust_enabled())
                .map_err(ConfigError::Forward)?;
        // The proxy's certificate header never reaches the upstream as the client sent it.
        if let Some(front) = &front {
            forward.strip_also(&front.name);
            if let Some(chain) = front.chain_name {
                forward.strip_also(chain);
            }
        }
        let responses = Responses::compile(&raw.responses.unwrap_or_default())
            .map_err(ConfigError::Responses)?;
        let subject_patterns = validation
            .identities
            .iter()
            .chain(rules.iter().flat_map(|r| r.identities.iter().flatten()))
            .any(Identity::has_subject_pattern);
        Ok(Config {
            subject_patterns,
            enabled,
            needs: Needs::of(enabled, mode, &rules, &exclusions, source),
            mode,
            exclusions,
            rules,
            validation,
            cache_size,
            source,
            strip_xfcc,
            forward,
            front,
            responses,
            report_only: raw.report_only.unwrap_or(false),
        })
    }
}

impl Config {
    /// Every identity, global (`validation.identities[i]`) then the rules'
    /// (`rules[r].identities[i]`), with its configuration path, for `lint`.
    pub fn identities_by_field(&self) -> Vec<(String, &Identity)> {
        let global = self
            .validation
            .identities
            .iter()
            .enumerate()
            .map(|(i, id)| (format!("validation.identities[{i}]"), id));
        let per_rule = self.rules.iter().enumerate().flat_map(|(r, rule)| {
            rule.identities
                .iter()
                .flatten()
                .enumerate()
                .map(move |(i, id)| (format!("rules[{r}].identities[{i}]"), id))
        });
        global.chain(per_rule).collect()
    }

    /// The name of the rule at `index` as logs and the filter state say it: its `name`, or
    /// `rules[<index>]` for a rule without one; `-` for `clientCertMode` (`None`).
    pub fn rule_label(&self, index: Option<usize>) -> std::borrow::Cow<'_, str> {
        match index {
            None => "-".into(),
            Some(i) => match self.rules.get(i).and_then(|r| r.name.as_deref()) {
                Some(name) => name.into(),
                None => format!("rules[{i}]").into(),
            },
        }
    }

    /// The reply for a denial.
    pub fn reply(&self, reason: &DenyReason) -> &Reply {
        self.responses.reply(reason)
    }
}
