//! The configuration language: the JSON the user writes, as plain types, in one place.
//!
//! Every field's doc comment is its description in the published JSON Schema
//! (`schema/client-cert-auth.schema.json`, generated from these types by `make schema`, whose
//! derive reads the `serde(...)` attributes below for the JSON names and the closed objects).
//! The module reads them without serde: [`json`] parses the text into a tree and [`read`] walks
//! it into these types with serde's rules (unknown keys refused at every level, so a misspelt
//! key can never silently turn a check off; a key given twice refused; closed sets spelt
//! exactly) and serde_json's messages; the mode is a string matched in any letter case, which
//! the schema expresses as a pattern. The reader's keys and names are held against the schema
//! by tests/tools/schema.rs.
//!
//! These types hold what was written, nothing more. Each layer compiles its part into the form
//! it runs on (`scope`, `validation`, `output`), and [`crate::decision::Config`] assembles the
//! whole once, at configure time.

pub mod json;
pub mod read;

/// The plugin configuration exactly as written.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schemars",
    schemars(title = "client-cert-auth plugin configuration")
)]
#[derive(Debug, Default)]
#[cfg_attr(
    feature = "schemars",
    serde(deny_unknown_fields, rename_all = "camelCase")
)]
pub struct RawConfig {
    /// `false` turns enforcement and forwarding off: only the removal of client-sent copies of
    /// the forwarded headers remains (Azure's `clientCertEnabled`). Default `true`.
    pub client_cert_enabled: Option<bool>,
    /// What is enforced outside exclusion paths: `Required`, `Optional`,
    /// `OptionalInteractiveUser` or `Ignore` (disabled), in any letter case (Azure's
    /// `clientCertMode`). Default `Required`.
    #[cfg_attr(feature = "schemars", serde(default))]
    #[cfg_attr(feature = "schemars", schemars(schema_with = "mode_schema"))]
    pub client_cert_mode: Option<String>,
    /// Paths that never need a certificate (Azure's `clientCertExclusionPaths`): a string split
    /// on `;` and `,` as Azure writes it (`"/public;/healthz"`), or an array of paths. Matched
    /// case-insensitively on whole segments; an ambiguous request path is never excluded.
    pub client_cert_exclusion_paths: Option<RawPathList>,
    /// API Management style certificate validation: dates, trust chain, revocation, extended
    /// key usage, identities. Default: validity dates only.
    pub validation: Option<RawValidation>,
    /// How many certificates' verdicts (and forwarded header values) each worker remembers,
    /// at most 1,000,000; 0 turns the cache off. Default 1024.
    pub cache_size: Option<usize>,
    /// Ordered per-route rules: the first rule that surely matches a request decides its mode
    /// and identities; requests no rule matches use `clientCertMode`.
    pub rules: Option<Vec<RawRule>>,
    /// Where the client certificate comes from. Default `connection`.
    pub certificate_source: Option<Source>,
    /// The header a TLS-terminating proxy in front of Envoy forwards the certificate in, and
    /// which immediate peers may send it. Required with `certificateSource: "header"`, refused
    /// otherwise.
    pub header: Option<RawHeaderSource>,
    /// Remove `x-forwarded-client-cert` before the upstream. Default `true` when XFCC can be the
    /// source (`xfcc`, `auto`), `false` otherwise.
    pub strip_xfcc: Option<bool>,
    /// The headers the upstream receives about the certificate. Default: `X-ARR-ClientCert` only.
    pub forward: Option<RawForward>,
    /// The local replies to denied requests. Default: 401 with a plain-text line.
    pub responses: Option<RawResponses>,
    /// Report only (a dry run, for rollout): every decision is computed, logged and counted,
    /// but nothing is denied; a request that would be refused passes without a forwarded
    /// certificate and counts as `would_deny.<reason>`. Client-sent copies of the forwarded
    /// headers are still removed, and a failing host call still answers 500. A rule's own
    /// `reportOnly` overrides it. Default `false`.
    pub report_only: Option<bool>,
}

