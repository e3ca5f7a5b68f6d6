//! `forward.preset`: the certificate headers another platform sets, for applications written
//! for it. Each preset writes its platform's documented names and encodings:
//!
//! - `alb`: AWS Application Load Balancer mutual TLS in verify mode (the ALB user guide's
//!   "HTTP headers and mutual TLS"): the leaf's serial in upper-case hex, issuer and subject as
//!   RFC 2253 strings, `NotBefore=<ISO 8601>;NotAfter=<ISO 8601>`, and the leaf as URL-encoded
//!   PEM with `+`, `=` and `/` left unescaped.
//! - `gclb`: the Google Cloud load balancer mTLS custom-header variables, under the header names
//!   Google's mTLS set-up guide uses (`X-Client-Cert-Present: {client_cert_present}`, ...):
//!   `true`/`false`, the documented error strings, base64 SHA-256, base64-encoded SAN lists,
//!   RFC 3339 dates with `+00:00`, and the leaf and chain as RFC 9440 byte sequences, with
//!   Google's size limits.
//! - `traefik`: Traefik's `passTLSClientCert` with `pem` and every `info` field: base64 DER of
//!   the leaf and the forwarded chain separated by `,`, and the info string
//!   (`Subject="...";Issuer="...";SerialNumber="...";NB="...";NA="...";SAN="..."`) escaped as
//!   a URL query (Go's `url.QueryEscape`); unlike Traefik, the string's delimiters inside each
//!   value are percent-encoded first (`traefik_value`), so no field can be forged.
//!
//! Names are fixed at configure time; values are computed once per certificate and cached
//! with its verdict. Every value is printable ASCII.

use std::rc::Rc;

use crate::cert::x509::{Certificate, Name};
use crate::cert::{LeafCertificate, San, Serial, pem_encode};
use crate::config::OutputPreset;
use crate::outcome::{CertError, DenyReason, Header, PassReason, Reason};
use crate::text::{percent_encode, percent_escape_only, rfc3339};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const ALB: [&str; 5] = [
    "x-amzn-mtls-clientcert-serial-number",
    "x-amzn-mtls-clientcert-issuer",
    "x-amzn-mtls-clientcert-subject",
    "x-amzn-mtls-clientcert-validity",
    "x-amzn-mtls-clientcert-leaf",
];
/// ALB's passthrough header (the whole chain): never set by the preset, but an application
/// written for ALB may fall back to it, so a client-sent copy is removed too.
const ALB_PASSTHROUGH: &str = "x-amzn-mtls-clientcert";

const GCLB: [&str; 11] = [
    "x-client-cert-present",
    "x-client-cert-chain-verified",
    "x-client-cert-error",
    "x-client-cert-hash",
    "x-client-cert-spiffe",
    "x-client-cert-uri-sans",
    "x-client-cert-dnsname-sans",
    "x-client-cert-valid-not-before",
    "x-client-cert-valid-not-after",
    "x-client-cert-leaf",
    "x-client-cert-chain",
];
/// The serial number header of Google's example set: Google does not document the encoding
/// of `client_cert_serial_number`, so the preset does not set it, but removes client copies.
const GCLB_SERIAL: &str = "x-client-cert-serial-number";
const GCLB_PRESENT: usize = 0;
const GCLB_VERIFIED: usize = 1;
const GCLB_ERROR: usize = 2;

/// In the order of ingress-nginx's template; the last only with `passCertificate`.
const INGRESS_NGINX: [&str; 4] = [
    "ssl-client-verify",
    "ssl-client-subject-dn",
    "ssl-client-issuer-dn",
    "ssl-client-cert",
];
const INGRESS_NGINX_VERIFY: usize = 0;

const TRAEFIK: [&str; 2] = [
    "x-forwarded-tls-client-cert",
    "x-forwarded-tls-client-cert-info",
];

/// Google's limits: a SPIFFE ID of more than 2048 bytes, SAN lists of more than 512, a leaf
/// of more than 16 KB, or a leaf and chain of more than 16 KB together (before encoding) are
/// sent as empty strings, with an error string saying so.
const GCLB_SPIFFE_LIMIT: usize = 2048;
const GCLB_SANS_LIMIT: usize = 512;
const GCLB_CERT_LIMIT: usize = 16 * 1024;

