//! The JSON Schema of the plugin configuration is generated from the Rust types and committed;
//! every example configuration in the repository passes both the schema and the plugin's parser.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use client_cert_auth::RawConfig;
use testkit::envoy::{TempDir, repo, required_file};
use testkit::pki::Ca;
use time::{Duration, OffsetDateTime};

const SCHEMA: &str = "schema/client-cert-auth.schema.json";

fn generated() -> String {
    let schema = schemars::schema_for!(RawConfig);
    serde_json::to_string_pretty(&schema).unwrap() + "\n"
}

#[test]
fn committed_schema_is_generated_from_the_rust_types() {
    let path = repo().join(SCHEMA);
    let fresh = generated();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{SCHEMA} is out of date with the configuration types: run `make schema` and commit it"
    );
}

/// The project virtualenv's Python, with jsonschema and PyYAML.
fn venv_python() -> PathBuf {
    required_file(
        "VENV_PYTHON",
        ".venv/bin/python",
        "run `make test` (it creates .venv with jsonschema and PyYAML)",
    )
}

fn check_examples(repo_dir: &std::path::Path) -> std::process::Output {
    let python = venv_python();
    let dir = TempDir::new("examples");
    let ca = Ca::new("examples CA");
    let ca_path = dir.write("ca.pem", &ca.cert_pem());
    let crl_path = dir.write(
        "crl.pem",
        &ca.crl(&[], OffsetDateTime::now_utc() + Duration::days(7)),
    );
    Command::new(python)
        .arg(repo().join("tests/tools/check_examples.py"))
        .arg("--repo")
        .arg(repo_dir)
        .arg("--cli")
        .arg(env!("CARGO_BIN_EXE_client-cert-auth"))
        .arg("--ca")
        .arg(ca_path)
        .arg("--crl")
        .arg(crl_path)
        .output()
        .unwrap()
}

#[test]
fn every_example_configuration_passes_the_schema_and_the_plugin() {
    let out = check_examples(&repo());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("ok  envoy.yaml"), "{stdout}");
    assert!(stdout.contains("ok  deploy/"), "{stdout}");
    assert!(stdout.contains("ok  docs/"), "{stdout}");
}