/// Where the client certificate comes from.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "schemars", serde(rename_all = "lowercase"))]
pub enum Source {
    /// Envoy's `connection.peer_certificate` property (Envoy >= 1.38).
    Connection,
    /// `x-forwarded-client-cert`, as this proxy's connection manager writes it with
    /// `forward_client_cert_details: SANITIZE_SET`.
    Xfcc,
    /// The connection property when present, else XFCC.
    Auto,
    /// A header written by a TLS-terminating proxy in front of Envoy (`header`), trusted only
    /// from the immediate peers `header.trustedProxies` lists.
    Header,
}

/// `header`: where a proxy in front of Envoy forwards the client certificate.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone)]
#[cfg_attr(
    feature = "schemars",
    serde(deny_unknown_fields, rename_all = "camelCase")
)]
pub struct RawHeaderSource {
    /// How the proxy encodes the certificate (and which header it uses by default).
    pub format: FrontFormat,
    /// The immediate peers (Envoy's `source.address`) allowed to send the header, as CIDRs
    /// (`10.0.0.0/8`, `2001:db8::/32`) or single addresses. From any other peer the header is
    /// removed and never used. At least one; a range that holds every address of a family
    /// (`0.0.0.0/0`, `::/0`, all of the IPv4-mapped `::ffff:0:0/96`) is refused.
    pub trusted_proxies: Vec<String>,
    /// The header name, when the proxy uses another than the format's default (required for
    /// `appGateway` and `nginx`, which have none).
    pub name: Option<String>,
}

/// How a proxy in front of Envoy encodes the client certificate.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "schemars", serde(rename_all = "camelCase"))]
pub enum FrontFormat {
    /// AWS ALB: URL-encoded PEM of the whole chain, leaf first (`+`, `=`, `/` unescaped), in
    /// `X-Amzn-Mtls-Clientcert`; `X-Amzn-Mtls-Clientcert-Leaf` (verify mode) by `name`.
    Alb,
    /// Azure Application Gateway: a rewrite of `client_certificate`, PEM with its delimiters,
    /// the leaf only; no default header (`name` required).
    AppGateway,
    /// Cloudflare: base64 DER of the leaf in `Cf-Client-Cert-Der-Base64`.
    Cloudflare,
    /// Traefik `passTLSClientCert`: base64 DER, certificates separated by `,`, leaf first, in
    /// `X-Forwarded-Tls-Client-Cert`.
    Traefik,
    /// nginx `$ssl_client_escaped_cert`: URL-encoded PEM of the leaf; no default header
    /// (`name` required: the one your `proxy_set_header` writes).
    Nginx,
    /// Azure Container Apps: `X-Forwarded-Client-Cert` with `Hash`, and URL-encoded PEM
    /// `Cert` and `Chain`.
    ContainerApps,
    /// RFC 9440: `Client-Cert` (`:base64 DER:`) and `Client-Cert-Chain` (a list of them).
    Rfc9440,
    /// Azure App Service's front end: base64 DER of the leaf in `X-ARR-ClientCert`.
    Arr,
}

/// The names `clientCertMode` and a rule's `mode` accept, in any letter case.
pub const MODE_NAMES: [&str; 4] = ["Required", "Optional", "OptionalInteractiveUser", "Ignore"];

/// A mode is a string matched in any letter case; the schema says so with a pattern that
/// spells every letter both ways, so an unknown mode fails schema validation.
#[cfg(feature = "schemars")]
fn mode_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let either_case = |name: &str| -> String {
        name.chars()
            .map(|c| format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase()))
            .collect()
    };
    let names: Vec<String> = MODE_NAMES.iter().map(|n| either_case(n)).collect();
    schemars::json_schema!({
        "type": "string",
        "pattern": format!("^({})$", names.join("|")),
        "examples": MODE_NAMES,
    })
}