/// A compiled preset: its header names, lower case.
#[derive(Debug, Clone)]
pub struct PresetHeaders {
    preset: OutputPreset,
    /// The names it sets, in the order of the platform's list.
    names: Vec<Rc<str>>,
    /// Whether the trust check is configured: Google's `client_cert_chain_verified` is only
    /// `true` when a trust store verified the chain.
    trust_checked: bool,
}

impl PresetHeaders {
    /// The names a preset sets, lower case; `pass_certificate` is `forward.passCertificate`
    /// (ingressNginx only).
    pub fn compile(
        preset: OutputPreset,
        trust_checked: bool,
        pass_certificate: bool,
    ) -> PresetHeaders {
        let names: &[&str] = match preset {
            OutputPreset::Alb => &ALB,
            OutputPreset::Gclb => &GCLB,
            OutputPreset::Traefik => &TRAEFIK,
            OutputPreset::IngressNginx if pass_certificate => &INGRESS_NGINX,
            OutputPreset::IngressNginx => &INGRESS_NGINX[..3],
        };
        PresetHeaders {
            preset,
            names: names.iter().map(|n| Rc::from(*n)).collect(),
            trust_checked,
        }
    }

    /// Every name this preset can set, with the related names an application written for the
    /// platform may read: all removed from client requests.
    pub fn strip_names(&self) -> impl Iterator<Item = &str> {
        let extra: &[&str] = match self.preset {
            OutputPreset::Alb => &[ALB_PASSTHROUGH],
            OutputPreset::Gclb => &[GCLB_SERIAL],
            OutputPreset::Traefik => &[],
            // A client copy of the certificate header is removed even when none is passed.
            OutputPreset::IngressNginx => &INGRESS_NGINX[3..],
        };
        self.names.iter().map(|n| &**n).chain(extra.iter().copied())
    }

    /// The names the preset sets (each can collide with another output's).
    pub fn set_names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|n| &**n)
    }

    fn name(&self, index: usize) -> Rc<str> {
        self.names
            .get(index)
            .cloned()
            .unwrap_or_else(|| Rc::from(""))
    }

    /// The headers for a certificate that passed every check; `chain` the intermediates to
    /// forward (DER, leaf excluded): the verified path with the trust check, the presented ones
    /// (unverified) without it.
    pub fn headers(&self, leaf: &LeafCertificate, chain: &[Vec<u8>], out: &mut Vec<Header>) {
        let values: Vec<Option<String>> = match self.preset {
            OutputPreset::Alb => alb_values(leaf),
            OutputPreset::Gclb => gclb_values(leaf, chain, self.trust_checked),
            OutputPreset::Traefik => traefik_values(leaf, chain),
            OutputPreset::IngressNginx => ingress_nginx_values(leaf, self.trust_checked),
        };
        for (index, value) in values.into_iter().enumerate() {
            if let Some(value) = value {
                out.push((self.name(index), value));
            }
        }
    }

    /// The headers for a request that passes without a forwarded certificate: only `gclb`
    /// says anything then (ALB in verify mode and Traefik send nothing without a certificate).
    pub fn pass_headers(&self, reason: &PassReason, out: &mut Vec<Header>) {
        if self.preset == OutputPreset::IngressNginx {
            let verify = match reason {
                PassReason::Disabled | PassReason::ReportOnly(DenyReason::HostFailure(_)) => {
                    return;
                }
                PassReason::NoCertificateOptional
                | PassReason::NoCertificateExcluded
                | PassReason::ReportOnly(DenyReason::CertificateRequired) => "NONE".to_string(),
                PassReason::InvalidCertificateExcluded(e)
                | PassReason::ReportOnly(DenyReason::CertificateInvalid(e)) => {
                    format!("FAILED:{}", openssl_verify_error(e))
                }
            };
            out.push((self.name(INGRESS_NGINX_VERIFY), verify));
            return;
        }
        if self.preset != OutputPreset::Gclb {
            return;
        }
        let (present, error) = match reason {
            PassReason::Disabled | PassReason::ReportOnly(DenyReason::HostFailure(_)) => return,
            PassReason::NoCertificateOptional
            | PassReason::NoCertificateExcluded
            | PassReason::ReportOnly(DenyReason::CertificateRequired) => {
                ("false", "client_cert_not_provided")
            }
            PassReason::InvalidCertificateExcluded(e)
            | PassReason::ReportOnly(DenyReason::CertificateInvalid(e)) => ("true", gclb_error(e)),
        };
        out.push((self.name(GCLB_PRESENT), present.to_string()));
        out.push((self.name(GCLB_VERIFIED), "false".to_string()));
        out.push((self.name(GCLB_ERROR), error.to_string()));
    }
}

