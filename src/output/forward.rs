//! What the upstream receives about the certificate: `X-ARR-ClientCert` (Azure), RFC 9440
//! `Client-Cert` / `Client-Cert-Chain`, informational headers in the Application Gateway /
//! nginx vocabulary, and another platform's headers (`preset`, [`super::preset`]). Header names are fixed at configure time; values are computed once per
//! certificate (and cached with its verdict). Every value is a safe header value: printable
//! ASCII only.

use std::fmt;
use std::rc::Rc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::cert::LeafCertificate;
use crate::config::{OutputPreset, RawForward};
use crate::outcome::{CertError, DenyReason, Header, PassReason};
use crate::output::preset::PresetHeaders;
use crate::text::{hex_upper, rfc3339};

/// The header that carries base64 of the leaf's DER unless `forward.arrHeaderName` names
/// another; removed from every client request either way.
pub const DEFAULT_ARR_HEADER: &str = "x-arr-clientcert";
/// The prefix of the informational headers unless `forward.infoHeaderPrefix` gives another.
pub const DEFAULT_INFO_PREFIX: &str = "x-client-cert-";
const RFC9440_CERT: &str = "client-cert";
const RFC9440_CHAIN: &str = "client-cert-chain";
/// The informational headers about the certificate, after the prefix.
#[rustfmt::skip]
const INFO_SUFFIXES: [&str; 7] =
    ["subject", "issuer", "serial", "sha1", "sha256", "not-before", "not-after"];
/// The informational header with the verification result, after the prefix.
const VERIFY_SUFFIX: &str = "verify";

/// The full names of the informational headers.
#[derive(Debug, Clone)]
struct InfoNames {
    /// In [`INFO_SUFFIXES`] order.
    facts: [Rc<str>; 7],
    /// `SUCCESS`, `FAILED:<reason>` or `NONE`.
    verify: Rc<str>,
}

/// Why the `forward` object was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardConfigError {
    /// A header name or prefix is empty, holds something other than letters, digits, `-`
    /// and `_`, or names a header the proxy manages (`host`, `content-length`, hop-by-hop).
    BadHeaderName {
        /// The `forward` key at fault: `arrHeaderName` or `infoHeaderPrefix`.
        field: &'static str,
        /// The name as written.
        value: String,
    },
    /// `passCertificate` without `preset: "ingressNginx"`, the only one it belongs to.
    PassCertificateWithoutPreset,
    /// Two enabled outputs would set the same header (one value would silently replace the
    /// other).
    SameHeader {
        /// The header, lower case.
        name: String,
        /// The `forward` keys of the two outputs.
        fields: [&'static str; 2],
    },
}

impl fmt::Display for ForwardConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardConfigError::BadHeaderName { field, value } => write!(
                f,
                "forward.{field}: {value:?} is not a usable header name (letters, digits and '-', not a pseudo-header or hop-by-hop header)"
            ),
            ForwardConfigError::PassCertificateWithoutPreset => f.write_str(
                "forward.passCertificate: only with forward.preset \"ingressNginx\" (it passes \
                 ssl-client-cert); it would be ignored",
            ),
            ForwardConfigError::SameHeader { name, fields } => write!(
                f,
                "forward.{}: sets {name:?}, which forward.{} sets too; rename one of them",
                fields[1], fields[0]
            ),
        }
    }
}

impl std::error::Error for ForwardConfigError {}

/// The compiled forwarding settings.
#[derive(Debug, Clone)]
pub struct Forward {
    arr: Option<Rc<str>>,
    rfc9440: bool,
    info: Option<InfoNames>,
    preset: Option<PresetHeaders>,
    /// Every header name this filter can set under this configuration, plus the Azure default:
    /// removed from every client request.
    strip: Vec<Rc<str>>,
}

fn header_name(field: &'static str, value: &str) -> Result<String, ForwardConfigError> {
    let lower = value.trim().to_ascii_lowercase();
    let reserved = matches!(
        lower.as_str(),
        "host"
            | "connection"
            | "content-length"
            | "transfer-encoding"
            | "te"
            | "upgrade"
            | "keep-alive"
            | "proxy-connection"
    );
    let ok = !lower.is_empty()
        && !reserved
        && lower
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(lower)
    } else {
        Err(ForwardConfigError::BadHeaderName {
            field,
            value: value.to_string(),
        })
    }
}