// The doc comment is the schema's published description, kept word for word; the note on
// serde in it is history: `read.rs` reads this by hand too, a string or an array by its kind.
/// Exclusion paths: Azure stores them as one delimited string; JSON users may prefer an array.
/// (Deserialized by hand rather than as an untagged enum: serde buffers an untagged value and
/// its error then carries no position, so the message could not name the field.)
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schemars", schemars(untagged))]
#[derive(Debug)]
pub enum RawPathList {
    /// Paths separated by `;` or `,`, as Azure writes them.
    Delimited(String),
    /// One path per element.
    List(Vec<String>),
}

impl RawPathList {
    /// The entries, trimmed, empty ones dropped.
    pub fn entries(&self) -> Vec<&str> {
        let all: Vec<&str> = match self {
            RawPathList::Delimited(s) => s.split([';', ',']).collect(),
            RawPathList::List(v) => v.iter().map(String::as_str).collect(),
        };
        all.into_iter()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect()
    }
}

/// The `validation` object: API Management's `validate-client-certificate`, in Envoy.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default)]
#[cfg_attr(
    feature = "schemars",
    serde(deny_unknown_fields, rename_all = "camelCase")
)]
pub struct RawValidation {
    /// Refuse a certificate before its `notBefore` (inclusive bound, to the second). Default `true`.
    pub validate_not_before: Option<bool>,
    /// Refuse a certificate after its `notAfter` (inclusive bound, to the second). Default `true`.
    pub validate_not_after: Option<bool>,
    /// Clock skew tolerated by both date checks, in seconds, at most 86400 (a day). Default 0.
    pub clock_skew_seconds: Option<u32>,
    /// The leaf must chain, by signature, to one of `trustedCaCertificates`, through
    /// `intermediateCertificates` or presented intermediates if needed, with key usages that
    /// allow it (RFC 5280). Default: on when `trustedCaCertificates` are given, off otherwise;
    /// `false` beside trusted CAs is refused as a contradiction.
    pub validate_trust: Option<bool>,
    /// Trust anchors, one PEM certificate each. Needed by `validateTrust`.
    pub trusted_ca_certificates: Option<Vec<String>>,
    /// Intermediate CA certificates available for path building, one PEM certificate each.
    /// Only with the trust check (they would be ignored otherwise).
    pub intermediate_certificates: Option<Vec<String>>,
    /// The most intermediate CA certificates accepted between the client certificate and the
    /// trusted CA, as OpenSSL (and so nginx's `ssl_verify_depth`, ingress-nginx's
    /// `auth-tls-verify-depth`) counts its verify depth: `0` = issued by a trusted CA
    /// directly, `1` = through at most one intermediate. A certificate whose every trusted path
    /// is longer is refused as `chain_too_long`. Needs `validateTrust`. Default: any depth
    /// (rustls-webpki builds paths of at most 6 intermediates).
    pub max_chain_depth: Option<u32>,
    /// Refuse a leaf its issuer revoked (leaf only). Without a fresh status from any source (a
    /// valid CRL of the issuer, or an OCSP answer) the request is refused as
    /// `revocation_unknown`, unless `revocationFailure` is `allow`. Needs `validateTrust` and
    /// `crls` or `revocationSources`. Default `false`.
    pub validate_revocation: Option<bool>,
    /// Certificate revocation lists, one PEM `X509 CRL` each. Only with `validateRevocation`.
    pub crls: Option<Vec<String>>,
    /// Revocation fetched at run time: CRLs over HTTP, refreshed on a timer, and OCSP. Only
    /// with `validateRevocation`; works beside `crls`.
    pub revocation_sources: Option<RawRevocationSources>,
    /// What a request gets when revocation is checked but no source gives a fresh status (a
    /// responder down, a CRL not fetched yet or expired): `deny` (default, reason
    /// `revocation_unknown`) or `allow` (soft fail: logged and counted as
    /// `revocation.soft_fail`). A certificate a source says is revoked is refused either way.
    pub revocation_failure: Option<RevocationFailure>,
    /// The leaf must carry an extended key usage extension that lists clientAuth
    /// (anyExtendedKeyUsage alone is not enough, as with the trust check). Default `false`.
    pub require_client_auth_eku: Option<bool>,
    /// At least one identity must match (every attribute of it); empty means any certificate.
    pub identities: Option<Vec<RawIdentity>>,
}

