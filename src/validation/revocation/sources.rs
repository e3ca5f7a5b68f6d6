//! The compiled `revocationSources`: the CRL URLs and the OCSP responder, with the clusters
//! they are fetched through and their timings.

use std::fmt;

use crate::config::{RawOcspSource, RawRevocationSources, RevocationFailure};

/// A URL the filter fetches from: `http://`, a host, a path. The module sends plain HTTP to the
/// cluster and cannot see the cluster's transport, so `https://` is refused rather than
/// pretended: TLS is the cluster's (a TLS transport socket), the URL says `http://`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host and port as written: the request's `:authority`.
    pub authority: String,
    /// Path and query (at least `/`): the request's `:path`.
    pub path: String,
}

impl HttpUrl {
    /// Parses `http://host[:port][/path][?query]`; no user information, no fragment, nothing
    /// that is not printable ASCII.
    pub fn parse(url: &str) -> Result<HttpUrl, UrlError> {
        if url.is_empty() || !url.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(UrlError::NotAscii(url.to_string()));
        }
        let lower = url.to_ascii_lowercase();
        let rest = if lower.starts_with("http://") {
            &url[7..]
        } else if lower.starts_with("https://") {
            return Err(UrlError::Https(url.to_string()));
        } else {
            return Err(UrlError::NotHttp(url.to_string()));
        };
        if url.contains('#') {
            return Err(UrlError::Fragment(url.to_string()));
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() {
            return Err(UrlError::NoHost(url.to_string()));
        }
        if authority.contains('@') {
            return Err(UrlError::UserInfo(url.to_string()));
        }
        let port_ok = |port: &str| port.parse::<u16>().is_ok_and(|p| p > 0);
        let valid_port = match authority.strip_prefix('[') {
            // An IPv6 literal: `[addr]` or `[addr]:port`.
            Some(v6) => match v6.split_once(']') {
                Some((addr, "")) => !addr.is_empty(),
                Some((addr, rest)) => {
                    !addr.is_empty() && rest.strip_prefix(':').is_some_and(port_ok)
                }
                None => false,
            },
            None => match authority.split_once(':') {
                None => true,
                Some((host, port)) => !host.is_empty() && port_ok(port),
            },
        };
        if !valid_port {
            return Err(UrlError::Port(url.to_string()));
        }
        let path = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        Ok(HttpUrl {
            authority: authority.to_string(),
            path,
        })
    }
}

/// Why a URL is not one the filter fetches from; each names the URL as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// Empty, or not printable ASCII without spaces.
    NotAscii(String),
    /// `https://`: the TLS is the cluster's.
    Https(String),
    /// Another scheme, or none.
    NotHttp(String),
    /// A `#fragment`.
    Fragment(String),
    /// No host.
    NoHost(String),
    /// `user@`.
    UserInfo(String),
    /// A port that is not 1 to 65535.
    Port(String),
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::NotAscii(url) => {
                write!(f, "{url:?} is not a URL (printable ASCII without spaces)")
            }
            UrlError::Https(url) => write!(
                f,
                "{url:?} is an https:// URL, but the module sends plain HTTP to the cluster and \
                 cannot see whether the cluster speaks TLS: write http:// and give the cluster a \
                 TLS transport socket (the TLS is the cluster's)"
            ),
            UrlError::NotHttp(url) => write!(f, "{url:?} is not an http:// URL"),
            UrlError::Fragment(url) => write!(f, "{url:?} has a fragment"),
            UrlError::NoHost(url) => write!(f, "{url:?} has no host"),
            UrlError::UserInfo(url) => write!(f, "{url:?} has user information"),
            UrlError::Port(url) => write!(f, "{url:?} has a malformed port"),
        }
    }
}

impl std::error::Error for UrlError {}

/// One CRL fetched over HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlSource {
    /// Where from.
    pub url: HttpUrl,
    /// The URL as written (for logs).
    pub url_text: String,
    /// The Envoy cluster.
    pub cluster: String,
    /// Seconds between fetches.
    pub refresh_seconds: u32,
    /// The shared-data key prefix every VM of the Envoy uses for this source (URL and cluster
    /// hashed: the same source under another configuration shares the fetched copy).
    pub shared_key: String,
}

