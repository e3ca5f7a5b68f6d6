//! The configuration reader: the [`json`](super::json) tree into the `Raw*` types, with serde's
//! rules and words.
//!
//! It reads what serde's derive read (`deny_unknown_fields` at every level, a key given twice
//! refused, `null` for an optional field meaning absent, integers checked against their type's
//! range, fields reported in document order and a missing one after the object), and refuses
//! with serde_json's message and position, the field named by its path. It is one walker with a
//! small function per type, not a generic deserializer per type: the point of it is the bytes
//! of the module (serde's derive and serde_json were about 108 KB of it).
//!
//! Where it differs from serde, deliberately (tests/native/config.rs holds each case):
//! - a number of the wrong type is quoted as written (`1e3`), not re-printed by float
//!   formatting (`1000.0`);
//! - an object type given an array is refused as any other wrong type (serde read a struct
//!   from a positional array), and a closed set given anything but a string names the field
//!   and the names it expects (serde_json said `expected value`, naming no field, and read a
//!   one-key object `{"auto": null}` as the name);
//! - a key given twice in `responses.*.headers` is refused like any other (a map kept the last);
//! - the whole text is parsed before it is read, so a syntax error anywhere wins over a field
//!   error before it.

use super::json::{self, Kind, Member, Number, Value};
use super::{
    OutputPreset, Preset, RawConfig, RawCrlSource, RawForward, RawHeaderSource, RawIdentity,
    RawOcspSource, RawPathList, RawReply, RawResponses, RawRevocationSources, RawRule,
    RawValidation, ReplyFormat, RevocationFailure, Source,
};

/// A configuration the reader refuses: the field's path (`rules[0].mode`, empty for a syntax
/// error) and serde_json's message with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// The path of the field at fault; empty when the text is not JSON.
    pub field: String,
    /// What is wrong, ending ` at line L column C`.
    pub message: String,
}

/// Reads the configuration document `text` (an object; the caller checks that).
pub fn config(text: &[u8]) -> Result<RawConfig, ReadError> {
    let tree = json::parse(text).map_err(|e| ReadError {
        field: String::new(),
        message: e.message(text),
    })?;
    Reader { text }.config(&tree, &Path::ROOT).map_err(
        |Fail {
             field,
             offset,
             mut message,
         }| {
            json::push_position(&mut message, text, offset);
            ReadError { field, message }
        },
    )
}

