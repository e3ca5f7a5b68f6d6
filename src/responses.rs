//! The local replies: one compiled table from reason to status, body and headers.
//!
//! Precedence: an entry for the specific reason (`expired`, `untrusted`, ...) wins over the
//! entry for its class (`missing` or `invalid`), which wins over the preset. Presets:
//! `default` (401 with a plain-text line), `appService` (403 `Client Certificate Required` for a
//! missing certificate, as App Service's front end answers; 401 otherwise) and `apim` (401 with
//! API Management's JSON body `{"statusCode": 401, "message": "..."}`).

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::decision::DenyReason;

/// Every reason a reply can be configured for: the two classes, then the specific reasons
/// (the configuration key, and the reason's name in logs and metrics).
pub const REASONS: [(&str, &str); 12] = [
    ("missing", "missing"),
    ("invalid", "invalid"),
    ("malformed", "malformed"),
    ("expired", "expired"),
    ("notYetValid", "not_yet_valid"),
    ("untrusted", "untrusted"),
    ("revoked", "revoked"),
    ("revocationUnknown", "revocation_unknown"),
    ("wrongUsage", "wrong_usage"),
    ("identityNotMatched", "identity_not_matched"),
    ("xfccUntrusted", "xfcc_untrusted"),
    ("notVisible", "not_visible"),
];

#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawReply {
    pub status: Option<u32>,
    /// For `format: "json"`, the `message`.
    pub body: Option<String>,
    pub content_type: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    /// `text` (default) or `json` (APIM's shape).
    pub format: Option<String>,
}

/// The `responses` object: `preset` plus a reply per reason.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawResponses {
    pub preset: Option<String>,
    pub missing: Option<RawReply>,
    pub invalid: Option<RawReply>,
    pub malformed: Option<RawReply>,
    pub expired: Option<RawReply>,
    pub not_yet_valid: Option<RawReply>,
    pub untrusted: Option<RawReply>,
    pub revoked: Option<RawReply>,
    pub revocation_unknown: Option<RawReply>,
    pub wrong_usage: Option<RawReply>,
    pub identity_not_matched: Option<RawReply>,
    pub xfcc_untrusted: Option<RawReply>,
    pub not_visible: Option<RawReply>,
}

impl RawResponses {
    /// The replies in [`REASONS`] order.
    fn replies(&self) -> [Option<&RawReply>; 12] {
        [
            self.missing.as_ref(),
            self.invalid.as_ref(),
            self.malformed.as_ref(),
            self.expired.as_ref(),
            self.not_yet_valid.as_ref(),
            self.untrusted.as_ref(),
            self.revoked.as_ref(),
            self.revocation_unknown.as_ref(),
            self.wrong_usage.as_ref(),
            self.identity_not_matched.as_ref(),
            self.xfcc_untrusted.as_ref(),
            self.not_visible.as_ref(),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponsesError {
    UnknownPreset(String),
    Status { key: String, status: u32 },
    Format { key: String, value: String },
    Header { key: String, name: String },
}

impl fmt::Display for ResponsesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponsesError::UnknownPreset(p) => write!(
                f,
                "responses.preset: unknown preset {p:?}, expected default, appService or apim"
            ),
            ResponsesError::Status { key, status } => write!(
                f,
                "responses.{key}.status: {status} is not a 4xx or 5xx status (a denial must not look like success)"
            ),
            ResponsesError::Format { key, value } => write!(
                f,
                "responses.{key}.format: unknown format {value:?}, expected text or json"
            ),
            ResponsesError::Header { key, name } => write!(
                f,
                "responses.{key}.headers: {name:?} is not a header name or value that can be sent"
            ),
        }
    }
}

/// One compiled reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u32,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

/// The compiled table, indexed like [`REASONS`].
#[derive(Debug, Clone)]
pub struct Responses {
    table: Vec<Reply>,
    host_failure: Reply,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Preset {
    Default,
    AppService,
    Apim,
}

fn preset_reply(preset: Preset, missing: bool) -> RawReply {
    let text = |status: u32, body: &str| RawReply {
        status: Some(status),
        body: Some(body.to_string()),
        ..RawReply::default()
    };
    match (preset, missing) {
        (Preset::Default, true) => text(401, "client certificate required"),
        (Preset::Default, false) => text(401, "client certificate invalid"),
        (Preset::AppService, true) => text(403, "Client Certificate Required"),
        (Preset::AppService, false) => text(401, "client certificate invalid"),
        (Preset::Apim, true) => RawReply {
            format: Some("json".into()),
            ..text(401, "Client certificate is missing")
        },
        (Preset::Apim, false) => RawReply {
            format: Some("json".into()),
            ..text(401, "Invalid client certificate")
        },
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
        format: o.format.clone().or(base.format),
    }
}

fn compile_reply(key: &str, raw: &RawReply) -> Result<Reply, ResponsesError> {
    let status = raw.status.unwrap_or(401);
    if !(400..=599).contains(&status) {
        return Err(ResponsesError::Status {
            key: key.to_string(),
            status,
        });
    }
    let message = raw.body.clone().unwrap_or_default();
    let (body, default_type) = match raw.format.as_deref().unwrap_or("text") {
        "text" => (format!("{message}\n"), "text/plain; charset=utf-8"),
        "json" => (
            serde_json::json!({"statusCode": status, "message": message}).to_string(),
            "application/json",
        ),
        other => {
            return Err(ResponsesError::Format {
                key: key.to_string(),
                value: other.to_string(),
            });
        }
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
                key: key.to_string(),
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

impl Default for Responses {
    fn default() -> Self {
        match Responses::compile(&RawResponses::default()) {
            Ok(r) => r,
            Err(_) => Responses {
                table: Vec::new(),
                host_failure: host_failure(),
            },
        }
    }
}

fn host_failure() -> Reply {
    Reply {
        status: 500,
        body: "client certificate check failed\n".to_string(),
        headers: vec![(
            "content-type".to_string(),
            "text/plain; charset=utf-8".to_string(),
        )],
    }
}

impl Responses {
    pub fn compile(raw: &RawResponses) -> Result<Responses, ResponsesError> {
        let preset = match raw.preset.as_deref().unwrap_or("default") {
            "default" => Preset::Default,
            "appService" => Preset::AppService,
            "apim" => Preset::Apim,
            other => return Err(ResponsesError::UnknownPreset(other.to_string())),
        };
        let replies = raw.replies();
        let mut table = Vec::new();
        for (i, (key, _)) in REASONS.iter().enumerate() {
            let missing = i == 0;
            // Specific reasons inherit from the `invalid` class.
            let class = if i < 2 { None } else { replies[1] };
            let base = preset_reply(preset, missing);
            let merged = layer(layer(base, class), replies[i]);
            table.push(compile_reply(key, &merged)?);
        }
        Ok(Responses {
            table,
            host_failure: host_failure(),
        })
    }

    /// The reply for a denial.
    pub fn reply(&self, reason: &DenyReason) -> &Reply {
        let key = match reason {
            DenyReason::HostFailure(_) => return &self.host_failure,
            DenyReason::CertificateRequired => "missing",
            DenyReason::CertificateInvalid(e) => e.kind(),
        };
        REASONS
            .iter()
            .position(|(_, name)| *name == key)
            .and_then(|i| self.table.get(i))
            .unwrap_or(&self.host_failure)
    }
}
