//! Configuration: what is accepted, what it means, and the exact error for what is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use client_cert_auth::Mode;
use client_cert_auth::PathEntryError;
use client_cert_auth::{Config, ConfigError, json};

fn parse(json: &str) -> Result<Config, ConfigError> {
    Config::from_json(json.as_bytes())
}

fn entries(config: &Config) -> Vec<String> {
    config.exclusions.entries().map(str::to_string).collect()
}

#[test]
fn empty_configuration_means_required_without_exclusions() {
    for empty in ["", "  \n", "{}"] {
        let config = parse(empty).unwrap();
        assert_eq!(config.mode, Mode::Required, "{empty:?}");
        assert!(config.exclusions.is_empty(), "{empty:?}");
    }
}

#[test]
fn modes_are_matched_case_insensitively() {
    let table = [
        ("Required", Mode::Required),
        ("required", Mode::Required),
        ("REQUIRED", Mode::Required),
        ("Optional", Mode::Optional),
        ("oPtIoNaL", Mode::Optional),
        ("OptionalInteractiveUser", Mode::OptionalInteractiveUser),
        ("optionalinteractiveuser", Mode::OptionalInteractiveUser),
        ("Ignore", Mode::Disabled),
        ("ignore", Mode::Disabled),
    ];
    for (name, mode) in table {
        let config = parse(&format!(r#"{{"clientCertMode": "{name}"}}"#)).unwrap();
        assert_eq!(config.mode, mode, "{name}");
    }
}

#[test]
fn client_cert_enabled_false_disables_whatever_the_mode() {
    for mode in ["Required", "Optional", "OptionalInteractiveUser", "Ignore"] {
        let json = format!(r#"{{"clientCertEnabled": false, "clientCertMode": "{mode}"}}"#);
        assert_eq!(parse(&json).unwrap().mode, Mode::Disabled, "{mode}");
    }
    let enabled = parse(r#"{"clientCertEnabled": true, "clientCertMode": "Optional"}"#).unwrap();
    assert_eq!(enabled.mode, Mode::Optional);
}

#[test]
fn exclusion_paths_accept_azure_strings_and_json_arrays() {
    let table: [(&str, &[&str]); 7] = [
        (r#""/public;/healthz""#, &["/public", "/healthz"]),
        (r#""/public,/healthz""#, &["/public", "/healthz"]),
        (r#"" /a ; /b, /c ""#, &["/a", "/b", "/c"]),
        (r#""/a;;,/b;""#, &["/a", "/b"]),
        (r#"["/a", " /b/ ", ""]"#, &["/a", "/b"]),
        (r#""/Public/Docs/""#, &["/public/docs"]),
        (r#""/""#, &["/"]),
    ];
    for (value, expected) in table {
        let config = parse(&format!(r#"{{"clientCertExclusionPaths": {value}}}"#)).unwrap();
        assert_eq!(entries(&config), expected, "{value}");
    }
}

#[test]
fn bad_configurations_are_refused_with_an_error_naming_the_field() {
    let table: [(&str, ConfigError); 8] = [
        (
            r#"{"clientCertMode": "Requird"}"#,
            ConfigError::UnknownMode {
                value: "Requird".into(),
            },
        ),
        (
            r#"{"clientCertExclusionPaths": "/ok;public"}"#,
            ConfigError::ExclusionPath {
                index: 1,
                value: "public".into(),
                problem: PathEntryError::NotAbsolute,
            },
        ),
        (
            r#"{"clientCertExclusionPaths": ["/a?x=1"]}"#,
            ConfigError::ExclusionPath {
                index: 0,
                value: "/a?x=1".into(),
                problem: PathEntryError::HasQueryOrFragment,
            },
        ),
        (
            r#"{"clientCertExclusionPaths": "/a/../b"}"#,
            ConfigError::ExclusionPath {
                index: 0,
                value: "/a/../b".into(),
                problem: PathEntryError::Ambiguous,
            },
        ),
        (
            r#"{"clientCertExclusionPaths": "/a%2fb"}"#,
            ConfigError::ExclusionPath {
                index: 0,
                value: "/a%2fb".into(),
                problem: PathEntryError::Ambiguous,
            },
        ),
        (
            r#"{"clientCertExclusionPaths": "//a"}"#,
            ConfigError::ExclusionPath {
                index: 0,
                value: "//a".into(),
                problem: PathEntryError::Ambiguous,
            },
        ),
        (
            r#"{"clientCertExclusionPaths": "/a\\b"}"#,
            ConfigError::ExclusionPath {
                index: 0,
                value: "/a\\b".into(),
                problem: PathEntryError::Ambiguous,
            },
        ),
        (
            r#"{"clientCertExclusionPaths": "/a;v=1"}"#,
            // Azure splits on ';': this is "/a" and "v=1", and the second is not a path.
            ConfigError::ExclusionPath {
                index: 1,
                value: "v=1".into(),
                problem: PathEntryError::NotAbsolute,
            },
        ),
    ];
    for (json, expected) in table {
        assert_eq!(parse(json).unwrap_err(), expected, "{json}");
    }
}

#[test]
fn type_errors_and_unknown_keys_name_the_field_in_the_message() {
    let table = [
        (
            r#"{"clientCertEnabled": "yes"}"#,
            "clientCertEnabled: invalid type: string \"yes\", expected a boolean",
        ),
        (
            r#"{"clientCertMode": 1}"#,
            "clientCertMode: invalid type: integer `1`, expected a string",
        ),
        (
            r#"{"clientCertExclusionPaths": 5}"#,
            "clientCertExclusionPaths: invalid type: integer `5`, expected a string of paths separated by ';' or ',', or an array of strings",
        ),
        (
            r#"{"clientCertModes": "Required"}"#,
            "unknown field `clientCertModes`",
        ),
        (
            r#"{"rules": [{"mode": "Ignore", "pathPrefix": "/a"}, {"mode": "Ignore", "hosts": ["a", 1]}]}"#,
            "rules[1].hosts[1]: invalid type: integer `1`, expected a string",
        ),
        (
            r#"{"certificateSource": "bogus"}"#,
            "certificateSource: unknown variant `bogus`",
        ),
        (
            "{\n  \"validation\": {\n    \"identities\": [{\"commonName\": \"a\"},\n      {\"cn\": \"b\"}]}}",
            "validation.identities[1].cn: unknown field `cn`",
        ),
        (
            r#"{"forward": {"rfc9440": "yes"}, "clientCertMode": "Required"}"#,
            "forward.rfc9440: invalid type: string \"yes\", expected a boolean",
        ),
        (
            r#"{"clientCertMode": "Required""#,
            "configuration is not valid: EOF while parsing",
        ),
        (
            r#"{"clientCertMode": "Required"} x"#,
            "configuration is not valid: trailing characters",
        ),
        (
            r#"[]"#,
            "configuration is not valid: expected a JSON object",
        ),
        (
            r#"[true, "Required", "/a"]"#,
            "configuration is not valid: expected a JSON object",
        ),
        (
            r#""Required""#,
            "configuration is not valid: expected a JSON object",
        ),
        (
            r#"{"clientCertMode": "Optionl"}"#,
            "clientCertMode: unknown mode \"Optionl\", expected one of Required, Optional, OptionalInteractiveUser, Ignore",
        ),
        (
            r#"{"clientCertExclusionPaths": "public"}"#,
            "clientCertExclusionPaths[0]: \"public\" does not start with '/'",
        ),
    ];
    for (json, message) in table {
        let err = parse(json).unwrap_err().to_string();
        assert!(
            err.contains(message),
            "{json}: {err:?} should contain {message:?}"
        );
    }
}

/// What `Config::from_json` says about `json`: `OK`, or the refusal as displayed.
fn verdict(json: &str) -> String {
    match parse(json) {
        Ok(_) => "OK".to_string(),
        Err(e) => e.to_string(),
    }
}

/// Verdicts of serde's derived reader and serde_json, captured from the module that still read
/// its configuration with them: the reader that replaced them keeps each one word for word,
/// position included.
const SERDE_VERDICTS: &[(&str, &str)] = &[
    (
        r#"{"clientCertEnabled": "yes"}"#,
        r#"clientCertEnabled: invalid type: string "yes", expected a boolean at line 1 column 27"#,
    ),
    (r#"{"clientCertEnabled": null}"#, r#"OK"#),
    (
        r#"{"clientCertEnabled": 1}"#,
        r#"clientCertEnabled: invalid type: integer `1`, expected a boolean at line 1 column 23"#,
    ),
    (
        r#"{"clientCertEnabled": [true]}"#,
        r#"clientCertEnabled: invalid type: sequence, expected a boolean at line 1 column 22"#,
    ),
    (
        r#"{"clientCertEnabled": {}}"#,
        r#"clientCertEnabled: invalid type: map, expected a boolean at line 1 column 22"#,
    ),
    (
        r#"{"clientCertMode": 1}"#,
        r#"clientCertMode: invalid type: integer `1`, expected a string at line 1 column 20"#,
    ),
    (
        r#"{"clientCertMode": -1}"#,
        r#"clientCertMode: invalid type: integer `-1`, expected a string at line 1 column 21"#,
    ),
    (
        r#"{"clientCertMode": 1.5}"#,
        r#"clientCertMode: invalid type: floating point `1.5`, expected a string at line 1 column 22"#,
    ),
    (
        r#"{"clientCertMode": true}"#,
        r#"clientCertMode: invalid type: boolean `true`, expected a string at line 1 column 23"#,
    ),
    (r#"{"clientCertMode": null}"#, r#"OK"#),
    (
        r#"{"clientCertMode": ["Required"]}"#,
        r#"clientCertMode: invalid type: sequence, expected a string at line 1 column 19"#,
    ),
    (
        r#"{"clientCertExclusionPaths": 5}"#,
        r#"clientCertExclusionPaths: invalid type: integer `5`, expected a string of paths separated by ';' or ',', or an array of strings at line 1 column 30"#,
    ),
    (
        r#"{"clientCertExclusionPaths": {"a": 1}}"#,
        r#"clientCertExclusionPaths: invalid type: map, expected a string of paths separated by ';' or ',', or an array of strings at line 1 column 30"#,
    ),
    (
        r#"{"clientCertExclusionPaths": [1]}"#,
        r#"clientCertExclusionPaths[0]: invalid type: integer `1`, expected a string at line 1 column 31"#,
    ),
    (
        r#"{"clientCertExclusionPaths": ["/a", null]}"#,
        r#"clientCertExclusionPaths[1]: invalid type: null, expected a string at line 1 column 40"#,
    ),
    (r#"{"clientCertExclusionPaths": null}"#, r#"OK"#),
    (
        r#"{"clientCertExclusionPaths": true}"#,
        r#"clientCertExclusionPaths: invalid type: boolean `true`, expected a string of paths separated by ';' or ',', or an array of strings at line 1 column 33"#,
    ),
    (
        r#"{"clientCertModes": "Required"}"#,
        r#"clientCertModes: unknown field `clientCertModes`, expected one of `clientCertEnabled`, `clientCertMode`, `clientCertExclusionPaths`, `validation`, `cacheSize`, `rules`, `certificateSource`, `header`, `stripXfcc`, `forward`, `responses`, `reportOnly` at line 1 column 18"#,
    ),
    (
        "{\"a\\\"b\": 1}",
        r#"a"b: unknown field `a"b`, expected one of `clientCertEnabled`, `clientCertMode`, `clientCertExclusionPaths`, `validation`, `cacheSize`, `rules`, `certificateSource`, `header`, `stripXfcc`, `forward`, `responses`, `reportOnly` at line 1 column 7"#,
    ),
    (
        r#"{"clientCertMode": "Required", "clientCertMode": "Optional"}"#,
        r#"clientCertMode: duplicate field `clientCertMode` at line 1 column 47"#,
    ),
    (
        r#"{"cacheSize": -1}"#,
        r#"cacheSize: invalid value: integer `-1`, expected usize at line 1 column 16"#,
    ),
    (
        r#"{"cacheSize": 1.5}"#,
        r#"cacheSize: invalid type: floating point `1.5`, expected usize at line 1 column 17"#,
    ),
    (
        r#"{"cacheSize": 1000001}"#,
        r#"cacheSize: 1000001 is more than the 1000000 allowed"#,
    ),
    (
        r#"{"cacheSize": 18446744073709551615}"#,
        r#"cacheSize: 18446744073709551615 is more than the 1000000 allowed"#,
    ),
    (
        r#"{"cacheSize": 0.0}"#,
        r#"cacheSize: invalid type: floating point `0.0`, expected usize at line 1 column 17"#,
    ),
    (
        r#"{"cacheSize": "5"}"#,
        r#"cacheSize: invalid type: string "5", expected usize at line 1 column 17"#,
    ),
    (r#"{"cacheSize": null}"#, r#"OK"#),
    (
        r#"{"validation": "x"}"#,
        r#"validation: invalid type: string "x", expected struct RawValidation at line 1 column 18"#,
    ),
    (
        r#"{"validation": 5}"#,
        r#"validation: invalid type: integer `5`, expected struct RawValidation at line 1 column 16"#,
    ),
    (r#"{"validation": null}"#, r#"OK"#),
    (
        r#"{"validation": {"clockSkewSeconds": -1}}"#,
        r#"validation.clockSkewSeconds: invalid value: integer `-1`, expected u32 at line 1 column 38"#,
    ),
    (
        r#"{"validation": {"clockSkewSeconds": 4294967296}}"#,
        r#"validation.clockSkewSeconds: invalid value: integer `4294967296`, expected u32 at line 1 column 46"#,
    ),
    (
        r#"{"validation": {"clockSkewSeconds": 4294967295}}"#,
        r#"validation.clockSkewSeconds: 4294967295 is more than the 86400 seconds (one day) allowed"#,
    ),
    (
        r#"{"validation": {"clockSkewSeconds": 1.0}}"#,
        r#"validation.clockSkewSeconds: invalid type: floating point `1.0`, expected u32 at line 1 column 39"#,
    ),
    (
        r#"{"validation": {"maxChainDepth": "1"}}"#,
        r#"validation.maxChainDepth: invalid type: string "1", expected u32 at line 1 column 36"#,
    ),
    (
        r#"{"validation": {"validateTrust": "yes"}}"#,
        r#"validation.validateTrust: invalid type: string "yes", expected a boolean at line 1 column 38"#,
    ),
    (
        r#"{"validation": {"trustedCaCertificates": "pem"}}"#,
        r#"validation.trustedCaCertificates: invalid type: string "pem", expected a sequence at line 1 column 46"#,
    ),
    (
        r#"{"validation": {"trustedCaCertificates": [1]}}"#,
        r#"validation.trustedCaCertificates[0]: invalid type: integer `1`, expected a string at line 1 column 43"#,
    ),
    (
        r#"{"validation": {"crls": {}}}"#,
        r#"validation.crls: invalid type: map, expected a sequence at line 1 column 24"#,
    ),
    (
        r#"{"validation": {"identities": [{"cn": "a"}]}}"#,
        r#"validation.identities[0].cn: unknown field `cn`, expected one of `thumbprint`, `thumbprintSha256`, `spkiSha256`, `serialNumber`, `commonName`, `subject`, `subjectPattern`, `dnsName`, `uri`, `email`, `issuerSubject`, `issuerThumbprint` at line 1 column 36"#,
    ),
    (
        r#"{"validation": {"identities": {"cn": "a"}}}"#,
        r#"validation.identities: invalid type: map, expected a sequence at line 1 column 30"#,
    ),
    (
        r#"{"validation": {"identities": ["a"]}}"#,
        r#"validation.identities[0]: invalid type: string "a", expected struct RawIdentity at line 1 column 34"#,
    ),
    (
        r#"{"validation": {"identities": [{"commonName": 5}]}}"#,
        r#"validation.identities[0].commonName: invalid type: integer `5`, expected a string at line 1 column 47"#,
    ),
    (
        r#"{"validation": {"identities": [{"commonName": "a", "commonName": "b"}]}}"#,
        r#"validation.identities[0].commonName: duplicate field `commonName` at line 1 column 63"#,
    ),
    (
        r#"{"validation": {"revocationFailure": "soft"}}"#,
        r#"validation.revocationFailure: unknown variant `soft`, expected `deny` or `allow` at line 1 column 43"#,
    ),
    (
        r#"{"validation": {"revocationSources": {"crl": []}}}"#,
        r#"validation.revocationSources.crl: unknown field `crl`, expected `crls` or `ocsp` at line 1 column 43"#,
    ),
    (
        r#"{"validation": {"revocationSources": {"crls": [{"url": "http://a/b"}]}}}"#,
        r#"validation.revocationSources.crls[0]: missing field `cluster` at line 1 column 68"#,
    ),
    (
        r#"{"validation": {"revocationSources": {"crls": [{"cluster": "c"}]}}}"#,
        r#"validation.revocationSources.crls[0]: missing field `url` at line 1 column 63"#,
    ),
    (
        r#"{"validation": {"revocationSources": {"crls": [{"url": 1, "cluster": "c"}]}}}"#,
        r#"validation.revocationSources.crls[0].url: invalid type: integer `1`, expected a string at line 1 column 56"#,
    ),
    (
        r#"{"validation": {"revocationSources": {"crls": [{"url": "u", "cluster": "c", "refreshSeconds": -5}]}}}"#,
        r#"validation.revocationSources.crls[0].refreshSeconds: invalid value: integer `-5`, expected u32 at line 1 column 96"#,
    ),
    (
        r#"{"validation": {"revocationSources": {"crls": [{"url": "u", "cluster": "c", "x": 1}]}}}"#,
        r#"validation.revocationSources.crls[0].x: unknown field `x`, expected one of `url`, `cluster`, `refreshSeconds` at line 1 column 79"#,
    ),
    (
        r#"{"validation": {"revocationSources": {"ocsp": {}}}}"#,
        r#"validation.revocationSources.ocsp: missing field `cluster` at line 1 column 48"#,
    ),
    (
        r#"{"validation": {"revocationSources": {"ocsp": {"cluster": null}}}}"#,
        r#"validation.revocationSources.ocsp.cluster: invalid type: null, expected a string at line 1 column 62"#,
    ),
    (
        r#"{"validation": {"revocationSources": {"ocsp": {"cluster": "c", "timeoutMs": "1"}}}}"#,
        r#"validation.revocationSources.ocsp.timeoutMs: invalid type: string "1", expected u32 at line 1 column 79"#,
    ),
    (
        r#"{"validation": {"revocationSources": {"ocsp": {"cluster": "c", "nonce": true}}}}"#,
        r#"validation.revocationSources.ocsp.nonce: unknown field `nonce`, expected one of `cluster`, `url`, `timeoutMs`, `cacheSeconds`, `requireNonce`, `maxAgeSeconds` at line 1 column 70"#,
    ),
    (
        r#"{"validation": {"bogus": 1}}"#,
        r#"validation.bogus: unknown field `bogus`, expected one of `validateNotBefore`, `validateNotAfter`, `clockSkewSeconds`, `validateTrust`, `trustedCaCertificates`, `intermediateCertificates`, `maxChainDepth`, `validateRevocation`, `crls`, `revocationSources`, `revocationFailure`, `requireClientAuthEku`, `identities` at line 1 column 23"#,
    ),
    (
        r#"{"rules": {}}"#,
        r#"rules: invalid type: map, expected a sequence at line 1 column 10"#,
    ),
    (
        r#"{"rules": [1]}"#,
        r#"rules[0]: invalid type: integer `1`, expected struct RawRule at line 1 column 12"#,
    ),
    (
        r#"{"rules": [{"pathPrefix": "/a"}]}"#,
        r#"rules[0]: missing field `mode` at line 1 column 31"#,
    ),
    (
        r#"{"rules": [{"mode": 5}]}"#,
        r#"rules[0].mode: invalid type: integer `5`, expected a string at line 1 column 21"#,
    ),
    (
        r#"{"rules": [{"mode": null}]}"#,
        r#"rules[0].mode: invalid type: null, expected a string at line 1 column 24"#,
    ),
    (
        r#"{"rules": [{"mode": "Required", "paths": "/a"}]}"#,
        r#"rules[0].paths: unknown field `paths`, expected one of `name`, `routeNames`, `pathPrefix`, `pathExact`, `hosts`, `methods`, `mode`, `identities`, `reportOnly` at line 1 column 39"#,
    ),
    (
        r#"{"rules": [{"mode": "Ignore", "pathPrefix": "/a"}, {"mode": "Ignore", "hosts": ["a", 1]}]}"#,
        r#"rules[1].hosts[1]: invalid type: integer `1`, expected a string at line 1 column 86"#,
    ),
    (
        r#"{"rules": [{"mode": "Required", "mode": "Required"}]}"#,
        r#"rules[0].mode: duplicate field `mode` at line 1 column 38"#,
    ),
    (
        r#"{"rules": [{"mode": "Required", "reportOnly": 1}]}"#,
        r#"rules[0].reportOnly: invalid type: integer `1`, expected a boolean at line 1 column 47"#,
    ),
    (
        r#"{"rules": [{"mode": "Required", "identities": [{"dnsName": []}]}]}"#,
        r#"rules[0].identities[0].dnsName: invalid type: sequence, expected a string at line 1 column 59"#,
    ),
    (
        r#"{"rules": [{"mode": "Required", "name": 3}]}"#,
        r#"rules[0].name: invalid type: integer `3`, expected a string at line 1 column 41"#,
    ),
    (
        r#"{"certificateSource": "bogus"}"#,
        r#"certificateSource: unknown variant `bogus`, expected one of `connection`, `xfcc`, `auto`, `header` at line 1 column 29"#,
    ),
    (
        r#"{"certificateSource": "Auto"}"#,
        r#"certificateSource: unknown variant `Auto`, expected one of `connection`, `xfcc`, `auto`, `header` at line 1 column 28"#,
    ),
    (
        r#"{"header": {"format": "alb"}}"#,
        r#"header: missing field `trustedProxies` at line 1 column 28"#,
    ),
    (
        r#"{"header": {"trustedProxies": []}}"#,
        r#"header: missing field `format` at line 1 column 33"#,
    ),
    (
        r#"{"header": {}}"#,
        r#"header: missing field `format` at line 1 column 13"#,
    ),
    (
        r#"{"header": {"format": "haproxy", "trustedProxies": []}}"#,
        r#"header.format: unknown variant `haproxy`, expected one of `alb`, `appGateway`, `cloudflare`, `traefik`, `nginx`, `containerApps`, `rfc9440`, `arr` at line 1 column 31"#,
    ),
    (
        r#"{"header": {"format": "alb", "trustedProxies": "10.0.0.1"}}"#,
        r#"header.trustedProxies: invalid type: string "10.0.0.1", expected a sequence at line 1 column 57"#,
    ),
    (
        r#"{"header": {"format": "alb", "trustedProxies": [], "names": "x"}}"#,
        r#"header.names: unknown field `names`, expected one of `format`, `trustedProxies`, `name` at line 1 column 58"#,
    ),
    (
        r#"{"stripXfcc": "no"}"#,
        r#"stripXfcc: invalid type: string "no", expected a boolean at line 1 column 18"#,
    ),
    (
        r#"{"forward": {"rfc9440": "yes"}}"#,
        r#"forward.rfc9440: invalid type: string "yes", expected a boolean at line 1 column 29"#,
    ),
    (
        r#"{"forward": {"preset": "ALB"}}"#,
        r#"forward.preset: unknown variant `ALB`, expected one of `alb`, `gclb`, `traefik`, `ingressNginx` at line 1 column 28"#,
    ),
    (
        r#"{"forward": {"preset": "nginx"}}"#,
        r#"forward.preset: unknown variant `nginx`, expected one of `alb`, `gclb`, `traefik`, `ingressNginx` at line 1 column 30"#,
    ),
    (
        r#"{"forward": {"arrHeader": "x"}}"#,
        r#"forward.arrHeader: unknown field `arrHeader`, expected one of `arrClientCert`, `arrHeaderName`, `rfc9440`, `infoHeaders`, `infoHeaderPrefix`, `preset`, `passCertificate` at line 1 column 24"#,
    ),
    (
        r#"{"forward": {"passCertificate": 0}}"#,
        r#"forward.passCertificate: invalid type: integer `0`, expected a boolean at line 1 column 33"#,
    ),
    (
        r#"{"responses": {"preset": "nginx"}}"#,
        r#"responses.preset: unknown variant `nginx`, expected one of `default`, `appService`, `apim`, `ingressNginx` at line 1 column 32"#,
    ),
    (
        r#"{"responses": {"expired": {"format": "xml"}}}"#,
        r#"responses.expired.format: unknown variant `xml`, expected `text` or `json` at line 1 column 42"#,
    ),
    (
        r#"{"responses": {"expird": {"status": 401}}}"#,
        r#"responses.expird: unknown field `expird`, expected one of `preset`, `errorPage`, `missing`, `invalid`, `malformed`, `expired`, `notYetValid`, `untrusted`, `chainTooLong`, `revoked`, `revocationUnknown`, `wrongUsage`, `identityNotMatched`, `xfccUntrusted`, `notVisible` at line 1 column 23"#,
    ),
    (
        r#"{"responses": {"expired": {"status": 401.0}}}"#,
        r#"responses.expired.status: invalid type: floating point `401.0`, expected u32 at line 1 column 42"#,
    ),
    (
        r#"{"responses": {"expired": {"status": "401"}}}"#,
        r#"responses.expired.status: invalid type: string "401", expected u32 at line 1 column 42"#,
    ),
    (
        r#"{"responses": {"expired": {"headers": {"x-a": 1}}}}"#,
        r#"responses.expired.headers.x-a: invalid type: integer `1`, expected a string at line 1 column 47"#,
    ),
    (
        r#"{"responses": {"expired": {"headers": ["x-a"]}}}"#,
        r#"responses.expired.headers: invalid type: sequence, expected a map at line 1 column 38"#,
    ),
    (
        r#"{"responses": {"expired": {"headers": {"x-a": null}}}}"#,
        r#"responses.expired.headers.x-a: invalid type: null, expected a string at line 1 column 50"#,
    ),
    (
        r#"{"responses": {"expired": {"statuss": 401}}}"#,
        r#"responses.expired.statuss: unknown field `statuss`, expected one of `status`, `body`, `contentType`, `headers`, `format` at line 1 column 36"#,
    ),
    (
        r#"{"responses": {"missing": "x"}}"#,
        r#"responses.missing: invalid type: string "x", expected struct RawReply at line 1 column 29"#,
    ),
    (
        r#"{"responses": {"errorPage": 5}}"#,
        r#"responses.errorPage: invalid type: integer `5`, expected a string at line 1 column 29"#,
    ),
    (
        r#"{"reportOnly": "yes"}"#,
        r#"reportOnly: invalid type: string "yes", expected a boolean at line 1 column 20"#,
    ),
    (
        r#"{"reportOnly": 1}"#,
        r#"reportOnly: invalid type: integer `1`, expected a boolean at line 1 column 16"#,
    ),
    (
        r#"{"clientCertMode": "Required""#,
        r#"configuration is not valid: EOF while parsing an object at line 1 column 29"#,
    ),
    (
        r#"{"clientCertMode": "Required"} x"#,
        r#"configuration is not valid: trailing characters at line 1 column 32"#,
    ),
    (
        r#"{"clientCertMode": "Required",}"#,
        r#"configuration is not valid: trailing comma at line 1 column 31"#,
    ),
    (
        r#"{"clientCertMode" "Required"}"#,
        r#"configuration is not valid: expected `:` at line 1 column 19"#,
    ),
    (
        r#"{clientCertMode: "Required"}"#,
        r#"configuration is not valid: key must be a string at line 1 column 2"#,
    ),
    (
        r#"{"clientCertMode": 'Required'}"#,
        r#"configuration is not valid: expected value at line 1 column 20"#,
    ),
    (
        "{\"clientCertMode\": \"Requ\nired\"}",
        "configuration is not valid: control character (\\u0000-\\u001F) found while parsing a string at line 2 column 0",
    ),
    (
        "{\"clientCertMode\": \"\\x\"}",
        r#"configuration is not valid: invalid escape at line 1 column 22"#,
    ),
    (
        "{\"clientCertMode\": \"\\ud800\"}",
        r#"configuration is not valid: unexpected end of hex escape at line 1 column 27"#,
    ),
    (
        "{\"clientCertMode\": \"\\udc00\"}",
        r#"configuration is not valid: lone leading surrogate in hex escape at line 1 column 26"#,
    ),
    (
        "{\"clientCertMode\": \"\\ud800\\u0041\"}",
        r#"configuration is not valid: lone leading surrogate in hex escape at line 1 column 32"#,
    ),
    (
        "{\"clientCertMode\": \"\\ud800x\"}",
        r#"configuration is not valid: unexpected end of hex escape at line 1 column 27"#,
    ),
    (
        r#"{"cacheSize": 01}"#,
        r#"configuration is not valid: invalid number at line 1 column 16"#,
    ),
    (
        r#"{"cacheSize": 1.}"#,
        r#"configuration is not valid: invalid number at line 1 column 17"#,
    ),
    (
        r#"{"cacheSize": .5}"#,
        r#"configuration is not valid: expected value at line 1 column 15"#,
    ),
    (
        r#"{"cacheSize": 1e}"#,
        r#"configuration is not valid: invalid number at line 1 column 17"#,
    ),
    (
        r#"{"cacheSize": +1}"#,
        r#"configuration is not valid: expected value at line 1 column 15"#,
    ),
    (
        r#"{"cacheSize": 1e400}"#,
        r#"configuration is not valid: number out of range at line 1 column 19"#,
    ),
    (
        r#"{"cacheSize": tru}"#,
        r#"configuration is not valid: expected ident at line 1 column 18"#,
    ),
    (
        r#"{"cacheSize": nul}"#,
        r#"configuration is not valid: expected ident at line 1 column 18"#,
    ),
    (
        r#"{"rules": [{"mode": "Required"},]}"#,
        r#"configuration is not valid: trailing comma at line 1 column 33"#,
    ),
    (
        r#"{"rules": [{"mode": "Required"} {"mode": "Ignore"}]}"#,
        r#"configuration is not valid: expected `,` or `]` at line 1 column 33"#,
    ),
    (
        r#"{"clientCertEnabled": true /* c */}"#,
        r#"configuration is not valid: expected `,` or `}` at line 1 column 28"#,
    ),
    (
        r#"{"clientCertEnabled": true}}"#,
        r#"configuration is not valid: trailing characters at line 1 column 28"#,
    ),
    (
        r#"{"validation": {"identities": [{"commonName": "a"}, {"cn": "b"}]}}"#,
        r#"validation.identities[1].cn: unknown field `cn`, expected one of `thumbprint`, `thumbprintSha256`, `spkiSha256`, `serialNumber`, `commonName`, `subject`, `subjectPattern`, `dnsName`, `uri`, `email`, `issuerSubject`, `issuerThumbprint` at line 1 column 57"#,
    ),
    (
        "{\n  \"validation\": {\n    \"identities\": [{\"commonName\": \"a\"},\n      {\"cn\": \"b\"}]}}",
        r#"validation.identities[1].cn: unknown field `cn`, expected one of `thumbprint`, `thumbprintSha256`, `spkiSha256`, `serialNumber`, `commonName`, `subject`, `subjectPattern`, `dnsName`, `uri`, `email`, `issuerSubject`, `issuerThumbprint` at line 4 column 11"#,
    ),
];

#[test]
fn the_reader_keeps_serdes_verdicts_word_for_word() {
    for (json, before) in SERDE_VERDICTS {
        assert_eq!(verdict(json), *before, "{json}");
    }
}

/// Where the reader deliberately says something else than serde did: the configuration, serde's
/// verdict, the reader's.
/// - A number of the wrong type is quoted as written, not as float formatting re-prints it.
/// - An object type given an array is refused as a wrong type (serde read a struct from a
///   positional array, so `[true]` was "invalid length 1" and thirteen values were accepted).
/// - A closed set given anything but a string names the field and the names it expects (serde_json
///   said `expected value`, naming no field, and took a one-key object `{"connection": null}` for
///   the name).
/// - A key given twice in `headers` is refused like any other key given twice (the map kept the
///   last).
/// - The whole text is parsed before it is read: a syntax error wins over a field error before it.
const CHANGED_VERDICTS: &[(&str, &str, &str)] = &[
    (
        r#"{"cacheSize": 1e3}"#,
        r#"cacheSize: invalid type: floating point `1000.0`, expected usize at line 1 column 17"#,
        r#"cacheSize: invalid type: floating point `1e3`, expected usize at line 1 column 17"#,
    ),
    (
        r#"{"cacheSize": 18446744073709551616}"#,
        r#"cacheSize: invalid type: floating point `1.8446744073709552e+19`, expected usize at line 1 column 34"#,
        r#"cacheSize: invalid type: floating point `18446744073709551616`, expected usize at line 1 column 34"#,
    ),
    (
        r#"{"cacheSize": -0}"#,
        r#"cacheSize: invalid type: floating point `-0.0`, expected usize at line 1 column 16"#,
        r#"cacheSize: invalid type: floating point `-0`, expected usize at line 1 column 16"#,
    ),
    (
        r#"{"validation": []}"#,
        r#"validation: invalid length 0, expected struct RawValidation with 13 elements at line 1 column 17"#,
        r#"validation: invalid type: sequence, expected struct RawValidation at line 1 column 15"#,
    ),
    (
        r#"{"validation": [true]}"#,
        r#"validation: invalid length 1, expected struct RawValidation with 13 elements at line 1 column 21"#,
        r#"validation: invalid type: sequence, expected struct RawValidation at line 1 column 15"#,
    ),
    (
        r#"{"validation": {"clockSkewSeconds": 1E2}}"#,
        r#"validation.clockSkewSeconds: invalid type: floating point `100.0`, expected u32 at line 1 column 39"#,
        r#"validation.clockSkewSeconds: invalid type: floating point `1E2`, expected u32 at line 1 column 39"#,
    ),
    (
        r#"{"validation": {"revocationFailure": 1}}"#,
        r#"configuration is not valid: expected value at line 1 column 38"#,
        r#"validation.revocationFailure: invalid type: integer `1`, expected `deny` or `allow` at line 1 column 38"#,
    ),
    (
        r#"{"validation": {"revocationFailure": {"deny": null}}}"#,
        r#"validation.revocationFailure: given but validateRevocation is not true, so it would be ignored"#,
        r#"validation.revocationFailure: invalid type: map, expected `deny` or `allow` at line 1 column 37"#,
    ),
    (
        r#"{"validation": {"revocationFailure": ["deny"]}}"#,
        r#"configuration is not valid: expected value at line 1 column 38"#,
        r#"validation.revocationFailure: invalid type: sequence, expected `deny` or `allow` at line 1 column 37"#,
    ),
    (
        r#"{"certificateSource": 5}"#,
        r#"configuration is not valid: expected value at line 1 column 23"#,
        r#"certificateSource: invalid type: integer `5`, expected one of `connection`, `xfcc`, `auto`, `header` at line 1 column 23"#,
    ),
    (
        r#"{"certificateSource": true}"#,
        r#"configuration is not valid: expected value at line 1 column 23"#,
        r#"certificateSource: invalid type: boolean `true`, expected one of `connection`, `xfcc`, `auto`, `header` at line 1 column 26"#,
    ),
    (
        r#"{"certificateSource": {"connection": null}}"#,
        r#"OK"#,
        r#"certificateSource: invalid type: map, expected one of `connection`, `xfcc`, `auto`, `header` at line 1 column 22"#,
    ),
    (
        r#"{"certificateSource": {}}"#,
        r#"configuration is not valid: expected value at line 1 column 24"#,
        r#"certificateSource: invalid type: map, expected one of `connection`, `xfcc`, `auto`, `header` at line 1 column 22"#,
    ),
    (
        r#"{"certificateSource": []}"#,
        r#"configuration is not valid: expected value at line 1 column 23"#,
        r#"certificateSource: invalid type: sequence, expected one of `connection`, `xfcc`, `auto`, `header` at line 1 column 22"#,
    ),
    (
        r#"{"header": {"format": null, "trustedProxies": []}}"#,
        r#"configuration is not valid: expected value at line 1 column 23"#,
        r#"header.format: invalid type: null, expected one of `alb`, `appGateway`, `cloudflare`, `traefik`, `nginx`, `containerApps`, `rfc9440`, `arr` at line 1 column 26"#,
    ),
    (
        r#"{"header": []}"#,
        r#"header: invalid length 0, expected struct RawHeaderSource with 3 elements at line 1 column 13"#,
        r#"header: invalid type: sequence, expected struct RawHeaderSource at line 1 column 11"#,
    ),
    (
        r#"{"rules": [[[[[[[[[[]]]]]]]]]]}"#,
        r#"rules[0][0]: invalid type: sequence, expected a string at line 1 column 12"#,
        r#"rules[0]: invalid type: sequence, expected struct RawRule at line 1 column 11"#,
    ),
    (
        r#"{"responses": {"expired": {"headers": {"x-a": "1", "x-a": "2"}}}}"#,
        "OK",
        "responses.expired.headers.x-a: duplicate key `x-a` at line 1 column 56",
    ),
    (
        r#"{"bogus": 1, "#,
        "bogus: unknown field `bogus`, expected one of `clientCertEnabled`, `clientCertMode`, `clientCertExclusionPaths`, `validation`, `cacheSize`, `rules`, `certificateSource`, `header`, `stripXfcc`, `forward`, `responses`, `reportOnly` at line 1 column 8",
        "configuration is not valid: EOF while parsing a value at line 1 column 13",
    ),
];

#[test]
fn the_reader_differs_from_serde_only_where_it_says_so() {
    for (json, before, now) in CHANGED_VERDICTS {
        let got = verdict(json);
        assert_ne!(got, *before, "{json}");
        assert_eq!(got, *now, "{json}");
    }
}

/// `responses.*.headers` is read in document order: the first fault in the text is the one
/// named, a duplicate key included; more than `MAX_REPLY_HEADERS` names are refused.
#[test]
fn reply_headers_are_read_in_document_order_and_bounded() {
    assert_eq!(
        verdict(r#"{"responses": {"expired": {"headers": {"x-a": "1", "x-b": 2, "x-a": "3"}}}}"#),
        "responses.expired.headers.x-b: invalid type: integer `2`, expected a string at line 1 column 59"
    );
    assert_eq!(
        verdict(
            r#"{"responses": {"expired": {"headers": {"x-b": "1", "x-a": "2", "x-b": "3", "x-c": 4}}}}"#
        ),
        "responses.expired.headers.x-b: duplicate key `x-b` at line 1 column 68"
    );
    let headers = |n: usize| {
        let members: Vec<String> = (0..n).map(|i| format!("\"x-{i}\": \"v\"")).collect();
        format!(
            r#"{{"responses": {{"expired": {{"headers": {{{}}}}}}}}}"#,
            members.join(", ")
        )
    };
    let max = 64; // the documented bound (docs/configuration.md)
    assert_eq!(verdict(&headers(max)), "OK");
    assert_eq!(
        verdict(&headers(max + 1)),
        format!(
            "responses.expired.headers: more than {max} headers in one reply at line 1 column 39"
        )
    );
}

/// The parser's tree is serde_json's `Value`: the same kinds, strings, numbers (as serde_json
/// reads them, to the bit) and members, duplicates resolved as serde_json does (the last one).
fn same_value(ours: &json::Value, theirs: &serde_json::Value) -> bool {
    use serde_json::Value as V;
    match (&ours.kind, theirs) {
        (json::Kind::Null, V::Null) => true,
        (json::Kind::Bool(a), V::Bool(b)) => a == b,
        (json::Kind::Number(n), V::Number(m)) => match *n {
            json::Number::PosInt(a) => m.as_u64() == Some(a),
            json::Number::NegInt(a) => !m.is_u64() && m.as_i64() == Some(a),
            json::Number::Float(a) => {
                m.is_f64() && m.as_f64().map(f64::to_bits) == Some(a.to_bits())
            }
        },
        (json::Kind::String(a), V::String(b)) => a == b,
        (json::Kind::Array(a), V::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_value(x, y))
        }
        (json::Kind::Object(a), V::Object(b)) => {
            let mut last = std::collections::BTreeMap::new();
            for member in a {
                last.insert(member.key.as_str(), &member.value);
            }
            last.len() == b.len()
                && last
                    .iter()
                    .all(|(k, v)| b.get(*k).is_some_and(|t| same_value(v, t)))
        }
        _ => false,
    }
}

/// Every value's offsets cover its own text: serde_json reads that text alone as the same value.
fn offsets_hold(text: &[u8], value: &json::Value) -> bool {
    let alone = serde_json::from_slice::<serde_json::Value>(&text[value.start..value.end]);
    if !alone.is_ok_and(|t| same_value(value, &t)) {
        return false;
    }
    match &value.kind {
        json::Kind::Array(items) => items.iter().all(|v| offsets_hold(text, v)),
        json::Kind::Object(members) => members
            .iter()
            .all(|m| text.get(m.key_end - 1) == Some(&b'"') && offsets_hold(text, &m.value)),
        _ => true,
    }
}

/// Holds the parser to serde_json on `text`: both accept it with the same value, or both refuse
/// it with the same message at the same line and column. `Err` says how they differ.
fn differential(text: &[u8]) -> Result<bool, String> {
    let ours = json::parse(text);
    let theirs = serde_json::from_slice::<serde_json::Value>(text);
    match (&ours, &theirs) {
        (Ok(v), Ok(t)) if same_value(v, t) && offsets_hold(text, v) => Ok(true),
        (Err(e), Err(t)) if e.message(text) == t.to_string() => Ok(false),
        _ => Err(format!(
            "{:?}: ours {:?}, serde_json {:?}",
            String::from_utf8_lossy(text),
            ours.map_err(|e| e.message(text)),
            theirs.map_err(|e| e.to_string())
        )),
    }
}

/// JSONTestSuite's classics (y_ must be accepted, n_ refused), and the edges of serde_json's own
/// number algorithm and limits.
#[test]
fn the_json_parser_accepts_exactly_what_serde_json_accepts() {
    let accepted: &[&[u8]] = &[
        // Structure.
        b"[]",
        b"{}",
        b"[[]   ]",
        b" [1] ",
        b"\t\r\n[1]\n",
        b"\"x\"",
        b"2",
        b"null",
        b"true",
        b"false",
        b"[1,2,3]",
        b"[null, 1, \"1\", {}]",
        br#"{"":0}"#,
        br#"{"a":[]}"#,
        br#"{"a":"b","a":"c"}"#,
        br#"{"a":{"b":{"c":{}}}}"#,
        br#"{"\u0000":1}"#,
        br#"{ "a" : 1 , "b" : [ 2 , 3 ] }"#,
        // Numbers.
        b"[0]",
        b"[-0]",
        b"[-1]",
        b"[0e1]",
        b"[0e+1]",
        b"[0E-1]",
        b"[1E22]",
        b"[-123]",
        b"[123e65]",
        b"[123.456e78]",
        b"[1e-400]",
        b"[-1e-400]",
        b"[0e999999999999]",
        b"[1e-999999999999]",
        b"[-9223372036854775808]",
        b"[-9223372036854775809]",
        b"[18446744073709551615]",
        b"[18446744073709551616]",
        b"[100000000000000000000]",
        b"[1.0]",
        b"[0.5]",
        b"[-0.0]",
        b"[1e308]",
        b"[1.7976931348623157e308]",
        b"[0.1e309]",
        b"[123456789012345678901234567890.123e-10]",
        b"[1.234567890123456789012345678901234567890]",
        b"[5e-324]",
        b"[2.2250738585072014e-308]",
        // Strings.
        br#"["\u0060\u012a\u12AB"]"#,
        br#"["\uD801\udc37"]"#,
        br#"["\ud83d\ude39\ud83d\udc8d"]"#,
        br#"["\"\\\/\b\f\n\r\t"]"#,
        br#"["\u0000"]"#,
        "[\"€𝄞π\"]".as_bytes(),
        b"[\"a\x7f\"]",
        br#"["\uFFFF"]"#,
        br#"["\uDBFF\uDFFF"]"#,
        br#"["\u200B"]"#,
        br#"["\u002c"]"#,
        b"[\"\xef\xbf\xbf\"]",
        b"[\"\xf4\x8f\xbf\xbf\"]",
    ];
    let refused: &[&[u8]] = &[
        // Structure.
        b"",
        b" ",
        b"[",
        b"{",
        b"]",
        b"}",
        b"[1,]",
        b"[,1]",
        b"[1,,2]",
        br#"{"a":1,}"#,
        b"{,}",
        br#"{"a" 1}"#,
        br#"{"a":}"#,
        b"{a:1}",
        b"{1:1}",
        b"[1]]",
        b"[1] x",
        b"[1 2]",
        br#"{"a":1 "b":2}"#,
        b"/* c */ []",
        b"[] // c",
        b"[true false]",
        b"[tru]",
        b"[nul]",
        b"[True]",
        b"\xef\xbb\xbf[]",
        b"[\x0c]",
        b"\x0c[]",
        b"[1]\x00",
        br#"{"a":1}}"#,
        br#"["a""#,
        br#"{"a""#,
        br#"{"a":"#,
        br#"{"a":1"#,
        b"[1,",
        b"[1",
        b"{\"a\":1,",
        b"{\"a\":1, ",
        b"['a']",
        b"[\"a\"",
        b"[nulll]",
        b"[t]",
        b"[fals]",
        b"[undefined]",
        // Numbers.
        b"[01]",
        b"[-01]",
        b"[00]",
        b"[1.]",
        b"[.1]",
        b"[+1]",
        b"[1e]",
        b"[1e+]",
        b"[1E-]",
        b"[-]",
        b"[- 1]",
        b"[0x1]",
        b"[Infinity]",
        b"[NaN]",
        b"[-Infinity]",
        b"[1.5e+9999]",
        b"[1e309]",
        b"[-1e309]",
        b"[1e400]",
        b"[2.e3]",
        b"[0.e1]",
        b"[1ea]",
        b"[1.2a]",
        b"[-1x]",
        b"[1 000]",
        b"[1.8e308]",
        b"[10e308]",
        b"[1e99999999999]",
        b"-",
        b"1.",
        b"1e",
        b"[18446744073709551616e300]",
        // Strings.
        br#"["\x"]"#,
        br#"["\uD800"]"#,
        br#"["\uD800\"]"#,
        br#"["\uDC00"]"#,
        br#"["\uD800\uD800"]"#,
        br#"["\uD800\u0041"]"#,
        br#"["\uD800x"]"#,
        br#"["\uD800\n"]"#,
        br#"["\u00"]"#,
        br#"["\u00G0"]"#,
        br#"["\u"#,
        br#"["\"#,
        br#"["\uD800\u"#,
        b"[\"tab\there\"]",
        b"[\"new\nline\"]",
        b"[\"\x00\"]",
        b"[\"\x1f\"]",
        b"[\"\xff\"]",
        b"[\"ab\xffcd\"]",
        b"[\"\\n\xff\"]",
        b"[\"\xc0\x80\"]",
        b"[\"\xed\xa0\x80\"]",
        b"[\"\xf4\x90\x80\x80\"]",
        b"[\"\xe2\x82\"]",
        b"\"\xe9\"",
    ];
    for text in accepted {
        assert_eq!(
            differential(text),
            Ok(true),
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }
    for text in refused {
        assert_eq!(
            differential(text),
            Ok(false),
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }
}

#[test]
fn nesting_is_bounded_as_serde_json_bounds_it_without_exhausting_the_stack() {
    let nested = |depth: usize, open: &str, close: &str| open.repeat(depth) + &close.repeat(depth);
    for (open, close) in [("[", "]"), ("{\"a\":", "}"), ("[{\"a\":", "}]")] {
        for depth in [126, 127, 128, 129, 200] {
            differential(nested(depth, open, close).as_bytes()).unwrap();
        }
    }
    let deepest = nested(127, "[", "]");
    assert!(json::parse(deepest.as_bytes()).is_ok());
    let too_deep = nested(128, "[", "]");
    assert_eq!(
        json::parse(too_deep.as_bytes())
            .unwrap_err()
            .message(too_deep.as_bytes()),
        "recursion limit exceeded at line 1 column 128"
    );
    // A hostile configuration: a million brackets, refused at the 128th level (the object is one).
    let hostile = format!("{{\"rules\": {}", "[".repeat(1_000_000));
    assert_eq!(
        parse(&hostile).unwrap_err().to_string(),
        "configuration is not valid: recursion limit exceeded at line 1 column 137"
    );
}

/// A small deterministic generator of JSON-like texts: tokens that make valid documents and the
/// near misses that should not, joined at random (xorshift, fixed seed).
#[test]
fn the_json_parser_agrees_with_serde_json_on_generated_texts() {
    const TOKENS: &[&[u8]] = &[
        b"[",
        b"]",
        b"{",
        b"}",
        b",",
        b":",
        b" ",
        b"\n",
        b"\"a\"",
        b"\"k\"",
        b"\"\\u00e9\"",
        b"\"\\ud83d\\ude00\"",
        b"\"\\ud800\"",
        b"\"\\udc00x\"",
        b"\"\\n\\t\\\"\"",
        b"\"\\x\"",
        b"\"\xc3\xa9\"",
        b"\"\xff\"",
        b"\"\x01\"",
        b"\"",
        b"\\",
        b"0",
        b"1",
        b"-",
        b"-0",
        b"12",
        b"1.5",
        b"1e3",
        b"1E-3",
        b"1.",
        b".5",
        b"01",
        b"1e400",
        b"18446744073709551616",
        b"-9223372036854775809",
        b"99999999999999999999.5e-3",
        b"e",
        b"+",
        b"true",
        b"false",
        b"null",
        b"nul",
        b"tru",
        b"x",
        b"/",
        b"\x00",
        b"\t",
        b"\r",
        b"\x0c",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..60_000 {
        let mut text = Vec::new();
        for _ in 0..1 + next() % 24 {
            text.extend_from_slice(TOKENS[(next() % TOKENS.len() as u64) as usize]);
        }
        match differential(&text) {
            Ok(true) => accepted += 1,
            Ok(false) => refused += 1,
            Err(difference) => panic!("{difference}"),
        }
    }
    // The generator must reach both sides, or it proves little.
    assert!(
        accepted > 500 && refused > 500,
        "{accepted} accepted, {refused} refused"
    );
}

/// A text is read into a tree before its fields are checked, and a tree of `[0]`s takes many
/// times the text: beyond 8 MiB the configuration is refused with a message, never left to
/// run the VM out of memory. Just under the bound it is read (and refused for its field).
#[test]
fn a_configuration_larger_than_8_mib_is_refused_before_it_is_read() {
    let text = |elements: usize| {
        let mut s = String::from("{\"clientCertExclusionPaths\":[");
        s.push_str(&vec!["[0]"; elements].join(","));
        s.push_str("]}");
        s
    };
    let over = text((8 << 20) / 4 + 10);
    assert!(over.len() > 8 << 20);
    match parse(&over) {
        Err(ConfigError::Json { field, message }) => {
            assert_eq!(field, "");
            assert!(message.contains("more than 8388608"), "{message}");
        }
        other => panic!("not refused for its size: {:?}", other.map(|_| ())),
    }
    let under = text(1000);
    match parse(&under) {
        Err(ConfigError::Json { field, .. }) => assert_eq!(field, "clientCertExclusionPaths[0]"),
        other => panic!("{:?}", other.map(|_| ())),
    }
}