impl Default for Forward {
    fn default() -> Self {
        // The default configuration always compiles.
        match Forward::compile(&RawForward::default(), false) {
            Ok(f) => f,
            Err(_) => Forward {
                arr: Some(Rc::from(DEFAULT_ARR_HEADER)),
                rfc9440: false,
                info: None,
                preset: None,
                strip: vec![Rc::from(DEFAULT_ARR_HEADER)],
            },
        }
    }
}

impl Forward {
    /// Checks the header names (even of headers turned off), lower-cases them, and lists the
    /// names to strip from client requests. `trust_checked` says whether the trust check is
    /// configured (a preset may say whether the chain was verified).
    pub fn compile(raw: &RawForward, trust_checked: bool) -> Result<Forward, ForwardConfigError> {
        let arr_name: Rc<str> = Rc::from(header_name(
            "arrHeaderName",
            raw.arr_header_name.as_deref().unwrap_or(DEFAULT_ARR_HEADER),
        )?);
        let prefix = header_name(
            "infoHeaderPrefix",
            raw.info_header_prefix
                .as_deref()
                .unwrap_or(DEFAULT_INFO_PREFIX),
        )?;
        let info_names = InfoNames {
            facts: INFO_SUFFIXES.map(|s| Rc::from(format!("{prefix}{s}"))),
            verify: Rc::from(format!("{prefix}{VERIFY_SUFFIX}")),
        };
        let mut strip: Vec<Rc<str>> = vec![Rc::clone(&arr_name)];
        if &*arr_name != DEFAULT_ARR_HEADER {
            strip.push(Rc::from(DEFAULT_ARR_HEADER));
        }
        strip.push(Rc::from(RFC9440_CERT));
        strip.push(Rc::from(RFC9440_CHAIN));
        strip.extend(info_names.facts.iter().cloned());
        strip.push(Rc::clone(&info_names.verify));
        let pass_certificate = raw.pass_certificate.unwrap_or(false);
        if raw.pass_certificate.is_some() && raw.preset != Some(OutputPreset::IngressNginx) {
            return Err(ForwardConfigError::PassCertificateWithoutPreset);
        }
        let preset = raw
            .preset
            .map(|p| PresetHeaders::compile(p, trust_checked, pass_certificate));
        if let Some(preset) = &preset {
            for name in preset.strip_names() {
                if !strip.iter().any(|s| &**s == name) {
                    strip.push(Rc::from(name));
                }
            }
        }
        let forward = Forward {
            arr: raw.arr_client_cert.unwrap_or(true).then_some(arr_name),
            rfc9440: raw.rfc9440.unwrap_or(false),
            info: raw.info_headers.unwrap_or(false).then_some(info_names),
            preset,
            strip,
        };
        forward.check_distinct()?;
        Ok(forward)
    }

