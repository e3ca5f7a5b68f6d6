//! Configuration: what is accepted, what it means, and the exact error for what is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use client_cert_auth::Mode;
use client_cert_auth::PathEntryError;
use client_cert_auth::{Config, ConfigError};

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
