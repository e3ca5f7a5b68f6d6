//! client-cert-auth: Azure App Service style client-certificate authentication for Envoy, as a
//! proxy-wasm filter.
//!
//! The layers, each importing only from the ones before it:
//!
//! | layer | what it holds |
//! |---|---|
//! | `text` | hex, percent escapes, ASCII trimming, log quoting, RFC 3339 |
//! | [`outcome`] | the vocabulary: [`Reason`], [`CertError`], [`Decision`], [`Outcome`] |
//! | [`config`] | the configuration language: raw serde types, documented for the schema |
//! | [`cert`] | PEM, the leaf certificate and its facts, XFCC, distinguished names |
//! | [`validation`] | trust chains (rustls-webpki), revocation, EKU, identities |
//! | [`scope`] | exclusion paths and rules: what a request's path, host and method decide |
//! | `output` | forwarded headers and local replies |
//! | [`decision`] | the compiled [`Config`], the verdict cache, and [`decide`] |
//! | [`glue`] | the host seam ([`glue::Host`]), the request flow, stats and logs; the proxy-wasm entry points on wasm32 only |
//!
//! Everything up to `decision` is pure Rust with no host import and is tested natively; the
//! glue runs natively too, over a recording fake host.

#![warn(missing_docs)]

mod text;

pub mod cert;
pub mod config;
pub mod decision;
pub mod glue;
pub mod outcome;
mod output;
pub mod scope;
pub mod validation;

pub use decision::cache::VerdictCache;
pub use decision::{
    CacheUse, Config, ConfigError, FORWARDED_HEADER, Inputs, Outcome, Property, Request,
    XFCC_HEADER, decide,
};
pub use outcome::{CertError, Decision, DenyReason, HostCall, PassReason, Reason};
pub use output::{ForwardConfigError, Reply, ResponsesError};
pub use text::rfc3339;
