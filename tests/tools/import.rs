//! `client-cert-auth import ingress-nginx`: realistic Ingress manifests in, the plugin
//! configuration (checked by the filter's own parser) and Envoy Gateway or Istio manifests out;
//! what ingress-nginx itself falls back on or refuses; annotations that cannot be translated;
//! input that is not an Ingress.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use serde_json::{Value, json};
use testkit::envoy::TempDir;
use testkit::pki::Ca;
use yaml_rust2::{Yaml, YamlLoader};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_client-cert-auth"))
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// An Ingress of `ns/name` for `host` with these `auth-tls-*` annotations (short names) and
/// these (path, pathType).
fn ingress(
    ns: &str,
    name: &str,
    host: &str,
    annotations: &[(&str, &str)],
    paths: &[(&str, &str)],
) -> String {
    let annotations: String = annotations
        .iter()
        .map(|(k, v)| format!("    nginx.ingress.kubernetes.io/{k}: {v:?}\n"))
        .collect();
    let paths: String = paths
        .iter()
        .map(|(p, t)| {
            format!(
                "      - path: {p}\n        pathType: {t}\n        backend: {{service: {{name: web, port: {{number: 80}}}}}}\n"
            )
        })
        .collect();
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: {ns}\n  annotations:\n{annotations}spec:\n  rules:\n  - host: {host}\n    http:\n      paths:\n{paths}"
    )
}

struct Fixture {
    dir: TempDir,
    ca: String,
}

impl Fixture {
    fn new(tag: &str) -> Fixture {
        let dir = TempDir::new(tag);
        let root = Ca::new("import root");
        let inter = root.intermediate("import issuing", testkit::pki::Alg::EcdsaP256);
        // The secret's ca.crt as ingress-nginx users keep it: the chain, intermediate first.
        let bundle = format!("{}{}", inter.cert_pem(), root.cert_pem());
        let ca = dir.write("ca.crt", &bundle).display().to_string();
        Fixture { dir, ca }
    }

    fn file(&self, name: &str, docs: &[String]) -> String {
        self.dir
            .write(name, &docs.join("---\n"))
            .display()
            .to_string()
    }

    /// `import ingress-nginx --config-only`: the plugin configuration, which must be complete.
    fn config(&self, file: &str, extra: &[&str]) -> (Value, String) {
        let mut args = vec![
            "import",
            "ingress-nginx",
            file,
            "--config-only",
            "--ca",
            &self.ca,
        ];
        args.extend_from_slice(extra);
        let r = run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        (serde_json::from_str(&r.stdout).unwrap(), r.stderr)
    }
}

fn rule<'a>(config: &'a Value, name: &str) -> &'a Value {
    config["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no rule {name} in {config}"))
}