/// Google's error string for a certificate the filter refused (on an excluded path).
fn gclb_error(e: &CertError) -> &'static str {
    match e.reason() {
        Reason::WrongUsage => "client_cert_chain_invalid_eku",
        _ => "client_cert_validation_failed",
    }
}

/// What nginx's `$ssl_client_verify` says after `FAILED:` (OpenSSL's
/// `X509_verify_cert_error_string`) for the nearest OpenSSL verdict; the filter's own reason
/// where OpenSSL has none.
fn openssl_verify_error(e: &CertError) -> &'static str {
    match e.reason() {
        Reason::Expired => "certificate has expired",
        Reason::NotYetValid => "certificate is not yet valid",
        Reason::Untrusted => "unable to get local issuer certificate",
        Reason::ChainTooLong => "certificate chain too long",
        Reason::Revoked => "certificate revoked",
        Reason::RevocationUnknown => "unable to get certificate CRL",
        Reason::WrongUsage => "unsupported certificate purpose",
        other => other.name(),
    }
}

/// In [`INGRESS_NGINX`] order: the verification result, the names as nginx prints them, and
/// the leaf's PEM escaped as nginx's `$ssl_client_escaped_cert` (`ngx_escape_uri` with
/// `NGX_ESCAPE_URI_COMPONENT`: every byte but letters, digits and `-._~` as upper-case `%XX`).
/// `SUCCESS` only when the trust check verified the chain, as nginx only says it after
/// verifying against the CA; without it the certificate was not verified and says so.
fn ingress_nginx_values(leaf: &LeafCertificate, trust_checked: bool) -> Vec<Option<String>> {
    let verify = if trust_checked {
        "SUCCESS"
    } else {
        "FAILED:not verified (no trusted CA configured)"
    };
    vec![
        Some(verify.to_string()),
        Some(leaf.subject_name.openssl_rfc2253()),
        Some(leaf.issuer_name.openssl_rfc2253()),
        Some(percent_encode(
            pem_encode(&leaf.der, "CERTIFICATE").as_bytes(),
            b"",
            false,
        )),
    ]
}

/// In [`ALB`] order.
fn alb_values(leaf: &LeafCertificate) -> Vec<Option<String>> {
    vec![
        Some(leaf.facts.serial.to_hex()),
        Some(leaf.issuer_name.rfc4514()),
        Some(leaf.subject_name.rfc4514()),
        Some(format!(
            "NotBefore={};NotAfter={}",
            rfc3339::format(leaf.not_before),
            rfc3339::format(leaf.not_after)
        )),
        Some(percent_encode(
            pem_encode(&leaf.der, "CERTIFICATE").as_bytes(),
            b"+=/",
            false,
        )),
    ]
}

