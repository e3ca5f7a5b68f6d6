//! Plugin configuration: the JSON the user writes, and the validated form the filter runs on.
//!
//! Parsing happens in two steps, once, at configure time: serde reads the JSON into
//! [`RawConfig`] (camelCase names, unknown keys refused at every level), then
//! [`Config::from_json`] checks every value and compiles it (mode resolved, exclusion paths split
//! and normalised). Any problem is a [`ConfigError`] that names the field and quotes the value;
//! the glue refuses to start on it, so the filter never runs half-configured.

use std::fmt;

use serde::Deserialize;

use crate::cache::DEFAULT_CAPACITY;
use crate::forward::{Forward, ForwardConfigError, RawForward};
use crate::path::{ExclusionPaths, PathEntryError};
use crate::responses::{RawResponses, Responses, ResponsesError};
use crate::rules::{RawRule, Rule, RuleError};
use crate::validation::{RawValidation, Validation, ValidationConfigError};

/// The largest `cacheSize` accepted.
pub const MAX_CACHE_SIZE: usize = 1_000_000;

/// The configuration exactly as written by the user.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawConfig {
    /// `false` turns enforcement and forwarding off (only the header strip remains).
    pub client_cert_enabled: Option<bool>,
    /// `Required` | `Optional` | `OptionalInteractiveUser` | `Ignore`, any letter case.
    pub client_cert_mode: Option<String>,
    /// `"/a;/b,/c"` as Azure writes it, or `["/a", "/b"]`.
    pub client_cert_exclusion_paths: Option<RawPathList>,
    /// APIM-style certificate validation.
    pub validation: Option<RawValidation>,
    /// Certificates whose verdict is remembered (0 turns the cache off).
    pub cache_size: Option<usize>,
    /// Ordered per-route rules; the first that matches decides the mode.
    pub rules: Option<Vec<RawRule>>,
    /// `connection` (default) | `xfcc` | `auto`.
    pub certificate_source: Option<String>,
    /// Remove `x-forwarded-client-cert` before the upstream (default: true when XFCC can be
    /// the source).
    pub strip_xfcc: Option<bool>,
    /// What the upstream receives.
    pub forward: Option<RawForward>,
    /// Local replies per reason.
    pub responses: Option<RawResponses>,
}

/// Where the client certificate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Envoy's `connection.peer_certificate` property (Envoy >= 1.38).
    Connection,
    /// `x-forwarded-client-cert`, as set by this proxy's connection manager (`SANITIZE_SET`).
    Xfcc,
    /// The connection property when present, else XFCC.
    Auto,
}

/// Azure stores exclusion paths as one delimited string; JSON users may prefer an array.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a string of paths separated by ';' or ',', or an array of strings"
)]
pub enum RawPathList {
    Delimited(String),
    List(Vec<String>),
}

impl RawPathList {
    /// The entries, trimmed, empty ones dropped.
    fn entries(&self) -> Vec<&str> {
        let all: Vec<&str> = match self {
            RawPathList::Delimited(s) => s.split([';', ',']).collect(),
            RawPathList::List(v) => v.iter().map(String::as_str).collect(),
        };
        all.into_iter()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect()
    }
}

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
    const NAMES: &'static str = "Required, Optional, OptionalInteractiveUser, Ignore";

    pub(crate) fn parse(value: &str) -> Option<Mode> {
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
            Mode::Disabled => "Ignore",
            Mode::Required => "Required",
            Mode::Optional => "Optional",
            Mode::OptionalInteractiveUser => "OptionalInteractiveUser",
        }
    }
}

/// The validated configuration the filter runs on.
#[derive(Debug)]
pub struct Config {
    /// `clientCertEnabled`; when false nothing but the header strip happens, rules included.
    pub enabled: bool,
    /// The mode of requests no rule matches (`Disabled` for `Ignore` or when not enabled).
    pub mode: Mode,
    pub exclusions: ExclusionPaths,
    pub rules: Vec<Rule>,
    pub validation: Validation,
    pub cache_size: usize,
    pub source: Source,
    pub strip_xfcc: bool,
    pub forward: Forward,
    pub responses: Responses,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            mode: Mode::Required,
            exclusions: ExclusionPaths::default(),
            rules: Vec::new(),
            validation: Validation::default(),
            cache_size: DEFAULT_CAPACITY,
            source: Source::Connection,
            strip_xfcc: false,
            forward: Forward::default(),
            responses: Responses::default(),
        }
    }
}

/// Why a configuration was refused. Every variant names the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The text is not JSON, or a field has the wrong type, or a key is unknown.
    Json {
        field: String,
        message: String,
    },
    /// `clientCertMode` is not one of the known names.
    UnknownMode {
        value: String,
    },
    /// One exclusion path is not usable.
    ExclusionPath {
        index: usize,
        value: String,
        problem: PathEntryError,
    },
    /// The `validation` object is inconsistent or holds something that does not parse.
    Validation(ValidationConfigError),
    /// `cacheSize` is out of range.
    CacheSize {
        value: usize,
    },
    /// One rule is not usable.
    Rule {
        index: usize,
        problem: RuleError,
    },
    /// `certificateSource` is not a known source.
    UnknownSource {
        value: String,
    },
    Forward(ForwardConfigError),
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
                Mode::NAMES
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
            ConfigError::UnknownSource { value } => write!(
                f,
                "certificateSource: unknown source {value:?}, expected connection, xfcc or auto"
            ),
            ConfigError::Forward(e) => e.fmt(f),
            ConfigError::Responses(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Parses and validates the plugin configuration. Empty input (or only whitespace) means
    /// the defaults: `Required`, no exclusions.
    pub fn from_json(bytes: &[u8]) -> Result<Config, ConfigError> {
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            None => return Config::from_raw(RawConfig::default()),
            // serde would also read a struct from a positional array; only an object is valid.
            Some(b'{') => {}
            Some(_) => {
                return Err(ConfigError::Json {
                    field: String::new(),
                    message: "expected a JSON object".to_string(),
                });
            }
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let raw: RawConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            ConfigError::Json {
                // A syntax error has no meaningful field; a type error has one.
                field: if inner.is_data() {
                    field
                } else {
                    String::new()
                },
                message: inner.to_string(),
            }
        })?;
        de.end().map_err(|e| ConfigError::Json {
            field: String::new(),
            message: e.to_string(),
        })?;
        Config::from_raw(raw)
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
        let source = match raw.certificate_source.as_deref() {
            None | Some("connection") => Source::Connection,
            Some("xfcc") => Source::Xfcc,
            Some("auto") => Source::Auto,
            Some(other) => {
                return Err(ConfigError::UnknownSource {
                    value: other.to_string(),
                });
            }
        };
        let strip_xfcc = raw.strip_xfcc.unwrap_or(source != Source::Connection);
        let forward =
            Forward::compile(&raw.forward.unwrap_or_default()).map_err(ConfigError::Forward)?;
        let responses = Responses::compile(&raw.responses.unwrap_or_default())
            .map_err(ConfigError::Responses)?;
        Ok(Config {
            enabled,
            mode,
            exclusions,
            rules,
            validation,
            cache_size,
            source,
            strip_xfcc,
            forward,
            responses,
        })
    }
}