/// The keys of each object type, in declaration order (serde's order in its messages). The
/// schema test holds them against the JSON Schema, so neither can gain a key alone.
pub mod keys {
    /// [`RawConfig`](super::RawConfig).
    pub const CONFIG: &[&str] = &[
        "clientCertEnabled",
        "clientCertMode",
        "clientCertExclusionPaths",
        "validation",
        "cacheSize",
        "rules",
        "certificateSource",
        "header",
        "stripXfcc",
        "forward",
        "responses",
        "reportOnly",
    ];
    /// [`RawHeaderSource`](super::RawHeaderSource).
    pub const HEADER: &[&str] = &["format", "trustedProxies", "name"];
    /// [`RawValidation`](super::RawValidation).
    pub const VALIDATION: &[&str] = &[
        "validateNotBefore",
        "validateNotAfter",
        "clockSkewSeconds",
        "validateTrust",
        "trustedCaCertificates",
        "intermediateCertificates",
        "maxChainDepth",
        "validateRevocation",
        "crls",
        "revocationSources",
        "revocationFailure",
        "requireClientAuthEku",
        "identities",
    ];
    /// [`RawRevocationSources`](super::RawRevocationSources).
    pub const REVOCATION_SOURCES: &[&str] = &["crls", "ocsp"];
    /// [`RawCrlSource`](super::RawCrlSource).
    pub const CRL_SOURCE: &[&str] = &["url", "cluster", "refreshSeconds"];
    /// [`RawOcspSource`](super::RawOcspSource).
    pub const OCSP_SOURCE: &[&str] = &[
        "cluster",
        "url",
        "timeoutMs",
        "cacheSeconds",
        "requireNonce",
        "maxAgeSeconds",
    ];
    /// [`RawIdentity`](super::RawIdentity).
    pub const IDENTITY: &[&str] = &[
        "thumbprint",
        "thumbprintSha256",
        "spkiSha256",
        "serialNumber",
        "commonName",
        "subject",
        "subjectPattern",
        "dnsName",
        "uri",
        "email",
        "issuerSubject",
        "issuerThumbprint",
    ];
    /// [`RawRule`](super::RawRule).
    pub const RULE: &[&str] = &[
        "name",
        "routeNames",
        "pathPrefix",
        "pathExact",
        "hosts",
        "methods",
        "mode",
        "identities",
        "reportOnly",
    ];
    /// [`RawForward`](super::RawForward).
    pub const FORWARD: &[&str] = &[
        "arrClientCert",
        "arrHeaderName",
        "rfc9440",
        "infoHeaders",
        "infoHeaderPrefix",
        "preset",
        "passCertificate",
    ];
    /// [`RawResponses`](super::RawResponses).
    pub const RESPONSES: &[&str] = &[
        "preset",
        "errorPage",
        "missing",
        "invalid",
        "malformed",
        "expired",
        "notYetValid",
        "untrusted",
        "chainTooLong",
        "revoked",
        "revocationUnknown",
        "wrongUsage",
        "identityNotMatched",
        "xfccUntrusted",
        "notVisible",
    ];
    /// [`RawReply`](super::RawReply).
    pub const REPLY: &[&str] = &["status", "body", "contentType", "headers", "format"];
}

/// The names of each closed set, in declaration order, beside its values.
pub mod names {
    use super::super::{FrontFormat, OutputPreset, Preset, ReplyFormat, RevocationFailure, Source};
    /// [`Source`].
    pub const SOURCE: (&[&str], [Source; 4]) = (
        &["connection", "xfcc", "auto", "header"],
        [
            Source::Connection,
            Source::Xfcc,
            Source::Auto,
            Source::Header,
        ],
    );
    /// [`FrontFormat`].
    pub const FRONT_FORMAT: (&[&str], [FrontFormat; 8]) = (
        &[
            "alb",
            "appGateway",
            "cloudflare",
            "traefik",
            "nginx",
            "containerApps",
            "rfc9440",
            "arr",
        ],
        [
            FrontFormat::Alb,
            FrontFormat::AppGateway,
            FrontFormat::Cloudflare,
            FrontFormat::Traefik,
            FrontFormat::Nginx,
            FrontFormat::ContainerApps,
            FrontFormat::Rfc9440,
            FrontFormat::Arr,
        ],
    );
    /// [`RevocationFailure`].
    pub const REVOCATION_FAILURE: (&[&str], [RevocationFailure; 2]) = (
        &["deny", "allow"],
        [RevocationFailure::Deny, RevocationFailure::Allow],
    );
    /// [`OutputPreset`].
    pub const OUTPUT_PRESET: (&[&str], [OutputPreset; 4]) = (
        &["alb", "gclb", "traefik", "ingressNginx"],
        [
            OutputPreset::Alb,
            OutputPreset::Gclb,
            OutputPreset::Traefik,
            OutputPreset::IngressNginx,
        ],
    );
    /// [`Preset`].
    pub const PRESET: (&[&str], [Preset; 4]) = (
        &["default", "appService", "apim", "ingressNginx"],
        [
            Preset::Default,
            Preset::AppService,
            Preset::Apim,
            Preset::IngressNginx,
        ],
    );
    /// [`ReplyFormat`].
    pub const REPLY_FORMAT: (&[&str], [ReplyFormat; 2]) =
        (&["text", "json"], [ReplyFormat::Text, ReplyFormat::Json]);
}

/// Where a value lies: a chain of keys and indexes up to the root, kept on the stack and
/// written out only for a refusal.
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    step: Step<'a>,
}

