//! The local replies: one compiled table from reason to status, body and headers.
//!
//! Precedence: an entry for the specific reason (`expired`, `untrusted`, ...) wins over the
//! entry for its class (`missing` or `invalid`), which wins over the preset. Presets:
//! `default` (401 with a plain-text line), `appService` (403 `Client Certificate Required` for a
//! missing certificate, as App Service's front end answers; 401 otherwise) and `apim` (401 with
//! API Management's JSON body `{"statusCode": 401, "message": "..."}`), `ingressNginx` (nginx's
//! 400s for a missing or refused certificate, 403 for the identity check). `errorPage` turns the
//! certificate errors into a redirect (302), as nginx's `error_page 495 496 = <url>`.

use std::fmt;

use crate::config::{Preset, RawReply, RawResponses, ReplyFormat};
use crate::outcome::{DenyReason, Reason};

/// The reply configured for one reason, exactly as written (`None` where not written).
fn written(raw: &RawResponses, reason: Reason) -> Option<&RawReply> {
    match reason {
        Reason::Missing => raw.missing.as_ref(),
        Reason::Malformed => raw.malformed.as_ref(),
        Reason::Expired => raw.expired.as_ref(),
        Reason::NotYetValid => raw.not_yet_valid.as_ref(),
        Reason::Untrusted => raw.untrusted.as_ref(),
        Reason::ChainTooLong => raw.chain_too_long.as_ref(),
        Reason::Revoked => raw.revoked.as_ref(),
        Reason::RevocationUnknown => raw.revocation_unknown.as_ref(),
        Reason::WrongUsage => raw.wrong_usage.as_ref(),
        Reason::IdentityNotMatched => raw.identity_not_matched.as_ref(),
        Reason::XfccUntrusted => raw.xfcc_untrusted.as_ref(),
        Reason::NotVisible => raw.not_visible.as_ref(),
        Reason::HostFailure => None,
    }
}

/// Why the `responses` object was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponsesError {
    /// A reply's status is outside 400 to 599: a denial must not look like success.
    Status {
        /// The `responses` entry (`invalid`, `missing`, `expired`, ...) whose reply is at fault.
        key: &'static str,
        /// The status refused.
        status: u32,
    },
    /// `errorPage` is not an `http://` or `https://` URL or a path from `/`, or holds bytes
    /// that cannot be sent in a header.
    ErrorPage {
        /// The value as written.
        value: String,
    },
    /// `errorPage` beside a class entry (`missing` or `invalid`) it would override.
    ErrorPageWithClass {
        /// The class entry given.
        key: &'static str,
    },
    /// An extra reply header has an unusable name (not letters, digits, `-` and `_`, or
    /// `content-length`) or a value with unprintable bytes.
    Header {
        /// The `responses` entry whose `headers` are at fault.
        key: &'static str,
        /// The header name as written.
        name: String,
    },
}

impl fmt::Display for ResponsesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponsesError::Status { key, status } => write!(
                f,
                "responses.{key}.status: {status} is not a 4xx or 5xx status (a denial must not look like success)"
            ),
            ResponsesError::ErrorPage { value } => write!(
                f,
                "responses.errorPage: {value:?} is not an http:// or https:// URL or a path from \
                 / (not // or /\\, which browsers read as another host; nginx's named locations, \
                 @name, cannot be reached from Envoy)"
            ),
            ResponsesError::ErrorPageWithClass { key } => write!(
                f,
                "responses.{key}: given beside responses.errorPage, which answers every {key} \
                 certificate; set one of them (or a specific reason's entry)"
            ),
            ResponsesError::Header { key, name } => write!(
                f,
                "responses.{key}.headers: {name:?} is not a header name or value that can be sent"
            ),
        }
    }
}

impl std::error::Error for ResponsesError {}