/// `revocationSources`: where revocation comes from at run time.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default)]
#[cfg_attr(
    feature = "schemars",
    serde(deny_unknown_fields, rename_all = "camelCase")
)]
pub struct RawRevocationSources {
    /// CRLs fetched over HTTP: at start, every `refreshSeconds`, and sooner when the CRL in use
    /// nears its `nextUpdate`; one fetch per source per interval for the whole Envoy.
    pub crls: Option<Vec<RawCrlSource>>,
    /// An OCSP responder asked about each leaf (RFC 6960, HTTP POST); the request waits for
    /// the answer, at most `timeoutMs`.
    pub ocsp: Option<RawOcspSource>,
}

/// One CRL fetched over HTTP.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone)]
#[cfg_attr(
    feature = "schemars",
    serde(deny_unknown_fields, rename_all = "camelCase")
)]
pub struct RawCrlSource {
    /// `http://host[:port]/path`: the host is the request's `:authority`, the path its
    /// `:path`; how to reach it (address, TLS) is the cluster's business. `https://` is
    /// refused: for TLS, give the cluster a TLS transport socket and keep `http://` here.
    pub url: String,
    /// The Envoy cluster the request goes through.
    pub cluster: String,
    /// Seconds between fetches, 1 to 604800 (a week). Default 3600.
    pub refresh_seconds: Option<u32>,
}

/// The OCSP responder.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone)]
#[cfg_attr(
    feature = "schemars",
    serde(deny_unknown_fields, rename_all = "camelCase")
)]
pub struct RawOcspSource {
    /// The Envoy cluster requests go through.
    pub cluster: String,
    /// The responder's URL, `http://` (as `crls[].url`). Default: the leaf's Authority
    /// Information Access OCSP URL (its host and path; the request still goes through
    /// `cluster`; an `https://` one is refused at run time).
    pub url: Option<String>,
    /// How long a request waits for the answer, 100 to 30000 ms. Default 1000. `lint` warns
    /// below 500 under `revocationFailure: allow`.
    pub timeout_ms: Option<u32>,
    /// How long an answer is kept, at most 86400 seconds, and never beyond its `nextUpdate`.
    /// Default 300. A "revoked" answer (other than a `certificateHold`) is kept until the
    /// certificate expires, whatever this says.
    pub cache_seconds: Option<u32>,
    /// Refuse answers that do not echo the request's nonce (RFC 8954). Default false: many
    /// responders pre-generate their answers and cannot echo one; `maxAgeSeconds` then bounds
    /// how long a captured answer can be replayed.
    pub require_nonce: Option<bool>,
    /// The oldest `producedAt` and `thisUpdate` accepted, seconds before now, 60 to 604800,
    /// whatever the answer's `nextUpdate` says. Default 3600. Raise it to the refresh period
    /// of a responder that pre-generates its answers.
    pub max_age_seconds: Option<u32>,
}

/// `revocationFailure`.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "schemars", serde(rename_all = "camelCase"))]
pub enum RevocationFailure {
    /// No fresh status refuses the request (`revocation_unknown`).
    #[default]
    Deny,
    /// No fresh status lets the certificate through, logged and counted.
    Allow,
}