    /// Refuses two enabled outputs that set the same header.
    fn check_distinct(&self) -> Result<(), ForwardConfigError> {
        let mut set: Vec<(&str, &'static str)> = Vec::new();
        if let Some(name) = &self.arr {
            set.push((name, "arrHeaderName"));
        }
        if self.rfc9440 {
            set.push((RFC9440_CERT, "rfc9440"));
            set.push((RFC9440_CHAIN, "rfc9440"));
        }
        if let Some(names) = &self.info {
            for name in names.facts.iter().chain(std::iter::once(&names.verify)) {
                set.push((name, "infoHeaderPrefix"));
            }
        }
        if let Some(preset) = &self.preset {
            set.extend(preset.set_names().map(|n| (n, "preset")));
        }
        for (i, (name, field)) in set.iter().enumerate() {
            if let Some((_, first)) = set[..i].iter().find(|(n, _)| n == name) {
                return Err(ForwardConfigError::SameHeader {
                    name: (*name).to_string(),
                    fields: [first, field],
                });
            }
        }
        Ok(())
    }

    /// Adds a name (lower case) to remove from every client request: a proxy's certificate
    /// header, which is an input, not an output.
    pub fn strip_also(&mut self, name: &str) {
        if !self.strip.iter().any(|s| &**s == name) {
            self.strip.push(Rc::from(name));
        }
    }

    /// The names to remove from every client request.
    pub fn strip_list(&self) -> &[Rc<str>] {
        &self.strip
    }

    /// Whether a client-sent header must be removed: one of [`Forward::strip_list`], in any
    /// letter case, and also with `_` for `-` (`X_ARR_ClientCert`), which CGI-style upstreams
    /// read as the same header.
    pub fn must_strip(&self, name: &str) -> bool {
        let same = |a: &str, b: &str| {
            a.len() == b.len()
                && a.bytes().zip(b.bytes()).all(|(x, y)| {
                    let norm = |c: u8| {
                        if c == b'_' {
                            b'-'
                        } else {
                            c.to_ascii_lowercase()
                        }
                    };
                    norm(x) == norm(y)
                })
        };
        self.strip.iter().any(|s| same(s, name))
    }

    /// The headers for a valid certificate (computed once per certificate); `chain` is what to
    /// forward as its chain: the verified path with the trust check, the presented
    /// intermediates without it.
    pub fn headers_for(&self, leaf: &LeafCertificate, chain: &[Vec<u8>]) -> Vec<Header> {
        let mut out = Vec::new();
        if let Some(name) = &self.arr {
            out.push((Rc::clone(name), leaf.arr_header_value()));
        }
        if self.rfc9440 {
            out.push((
                Rc::from(RFC9440_CERT),
                format!(":{}:", STANDARD.encode(&leaf.der)),
            ));
            if !chain.is_empty() {
                let items: Vec<String> = chain
                    .iter()
                    .map(|c| format!(":{}:", STANDARD.encode(c)))
                    .collect();
                out.push((Rc::from(RFC9440_CHAIN), items.join(", ")));
            }
        }
        if let Some(names) = &self.info {
            for (name, value) in names.facts.iter().zip(info_values(leaf)) {
                out.push((Rc::clone(name), value));
            }
            out.push((Rc::clone(&names.verify), "SUCCESS".to_string()));
        }
        if let Some(preset) = &self.preset {
            preset.headers(leaf, chain, &mut out);
        }
        out
    }

    /// The verification header for a request that passes without a forwarded certificate.
    pub fn pass_headers(&self, reason: &PassReason) -> Vec<Header> {
        let mut out = Vec::new();
        if let Some(names) = &self.info {
            let value = match reason {
                PassReason::InvalidCertificateExcluded(e)
                | PassReason::ReportOnly(DenyReason::CertificateInvalid(e)) => Some(failed(e)),
                PassReason::ReportOnly(DenyReason::CertificateRequired)
                | PassReason::NoCertificateOptional
                | PassReason::NoCertificateExcluded => Some("NONE".to_string()),
                // Never made (host failures are enforced); no verification to report.
                PassReason::ReportOnly(DenyReason::HostFailure(_)) | PassReason::Disabled => None,
            };
            if let Some(value) = value {
                out.push((Rc::clone(&names.verify), value));
            }
        }
        if let Some(preset) = &self.preset {
            preset.pass_headers(reason, &mut out);
        }
        out
    }
}

/// `FAILED:<reason>`, as Application Gateway writes it.
pub fn failed(e: &CertError) -> String {
    format!("FAILED:{}", e.kind())
}

/// The values of the informational headers, in [`INFO_SUFFIXES`] order.
fn info_values(leaf: &LeafCertificate) -> [String; 7] {
    [
        leaf.subject_name.rfc4514(),
        leaf.issuer_name.rfc4514(),
        leaf.facts.serial.to_hex(),
        hex_upper(&leaf.facts.sha1),
        hex_upper(&leaf.facts.sha256),
        rfc3339::format(leaf.not_before),
        rfc3339::format(leaf.not_after),
    ]
}