/// One compiled reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status, 400 to 599 (500 for a host failure), or 302 for `errorPage`.
    pub status: u32,
    /// The body as sent: the text and a newline, or the JSON object.
    pub body: String,
    /// The reply headers, names in lower case, `content-type` first.
    pub headers: Vec<(String, String)>,
}

/// The compiled table: one reply per [`Reason`], indexed by [`Reason::index`].
#[derive(Debug, Clone)]
pub struct Responses {
    table: [Reply; Reason::COUNT],
}

fn preset_reply(preset: Preset, reason: Reason) -> RawReply {
    let missing = !reason.is_invalid_certificate();
    let text = |status: u32, body: &str| RawReply {
        status: Some(status),
        body: Some(body.to_string()),
        ..RawReply::default()
    };
    let json = |status: u32, body: &str| RawReply {
        format: Some(ReplyFormat::Json),
        ..text(status, body)
    };
    match (preset, missing) {
        (Preset::Default, true) => text(401, "client certificate required"),
        (Preset::Default, false) => text(401, "client certificate invalid"),
        (Preset::AppService, true) => text(403, "Client Certificate Required"),
        (Preset::AppService, false) => text(401, "client certificate invalid"),
        (Preset::Apim, true) => json(401, "Client certificate is missing"),
        (Preset::Apim, false) => json(401, "Invalid client certificate"),
        // nginx's 496 and 495 (answered as 400), and the template's `return 403` of
        // auth-tls-match-cn.
        (Preset::IngressNginx, true) => text(400, "No required SSL certificate was sent"),
        (Preset::IngressNginx, false) if reason == Reason::IdentityNotMatched => {
            text(403, "client certificate unauthorized")
        }
        (Preset::IngressNginx, false) => text(400, "The SSL certificate error"),
    }
}

fn safe(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_graphic() || b == b' ' || b == b'\t')
}

/// Fills `base` with whatever `over` sets.
fn layer(base: RawReply, over: Option<&RawReply>) -> RawReply {
    let Some(o) = over else { return base };
    RawReply {
        status: o.status.or(base.status),
        body: o.body.clone().or(base.body),
        content_type: o.content_type.clone().or(base.content_type),
        headers: o.headers.clone().or(base.headers),
        format: o.format.or(base.format),
    }
}

/// The key of the `invalid` class in the `responses` object.
const INVALID_CLASS: &str = "invalid";

fn compile_reply(key: &'static str, raw: &RawReply) -> Result<Reply, ResponsesError> {
    let status = raw.status.unwrap_or(401);
    if !(400..=599).contains(&status) {
        return Err(ResponsesError::Status { key, status });
    }
    let message = raw.body.clone().unwrap_or_default();
    let (body, default_type) = match raw.format.unwrap_or_default() {
        ReplyFormat::Text => (format!("{message}\n"), "text/plain; charset=utf-8"),
        ReplyFormat::Json => (
            // As serde_json writes {"statusCode": .., "message": ..}: keys in sorted order.
            format!(
                "{{\"message\":{},\"statusCode\":{status}}}",
                crate::text::json_string(&message)
            ),
            "application/json",
        ),
    };
    let content_type = raw.content_type.clone().unwrap_or(default_type.to_string());
    let mut headers = vec![("content-type".to_string(), content_type)];
    for (name, value) in raw.headers.iter().flatten() {
        let lower = name.to_ascii_lowercase();
        let ok = !lower.is_empty()
            && lower
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && safe(value)
            && lower != "content-length";
        if !ok {
            return Err(ResponsesError::Header {
                key,
                name: name.clone(),
            });
        }
        if lower == "content-type" {
            headers[0].1 = value.clone();
        } else {
            headers.push((lower, value.clone()));
        }
    }
    Ok(Reply {
        status,
        body,
        headers,
    })
}

