//! The JSON Schema of the plugin configuration is generated from the Rust types and committed;
//! every example configuration in the repository passes both the schema and the plugin's parser.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
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

/// What the plugin's reader says about a configuration: `OK`, or its refusal.
fn verdict(json: &str) -> String {
    match client_cert_auth::Config::from_json(json.as_bytes()) {
        Ok(_) => "OK".to_string(),
        Err(e) => e.to_string(),
    }
}

/// The names a refusal lists after `expected` (`` one of `a`, `b` ``, `` `a` or `b` ``).
fn expected_names(message: &str) -> BTreeSet<String> {
    let listed = message
        .split_once(", expected ")
        .map_or("", |(_, rest)| rest);
    let listed = listed.split(" at line ").next().unwrap_or_default();
    listed
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The schema's definition a property refers to (directly, as an optional value, or as the
/// items of an array), with whether it is an array's.
fn reference<'s>(
    schema: &'s serde_json::Value,
    property: &serde_json::Value,
) -> Option<(&'s str, &'s serde_json::Value, bool)> {
    let of = |node: &serde_json::Value| -> Option<String> {
        if let Some(r) = node.get("$ref").and_then(|r| r.as_str()) {
            return Some(r.to_string());
        }
        node.get("anyOf")?
            .as_array()?
            .iter()
            .find_map(|n| n.get("$ref")?.as_str().map(str::to_string))
    };
    let (target, array) = match of(property) {
        Some(target) => (target, false),
        None => (of(property.get("items")?)?, true),
    };
    let name = target.strip_prefix("#/$defs/")?;
    let (name, def) = schema["$defs"].as_object()?.get_key_value(name)?;
    Some((name.as_str(), def, array))
}

/// Walks the schema's objects from the top, holding the reader to each: every property the
/// schema lists is read (never an unknown field), a key it does not list is refused with exactly
/// the schema's keys as what was expected, the required ones are exactly those whose absence is
/// refused, and every closed set accepts exactly the schema's names. So a field (or a name) added
/// to the types and not to the reader, or to the reader and not the types, fails here.
fn hold_reader_to_schema(
    schema: &serde_json::Value,
    def: &serde_json::Value,
    wrap: &dyn Fn(&str) -> String,
    seen: &mut BTreeSet<String>,
) {
    let properties = def["properties"].as_object().unwrap();
    let keys: BTreeSet<String> = properties.keys().cloned().collect();
    for key in &keys {
        let doc = wrap(&format!(r#"{{"{key}": null}}"#));
        let said = verdict(&doc);
        assert!(!said.contains("unknown field"), "{doc}: {said}");
    }
    let doc = wrap(r#"{"notAKey": null}"#);
    let said = verdict(&doc);
    assert!(
        said.contains("notAKey: unknown field `notAKey`, expected "),
        "{doc}: {said}"
    );
    assert_eq!(expected_names(&said), keys, "{doc}: {said}");
    let required: Vec<&str> = def
        .get("required")
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap())
                .collect()
        })
        .unwrap_or_default();
    let doc = wrap("{}");
    let said = verdict(&doc);
    match required.first() {
        Some(first) => assert!(
            said.contains(&format!("missing field `{first}`")),
            "{doc}: {said}"
        ),
        None => assert!(!said.contains("missing field"), "{doc}: {said}"),
    }
    for key in required.iter().skip(1) {
        // With the ones before it given, the next required one is missed.
        let given = required
            .iter()
            .take_while(|k| *k != key)
            .map(|k| format!(r#""{k}": {}"#, sample(schema, &properties[*k])))
            .collect::<Vec<_>>()
            .join(", ");
        let doc = wrap(&format!("{{{given}}}"));
        let said = verdict(&doc);
        assert!(
            said.contains(&format!("missing field `{key}`")),
            "{doc}: {said}"
        );
    }
    for (key, property) in properties {
        let Some((name, target, array)) = reference(schema, property) else {
            continue;
        };
        // The object's other required fields given, so only the inner object can be at fault.
        let siblings: String = required
            .iter()
            .filter(|k| *k != key)
            .map(|k| format!(r#", "{k}": {}"#, sample(schema, &properties[*k])))
            .collect();
        let inner = |value: &str| {
            let value = if array {
                format!("[{value}]")
            } else {
                value.to_string()
            };
            wrap(&format!(r#"{{"{key}": {value}{siblings}}}"#))
        };
        if target.get("properties").is_some() {
            seen.insert(name.to_string());
            hold_reader_to_schema(schema, target, &inner, seen);
        } else if let Some(variants) = target.get("oneOf").and_then(|v| v.as_array()) {
            seen.insert(name.to_string());
            let names: BTreeSet<String> = variants
                .iter()
                .map(|v| v["const"].as_str().unwrap().to_string())
                .collect();
            for variant in &names {
                let doc = inner(&format!("\"{variant}\""));
                let said = verdict(&doc);
                assert!(!said.contains("unknown variant"), "{doc}: {said}");
            }
            let doc = inner(r#""notAName""#);
            let said = verdict(&doc);
            assert!(
                said.contains("unknown variant `notAName`, expected "),
                "{doc}: {said}"
            );
            assert_eq!(expected_names(&said), names, "{doc}: {said}");
        }
    }
}

/// A value of the property's type the reader accepts (for the required fields given).
fn sample(schema: &serde_json::Value, property: &serde_json::Value) -> String {
    match reference(schema, property) {
        Some((_, target, _)) => {
            format!("\"{}\"", target["oneOf"][0]["const"].as_str().unwrap())
        }
        None if property["type"] == "array" => "[]".to_string(),
        None => "\"x\"".to_string(),
    }
}

#[test]
fn the_reader_and_the_schema_agree_on_every_key_and_name() {
    let schema: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    let mut seen = BTreeSet::new();
    hold_reader_to_schema(&schema, &schema, &|inner| inner.to_string(), &mut seen);
    // Every object and closed set of the schema was reached from the top.
    let defined: BTreeSet<String> = schema["$defs"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, def)| def.get("properties").is_some() || def.get("oneOf").is_some())
        .map(|(name, _)| name.clone())
        .collect();
    assert_eq!(seen, defined);
}