/// In [`GCLB`] order.
fn gclb_values(
    leaf: &LeafCertificate,
    chain: &[Vec<u8>],
    trust_checked: bool,
) -> Vec<Option<String>> {
    let mut errors: Vec<&str> = Vec::new();
    if !trust_checked {
        errors.push("client_cert_validation_not_performed");
    }
    let mut uris: Vec<&str> = Vec::new();
    let mut dns: Vec<&str> = Vec::new();
    for name in &leaf.sans {
        match name {
            San::Uri(u) => uris.push(u),
            San::Dns(d) => dns.push(d),
            _ => {}
        }
    }
    // The SPIFFE ID: the URI SAN with the spiffe scheme (an SVID has exactly one); it is not
    // repeated in the URI list. Anything Google would call not valid gives an empty string.
    let spiffe: Vec<&str> = uris
        .iter()
        .copied()
        .filter(|u| {
            u.get(..9)
                .is_some_and(|s| s.eq_ignore_ascii_case("spiffe://"))
        })
        .collect();
    uris.retain(|u| !spiffe.contains(u));
    let spiffe_id = match spiffe.as_slice() {
        [one] if one.len() > GCLB_SPIFFE_LIMIT => {
            errors.push("client_cert_spiffe_id_exceeded_size_limit");
            String::new()
        }
        [one] if one.bytes().all(|b| b.is_ascii_graphic()) => (*one).to_string(),
        _ => String::new(),
    };
    let mut san_list = |items: &[&str], error: &'static str| {
        let list = items
            .iter()
            .map(|s| STANDARD.encode(s.as_bytes()))
            .collect::<Vec<_>>()
            .join(",");
        if list.len() > GCLB_SANS_LIMIT {
            errors.push(error);
            String::new()
        } else {
            list
        }
    };
    let uri_sans = san_list(&uris, "client_cert_uri_sans_exceeded_size_limit");
    let dns_sans = san_list(&dns, "client_cert_dnsname_sans_exceeded_size_limit");
    // The leaf and chain are only sent for a certificate that passed validation.
    let (leaf_value, chain_value) = if !trust_checked {
        (None, None)
    } else if leaf.der.len() > GCLB_CERT_LIMIT {
        errors.push("client_cert_validated_leaf_exceeded_size_limit");
        (Some(String::new()), None)
    } else {
        let leaf_value = Some(format!(":{}:", STANDARD.encode(&leaf.der)));
        let total = chain.iter().fold(leaf.der.len(), |sum, c| sum + c.len());
        let chain_value = if chain.is_empty() {
            None
        } else if total > GCLB_CERT_LIMIT {
            errors.push("client_cert_validated_chain_exceeded_size_limit");
            Some(String::new())
        } else {
            Some(
                chain
                    .iter()
                    .map(|c| format!(":{}:", STANDARD.encode(c)))
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        };
        (leaf_value, chain_value)
    };
    let rfc3339_utc = |t: i64| {
        let mut s = rfc3339::format(t);
        s.pop();
        s + "+00:00"
    };
    vec![
        Some("true".to_string()),
        Some(trust_checked.to_string()),
        Some(errors.join(",")),
        Some(STANDARD.encode(&leaf.facts.sha256)),
        Some(spiffe_id),
        Some(uri_sans),
        Some(dns_sans),
        Some(rfc3339_utc(leaf.not_before)),
        Some(rfc3339_utc(leaf.not_after)),
        leaf_value,
        chain_value,
    ]
}

/// In [`TRAEFIK`] order: the leaf and the chain to forward, as Traefik lists the TLS peer
/// certificates.
fn traefik_values(leaf: &LeafCertificate, chain: &[Vec<u8>]) -> Vec<Option<String>> {
    let mut pems = vec![STANDARD.encode(&leaf.der)];
    let leaf_info = match (leaf.subject_name.decode(), leaf.issuer_name.decode()) {
        (Some(subject), Some(issuer)) => traefik_info(
            &subject,
            &issuer,
            &leaf.facts.serial,
            (leaf.not_before, leaf.not_after),
            &leaf.sans,
        ),
        _ => String::new(),
    };
    let mut infos = vec![leaf_info];
    for der in chain {
        pems.push(STANDARD.encode(der));
        // A chain certificate this reader refuses has no info, as one x509-parser refused had
        // none (nor did its subjectAltName when that extension alone did not parse: this reader
        // refuses the whole certificate then).
        infos.push(match Certificate::parse(der) {
            Ok(c) => traefik_info(
                &c.subject,
                &c.issuer,
                &Serial::from_der_integer(c.serial),
                (c.not_before, c.not_after),
                c.sans.as_deref().unwrap_or_default(),
            ),
            Err(_) => String::new(),
        });
    }
    vec![
        Some(pems.join(",")),
        Some(percent_encode(infos.join(",").as_bytes(), b"", true)),
    ]
}