#[test]
fn ingresses_become_rules_per_host_and_path_with_the_presets() {
    let f = Fixture::new("import-rules");
    let admin = ingress(
        "shop",
        "admin",
        "shop.example.com",
        &[
            ("auth-tls-secret", "shop/ca-secret"),
            ("auth-tls-verify-client", "on"),
            ("auth-tls-verify-depth", "2"),
            ("auth-tls-match-cn", "CN=(billing|reports)"),
            (
                "auth-tls-error-page",
                "https://login.example.com/cert-error",
            ),
            ("auth-tls-pass-certificate-to-upstream", "true"),
        ],
        &[("/admin", "Prefix"), ("/admin/login", "Exact")],
    );
    let app = ingress(
        "shop",
        "app",
        "shop.example.com",
        &[
            ("auth-tls-secret", "ca-secret"),
            ("auth-tls-verify-client", "optional"),
            ("auth-tls-verify-depth", "2"),
            ("auth-tls-match-cn", "CN=alice"),
            (
                "auth-tls-error-page",
                "https://login.example.com/cert-error",
            ),
        ],
        &[("/", "ImplementationSpecific")],
    );
    let open = ingress(
        "shop",
        "status",
        "status.example.com",
        &[],
        &[("/health", "Exact")],
    );
    let service = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n".to_string();
    let file = f.file("shop.yaml", &[service, admin, app, open]);
    let (config, notes) = f.config(&file, &[]);
    // Requests no rule matches get the strictest mode: when in doubt, a certificate is needed.
    assert_eq!(config["clientCertMode"], "Required");
    assert_eq!(
        config["responses"],
        json!({"preset": "ingressNginx", "errorPage": "https://login.example.com/cert-error"})
    );
    assert_eq!(
        config["forward"],
        json!({"arrClientCert": false, "preset": "ingressNginx", "passCertificate": true})
    );
    let v = &config["validation"];
    assert_eq!(v["maxChainDepth"], 2);
    assert_eq!(
        v["trustedCaCertificates"].as_array().unwrap().len(),
        1,
        "the self-signed root"
    );
    assert_eq!(
        v["intermediateCertificates"].as_array().unwrap().len(),
        1,
        "the rest of ca.crt"
    );
    // Exact paths first, then prefixes longest first, as ingress-nginx orders its locations.
    let names: Vec<&str> = config["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "shop-admin-0-1",
            "shop-status-2-0",
            "shop-admin-0-0",
            "shop-app-1-0"
        ]
    );
    assert_eq!(
        rule(&config, "shop-admin-0-1"),
        &json!({"name": "shop-admin-0-1", "hosts": ["shop.example.com"], "pathExact": "/admin/login",
                "mode": "Required", "identities": [{"subjectPattern": "CN=(billing|reports)"}]})
    );
    assert_eq!(rule(&config, "shop-app-1-0")["pathPrefix"], "/");
    assert_eq!(rule(&config, "shop-app-1-0")["mode"], "Optional");
    // A plain CN=name is the exact common name, said on standard error.
    assert_eq!(
        rule(&config, "shop-app-1-0")["identities"],
        json!([{"commonName": "alice"}])
    );
    assert!(
        notes.contains("is the exact commonName \"alice\""),
        "{notes}"
    );
    assert!(
        notes.contains("optional with auth-tls-match-cn: nginx answered 403"),
        "{notes}"
    );
    assert!(
        notes.contains("Service skipped (not an Ingress)"),
        "{notes}"
    );
    // An Ingress without auth-tls-secret: its paths need nothing.
    assert_eq!(rule(&config, "shop-status-2-0")["mode"], "Ignore");
    // lint accepts the output.
    let out = f
        .dir
        .write("config.json", &config.to_string())
        .display()
        .to_string();
    let lint = run(&["lint", &out]);
    assert_eq!(lint.code, 0, "{}", lint.stderr);
    assert!(
        lint.stdout
            .contains("at most 2 intermediate(s) (maxChainDepth)"),
        "{}",
        lint.stdout
    );
    assert!(
        lint.stdout
            .contains("subjectPattern \"CN=(billing|reports)\" is searched anywhere")
    );
}

