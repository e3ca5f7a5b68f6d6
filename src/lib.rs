//! client-cert-auth: Azure App Service style client-certificate authentication for Envoy, as a
//! proxy-wasm filter.
//!
//! The layers (private modules), each importing only from the ones before it:
//!
//! | layer | what it holds |
//! |---|---|
//! | `text` | hex, percent escapes, ASCII trimming, log quoting, RFC 3339 |
//! | `outcome` | the vocabulary: [`Reason`], [`CertError`], [`Decision`] |
//! | `config` | the configuration language: the raw types, documented for the schema; the JSON parser ([`json`]) and the reader |
//! | `cert` | PEM, the leaf certificate and its facts, XFCC, distinguished names |
//! | `validation` | trust chains (rustls-webpki), EKU, identities; `validation::revocation`: every rule of revocation |
//! | `scope` | exclusion paths and rules: what a request's path, host and method decide |
//! | `output` | forwarded headers and local replies |
//! | `decision` | the compiled [`Config`], the verdict cache, [`decide`] and the [`Outcome`] |
//! | [`glue`] | the host seam ([`glue::Host`]), the request flow, stats and logs; the proxy-wasm entry points on wasm32 only |
//!
//! Everything up to `decision` is pure Rust with no host import and is tested natively; the
//! glue runs natively too, over a recording fake host. What the crate offers is the curated
//! list of `pub use` below, each item by one path, and the [`glue`], [`revocation`] and
//! [`json`] modules.

#![warn(missing_docs)]

mod cert;
mod config;
mod decision;
pub mod glue;
mod outcome;
mod output;
mod scope;
mod text;
mod validation;

// Every public item has one path: the list below (and the `glue`, `revocation` and `json`
// modules).

// The configuration, the decision and the verdict cache.
pub use decision::cache::VerdictCache;
pub use decision::{
    CacheUse, Config, ConfigError, FORWARDED_HEADER, Inputs, MAX_CACHE_SIZE, Outcome, Property,
    Request, XFCC_HEADER, decide,
};
// What a decision says, and why.
pub use outcome::{
    CertError, Decision, DenyReason, HostCall, MAX_CERTIFICATE_PEM_BYTES, PassReason, Reason,
};
// What goes out: forwarded headers and local replies.
pub use output::{ForwardConfigError, Reply, ResponsesError};
// The configuration language (its types), and the JSON parser it is read with (for the
// differential tests against serde_json).
pub use config::json;
pub use config::{FrontFormat, RawConfig, RevocationFailure, Source};
// Certificates: PEM, the leaf, XFCC, names, front proxies' headers.
pub use cert::front::{Cidr, MAX_HEADER_CERTIFICATES, decode as decode_front, parse_peer};
pub use cert::{
    Dn, DnError, LeafCertificate, XfccError, envoy_url_encode, parse_single, pem_bundle,
    pem_to_der, sha256,
};
// Paths, rules and modes.
pub use scope::path::{ExclusionPaths, PathEntryError, canonicalize};
pub use scope::{Mode, RequestLine, scope};
// Validation.
pub use text::rfc3339;
pub use validation::crypto::{ALGORITHMS, SignatureError};
pub use validation::{IdentityError, ValidationConfigError};

/// Revocation: CRLs (configured and fetched), the sets sources share, OCSP, the VM's state.
pub mod revocation {
    pub use crate::validation::revocation::crl_set::{MAX_SLOTS_PER_CA, MAX_SLOTS_PER_SOURCE};
    pub use crate::validation::revocation::crl_store::{
        CompactCrl, CrlError, CrlOrder, CrlSigner, Scope, distribution_point_names, newer,
    };
    pub use crate::validation::revocation::ocsp;
    pub use crate::validation::revocation::state::{decode_revoked, encode_revoked};
    pub use crate::validation::revocation::{
        AskError, CrlSource, FetchError, HttpUrl, Installed, Judged, Learned, OcspQuery,
        OcspSource, OcspStatus, OnlineSources, OnlineStatus, RevocationRef, RevocationState,
        SetEntry, SetRefusal, SourceError, UrlError, decode_set, encode_set, merge_set,
    };
}