/// One certificate's info, before the query escaping: the fields Traefik writes with every
/// option on, empty ones left out. `validity` is notBefore and notAfter, Unix seconds.
fn traefik_info(
    subject: &Name<'_>,
    issuer: &Name<'_>,
    serial: &Serial,
    validity: (i64, i64),
    sans: &[San],
) -> String {
    // Go converts the Unix time to an unsigned integer; a date before 1970 wraps the same way.
    let unsigned = |t: i64| (t as u64).to_string();
    let mut fields: Vec<(&str, String)> = vec![
        ("Subject", traefik_dn(subject, true)),
        ("Issuer", traefik_dn(issuer, false)),
        ("SerialNumber", decimal(serial)),
        ("NB", unsigned(validity.0)),
        ("NA", unsigned(validity.1)),
    ];
    // SANs in Go's order: DNS names, emails, IP addresses, URIs.
    let mut all: Vec<String> = Vec::new();
    for kind in 0..4 {
        for name in sans {
            match (kind, name) {
                (0, San::Dns(v)) | (1, San::Email(v)) | (3, San::Uri(v)) => {
                    all.push(traefik_value(v));
                }
                (2, San::Ip(ip)) => all.extend(ip_text(ip)),
                _ => {}
            }
        }
    }
    fields.push(("SAN", all.join(",")));
    let mut out = String::new();
    for (key, value) in fields.into_iter().filter(|(_, v)| !v.is_empty()) {
        if !out.is_empty() {
            out.push(';');
        }
        out.push_str(key);
        out.push_str("=\"");
        out.push_str(&value);
        out.push('"');
    }
    out
}

/// A name the way Traefik writes it: every `DC` in order, then every `C`, `ST`, `L`, `O`, and
/// (subject only) `OU`, then the last `serialNumber` as `SN` and the last `CN`; `,` between.
fn traefik_dn(name: &Name<'_>, subject: bool) -> String {
    // The attribute types by the content bytes of their DER OIDs, in Traefik's order, and
    // whether only the last value counts.
    const TYPES: [(&str, &[u8], bool); 8] = [
        (
            "DC",
            &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
            false,
        ),
        ("C", &[0x55, 0x04, 0x06], false),
        ("ST", &[0x55, 0x04, 0x08], false),
        ("L", &[0x55, 0x04, 0x07], false),
        ("O", &[0x55, 0x04, 0x0a], false),
        ("OU", &[0x55, 0x04, 0x0b], false),
        ("SN", &[0x55, 0x04, 0x05], true),
        ("CN", &[0x55, 0x04, 0x03], true),
    ];
    let mut parts: Vec<String> = Vec::new();
    for (key, oid, last_only) in TYPES {
        if key == "OU" && !subject {
            continue;
        }
        let values: Vec<&str> = name
            .attributes
            .iter()
            .filter(|a| a.oid == oid)
            .filter_map(|a| a.as_str())
            .filter(|v| !v.is_empty())
            .collect();
        let from = if last_only {
            values.len().saturating_sub(1)
        } else {
            0
        };
        for value in &values[from..] {
            parts.push(format!("{key}={}", traefik_value(value)));
        }
    }
    parts.join(",")
}

/// A value from the certificate (a DN attribute, a SAN) inside Traefik's info string, with
/// the string's delimiters (`"` `;` `,` `=`), `%` itself and control characters
/// percent-encoded, so that no certificate content can close a quoted field or start another
/// (`CN=x";Issuer="...` would otherwise add an `Issuer` ahead of the real one). Values without
/// those characters are as Traefik writes them; the whole string is then query-escaped once
/// more, so an application decodes it once for the structure, and each value once again.
fn traefik_value(value: &str) -> String {
    percent_escape_only(value, |ch| {
        matches!(ch, '"' | ';' | ',' | '=' | '%') || ch.is_ascii_control()
    })
}