/// ingress-nginx's own fallbacks (an unknown `verify-client` is `on`, a depth that is not a
/// positive integer is 1), and the modes.
#[test]
fn values_ingress_nginx_falls_back_on_are_read_as_it_reads_them() {
    let f = Fixture::new("import-fallbacks");
    let table = [
        (vec![("auth-tls-verify-client", "bogus")], "Required", 1),
        (vec![("auth-tls-verify-client", "off")], "Ignore", 1),
        (vec![("auth-tls-verify-client", "optional")], "Optional", 1),
        (vec![("auth-tls-verify-depth", "0")], "Required", 1),
        (vec![("auth-tls-verify-depth", "two")], "Required", 1),
        (vec![("auth-tls-verify-depth", "3")], "Required", 3),
        (vec![], "Required", 1),
    ];
    for (i, (more, mode, depth)) in table.into_iter().enumerate() {
        let mut annotations = vec![("auth-tls-secret", "default/ca")];
        annotations.extend(more.iter().copied());
        let file = f.file(
            &format!("f{i}.yaml"),
            &[ingress(
                "default",
                "web",
                "a.test",
                &annotations,
                &[("/", "Prefix")],
            )],
        );
        let (config, _) = f.config(&file, &[]);
        assert_eq!(config["rules"][0]["mode"], mode, "{more:?}");
        assert_eq!(config["validation"]["maxChainDepth"], depth, "{more:?}");
    }
    // optional_no_ca: no trust check and no date checks, the certificate forwarded as is.
    let file = f.file(
        "noca.yaml",
        &[ingress(
            "default",
            "web",
            "a.test",
            &[
                ("auth-tls-secret", "ca"),
                ("auth-tls-verify-client", "optional_no_ca"),
            ],
            &[("/", "Prefix")],
        )],
    );
    let (config, _) = f.config(&file, &[]);
    assert_eq!(config["rules"][0]["mode"], "Optional");
    assert_eq!(
        config["validation"],
        json!({"validateNotBefore": false, "validateNotAfter": false})
    );
    // --crl inlines the secret's ca.crl.
    let root = Ca::new("crl root");
    let crl = f
        .dir
        .write(
            "ca.crl",
            &root.crl(
                &[7],
                time::OffsetDateTime::now_utc() + time::Duration::days(3),
            ),
        )
        .display()
        .to_string();
    let ca = f
        .dir
        .write("root.crt", &root.cert_pem())
        .display()
        .to_string();
    let file = f.file(
        "crl.yaml",
        &[ingress(
            "default",
            "web",
            "a.test",
            &[("auth-tls-secret", "ca")],
            &[("/", "Prefix")],
        )],
    );
    let r = run(&[
        "import",
        "ingress-nginx",
        &file,
        "--config-only",
        "--ca",
        &ca,
        "--crl",
        &crl,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let config: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(config["validation"]["validateRevocation"], true);
    assert_eq!(config["validation"]["crls"].as_array().unwrap().len(), 1);
}

/// What cannot be translated is listed, one line each with its Ingress, and nothing is written
/// unless `--allow-partial`.
#[test]
fn annotations_that_cannot_be_translated_are_listed_and_stop_the_import() {
    let f = Fixture::new("import-partial");
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("auth-tls-secret", "other/ca")],
            "default/web: nginx.ingress.kubernetes.io/auth-tls-secret: \"other/ca\" is in another namespace",
        ),
        (
            &[
                ("auth-tls-secret", "ca"),
                ("configuration-snippet", "ssl_verify_depth 3;"),
            ],
            "default/web: nginx.ingress.kubernetes.io/configuration-snippet: nginx configuration is not translated",
        ),
        (
            &[
                ("auth-tls-secret", "ca"),
                ("auth-tls-error-page", "@fallback"),
            ],
            "default/web: nginx.ingress.kubernetes.io/auth-tls-error-page: a named nginx location cannot be reached from Envoy",
        ),
        (
            &[
                ("auth-tls-secret", "ca"),
                ("auth-tls-match-cn", "O=Contoso"),
            ],
            "default/web: nginx.ingress.kubernetes.io/auth-tls-match-cn: \"O=Contoso\" does not start with CN=, which ingress-nginx refuses too",
        ),
        (
            &[("auth-tls-secret", "ca"), ("auth-tls-verify-mode", "x")],
            "default/web: nginx.ingress.kubernetes.io/auth-tls-verify-mode: unknown to this importer",
        ),
    ];
    for (i, (annotations, line)) in cases.iter().enumerate() {
        let file = f.file(
            &format!("p{i}.yaml"),
            &[ingress(
                "default",
                "web",
                "a.test",
                annotations,
                &[("/", "Prefix")],
            )],
        );
        let r = run(&["import", "ingress-nginx", &file, "--ca", &f.ca]);
        assert_eq!(r.code, 1, "{annotations:?}: {}", r.stderr);
        assert_eq!(r.stdout, "", "nothing is written half");
        assert!(
            r.stderr.contains(&format!("not translated: {line}")),
            "{}",
            r.stderr
        );
        let partial = run(&[
            "import",
            "ingress-nginx",
            &file,
            "--ca",
            &f.ca,
            "--allow-partial",
        ]);
        assert_eq!(partial.code, 0, "{}", partial.stderr);
        assert!(partial.stdout.contains("kind: EnvoyExtensionPolicy"));
    }
    // Two Ingresses with different CA secrets: the filter has one trust store.
    let a = ingress(
        "default",
        "a",
        "a.test",
        &[("auth-tls-secret", "ca-a")],
        &[("/a", "Prefix")],
    );
    let b = ingress(
        "default",
        "b",
        "a.test",
        &[("auth-tls-secret", "ca-b"), ("auth-tls-verify-depth", "3")],
        &[("/b", "Prefix")],
    );
    let r = run(&[
        "import",
        "ingress-nginx",
        &f.file("two.yaml", &[a, b]),
        "--ca",
        &f.ca,
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not translated: default/b: nginx.ingress.kubernetes.io/auth-tls-secret: differs from default/a's"), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "not translated: default/b: nginx.ingress.kubernetes.io/auth-tls-verify-depth: differs"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn input_that_is_not_an_ingress_is_refused_naming_the_document_and_field() {
    let f = Fixture::new("import-bad");
    let good = ingress(
        "default",
        "web",
        "a.test",
        &[("auth-tls-secret", "ca")],
        &[("/", "Prefix")],
    );
    let cases = [
        (
            "notyaml.yaml",
            "a: [b\n".to_string(),
            "notyaml.yaml: not YAML",
        ),
        (
            "scalar.yaml",
            "just text\n".to_string(),
            "document 1: (document): not a Kubernetes object",
        ),
        (
            "nokind.yaml",
            format!("{good}---\napiVersion: v1\nmetadata: {{name: x}}\n"),
            "document 2: kind: missing: not a Kubernetes object",
        ),
        (
            "pathtype.yaml",
            good.replace("pathType: Prefix", "pathType: Regex"),
            "document 1: spec.rules[0].http.paths[0].pathType: \"Regex\" is not Exact, Prefix or ImplementationSpecific",
        ),
        (
            "nopathtype.yaml",
            good.replace("        pathType: Prefix\n", ""),
            "document 1: spec.rules[0].http.paths[0].pathType: missing",
        ),
        (
            "beta.yaml",
            good.replace("networking.k8s.io/v1", "extensions/v1beta1"),
            "document 1: apiVersion: \"extensions/v1beta1\": only networking.k8s.io/v1 Ingresses are read",
        ),
        (
            "annot.yaml",
            good.replace("auth-tls-secret: \"ca\"", "auth-tls-secret: [ca]"),
            "metadata.annotations[\"nginx.ingress.kubernetes.io/auth-tls-secret\"]: expected a string, found a list",
        ),
        (
            "service.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n".to_string(),
            "no Ingress in the input",
        ),
        (
            "noauth.yaml",
            ingress("default", "web", "a.test", &[], &[("/", "Prefix")]),
            "no Ingress has nginx.ingress.kubernetes.io/auth-tls-secret",
        ),
    ];
    for (name, text, message) in cases {
        let file = f.dir.write(name, &text).display().to_string();
        let r = run(&["import", "ingress-nginx", &file, "--ca", &f.ca]);
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{name}: nothing is written half");
        assert!(r.stderr.contains(message), "{name}: {}", r.stderr);
    }
    let r = run(&[
        "import",
        "ingress-nginx",
        &f.file("ok.yaml", &[good]),
        "--target",
        "nginx",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("--target: \"nginx\" is not envoy-gateway or istio"),
        "{}",
        r.stderr
    );
}

fn documents(yaml: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(yaml).unwrap()
}

/// The plugin configuration inside a manifest, back as JSON.
fn json_of(y: &Yaml) -> Value {
    match y {
        Yaml::String(s) => json!(s),
        Yaml::Integer(i) => json!(i),
        Yaml::Boolean(b) => json!(b),
        Yaml::Array(items) => Value::Array(items.iter().map(json_of).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.as_str().unwrap().to_string(), json_of(v)))
                .collect(),
        ),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn manifests_for_envoy_gateway_and_istio_carry_the_same_configuration() {
    let f = Fixture::new("import-manifests");
    let mut annotations = vec![
        ("auth-tls-secret", "ca-secret"),
        ("auth-tls-match-cn", "CN=(a|b)"),
    ];
    annotations.push(("auth-tls-verify-client", "on"));
    let mut doc = ingress(
        "shop",
        "web",
        "shop.example.com",
        &annotations,
        &[("/", "Prefix")],
    );
    doc.push_str("  tls:\n  - hosts: [shop.example.com]\n    secretName: shop-tls\n");
    let file = f.file("web.yaml", &[doc]);
    let (config, _) = f.config(&file, &[]);
    let eg = run(&[
        "import",
        "ingress-nginx",
        &file,
        "--ca",
        &f.ca,
        "--gateway",
        "public",
        "--image",
        "ghcr.io/x/client-cert-auth:1",
    ]);
    assert_eq!(eg.code, 0, "{}", eg.stderr);
    let docs = documents(&eg.stdout);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ClientTrafficPolicy", "EnvoyExtensionPolicy"]);
    let ctp = &docs[0]["spec"];
    assert_eq!(ctp["targetRefs"][0]["name"].as_str(), Some("public"));
    assert_eq!(
        ctp["tls"]["clientValidation"]["optional"].as_bool(),
        Some(true)
    );
    assert_eq!(
        ctp["tls"]["clientValidation"]["caCertificateRefs"][0]["name"].as_str(),
        Some("ca-secret")
    );
    let wasm = &docs[1]["spec"]["wasm"][0];
    assert_eq!(
        wasm["code"]["image"]["url"].as_str(),
        Some("ghcr.io/x/client-cert-auth:1")
    );
    assert_eq!(wasm["failOpen"].as_bool(), Some(false));
    assert_eq!(
        json_of(&wasm["config"]),
        config,
        "the same configuration, as YAML"
    );
    assert_eq!(docs[0]["metadata"]["namespace"].as_str(), Some("shop"));

    let istio = run(&[
        "import",
        "ingress-nginx",
        &file,
        "--ca",
        &f.ca,
        "--target",
        "istio",
    ]);
    assert_eq!(istio.code, 0, "{}", istio.stderr);
    let docs = documents(&istio.stdout);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Gateway", "WasmPlugin"]);
    let server = &docs[0]["spec"]["servers"][0];
    assert_eq!(server["tls"]["mode"].as_str(), Some("OPTIONAL_MUTUAL"));
    assert_eq!(server["tls"]["credentialName"].as_str(), Some("shop-tls"));
    assert_eq!(server["hosts"][0].as_str(), Some("shop.example.com"));
    assert_eq!(docs[1]["spec"]["failStrategy"].as_str(), Some("FAIL_CLOSE"));
    assert_eq!(json_of(&docs[1]["spec"]["pluginConfig"]), config);
    assert!(
        istio
            .stderr
            .contains("create secret shop-tls-cacert with key ca.crt from secret ca-secret"),
        "{}",
        istio.stderr
    );

    // Without --ca, a placeholder the plugin refuses, said on standard error.
    let r = run(&["import", "ingress-nginx", &file, "--config-only"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("REPLACE-WITH-ca.crt-OF-SECRET-ca-secret"));
    assert!(
        r.stderr.contains("note: the CA is a placeholder"),
        "{}",
        r.stderr
    );
    let placeholder = f
        .dir
        .write("placeholder.json", &r.stdout)
        .display()
        .to_string();
    assert_eq!(
        run(&["lint", &placeholder]).code,
        2,
        "the placeholder never runs"
    );
}

/// The example of docs/migrating-from-ingress-nginx.md and the README is the importer's exact
/// output for the Ingress the page shows.
#[test]
fn the_documented_example_is_the_exact_output() {
    let repo = testkit::envoy::repo();
    let page = std::fs::read_to_string(repo.join("docs/migrating-from-ingress-nginx.md")).unwrap();
    let after = |text: &str, marker: &str| -> String {
        let start = text.find(marker).unwrap_or_else(|| panic!("no {marker:?}")) + marker.len();
        let end = text[start..].find("```").unwrap();
        text[start..start + end].to_string()
    };
    let yaml = after(&page, "The `ingress.yaml` of this example:\n\n```yaml\n");
    let shown = after(
        &page,
        "$ client-cert-auth import ingress-nginx ingress.yaml --config-only\n",
    );
    let dir = TempDir::new("import-doc");
    let file = dir.write("ingress.yaml", &yaml).display().to_string();
    let r = run(&["import", "ingress-nginx", &file, "--config-only"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, shown, "docs/migrating-from-ingress-nginx.md");
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let in_readme = after(&readme, "import ingress-nginx ingress.yaml --config-only\n");
    assert_eq!(r.stdout, in_readme, "README.md");
}