/// One identity, with API Management's attribute names: every attribute given must match.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default)]
#[cfg_attr(
    feature = "schemars",
    serde(deny_unknown_fields, rename_all = "camelCase")
)]
pub struct RawIdentity {
    /// SHA-1 of the certificate's DER, 40 hex digits; case, colons and spaces ignored.
    pub thumbprint: Option<String>,
    /// SHA-256 of the certificate's DER, 64 hex digits; case, colons and spaces ignored.
    pub thumbprint_sha256: Option<String>,
    /// Base64 of the SHA-256 of the SubjectPublicKeyInfo (Envoy's `verify_certificate_spki`).
    pub spki_sha256: Option<String>,
    /// Serial number in hex; case, colons, spaces and leading zeros ignored. Serials compare as
    /// signed integers: this never matches a (non-conforming) negative serial.
    pub serial_number: Option<String>,
    /// The subject's most specific common name (its last CN attribute, as .NET's simple
    /// name), exact after trimming ASCII whitespace.
    pub common_name: Option<String>,
    /// The subject distinguished name: the same attributes in any order, values exact
    /// (`CN=alice, O=Contoso` or `O=Contoso,CN=alice`).
    pub subject: Option<String>,
    /// A regular expression matched, unanchored, against the subject DN as nginx's
    /// `$ssl_client_s_dn` prints it (RFC 2253, OpenSSL's form: `CN=alice,OU=dev,O=Contoso`,
    /// most specific first, `\XX` for bytes outside printable ASCII), as ingress-nginx's
    /// `auth-tls-match-cn`. Unanchored means `CN=alice` also matches `CN=alice-evil`: anchor
    /// it (`^CN=alice(,|$)`) or prefer `commonName`; `lint` warns. Syntax: literals, `.`,
    /// classes `[a-z]` `[^,]`, `\d` `\w` `\s` (ASCII) and their negations, `*` `+` `?`
    /// `{m,n}`, `|`, groups `(...)` `(?:...)`, `^` `$`; matched in linear time.
    pub subject_pattern: Option<String>,
    /// A DNS name subjectAltName entry, ASCII case-insensitive.
    pub dns_name: Option<String>,
    /// A URI subjectAltName entry, exact (a SPIFFE ID, for example).
    pub uri: Option<String>,
    /// An email (rfc822Name) subjectAltName entry: local part exact, domain case-insensitive.
    pub email: Option<String>,
    /// The issuer distinguished name, compared like `subject`.
    pub issuer_subject: Option<String>,
    /// SHA-1 of the issuing CA certificate the trust check found, 40 hex digits. Needs
    /// `validateTrust`.
    pub issuer_thumbprint: Option<String>,
}

/// One rule: conditions, and the mode (and identities) that apply when they hold.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default)]
#[cfg_attr(
    feature = "schemars",
    serde(deny_unknown_fields, rename_all = "camelCase")
)]
pub struct RawRule {
    /// The rule's name, for logs, the filter state and the per-rule stats
    /// (`rule.<name>.forwarded`, ...): 1 to 64 letters, digits, `_` or `-`, unique among the
    /// rules. Optional.
    #[cfg_attr(
        feature = "schemars",
        schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,64}$"))
    )]
    pub name: Option<String>,
    /// The names of the Envoy routes the rule applies to (a route's `name` in the route
    /// configuration; Istio VirtualService `http[].name`). Envoy has chosen the route, so this
    /// condition can never disagree with routing: prefer it to paths and hosts.
    pub route_names: Option<Vec<String>>,
    /// The canonical request path is this path or under it, on a segment boundary
    /// (`/admin` matches `/admin/x`, not `/administrator`). Not with `pathExact`.
    pub path_prefix: Option<String>,
    /// The canonical request path is exactly this (query and a trailing slash ignored).
    /// Not with `pathPrefix`.
    pub path_exact: Option<String>,
    /// Any of these hosts, matched against `:authority` as Envoy's virtual hosts do:
    /// case-insensitive, port and trailing dot significant (`api.example.com:8443` names a
    /// port); `*.example.com` matches names under `example.com`.
    pub hosts: Option<Vec<String>>,
    /// Any of these methods, case-insensitive (`HEAD` is ambiguous unless `GET` and `HEAD` are
    /// listed alike).
    pub methods: Option<Vec<String>>,
    /// The mode when the rule applies: `Required`, `Optional`, `OptionalInteractiveUser` or
    /// `Ignore`, in any letter case.
    #[cfg_attr(feature = "schemars", schemars(schema_with = "mode_schema"))]
    pub mode: String,
    /// Identities for this rule instead of `validation.identities`: at least one must match
    /// (an empty list is refused).
    pub identities: Option<Vec<RawIdentity>>,
    /// Report only for the requests this rule decides, overriding the top-level `reportOnly`
    /// either way. When a request's rule is ambiguous, it is report only only if every
    /// candidate rule (and `clientCertMode`, when it is a candidate) is. Default: the top-level
    /// `reportOnly`.
    pub report_only: Option<bool>,
}