enum Step<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl<'a> Path<'a> {
    const ROOT: Path<'static> = Path {
        parent: None,
        step: Step::Root,
    };

    fn key(&'a self, key: &'a str) -> Path<'a> {
        Path {
            parent: Some(self),
            step: Step::Key(key),
        }
    }

    fn index(&'a self, index: usize) -> Path<'a> {
        Path {
            parent: Some(self),
            step: Step::Index(index),
        }
    }

    /// `validation.identities[0].subject`.
    fn render(&self, out: &mut String) {
        if let Some(parent) = self.parent {
            parent.render(out);
        }
        match self.step {
            Step::Root => {}
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Index(index) => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }
}

/// A refusal while reading: the field's path, and the message and offset of its position.
struct Fail {
    field: String,
    offset: usize,
    message: String,
}

/// The most headers one reply of `responses` may add (Envoy's default limit on a message's
/// headers is 100).
pub const MAX_REPLY_HEADERS: usize = 64;

fn fail(path: &Path<'_>, offset: usize, message: String) -> Fail {
    let mut field = String::new();
    path.render(&mut field);
    Fail {
        field,
        offset,
        message,
    }
}

type Read<T> = Result<T, Fail>;

/// A reader of one value.
type Field<'t, T> = fn(&Reader<'t>, &Value, &Path<'_>) -> Read<T>;

/// Appends the names as serde lists what it expected: `` `a` ``, `` `a` or `b` ``,
/// `` one of `a`, `b`, `c` ``.
fn push_one_of(out: &mut String, names: &[&str]) {
    if names.len() > 2 {
        out.push_str("one of ");
    }
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push_str(if names.len() == 2 { " or " } else { ", " });
        }
        out.push('`');
        out.push_str(name);
        out.push('`');
    }
}

/// `<what> `<name>`` and, for an unknown one, what was expected: serde's messages.
fn named(what: &str, name: &str, expected: &[&str]) -> String {
    let mut message = String::from(what);
    message.push_str(" `");
    message.push_str(name);
    message.push('`');
    if !expected.is_empty() {
        message.push_str(", expected ");
        push_one_of(&mut message, expected);
    }
    message
}

struct Reader<'t> {
    /// The document, for numbers quoted as written.
    text: &'t [u8],
}

impl<'t> Reader<'t> {
    /// serde's `invalid type: <what the value is>, expected <expected>`, where serde_json puts
    /// it: after a scalar, at the start of an array or object.
    fn invalid_type(&self, value: &Value, path: &Path<'_>, expected: &str) -> Fail {
        let mut message = String::from("invalid type: ");
        let mut offset = value.end;
        match &value.kind {
            Kind::Null => message.push_str("null"),
            Kind::Bool(b) => message.push_str(if *b {
                "boolean `true`"
            } else {
                "boolean `false`"
            }),
            Kind::Number(n) => {
                message.push_str(match n {
                    Number::Float(_) => "floating point `",
                    _ => "integer `",
                });
                self.push_text(&mut message, value);
                message.push('`');
            }
            Kind::String(s) => {
                use std::fmt::Write;
                let _ = write!(message, "string {s:?}");
            }
            Kind::Array(_) => {
                message.push_str("sequence");
                offset = value.start;
            }
            Kind::Object(_) => {
                message.push_str("map");
                offset = value.start;
            }
        }
        message.push_str(", expected ");
        message.push_str(expected);
        fail(path, offset, message)
    }

    /// The value's text as written (a number's: ASCII).
    fn push_text(&self, out: &mut String, value: &Value) {
        for &b in self.text.get(value.start..value.end).unwrap_or_default() {
            out.push(char::from(b));
        }
    }

    fn bool(&self, value: &Value, path: &Path<'_>) -> Read<bool> {
        match value.kind {
            Kind::Bool(b) => Ok(b),
            _ => Err(self.invalid_type(value, path, "a boolean")),
        }
    }

