//! PEM as the host and proxies hand it over: strict, one block where one is expected.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::outcome::{CertError, MAX_CERTIFICATE_PEM_BYTES};
use crate::text::percent_decode;

/// Decodes the host's certificate property (PEM, maybe percent-escaped) to DER.
pub fn der_from_property(raw: &[u8]) -> Result<Vec<u8>, CertError> {
    if raw.len() > MAX_CERTIFICATE_PEM_BYTES {
        return Err(CertError::TooLarge { len: raw.len() });
    }
    if raw.contains(&b'%') {
        let unescaped = percent_decode(raw).ok_or(CertError::BadPercentEncoding)?;
        pem_to_der(&unescaped, "CERTIFICATE")
    } else {
        pem_to_der(raw, "CERTIFICATE")
    }
}

/// Strict PEM: one block with this label, surrounded by nothing but whitespace.
pub fn pem_to_der(pem: &[u8], label: &str) -> Result<Vec<u8>, CertError> {
    let text = std::str::from_utf8(pem).map_err(|_| CertError::NotPem)?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let body = text
        .strip_prefix("-----BEGIN ")
        .and_then(|t| t.strip_prefix(label))
        .and_then(|t| t.strip_prefix("-----"))
        .and_then(|t| t.strip_suffix("-----"))
        .and_then(|t| t.strip_suffix(label))
        .and_then(|t| t.strip_suffix("-----END "))
        .ok_or(CertError::NotPem)?;
    if body.contains("-----") {
        return Err(CertError::MultipleBlocks);
    }
    let compact: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(CertError::BadBase64);
    }
    STANDARD.decode(&compact).map_err(|_| CertError::BadBase64)
}

/// DER as one PEM block with this label: base64 in lines of 64, with the armour and a final
/// newline.
pub fn pem_encode(der: &[u8], label: &str) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 32);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The certificates of a (maybe percent-escaped) PEM bundle, as DER.
pub fn pem_bundle(text: &str) -> Result<Vec<Vec<u8>>, CertError> {
    let decoded;
    let text = if text.contains('%') {
        decoded = percent_decode(text.as_bytes()).ok_or(CertError::BadPercentEncoding)?;
        std::str::from_utf8(&decoded).map_err(|_| CertError::NotPem)?
    } else {
        text
    };
    text.split_inclusive("-----END CERTIFICATE-----")
        .filter(|block| !block.trim().is_empty())
        .map(|block| pem_to_der(block.as_bytes(), "CERTIFICATE"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_lines_are_64_characters() {
        let p = pem_encode(&[0u8; 60], "CERTIFICATE");
        let lines: Vec<&str> = p.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2], "AAAAAAAAAAAAAAAA");
        assert_eq!(lines[3], "-----END CERTIFICATE-----");
        assert!(p.ends_with("-----\n"));
    }
}