/// An IP address SAN as Go prints it: IPv4 dotted, an IPv4-mapped IPv6 address as IPv4, other
/// IPv6 addresses in RFC 5952 form (lower-case hex, the longest run of two or more zero groups,
/// the first of equal runs, as `::`). Written out rather than with `std::net`, whose formatting
/// costs the module several KB.
fn ip_text(bytes: &[u8]) -> Option<String> {
    let v4 = |b: &[u8]| format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]);
    match bytes.len() {
        4 => return Some(v4(bytes)),
        16 => {}
        _ => return None,
    }
    if bytes[..10].iter().all(|&b| b == 0) && bytes[10] == 0xff && bytes[11] == 0xff {
        return Some(v4(&bytes[12..]));
    }
    let groups: Vec<u16> = bytes
        .chunks(2)
        .map(|p| (u16::from(p[0]) << 8) | u16::from(p[1]))
        .collect();
    // The longest run of zero groups (at least two).
    let (mut best, mut best_len, mut i) = (0, 0, 0);
    while i < 8 {
        let start = i;
        while i < 8 && groups[i] == 0 {
            i += 1;
        }
        if i - start > best_len {
            (best, best_len) = (start, i - start);
        }
        i += 1;
    }
    let hex = |g: &[u16]| {
        g.iter()
            .map(|g| format!("{g:x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    Some(if best_len >= 2 {
        format!(
            "{}::{}",
            hex(&groups[..best]),
            hex(&groups[best + best_len..])
        )
    } else {
        hex(&groups)
    })
}

/// A serial number in decimal, `-` in front of a negative one.
pub fn decimal(serial: &Serial) -> String {
    let mut digits = Vec::new();
    let mut n = serial.magnitude.clone();
    while n.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for byte in n.iter_mut() {
            let acc = (rem << 8) | u32::from(*byte);
            *byte = u8::try_from(acc / 10).unwrap_or(0);
            rem = acc % 10;
        }
        digits.push(char::from(b'0' + u8::try_from(rem).unwrap_or(0)));
    }
    if digits.is_empty() {
        digits.push('0');
    }
    if serial.negative {
        digits.push('-');
    }
    digits.iter().rev().collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn serials_in_decimal_as_go_prints_big_integers() {
        let d = |bytes: &[u8]| decimal(&Serial::from_der_integer(bytes));
        assert_eq!(d(&[0x00]), "0");
        assert_eq!(d(&[0x01]), "1");
        assert_eq!(d(&[0x0a, 0xbc]), "2748");
        assert_eq!(d(&[0x00, 0xff]), "255");
        assert_eq!(d(&[0xff]), "-1");
        assert_eq!(d(&[0x80]), "-128");
        assert_eq!(
            d(&[0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),
            "18446744073709551616"
        );
    }

    #[test]
    fn traefik_values_encode_the_info_strings_delimiters() {
        assert_eq!(traefik_value("alice.example.com"), "alice.example.com");
        assert_eq!(
            traefik_value("x\";Issuer=\"y,z%\r\n\u{7f}\t é+/:"),
            "x%22%3BIssuer%3D%22y%2Cz%25%0D%0A%7F%09 é+/:"
        );
    }

    #[test]
    fn ip_addresses_as_go_prints_them() {
        assert_eq!(ip_text(&[10, 0, 0, 1]).as_deref(), Some("10.0.0.1"));
        let v6 =
            |groups: [u16; 8]| -> Vec<u8> { groups.iter().flat_map(|g| g.to_be_bytes()).collect() };
        let text = |groups: [u16; 8]| ip_text(&v6(groups)).unwrap();
        assert_eq!(text([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]), "192.0.2.1");
        assert_eq!(text([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]), "2001:db8::1");
        assert_eq!(text([0; 8]), "::");
        assert_eq!(text([0, 0, 0, 0, 0, 0, 0, 1]), "::1");
        assert_eq!(text([1, 0, 0, 0, 0, 0, 0, 0]), "1::");
        assert_eq!(
            text([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]),
            "2001:db8:0:1:1:1:1:1"
        );
        assert_eq!(text([0x2001, 0, 0, 1, 0, 0, 0, 1]), "2001:0:0:1::1");
        assert_eq!(text([0x2001, 0, 0, 1, 1, 0, 0, 1]), "2001::1:1:0:0:1");
        assert_eq!(
            text([0xfe80, 0, 0, 0, 0x20c, 0x29ff, 0xfe9a, 0xbcde]),
            "fe80::20c:29ff:fe9a:bcde"
        );
        for groups in [
            [0x2001, 0xdb8, 0, 0, 1, 0, 0, 1],
            [0xabcd, 0, 0, 0, 0, 0, 0, 0xffff],
        ] {
            let std = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(v6(groups)).unwrap());
            assert_eq!(text(groups), std.to_string(), "as std::net writes it");
        }
        assert_eq!(ip_text(&[1, 2, 3]), None);
    }
}