/// The `forward` object: what the upstream receives about a valid certificate.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default)]
#[cfg_attr(
    feature = "schemars",
    serde(deny_unknown_fields, rename_all = "camelCase")
)]
pub struct RawForward {
    /// Forward base64 of the leaf's DER, as Azure App Service does. Default `true`.
    pub arr_client_cert: Option<bool>,
    /// The header that carries it. Default `X-ARR-ClientCert`.
    pub arr_header_name: Option<String>,
    /// Forward RFC 9440 `Client-Cert` (and `Client-Cert-Chain` when a chain was presented).
    /// Default `false`.
    pub rfc9440: Option<bool>,
    /// Forward informational headers (subject, issuer, serial, thumbprints, dates, and the
    /// verification result). Default `false`.
    pub info_headers: Option<bool>,
    /// The prefix of the informational headers. Default `X-Client-Cert-`.
    pub info_header_prefix: Option<String>,
    /// Also set the headers an application written for another platform reads: `alb` (AWS
    /// Application Load Balancer, verify mode), `gclb` (Google Cloud load balancer mTLS custom
    /// headers, under the names Google's documentation uses), `traefik` (`passTLSClientCert`
    /// with the PEM and every info field) or `ingressNginx` (the `ssl-client-*` headers of
    /// ingress-nginx's `auth-tls-*` annotations). Every header the preset can set is removed from
    /// client requests first. Default: none.
    pub preset: Option<OutputPreset>,
    /// With `preset: "ingressNginx"`, also forward the leaf as `ssl-client-cert`
    /// (ingress-nginx's `auth-tls-pass-certificate-to-upstream`). Refused with another preset
    /// or none. Default `false`.
    pub pass_certificate: Option<bool>,
}

/// A platform whose certificate headers `forward.preset` reproduces.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "schemars", serde(rename_all = "lowercase"))]
pub enum OutputPreset {
    /// AWS ALB mutual TLS in verify mode: `X-Amzn-Mtls-Clientcert-Serial-Number`, `-Issuer`,
    /// `-Subject`, `-Validity` and `-Leaf`.
    Alb,
    /// Google Cloud load balancer mTLS custom headers: `X-Client-Cert-Present`,
    /// `-Chain-Verified`, `-Error`, `-Hash`, `-SPIFFE`, `-URI-SANs`, `-DNSName-SANs`,
    /// `-Valid-Not-Before`, `-Valid-Not-After`, `-Leaf` and `-Chain`.
    Gclb,
    /// Traefik `passTLSClientCert`: `X-Forwarded-Tls-Client-Cert` and
    /// `X-Forwarded-Tls-Client-Cert-Info`.
    Traefik,
    /// ingress-nginx with `auth-tls-secret`: `ssl-client-verify` (`SUCCESS`, `FAILED:<reason>`,
    /// `NONE`), `ssl-client-subject-dn` and `ssl-client-issuer-dn` (as nginx's
    /// `$ssl_client_s_dn` / `$ssl_client_i_dn` print them), and with `passCertificate`
    /// `ssl-client-cert` (`$ssl_client_escaped_cert`: the PEM, URL-escaped).
    #[cfg_attr(feature = "schemars", serde(rename = "ingressNginx"))]
    IngressNginx,
}