#[test]
fn the_example_checker_catches_a_bad_example() {
    let copy = TempDir::new("examples-bad");
    for dir in ["schema", "deploy/istio", "deploy/envoy-gateway"] {
        std::fs::create_dir_all(copy.0.join(dir)).unwrap();
    }
    for file in [
        SCHEMA,
        "envoy.yaml",
        "deploy/istio/wasmplugin-gateway.yaml",
        "deploy/istio/wasmplugin-sidecar.yaml",
        "deploy/envoy-gateway/envoy-extension-policy.yaml",
    ] {
        std::fs::copy(repo().join(file), copy.0.join(file)).unwrap();
    }
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let bad = readme.replacen(
        "\"clientCertMode\": \"Required\"",
        "\"clientCertMode\": \"Requird\"",
        1,
    ) + "\n```json\n{\"clientCertModes\": \"Required\"}\n```\n";
    std::fs::write(copy.0.join("README.md"), bad).unwrap();
    // The manual's pages in docs/ are checked as the README is, their links too.
    std::fs::create_dir_all(copy.0.join("docs")).unwrap();
    for page in std::fs::read_dir(repo().join("docs")).unwrap() {
        let page = page.unwrap().path();
        std::fs::copy(&page, copy.0.join("docs").join(page.file_name().unwrap())).unwrap();
    }
    let rules = std::fs::read_to_string(repo().join("docs/rules.md")).unwrap()
        + "\n```json\n{\"rules\": [{\"pathPrefix\": \"admin\", \"mode\": \"Required\"}]}\n```\n"
        + "\n[a page that is not there](missing.md)\n";
    std::fs::write(copy.0.join("docs/rules.md"), rules).unwrap();
    let out = check_examples(&copy.0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("unknown mode \"Requird\""), "{stderr}");
    assert!(
        stderr.contains("schema: Additional properties are not allowed ('clientCertModes'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("docs/rules.md json block 1: the plugin refuses it"),
        "{stderr}"
    );
    assert!(
        stderr.contains("docs/rules.md link missing.md: no such file"),
        "{stderr}"
    );
}

/// Every property of every object in the schema, as `path.to.property`, with its schema.
fn properties<'v>(
    node: &'v serde_json::Value,
    path: &str,
    out: &mut Vec<(String, &'v serde_json::Value)>,
) {
    match node {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(props)) = map.get("properties") {
                for (name, schema) in props {
                    out.push((format!("{path}.{name}"), schema));
                }
            }
            for (key, value) in map {
                properties(value, &format!("{path}/{key}"), out);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                properties(item, path, out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_property_of_the_schema_has_a_description() {
    let schema: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    let mut all = Vec::new();
    properties(&schema, "", &mut all);
    assert!(all.len() >= 50, "only {} properties found", all.len());
    let undocumented: Vec<&str> = all
        .iter()
        .filter(|(_, s)| {
            s.get("description")
                .and_then(|d| d.as_str())
                .is_none_or(|d| d.trim().is_empty())
        })
        .map(|(path, _)| path.as_str())
        .collect();
    assert!(undocumented.is_empty(), "no description: {undocumented:?}");
}

/// The schema's complaints about each configuration (empty: valid), from Python's jsonschema.
pub(crate) fn schema_errors(configs: &[serde_json::Value]) -> Vec<String> {
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        for line in open(sys.argv[2]):\n\
        \x20   errors = jsonschema.Draft202012Validator(schema).iter_errors(json.loads(line))\n\
        \x20   print(json.dumps('; '.join(f'{list(e.path)}: {e.message}' for e in errors)))\n";
    let dir = TempDir::new("schema-errors");
    let input: String = configs.iter().map(|c| format!("{c}\n")).collect();
    let input_path = dir.write("configs.jsonl", &input);
    let out = Command::new(venv_python())
        .arg("-c")
        .arg(script)
        .arg(repo().join(SCHEMA))
        .arg(input_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(verdicts.len(), configs.len());
    verdicts
}

#[test]
fn the_schema_check_of_the_importers_catches_a_bad_configuration() {
    use serde_json::json;
    let errors = schema_errors(&[
        json!({"clientCertMode": "Required"}),
        json!({"clientCertMode": "Required", "validation": {"identity": []}}),
    ]);
    assert_eq!(errors[0], "");
    assert!(errors[1].starts_with("['validation']: "), "{errors:?}");
}

#[test]
fn the_schema_accepts_modes_in_any_case_and_rejects_unknown_ones() {
    let python = venv_python();
    let verdicts = |configs: &[serde_json::Value]| -> Vec<bool> {
        let script = "import json, sys, jsonschema\n\
            schema = json.load(open(sys.argv[1]))\n\
            for line in sys.stdin:\n\
            \x20   ok = not list(jsonschema.Draft202012Validator(schema).iter_errors(json.loads(line)))\n\
            \x20   print('valid' if ok else 'invalid')\n";
        let input: String = configs.iter().map(|c| format!("{c}\n")).collect();
        let dir = TempDir::new("schema-modes");
        let input_path = dir.write("configs.jsonl", &input);
        let out = Command::new(&python)
            .arg("-c")
            .arg(format!(
                "import sys; sys.stdin = open({:?}); exec({script:?})",
                input_path.display().to_string()
            ))
            .arg(repo().join(SCHEMA))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l == "valid")
            .collect()
    };
    use serde_json::json;
    let cases = [
        (json!({"clientCertMode": "Required"}), true),
        (json!({"clientCertMode": "oPtIoNaLiNtErAcTiVeUsEr"}), true),
        (json!({"clientCertMode": "ignore"}), true),
        (json!({"clientCertMode": "Sometimes"}), false),
        (json!({"clientCertMode": "Required "}), false),
        (json!({"clientCertMode": "disabled"}), false),
        (
            json!({"rules": [{"pathPrefix": "/a", "mode": "OPTIONAL"}]}),
            true,
        ),
        (
            json!({"rules": [{"pathPrefix": "/a", "mode": "Sometimes"}]}),
            false,
        ),
        (json!({"certificateSource": "Auto"}), false),
        (json!({"responses": {"preset": "nginx"}}), false),
    ];
    let configs: Vec<serde_json::Value> = cases.iter().map(|(c, _)| c.clone()).collect();
    let got = verdicts(&configs);
    for ((config, valid), got) in cases.iter().zip(got) {
        assert_eq!(got, *valid, "schema verdict on {config}");
        // The plugin agrees with the schema.
        assert_eq!(
            client_cert_auth::Config::from_json(config.to_string().as_bytes()).is_ok(),
            *valid,
            "plugin verdict on {config}"
        );
    }
}