/// The redirect `errorPage` answers with.
fn error_page(page: &str, raw: &RawResponses) -> Result<Reply, ResponsesError> {
    for (key, entry) in [("missing", &raw.missing), ("invalid", &raw.invalid)] {
        if entry.is_some() {
            return Err(ResponsesError::ErrorPageWithClass { key });
        }
    }
    let lower = page.to_ascii_lowercase();
    let usable = (lower.starts_with("http://") && page.len() > "http://".len()
        || lower.starts_with("https://") && page.len() > "https://".len()
        // A path from `/`, but not `//host/..` or `/\host/..`, which browsers follow to
        // another host (a network-path reference).
        || page.starts_with('/') && !page.starts_with("//") && !page.starts_with("/\\"))
        && page.bytes().all(|b| b.is_ascii_graphic());
    if !usable {
        return Err(ResponsesError::ErrorPage {
            value: page.to_string(),
        });
    }
    Ok(Reply {
        status: 302,
        body: String::new(),
        headers: vec![
            (
                "content-type".to_string(),
                "text/plain; charset=utf-8".to_string(),
            ),
            ("location".to_string(), page.to_string()),
        ],
    })
}

impl Reply {
    /// The fixed reply when a host call fails: the filter fails closed with a server error,
    /// never with a reply that blames the client.
    pub fn host_failure() -> Reply {
        Reply {
            status: 500,
            body: "client certificate check failed\n".to_string(),
            headers: vec![(
                "content-type".to_string(),
                "text/plain; charset=utf-8".to_string(),
            )],
        }
    }

    /// The fixed reply to a request beyond the bound of those waiting for one certificate's
    /// OCSP answer: unavailable for now (never let through without the answer), retry in a
    /// second.
    pub fn revocation_busy() -> Reply {
        Reply {
            status: 503,
            body: "client certificate revocation check in progress, retry\n".to_string(),
            headers: vec![
                (
                    "content-type".to_string(),
                    "text/plain; charset=utf-8".to_string(),
                ),
                ("retry-after".to_string(), "1".to_string()),
            ],
        }
    }
}

impl Default for Responses {
    fn default() -> Self {
        // The default settings always compile; should they not, every denial still gets the
        // fixed server-error reply rather than a weaker one.
        Responses::compile(&RawResponses::default()).unwrap_or(Responses {
            table: std::array::from_fn(|_| Reply::host_failure()),
        })
    }
}

impl Responses {
    /// Layers the preset, the class entries and the reason entries into one reply per reason;
    /// the `invalid` class is checked even where every reason overrides it.
    pub fn compile(raw: &RawResponses) -> Result<Responses, ResponsesError> {
        let preset = raw.preset.unwrap_or_default();
        let error_page = match &raw.error_page {
            None => None,
            Some(page) => Some(error_page(page, raw)?),
        };
        // The class entry is checked even when every reason overrides it: a bad setting never
        // waits for the day it matters.
        let invalid_class = layer(
            preset_reply(preset, Reason::Malformed),
            raw.invalid.as_ref(),
        );
        compile_reply(INVALID_CLASS, &invalid_class)?;
        let mut table = std::array::from_fn(|_| Reply::host_failure());
        for reason in Reason::ALL {
            let Some(key) = reason.config_key() else {
                continue; // host_failure keeps its fixed reply
            };
            // A preset may answer one reason of a class apart (ingressNginx's identity check);
            // the class entry, when written, still wins over it.
            let base = if reason.is_invalid_certificate() {
                layer(preset_reply(preset, reason), raw.invalid.as_ref())
            } else {
                preset_reply(preset, reason)
            };
            table[reason.index()] = match (&error_page, written(raw, reason)) {
                (Some(redirect), None) if reason != Reason::IdentityNotMatched => redirect.clone(),
                (_, entry) => compile_reply(key, &layer(base, entry))?,
            };
        }
        Ok(Responses { table })
    }

    /// The reply for a denial.
    pub fn reply(&self, reason: &DenyReason) -> &Reply {
        &self.table[reason.reason().index()]
    }
}