/// The `responses` object: a preset, and a reply per class or reason that overrides it.
/// A reason's entry wins over its class (`missing`, `invalid`), which wins over the preset.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default)]
#[cfg_attr(
    feature = "schemars",
    serde(deny_unknown_fields, rename_all = "camelCase")
)]
pub struct RawResponses {
    /// The starting point. Default `default`.
    pub preset: Option<Preset>,
    /// Redirect certificate errors to this page: 302 with `Location:` it, as nginx's
    /// `error_page 495 496 = <url>` (ingress-nginx's `auth-tls-error-page`). It answers a
    /// missing certificate and every refused one except `identityNotMatched` (nginx's CN check
    /// answers 403 itself); a reason's own entry still wins. An `http://` or `https://` URL, or
    /// a path from `/`; printable ASCII. Not with `missing` or `invalid`, which it replaces.
    pub error_page: Option<String>,
    /// No certificate where one is required.
    pub missing: Option<RawReply>,
    /// Every refused certificate, unless its reason has its own entry.
    pub invalid: Option<RawReply>,
    /// The certificate does not decode.
    pub malformed: Option<RawReply>,
    /// The certificate has expired.
    pub expired: Option<RawReply>,
    /// The certificate is not valid yet.
    pub not_yet_valid: Option<RawReply>,
    /// No trust path to a configured CA.
    pub untrusted: Option<RawReply>,
    /// Every trust path is longer than `validation.maxChainDepth` allows.
    pub chain_too_long: Option<RawReply>,
    /// Revoked by its issuer's CRL.
    pub revoked: Option<RawReply>,
    /// Revocation could not be decided.
    pub revocation_unknown: Option<RawReply>,
    /// The extended key usage does not allow client authentication.
    pub wrong_usage: Option<RawReply>,
    /// No identity matches.
    pub identity_not_matched: Option<RawReply>,
    /// `x-forwarded-client-cert` cannot be trusted.
    pub xfcc_untrusted: Option<RawReply>,
    /// A presented certificate the host does not show the filter.
    pub not_visible: Option<RawReply>,
}

/// The replies' starting point.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schemars", serde(rename_all = "camelCase"))]
pub enum Preset {
    /// 401 with a plain-text line.
    #[default]
    Default,
    /// App Service's front end: 403 `Client Certificate Required` for a missing certificate,
    /// 401 otherwise.
    AppService,
    /// API Management: 401 with the JSON body `{"statusCode": 401, "message": "..."}`.
    Apim,
    /// ingress-nginx (nginx's own answers): 400 `No required SSL certificate was sent` for a
    /// missing certificate, 400 `The SSL certificate error` for a refused one, 403
    /// `client certificate unauthorized` when no identity matches (`auth-tls-match-cn`).
    IngressNginx,
}

/// One local reply; what it leaves out comes from its class and the preset.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default)]
#[cfg_attr(
    feature = "schemars",
    serde(deny_unknown_fields, rename_all = "camelCase")
)]
pub struct RawReply {
    /// The status, 400 to 599 (a denial must not look like success).
    pub status: Option<u32>,
    /// The body text; with `format: "json"`, the `message`.
    pub body: Option<String>,
    /// The `content-type`. Default: by `format`.
    pub content_type: Option<String>,
    /// Extra reply headers (printable values; not `content-length`; at most 64).
    // Sorted by name. A list, not a map: each map type brings its own B-tree code into the
    // module (~9 KB); the reader refuses a name given twice, so the list is what the map was.
    #[cfg_attr(
        feature = "schemars",
        schemars(
            with = "Option<std::collections::BTreeMap<String, String>>",
            extend("maxProperties" = 64)
        )
    )]
    pub headers: Option<Vec<(String, String)>>,
    /// `text` (the body and a newline) or `json` (API Management's shape). Default `text`.
    pub format: Option<ReplyFormat>,
}

