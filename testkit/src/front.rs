//! How each front proxy encodes the client certificate in its header, written from each
//! platform's documentation independently of the filter's decoders: for the native and the
//! end-to-end tests of `certificateSource: "header"`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// Percent-encoding of everything but letters, digits and `-._~`, plus `keep`.
pub fn url_encode(text: &str, keep: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.as_bytes().contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The header lines a platform sends for `certs` (leaf first, PEM each), in its encoding.
pub fn encode(format: &str, certs: &[(&str, &[u8])]) -> Vec<(String, String)> {
    let pems: String = certs.iter().map(|(pem, _)| *pem).collect();
    let b64: Vec<String> = certs.iter().map(|(_, der)| STANDARD.encode(der)).collect();
    let one = |name: &str, value: String| vec![(name.to_string(), value)];
    match format {
        // URL-encoded PEM of the chain, `+`, `=` and `/` unescaped.
        "alb" => one("X-Amzn-Mtls-Clientcert", url_encode(&pems, "+=/")),
        // PEM with its delimiters, lines joined by spaces (a header has no newlines).
        "appGateway" => one("X-Client-Cert", pems.trim().replace('\n', " ")),
        "cloudflare" => one("Cf-Client-Cert-Der-Base64", b64[0].clone()),
        "traefik" => one("X-Forwarded-Tls-Client-Cert", b64.join(",")),
        // nginx's $ssl_client_escaped_cert escapes every reserved character.
        "nginx" => one("X-SSL-Client-Cert", url_encode(certs[0].0, "")),
        "containerApps" => {
            let envoy = |pem: &str| {
                pem.replace('\n', "%0A")
                    .replace(' ', "%20")
                    .replace('+', "%2B")
                    .replace('/', "%2F")
                    .replace('=', "%3D")
            };
            let hash: String = Sha256::digest(certs[0].1)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            one(
                "X-Forwarded-Client-Cert",
                format!(
                    "Hash={hash};Cert=\"{}\";Chain=\"{}\"",
                    envoy(certs[0].0),
                    envoy(&pems)
                ),
            )
        }
        "rfc9440" => {
            let mut lines = one("Client-Cert", format!(":{}:", b64[0]));
            if b64.len() > 1 {
                let chain: Vec<String> = b64[1..].iter().map(|b| format!(":{b}:")).collect();
                lines.push(("Client-Cert-Chain".to_string(), chain.join(", ")));
            }
            lines
        }
        "arr" => one("X-ARR-ClientCert", b64[0].clone()),
        other => panic!("no encoder for {other}"),
    }
}

pub const FORMATS: [&str; 8] = [
    "alb",
    "appGateway",
    "cloudflare",
    "traefik",
    "nginx",
    "containerApps",
    "rfc9440",
    "arr",
];

/// Formats that carry a chain beside the leaf.
pub fn carries_chain(format: &str) -> bool {
    matches!(format, "alb" | "traefik" | "containerApps" | "rfc9440")
}