/// The OCSP responder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspSource {
    /// The Envoy cluster.
    pub cluster: String,
    /// The configured URL; `None`: the leaf's Authority Information Access OCSP URL.
    pub url: Option<HttpUrl>,
    /// How long a request waits, milliseconds.
    pub timeout_ms: u32,
    /// How long an answer is kept, seconds.
    pub cache_seconds: u32,
    /// Answers must echo the request's nonce (`requireNonce`).
    pub require_nonce: bool,
    /// The oldest producedAt and thisUpdate accepted, seconds before now (`maxAgeSeconds`).
    pub max_age_seconds: u32,
}

/// `revocationSources` and `revocationFailure`, compiled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OnlineSources {
    /// CRLs fetched over HTTP, in configuration order (their index names their stats).
    pub crls: Vec<CrlSource>,
    /// The OCSP responder, if any.
    pub ocsp: Option<OcspSource>,
    /// What no fresh status gives.
    pub failure: RevocationFailure,
}

/// The default `refreshSeconds`.
pub const DEFAULT_REFRESH_SECONDS: u32 = 3600;
/// The largest `refreshSeconds`: a week.
pub const MAX_REFRESH_SECONDS: u32 = 604_800;
/// The default `timeoutMs`.
pub const DEFAULT_OCSP_TIMEOUT_MS: u32 = 1000;
/// The smallest `timeoutMs`: below it hardly any responder answers in time, and under
/// `revocationFailure: allow` every certificate would pass unchecked.
pub const MIN_OCSP_TIMEOUT_MS: u32 = 100;
/// The largest `timeoutMs`.
pub const MAX_OCSP_TIMEOUT_MS: u32 = 30_000;
/// The default `cacheSeconds`.
pub const DEFAULT_OCSP_CACHE_SECONDS: u32 = 300;
/// The largest `cacheSeconds`: a day.
pub const MAX_OCSP_CACHE_SECONDS: u32 = 86_400;
/// The default `maxAgeSeconds`: an answer produced (or dated) more than an hour ago is
/// refused, so a captured answer can be replayed for an hour at most.
pub const DEFAULT_OCSP_MAX_AGE_SECONDS: u32 = 3600;
/// The smallest `maxAgeSeconds`: a minute (clocks and responders are not exact).
pub const MIN_OCSP_MAX_AGE_SECONDS: u32 = 60;
/// The largest `maxAgeSeconds`: a week, the longest validity CAs give OCSP answers.
pub const MAX_OCSP_MAX_AGE_SECONDS: u32 = 604_800;

/// A field of `revocationSources` that is not usable: its path and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// The field, from `validation.` (`validation.revocationSources.crls[0].url`).
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl std::error::Error for SourceError {}

fn cluster_name(field: String, name: &str) -> Result<String, SourceError> {
    if name.is_empty() || name.len() > 255 || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SourceError {
            field,
            problem: format!("{name:?} is not an Envoy cluster name"),
        });
    }
    Ok(name.to_string())
}

fn ranged(
    field: String,
    value: Option<u32>,
    default: u32,
    range: (u32, u32),
    unit: &str,
) -> Result<u32, SourceError> {
    let value = value.unwrap_or(default);
    if value < range.0 || value > range.1 {
        return Err(SourceError {
            field,
            problem: format!("{value} is outside {} to {} {unit}", range.0, range.1),
        });
    }
    Ok(value)
}