/// How a reply's body is written.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schemars", serde(rename_all = "lowercase"))]
pub enum ReplyFormat {
    /// The body and a newline, `text/plain; charset=utf-8`.
    #[default]
    Text,
    /// `{"statusCode": <status>, "message": <body>}`, `application/json`.
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_path_lists_split_on_both_delimiters_and_drop_empty_entries() {
        let delimited = RawPathList::Delimited(" /a; /b ,,/c ;".to_string());
        assert_eq!(delimited.entries(), ["/a", "/b", "/c"]);
        let list = RawPathList::List(vec!["/a;b".into(), " ".into(), " /c ".into()]);
        assert_eq!(list.entries(), ["/a;b", "/c"], "an array entry is one path");
    }

    /// The closed set `value` reads as, through the reader, in the field that holds it.
    fn read(key: &str, value: &str) -> Option<RawConfig> {
        let json = format!(r#"{{"{key}": {value}}}"#);
        read::config(json.as_bytes()).ok()
    }

    #[test]
    fn closed_sets_are_spelled_as_documented() {
        let source = |s: &str| read("certificateSource", s)?.certificate_source;
        assert_eq!(source(r#""connection""#), Some(Source::Connection));
        assert_eq!(source(r#""xfcc""#), Some(Source::Xfcc));
        assert_eq!(source(r#""auto""#), Some(Source::Auto));
        assert_eq!(source(r#""Auto""#), None);
        assert_eq!(source(r#""header""#), Some(Source::Header));
        let front = |s: &str| {
            let header = format!(r#"{{"format": {s}, "trustedProxies": []}}"#);
            Some(read("header", &header)?.header?.format)
        };
        assert_eq!(front(r#""alb""#), Some(FrontFormat::Alb));
        assert_eq!(front(r#""appGateway""#), Some(FrontFormat::AppGateway));
        assert_eq!(front(r#""cloudflare""#), Some(FrontFormat::Cloudflare));
        assert_eq!(front(r#""traefik""#), Some(FrontFormat::Traefik));
        assert_eq!(front(r#""nginx""#), Some(FrontFormat::Nginx));
        assert_eq!(
            front(r#""containerApps""#),
            Some(FrontFormat::ContainerApps)
        );
        assert_eq!(front(r#""rfc9440""#), Some(FrontFormat::Rfc9440));
        assert_eq!(front(r#""arr""#), Some(FrontFormat::Arr));
        assert_eq!(front(r#""app_gateway""#), None);
        let preset = |s: &str| {
            read("responses", &format!(r#"{{"preset": {s}}}"#))?
                .responses?
                .preset
        };
        assert_eq!(preset(r#""appService""#), Some(Preset::AppService));
        assert_eq!(preset(r#""apim""#), Some(Preset::Apim));
        assert_eq!(preset(r#""default""#), Some(Preset::Default));
        assert_eq!(preset(r#""ingressNginx""#), Some(Preset::IngressNginx));
        let output = |s: &str| {
            read("forward", &format!(r#"{{"preset": {s}}}"#))?
                .forward?
                .preset
        };
        assert_eq!(output(r#""alb""#), Some(OutputPreset::Alb));
        assert_eq!(output(r#""gclb""#), Some(OutputPreset::Gclb));
        assert_eq!(output(r#""traefik""#), Some(OutputPreset::Traefik));
        assert_eq!(output(r#""ALB""#), None);
        assert_eq!(
            output(r#""ingressNginx""#),
            Some(OutputPreset::IngressNginx)
        );
        let failure = |s: &str| {
            read("validation", &format!(r#"{{"revocationFailure": {s}}}"#))?
                .validation?
                .revocation_failure
        };
        assert_eq!(failure(r#""deny""#), Some(RevocationFailure::Deny));
        assert_eq!(failure(r#""allow""#), Some(RevocationFailure::Allow));
        assert_eq!(failure(r#""Allow""#), None);
        let format = |s: &str| {
            let reply = format!(r#"{{"expired": {{"format": {s}}}}}"#);
            read("responses", &reply)?.responses?.expired?.format
        };
        assert_eq!(format(r#""json""#), Some(ReplyFormat::Json));
        assert_eq!(format(r#""text""#), Some(ReplyFormat::Text));
        assert_eq!(format(r#""xml""#), None);
    }
}