    fn string(&self, value: &Value, path: &Path<'_>) -> Read<String> {
        match &value.kind {
            Kind::String(s) => Ok(s.clone()),
            _ => Err(self.invalid_type(value, path, "a string")),
        }
    }

    /// An integer from 0 to `max`, with serde's checks and words; `name` is the type's.
    fn integer(&self, value: &Value, path: &Path<'_>, max: u64, name: &str) -> Read<u64> {
        match value.kind {
            Kind::Number(Number::PosInt(n)) if n <= max => Ok(n),
            Kind::Number(Number::PosInt(_) | Number::NegInt(_)) => {
                let mut message = String::from("invalid value: integer `");
                self.push_text(&mut message, value);
                message.push_str("`, expected ");
                message.push_str(name);
                Err(fail(path, value.end, message))
            }
            _ => Err(self.invalid_type(value, path, name)),
        }
    }

    fn u32(&self, value: &Value, path: &Path<'_>) -> Read<u32> {
        let n = self.integer(value, path, u32::MAX.into(), "u32")?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn usize(&self, value: &Value, path: &Path<'_>) -> Read<usize> {
        let max = u64::try_from(usize::MAX).unwrap_or(u64::MAX);
        let n = self.integer(value, path, max, "usize")?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// `null` is absent, as serde reads an `Option`.
    fn optional<T>(&self, value: &Value, path: &Path<'_>, read: Field<'t, T>) -> Read<Option<T>> {
        match value.kind {
            Kind::Null => Ok(None),
            _ => read(self, value, path).map(Some),
        }
    }

    fn list<T>(&self, value: &Value, path: &Path<'_>, read: Field<'t, T>) -> Read<Vec<T>> {
        let Kind::Array(items) = &value.kind else {
            return Err(self.invalid_type(value, path, "a sequence"));
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.push(read(self, item, &path.index(i))?);
        }
        Ok(out)
    }

    fn strings(&self, value: &Value, path: &Path<'_>) -> Read<Vec<String>> {
        self.list(value, path, Reader::string)
    }

    /// A closed set: one of `names`, spelt exactly; `values` in the same order.
    fn choice<T: Copy, const N: usize>(
        &self,
        value: &Value,
        path: &Path<'_>,
        (names, values): (&[&str], [T; N]),
    ) -> Read<T> {
        let index = self.variant(value, path, names)?;
        values
            .get(index)
            .copied()
            .ok_or_else(|| fail(path, value.end, named("unknown variant", "", names)))
    }

    fn variant(&self, value: &Value, path: &Path<'_>, names: &[&str]) -> Read<usize> {
        let Kind::String(s) = &value.kind else {
            let mut expected = String::new();
            push_one_of(&mut expected, names);
            return Err(self.invalid_type(value, path, &expected));
        };
        names
            .iter()
            .position(|n| n == s)
            .ok_or_else(|| fail(path, value.end, named("unknown variant", s, names)))
    }

    /// The members of an object type: `keys` in declaration order, each given to `member`,
    /// which says whether it read it. Unknown keys and a key given twice are refused.
    fn object(
        &self,
        value: &Value,
        path: &Path<'_>,
        expecting: &str,
        keys: &[&str],
        member: &mut dyn FnMut(&str, &Value, &Path<'_>) -> Read<bool>,
    ) -> Read<()> {
        let Kind::Object(members) = &value.kind else {
            return Err(self.invalid_type(value, path, expecting));
        };
        let mut seen = 0u64;
        for Member {
            key,
            key_end,
            value,
        } in members
        {
            let at = path.key(key);
            let index = keys.iter().position(|k| k == key);
            let bit = index.map_or(0, |i| 1u64 << (i % 64));
            if seen & bit != 0 {
                return Err(fail(&at, *key_end, named("duplicate field", key, &[])));
            }
            seen |= bit;
            if index.is_none() || !member(key, value, &at)? {
                return Err(fail(&at, *key_end, named("unknown field", key, keys)));
            }
        }
        Ok(())
    }

    /// serde's `missing field`, after the object.
    fn missing(value: &Value, path: &Path<'_>, key: &str) -> Fail {
        fail(path, value.end, named("missing field", key, &[]))
    }

    fn config(&self, value: &Value, path: &Path<'_>) -> Read<RawConfig> {
        let mut out = RawConfig::default();
        self.object(
            value,
            path,
            "struct RawConfig",
            keys::CONFIG,
            &mut |k, v, p| {
                match k {
                    "clientCertEnabled" => {
                        out.client_cert_enabled = self.optional(v, p, Reader::bool)?
                    }
                    "clientCertMode" => {
                        out.client_cert_mode = self.optional(v, p, Reader::string)?
                    }
                    "clientCertExclusionPaths" => {
                        out.client_cert_exclusion_paths = self.optional(v, p, Reader::path_list)?;
                    }
                    "validation" => out.validation = self.optional(v, p, Reader::validation)?,
                    "cacheSize" => out.cache_size = self.optional(v, p, Reader::usize)?,
                    "rules" => out.rules = self.optional(v, p, Reader::rules)?,
                    "certificateSource" => {
                        out.certificate_source = self.optional(v, p, Reader::source)?;
                    }
                    "header" => out.header = self.optional(v, p, Reader::header)?,
                    "stripXfcc" => out.strip_xfcc = self.optional(v, p, Reader::bool)?,
                    "forward" => out.forward = self.optional(v, p, Reader::forward)?,
                    "responses" => out.responses = self.optional(v, p, Reader::responses)?,
                    "reportOnly" => out.report_only = self.optional(v, p, Reader::bool)?,
                    _ => return Ok(false),
                }
                Ok(true)
            },
        )?;
        Ok(out)
    }

    fn path_list(&self, value: &Value, path: &Path<'_>) -> Read<RawPathList> {
        match &value.kind {
            Kind::String(s) => Ok(RawPathList::Delimited(s.clone())),
            Kind::Array(_) => Ok(RawPathList::List(self.strings(value, path)?)),
            _ => {
                let expected = "a string of paths separated by ';' or ',', or an array of strings";
                let mut refusal = self.invalid_type(value, path, expected);
                // serde_json read this one with `deserialize_any`, past an object's `{`.
                if let Kind::Object(_) = value.kind {
                    refusal.offset += 1;
                }
                Err(refusal)
            }
        }
    }

    fn source(&self, value: &Value, path: &Path<'_>) -> Read<Source> {
        self.choice(value, path, names::SOURCE)
    }

    fn header(&self, value: &Value, path: &Path<'_>) -> Read<RawHeaderSource> {
        let (mut format, mut trusted_proxies, mut name) = (None, None, None);
        self.object(
            value,
            path,
            "struct RawHeaderSource",
            keys::HEADER,
            &mut |k, v, p| {
                match k {
                    "format" => format = Some(self.choice(v, p, names::FRONT_FORMAT)?),
                    "trustedProxies" => trusted_proxies = Some(self.strings(v, p)?),
                    "name" => name = self.optional(v, p, Reader::string)?,
                    _ => return Ok(false),
                }
                Ok(true)
            },
        )?;
        let Some(format) = format else {
            return Err(Reader::missing(value, path, "format"));
        };
        let Some(trusted_proxies) = trusted_proxies else {
            return Err(Reader::missing(value, path, "trustedProxies"));
        };
        Ok(RawHeaderSource {
            format,
            trusted_proxies,
            name,
        })
    }

    fn validation(&self, value: &Value, path: &Path<'_>) -> Read<RawValidation> {
        let mut out = RawValidation::default();
        self.object(
            value,
            path,
            "struct RawValidation",
            keys::VALIDATION,
            &mut |k, v, p| {
                match k {
                    "validateNotBefore" => {
                        out.validate_not_before = self.optional(v, p, Reader::bool)?
                    }
                    "validateNotAfter" => {
                        out.validate_not_after = self.optional(v, p, Reader::bool)?
                    }
                    "clockSkewSeconds" => {
                        out.clock_skew_seconds = self.optional(v, p, Reader::u32)?
                    }
                    "validateTrust" => out.validate_trust = self.optional(v, p, Reader::bool)?,
                    "trustedCaCertificates" => {
                        out.trusted_ca_certificates = self.optional(v, p, Reader::strings)?;
                    }
                    "intermediateCertificates" => {
                        out.intermediate_certificates = self.optional(v, p, Reader::strings)?;
                    }
                    "maxChainDepth" => out.max_chain_depth = self.optional(v, p, Reader::u32)?,
                    "validateRevocation" => {
                        out.validate_revocation = self.optional(v, p, Reader::bool)?;
                    }
                    "crls" => out.crls = self.optional(v, p, Reader::strings)?,
                    "revocationSources" => {
                        out.revocation_sources = self.optional(v, p, Reader::revocation_sources)?;
                    }
                    "revocationFailure" => {
                        out.revocation_failure = self.optional(v, p, Reader::revocation_failure)?;
                    }
                    "requireClientAuthEku" => {
                        out.require_client_auth_eku = self.optional(v, p, Reader::bool)?;
                    }
                    "identities" => out.identities = self.optional(v, p, Reader::identities)?,
                    _ => return Ok(false),
                }
                Ok(true)
            },
        )?;
        Ok(out)
    }

    fn revocation_failure(&self, value: &Value, path: &Path<'_>) -> Read<RevocationFailure> {
        self.choice(value, path, names::REVOCATION_FAILURE)
    }

    fn revocation_sources(&self, value: &Value, path: &Path<'_>) -> Read<RawRevocationSources> {
        let mut out = RawRevocationSources::default();
        let expecting = "struct RawRevocationSources";
        self.object(
            value,
            path,
            expecting,
            keys::REVOCATION_SOURCES,
            &mut |k, v, p| {
                match k {
                    "crls" => out.crls = self.optional(v, p, Reader::crl_sources)?,
                    "ocsp" => out.ocsp = self.optional(v, p, Reader::ocsp_source)?,
                    _ => return Ok(false),
                }
                Ok(true)
            },
        )?;
        Ok(out)
    }

    fn crl_sources(&self, value: &Value, path: &Path<'_>) -> Read<Vec<RawCrlSource>> {
        self.list(value, path, Reader::crl_source)
    }

    fn crl_source(&self, value: &Value, path: &Path<'_>) -> Read<RawCrlSource> {
        let (mut url, mut cluster, mut refresh_seconds) = (None, None, None);
        self.object(
            value,
            path,
            "struct RawCrlSource",
            keys::CRL_SOURCE,
            &mut |k, v, p| {
                match k {
                    "url" => url = Some(self.string(v, p)?),
                    "cluster" => cluster = Some(self.string(v, p)?),
                    "refreshSeconds" => refresh_seconds = self.optional(v, p, Reader::u32)?,
                    _ => return Ok(false),
                }
                Ok(true)
            },
        )?;
        let Some(url) = url else {
            return Err(Reader::missing(value, path, "url"));
        };
        let Some(cluster) = cluster else {
            return Err(Reader::missing(value, path, "cluster"));
        };
        Ok(RawCrlSource {
            url,
            cluster,
            refresh_seconds,
        })
    }

    fn ocsp_source(&self, value: &Value, path: &Path<'_>) -> Read<RawOcspSource> {
        let mut cluster = None;
        let mut out = RawOcspSource {
            cluster: String::new(),
            url: None,
            timeout_ms: None,
            cache_seconds: None,
            require_nonce: None,
            max_age_seconds: None,
        };
        self.object(
            value,
            path,
            "struct RawOcspSource",
            keys::OCSP_SOURCE,
            &mut |k, v, p| {
                match k {
                    "cluster" => cluster = Some(self.string(v, p)?),
                    "url" => out.url = self.optional(v, p, Reader::string)?,
                    "timeoutMs" => out.timeout_ms = self.optional(v, p, Reader::u32)?,
                    "cacheSeconds" => out.cache_seconds = self.optional(v, p, Reader::u32)?,
                    "requireNonce" => out.require_nonce = self.optional(v, p, Reader::bool)?,
                    "maxAgeSeconds" => out.max_age_seconds = self.optional(v, p, Reader::u32)?,
                    _ => return Ok(false),
                }
                Ok(true)
            },
        )?;
        match cluster {
            Some(cluster) => Ok(RawOcspSource { cluster, ..out }),
            None => Err(Reader::missing(value, path, "cluster")),
        }
    }

    fn identities(&self, value: &Value, path: &Path<'_>) -> Read<Vec<RawIdentity>> {
        self.list(value, path, Reader::identity)
    }

    fn identity(&self, value: &Value, path: &Path<'_>) -> Read<RawIdentity> {
        let mut out = RawIdentity::default();
        self.object(
            value,
            path,
            "struct RawIdentity",
            keys::IDENTITY,
            &mut |k, v, p| {
                let field = match k {
                    "thumbprint" => &mut out.thumbprint,
                    "thumbprintSha256" => &mut out.thumbprint_sha256,
                    "spkiSha256" => &mut out.spki_sha256,
                    "serialNumber" => &mut out.serial_number,
                    "commonName" => &mut out.common_name,
                    "subject" => &mut out.subject,
                    "subjectPattern" => &mut out.subject_pattern,
                    "dnsName" => &mut out.dns_name,
                    "uri" => &mut out.uri,
                    "email" => &mut out.email,
                    "issuerSubject" => &mut out.issuer_subject,
                    "issuerThumbprint" => &mut out.issuer_thumbprint,
                    _ => return Ok(false),
                };
                *field = self.optional(v, p, Reader::string)?;
                Ok(true)
            },
        )?;
        Ok(out)
    }

    fn rules(&self, value: &Value, path: &Path<'_>) -> Read<Vec<RawRule>> {
        self.list(value, path, Reader::rule)
    }

    fn rule(&self, value: &Value, path: &Path<'_>) -> Read<RawRule> {
        let mut mode = None;
        let mut out = RawRule::default();
        self.object(value, path, "struct RawRule", keys::RULE, &mut |k, v, p| {
            match k {
                "name" => out.name = self.optional(v, p, Reader::string)?,
                "routeNames" => out.route_names = self.optional(v, p, Reader::strings)?,
                "pathPrefix" => out.path_prefix = self.optional(v, p, Reader::string)?,
                "pathExact" => out.path_exact = self.optional(v, p, Reader::string)?,
                "hosts" => out.hosts = self.optional(v, p, Reader::strings)?,
                "methods" => out.methods = self.optional(v, p, Reader::strings)?,
                "mode" => mode = Some(self.string(v, p)?),
                "identities" => out.identities = self.optional(v, p, Reader::identities)?,
                "reportOnly" => out.report_only = self.optional(v, p, Reader::bool)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        match mode {
            Some(mode) => Ok(RawRule { mode, ..out }),
            None => Err(Reader::missing(value, path, "mode")),
        }
    }

    fn forward(&self, value: &Value, path: &Path<'_>) -> Read<RawForward> {
        let mut out = RawForward::default();
        self.object(
            value,
            path,
            "struct RawForward",
            keys::FORWARD,
            &mut |k, v, p| {
                match k {
                    "arrClientCert" => out.arr_client_cert = self.optional(v, p, Reader::bool)?,
                    "arrHeaderName" => out.arr_header_name = self.optional(v, p, Reader::string)?,
                    "rfc9440" => out.rfc9440 = self.optional(v, p, Reader::bool)?,
                    "infoHeaders" => out.info_headers = self.optional(v, p, Reader::bool)?,
                    "infoHeaderPrefix" => {
                        out.info_header_prefix = self.optional(v, p, Reader::string)?;
                    }
                    "preset" => out.preset = self.optional(v, p, Reader::output_preset)?,
                    "passCertificate" => {
                        out.pass_certificate = self.optional(v, p, Reader::bool)?
                    }
                    _ => return Ok(false),
                }
                Ok(true)
            },
        )?;
        Ok(out)
    }

    fn output_preset(&self, value: &Value, path: &Path<'_>) -> Read<OutputPreset> {
        self.choice(value, path, names::OUTPUT_PRESET)
    }

    fn responses(&self, value: &Value, path: &Path<'_>) -> Read<RawResponses> {
        let mut out = RawResponses::default();
        self.object(
            value,
            path,
            "struct RawResponses",
            keys::RESPONSES,
            &mut |k, v, p| {
                let reply = match k {
                    "preset" => {
                        out.preset = self.optional(v, p, Reader::preset)?;
                        return Ok(true);
                    }
                    "errorPage" => {
                        out.error_page = self.optional(v, p, Reader::string)?;
                        return Ok(true);
                    }
                    "missing" => &mut out.missing,
                    "invalid" => &mut out.invalid,
                    "malformed" => &mut out.malformed,
                    "expired" => &mut out.expired,
                    "notYetValid" => &mut out.not_yet_valid,
                    "untrusted" => &mut out.untrusted,
                    "chainTooLong" => &mut out.chain_too_long,
                    "revoked" => &mut out.revoked,
                    "revocationUnknown" => &mut out.revocation_unknown,
                    "wrongUsage" => &mut out.wrong_usage,
                    "identityNotMatched" => &mut out.identity_not_matched,
                    "xfccUntrusted" => &mut out.xfcc_untrusted,
                    "notVisible" => &mut out.not_visible,
                    _ => return Ok(false),
                };
                *reply = self.optional(v, p, Reader::reply)?;
                Ok(true)
            },
        )?;
        Ok(out)
    }

    fn preset(&self, value: &Value, path: &Path<'_>) -> Read<Preset> {
        self.choice(value, path, names::PRESET)
    }

    fn reply(&self, value: &Value, path: &Path<'_>) -> Read<RawReply> {
        let mut out = RawReply::default();
        self.object(
            value,
            path,
            "struct RawReply",
            keys::REPLY,
            &mut |k, v, p| {
                match k {
                    "status" => out.status = self.optional(v, p, Reader::u32)?,
                    "body" => out.body = self.optional(v, p, Reader::string)?,
                    "contentType" => out.content_type = self.optional(v, p, Reader::string)?,
                    "headers" => out.headers = self.optional(v, p, Reader::string_map)?,
                    "format" => out.format = self.optional(v, p, Reader::reply_format)?,
                    _ => return Ok(false),
                }
                Ok(true)
            },
        )?;
        Ok(out)
    }

    fn reply_format(&self, value: &Value, path: &Path<'_>) -> Read<ReplyFormat> {
        self.choice(value, path, names::REPLY_FORMAT)
    }

    /// An object of strings (`headers`), sorted by key as a map iterates; a key given twice is
    /// refused, as in the types.
    fn string_map(&self, value: &Value, path: &Path<'_>) -> Read<Vec<(String, String)>> {
        let Kind::Object(members) = &value.kind else {
            return Err(self.invalid_type(value, path, "a map"));
        };
        // Kept sorted by insertion, which is quadratic: bounded far above any real reply.
        if members.len() > MAX_REPLY_HEADERS {
            let message = format!("more than {MAX_REPLY_HEADERS} headers in one reply");
            return Err(fail(path, value.start + 1, message));
        }
        let mut out: Vec<(String, String)> = Vec::with_capacity(members.len());
        for member in members {
            let at = path.key(&member.key);
            let Err(slot) = out.binary_search_by(|(key, _)| key.cmp(&member.key)) else {
                let message = named("duplicate key", &member.key, &[]);
                return Err(fail(&at, member.key_end, message));
            };
            let text = self.string(&member.value, &at)?;
            out.insert(slot, (member.key.clone(), text));
        }
        Ok(out)
    }
}