impl OnlineSources {
    /// Compiles `revocationSources`; field paths start at `validation.revocationSources`.
    pub fn compile(
        raw: &RawRevocationSources,
        failure: RevocationFailure,
    ) -> Result<OnlineSources, SourceError> {
        let base = "validation.revocationSources";
        let mut crls = Vec::new();
        for (i, source) in raw.crls.iter().flatten().enumerate() {
            let field = |name: &str| format!("{base}.crls[{i}].{name}");
            let url = HttpUrl::parse(source.url.trim()).map_err(|e| SourceError {
                field: field("url"),
                problem: e.to_string(),
            })?;
            let cluster = cluster_name(field("cluster"), &source.cluster)?;
            let refresh_seconds = ranged(
                field("refreshSeconds"),
                source.refresh_seconds,
                DEFAULT_REFRESH_SECONDS,
                (1, MAX_REFRESH_SECONDS),
                "seconds",
            )?;
            let url_text = source.url.trim().to_string();
            if let Some(first) = crls
                .iter()
                .position(|c: &CrlSource| c.url == url && c.cluster == cluster)
            {
                return Err(SourceError {
                    field: field("url"),
                    problem: format!("the same URL and cluster as crls[{first}]"),
                });
            }
            let digest = crate::cert::sha256(format!("{cluster}\n{url_text}").as_bytes());
            crls.push(CrlSource {
                shared_key: format!(
                    "client_cert_auth.crl.{}",
                    crate::text::hex_lower(&digest[..12])
                ),
                url,
                url_text,
                cluster,
                refresh_seconds,
            });
        }
        let ocsp = match &raw.ocsp {
            None => None,
            Some(RawOcspSource {
                cluster,
                url,
                timeout_ms,
                cache_seconds,
                require_nonce,
                max_age_seconds,
            }) => {
                let field = |name: &str| format!("{base}.ocsp.{name}");
                Some(OcspSource {
                    cluster: cluster_name(field("cluster"), cluster)?,
                    url: url
                        .as_deref()
                        .map(|u| {
                            HttpUrl::parse(u.trim()).map_err(|e| SourceError {
                                field: field("url"),
                                problem: e.to_string(),
                            })
                        })
                        .transpose()?,
                    timeout_ms: ranged(
                        field("timeoutMs"),
                        *timeout_ms,
                        DEFAULT_OCSP_TIMEOUT_MS,
                        (MIN_OCSP_TIMEOUT_MS, MAX_OCSP_TIMEOUT_MS),
                        "milliseconds",
                    )?,
                    cache_seconds: ranged(
                        field("cacheSeconds"),
                        *cache_seconds,
                        DEFAULT_OCSP_CACHE_SECONDS,
                        (0, MAX_OCSP_CACHE_SECONDS),
                        "seconds",
                    )?,
                    require_nonce: require_nonce.unwrap_or(false),
                    max_age_seconds: ranged(
                        field("maxAgeSeconds"),
                        *max_age_seconds,
                        DEFAULT_OCSP_MAX_AGE_SECONDS,
                        (MIN_OCSP_MAX_AGE_SECONDS, MAX_OCSP_MAX_AGE_SECONDS),
                        "seconds",
                    )?,
                })
            }
        };
        if crls.is_empty() && ocsp.is_none() {
            return Err(SourceError {
                field: base.to_string(),
                problem: "names no source (crls or ocsp)".to_string(),
            });
        }
        Ok(OnlineSources {
            crls,
            ocsp,
            failure,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_give_authority_and_path() {
        let u = HttpUrl::parse("http://crl.contoso.test/issuing.crl").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.path.as_str()),
            ("crl.contoso.test", "/issuing.crl")
        );
        let u = HttpUrl::parse("HTTP://ocsp.test:8443").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.path.as_str()),
            ("ocsp.test:8443", "/")
        );
        for https in ["https://ocsp.test/", "HTTPS://ocsp.test:8443"] {
            let why = HttpUrl::parse(https).unwrap_err().to_string();
            assert!(why.contains("is an https:// URL"), "{why}");
        }
        let u = HttpUrl::parse("http://[::1]:80/x?y=1").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.path.as_str()),
            ("[::1]:80", "/x?y=1")
        );
        let u = HttpUrl::parse("http://[::1]/crl").unwrap();
        assert_eq!(u.authority, "[::1]");
        let u = HttpUrl::parse("http://h?q").unwrap();
        assert_eq!(u.path, "/?q");
        for bad in [
            "",
            "ftp://x/",
            "http:///x",
            "http://user@host/",
            "http://host:0/",
            "http://host:99999/",
            "http://host:/",
            "http://host/a b",
            "http://host/#frag",
            "http://::1/",
            "http://[]/",
            "http://[::1]:/",
            "http://[::1]x/",
            "http://[::1/",
            "http://:80/",
            "crl.contoso.test/issuing.crl",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
