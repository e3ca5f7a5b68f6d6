//! The importers, run as a user runs them.
//!
//! `client-cert-auth import ingress-nginx`: realistic Ingress manifests in, the plugin
//! configuration (checked by the filter's own parser) and Envoy Gateway or Istio manifests out;
//! what ingress-nginx itself falls back on or refuses; annotations that cannot be translated;
//! input that is not an Ingress. `import app-service`: `az webapp show` / `list`, an ARM
//! template and resource, `terraform show -json` of a state and a plan; Azure's defaults and
//! modes; expressions never guessed; input that is no site. `import apim`: a policy document
//! with its sections and other policies; every attribute; what has no counterpart; XML that is
//! not a policy. Then every importer's output against the JSON Schema and `lint`, and the
//! documented examples against the real output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::cli::{Run, run};

use serde_json::{Value, json};
use testkit::envoy::TempDir;
use testkit::pki::Ca;
use yaml_rust2::{Yaml, YamlLoader};

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
        self.path(name, &docs.join("---\n"))
    }

    /// Writes `contents` to `name` in the fixture's folder: its path.
    fn path(&self, name: &str, contents: &str) -> String {
        self.dir.write(name, contents).display().to_string()
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
    // A plain CN=name is one whole CN attribute, the pattern bound at both ends, said on
    // standard error.
    assert_eq!(
        rule(&config, "shop-app-1-0")["identities"],
        json!([{"subjectPattern": "^(.*[^\\\\][,+])?CN=alice([,+].*)?$"}])
    );
    assert!(
        notes.contains("is the subjectPattern \"^(.*[^\\\\][,+])?CN=alice([,+].*)?$\": a CN attribute must be exactly \"alice\""),
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
    let out = f.path("config.json", &config.to_string());
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

/// `CN= admin` (a space at an end) is not a plain common name: the commonName identity
/// compares after trimming and would admit `CN=admin`, which nginx's pattern refuses.
#[test]
fn a_cn_with_a_space_at_an_end_stays_a_subject_pattern() {
    let f = Fixture::new("cn-space");
    for cn in ["CN= admin", "CN=admin "] {
        let doc = ingress(
            "shop",
            "app",
            "shop.example.com",
            &[("auth-tls-secret", "ca-secret"), ("auth-tls-match-cn", cn)],
            &[("/", "Prefix")],
        );
        let file = f.file("space.yaml", &[doc]);
        let (config, _) = f.config(&file, &[]);
        assert_eq!(
            rule(&config, "shop-app-0-0")["identities"],
            json!([{ "subjectPattern": cn }]),
            "{cn:?}"
        );
    }
}

/// `CN=alice` admits exactly a CN attribute `alice`, wherever it is in the subject: not ` alice`
/// (nginx prints `CN=\ alice` and its pattern refuses it), nor `alice-evil`, nor `CN=alice`
/// inside another attribute's value.
#[test]
fn a_plain_match_cn_admits_exactly_that_common_name() {
    let f = Fixture::new("cn-exact");
    let doc = ingress(
        "shop",
        "app",
        "shop.example.com",
        &[
            ("auth-tls-secret", "ca-secret"),
            ("auth-tls-match-cn", "CN=alice"),
        ],
        &[("/", "Prefix")],
    );
    let file = f.file("exact.yaml", &[doc]);
    let (config, _) = f.config(&file, &[]);
    let identities = rule(&config, "shop-app-0-0")["identities"].clone();
    let only = f.path(
        "identities.json",
        &json!({"validation": {"identities": identities}}).to_string(),
    );
    let ca = Ca::new("cn exact");
    let subject = |attributes: &[(rcgen::DnType, &str)]| {
        let mut dn = rcgen::DistinguishedName::new();
        for (t, v) in attributes {
            dn.push(t.clone(), *v);
        }
        ca.client_with("unused", testkit::pki::Alg::EcdsaP256, |p| {
            p.distinguished_name = dn;
        })
    };
    use rcgen::DnType::{CommonName as Cn, OrganizationName as O};
    for (attributes, admitted) in [
        (&[(Cn, "alice")][..], true),
        (&[(Cn, "alice"), (O, "x")][..], true),
        (&[(O, "x"), (Cn, "alice")][..], true),
        (&[(Cn, " alice")][..], false),
        (&[(Cn, "alice ")][..], false),
        (&[(Cn, "alice-evil")][..], false),
        (&[(O, "x,CN=alice")][..], false),
        (&[(Cn, "bob"), (O, "CN=alice")][..], false),
    ] {
        let cert = f.path("leaf.pem", &subject(attributes).cert_pem);
        let r = run(&["check", "--config", &only, "--cert", &cert]);
        assert_eq!(
            r.stdout.starts_with("decision: deny"),
            !admitted,
            "{attributes:?}: {}",
            r.stdout
        );
    }
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
    let crl = f.path(
        "ca.crl",
        &root.crl(
            &[7],
            time::OffsetDateTime::now_utc() + time::Duration::days(3),
        ),
    );
    let ca = f.path("root.crt", &root.cert_pem());
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
    let placeholder = f.path("placeholder.json", &r.stdout);
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

// ---------------------------------------------------------------------------------------------
// `import app-service`: az webapp show / list, ARM templates and resources, terraform show -json.

/// `az webapp show` as the CLI prints it: the settings at the top level, among many others.
const AZ_WEBAPP_SHOW: &str = r#"{
  "availabilityState": "Normal",
  "clientAffinityEnabled": true,
  "clientCertEnabled": true,
  "clientCertExclusionPaths": "/health;/public",
  "clientCertMode": "Required",
  "containerSize": 0,
  "customDomainVerificationId": "9B3C7C5E1F0A4D2B8E6F",
  "dailyMemoryTimeQuota": 0,
  "defaultHostName": "contoso-api.azurewebsites.net",
  "enabled": true,
  "enabledHostNames": ["contoso-api.azurewebsites.net", "contoso-api.scm.azurewebsites.net"],
  "hostNameSslStates": [{"hostType": "Standard", "name": "contoso-api.azurewebsites.net", "sslState": "Disabled"}],
  "httpsOnly": true,
  "hyperV": false,
  "id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/contoso-rg/providers/Microsoft.Web/sites/contoso-api",
  "identity": null,
  "isXenon": false,
  "kind": "app,linux",
  "lastModifiedTimeUtc": "2026-11-30T09:12:44.873333",
  "location": "West Europe",
  "name": "contoso-api",
  "outboundIpAddresses": "20.50.2.1,20.50.2.2",
  "redundancyMode": "None",
  "repositorySiteName": "contoso-api",
  "reserved": true,
  "resourceGroup": "contoso-rg",
  "scmSiteAlsoStopped": false,
  "serverFarmId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/contoso-rg/providers/Microsoft.Web/serverfarms/contoso-plan",
  "siteConfig": {"alwaysOn": true, "http20Enabled": true, "linuxFxVersion": "DOTNETCORE|8.0", "minTlsVersion": "1.2"},
  "state": "Running",
  "tags": {"env": "prod"},
  "type": "Microsoft.Web/sites",
  "usageState": "Normal",
  "vnetRouteAllEnabled": false
}"#;

/// An ARM template: an App Service plan, a site with a slot (a child resource, which names no
/// clientCertEnabled: Azure's default is false) and a site whose name and mode are parameters.
const ARM_TEMPLATE: &str = r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "ordersSiteName": {"type": "string"},
    "certMode": {"type": "string", "defaultValue": "Required", "allowedValues": ["Required", "Optional"]}
  },
  "variables": {"planName": "contoso-plan"},
  "resources": [
    {
      "type": "Microsoft.Web/serverfarms",
      "apiVersion": "2022-09-01",
      "name": "[variables('planName')]",
      "location": "[resourceGroup().location]",
      "sku": {"name": "P1v3"},
      "kind": "linux",
      "properties": {"reserved": true}
    },
    {
      "type": "Microsoft.Web/sites",
      "apiVersion": "2022-09-01",
      "name": "contoso-shop",
      "location": "[resourceGroup().location]",
      "dependsOn": ["[resourceId('Microsoft.Web/serverfarms', variables('planName'))]"],
      "properties": {
        "serverFarmId": "[resourceId('Microsoft.Web/serverfarms', variables('planName'))]",
        "httpsOnly": true,
        "clientCertEnabled": true,
        "clientCertMode": "OptionalInteractiveUser",
        "clientCertExclusionPaths": "/health,/.well-known",
        "siteConfig": {"http20Enabled": true, "minTlsVersion": "1.2"}
      },
      "resources": [
        {
          "type": "slots",
          "apiVersion": "2022-09-01",
          "name": "staging",
          "location": "[resourceGroup().location]",
          "dependsOn": ["[resourceId('Microsoft.Web/sites', 'contoso-shop')]"],
          "properties": {"clientCertMode": "Required"}
        }
      ]
    },
    {
      "type": "Microsoft.Web/sites",
      "apiVersion": "2022-09-01",
      "name": "[parameters('ordersSiteName')]",
      "location": "[resourceGroup().location]",
      "properties": {
        "clientCertEnabled": true,
        "clientCertMode": "[parameters('certMode')]"
      }
    }
  ]
}"#;

/// `terraform show -json` of a state: a resource group, a Linux web app in the root module, a
/// data source, and a Windows web app and a function app in a module.
const TERRAFORM_SHOW: &str = r#"{
  "format_version": "1.0",
  "terraform_version": "1.9.5",
  "values": {
    "root_module": {
      "resources": [
        {
          "address": "azurerm_resource_group.main", "mode": "managed", "type": "azurerm_resource_group",
          "name": "main", "provider_name": "registry.terraform.io/hashicorp/azurerm", "schema_version": 0,
          "values": {"id": "/subscriptions/0000/resourceGroups/contoso-rg", "location": "westeurope", "name": "contoso-rg", "tags": {}},
          "sensitive_values": {"tags": {}}
        },
        {
          "address": "azurerm_linux_web_app.portal", "mode": "managed", "type": "azurerm_linux_web_app",
          "name": "portal", "provider_name": "registry.terraform.io/hashicorp/azurerm", "schema_version": 1,
          "values": {
            "app_settings": {"WEBSITE_RUN_FROM_PACKAGE": "1"},
            "client_affinity_enabled": false,
            "client_certificate_enabled": true,
            "client_certificate_exclusion_paths": "",
            "client_certificate_mode": "Required",
            "enabled": true,
            "https_only": true,
            "location": "westeurope",
            "name": "contoso-portal",
            "resource_group_name": "contoso-rg",
            "site_config": [{"always_on": true, "http2_enabled": true, "minimum_tls_version": "1.2"}],
            "tags": {}
          },
          "sensitive_values": {"app_settings": {}, "site_config": [{}], "tags": {}}
        },
        {
          "address": "data.azurerm_linux_web_app.legacy", "mode": "data", "type": "azurerm_linux_web_app",
          "name": "legacy", "provider_name": "registry.terraform.io/hashicorp/azurerm", "schema_version": 0,
          "values": {"name": "contoso-legacy", "client_certificate_enabled": false, "client_certificate_mode": "Required"}
        }
      ],
      "child_modules": [
        {
          "address": "module.orders",
          "resources": [
            {
              "address": "module.orders.azurerm_windows_web_app.this", "mode": "managed", "type": "azurerm_windows_web_app",
              "name": "this", "provider_name": "registry.terraform.io/hashicorp/azurerm", "schema_version": 1,
              "values": {
                "client_certificate_enabled": true,
                "client_certificate_exclusion_paths": "/health;/swagger",
                "client_certificate_mode": "Optional",
                "name": "contoso-orders",
                "site_config": [{"http2_enabled": false}]
              }
            },
            {
              "address": "module.orders.azurerm_linux_function_app.jobs", "mode": "managed", "type": "azurerm_linux_function_app",
              "name": "jobs", "provider_name": "registry.terraform.io/hashicorp/azurerm", "schema_version": 0,
              "values": {
                "client_certificate_enabled": false,
                "client_certificate_exclusion_paths": null,
                "client_certificate_mode": "Optional",
                "name": "contoso-jobs"
              }
            }
          ]
        }
      ]
    }
  }
}"#;

fn import_app_service(dir: &TempDir, name: &str, text: &str, extra: &[&str]) -> Run {
    let file = dir.write(name, text).display().to_string();
    let mut args = vec!["import", "app-service", file.as_str()];
    args.extend_from_slice(extra);
    run(&args)
}

/// `lint` accepts a configuration (written to `dir`).
fn lints(dir: &TempDir, name: &str, config: &Value) -> String {
    let path = dir.write(name, &config.to_string()).display().to_string();
    let lint = run(&["lint", &path]);
    assert_eq!(lint.code, 0, "{config}: {}", lint.stderr);
    lint.stdout
}

#[test]
fn az_webapp_show_becomes_the_sites_configuration_with_app_services_answer() {
    let dir = TempDir::new("import-az");
    let r = import_app_service(&dir, "site.json", AZ_WEBAPP_SHOW, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let config: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        config,
        json!({
            "clientCertEnabled": true,
            "clientCertMode": "Required",
            "clientCertExclusionPaths": "/health;/public",
            "responses": {"preset": "appService"}
        })
    );
    assert!(
        r.stderr.contains(
            "note: contoso-api: exclusion paths match whole segments here (/health excludes"
        ),
        "{}",
        r.stderr
    );
    let lint = lints(&dir, "config.json", &config);
    assert!(lint.contains("exclusion paths: /health, /public"), "{lint}");

    // Azure's meaning, setting by setting: disabled whatever the mode, absent is Azure's
    // default (disabled; Required), a mode in another case is written in Azure's.
    let with = |changes: &[(&str, Value)]| -> String {
        let mut site: Value = serde_json::from_str(AZ_WEBAPP_SHOW).unwrap();
        for (k, v) in changes {
            match v {
                Value::Null => {
                    site.as_object_mut().unwrap().remove(*k);
                }
                v => site[*k] = v.clone(),
            }
        }
        site.to_string()
    };
    let table: [(&[(&str, Value)], Value); 6] = [
        (
            &[
                ("clientCertEnabled", json!(false)),
                ("clientCertMode", json!("Required")),
            ],
            json!({"clientCertEnabled": false, "clientCertMode": "Required"}),
        ),
        (
            &[
                ("clientCertEnabled", Value::Null),
                ("clientCertMode", Value::Null),
            ],
            json!({"clientCertEnabled": false, "clientCertMode": "Required"}),
        ),
        (
            &[("clientCertMode", json!("optional"))],
            json!({"clientCertEnabled": true, "clientCertMode": "Optional"}),
        ),
        (
            &[("clientCertMode", json!("OptionalInteractiveUser"))],
            json!({"clientCertEnabled": true, "clientCertMode": "OptionalInteractiveUser"}),
        ),
        (
            &[("clientCertMode", json!(null))],
            json!({"clientCertEnabled": true, "clientCertMode": "Required"}),
        ),
        (
            &[("clientCertExclusionPaths", json!(null))],
            json!({"clientCertEnabled": true, "clientCertMode": "Required"}),
        ),
    ];
    for (i, (changes, expected)) in table.iter().enumerate() {
        let r = import_app_service(&dir, &format!("s{i}.json"), &with(changes), &[]);
        assert_eq!(r.code, 0, "{changes:?}: {}", r.stderr);
        let mut config: Value = serde_json::from_str(&r.stdout).unwrap();
        config.as_object_mut().unwrap().remove("responses");
        if changes
            .iter()
            .any(|(k, _)| *k == "clientCertExclusionPaths")
        {
            assert_eq!(&config, expected, "{changes:?}");
        } else {
            config
                .as_object_mut()
                .unwrap()
                .remove("clientCertExclusionPaths");
            assert_eq!(&config, expected, "{changes:?}");
        }
        let lint = lints(&dir, &format!("c{i}.json"), &config);
        if expected["clientCertEnabled"] == false {
            assert!(lint.contains("mode: Ignore"), "{lint}");
        }
    }
    // `az webapp list`: an array of sites, one configuration each, keyed by name.
    let mut other: Value = serde_json::from_str(AZ_WEBAPP_SHOW).unwrap();
    other["name"] = json!("contoso-admin");
    other["clientCertMode"] = json!("Optional");
    let list = json!([
        serde_json::from_str::<Value>(AZ_WEBAPP_SHOW).unwrap(),
        other
    ]);
    let r = import_app_service(&dir, "list.json", &list.to_string(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let configs: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(configs["contoso-api"]["clientCertMode"], "Required");
    assert_eq!(configs["contoso-admin"]["clientCertMode"], "Optional");
    assert!(
        r.stderr.contains("2 sites: the output is an object"),
        "{}",
        r.stderr
    );
    let r = import_app_service(
        &dir,
        "list.json",
        &list.to_string(),
        &["--site", "contoso-admin"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let one: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        one, configs["contoso-admin"],
        "--site prints one configuration alone"
    );
    let r = import_app_service(&dir, "list.json", &list.to_string(), &["--site", "nope"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--site: no site \"nope\" in")
            && r.stderr.contains("\"contoso-admin\", \"contoso-api\""),
        "{}",
        r.stderr
    );
}

#[test]
fn an_arm_template_gives_one_configuration_per_site_and_never_guesses_an_expression() {
    let dir = TempDir::new("import-arm");
    let r = import_app_service(&dir, "azuredeploy.json", ARM_TEMPLATE, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout, "", "nothing is written half");
    assert!(
        r.stderr.contains(
            "not translated: [parameters('ordersSiteName')]: clientCertMode: \"[parameters('certMode')]\" is an ARM template expression, not evaluated here"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("1 setting(s) not translated; nothing written"),
        "{}",
        r.stderr
    );

    let r = import_app_service(&dir, "azuredeploy.json", ARM_TEMPLATE, &["--allow-partial"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let configs: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        configs,
        json!({
            "contoso-shop": {
                "clientCertEnabled": true,
                "clientCertMode": "OptionalInteractiveUser",
                "clientCertExclusionPaths": "/health,/.well-known",
                "responses": {"preset": "appService"}
            },
            // A slot is a child resource; no clientCertEnabled is Azure's default, false.
            "contoso-shop/staging": {
                "clientCertEnabled": false,
                "clientCertMode": "Required",
                "responses": {"preset": "appService"}
            },
            // The mode left out: the plugin's default, Required, the strictest.
            "[parameters('ordersSiteName')]": {
                "clientCertEnabled": true,
                "responses": {"preset": "appService"}
            }
        })
    );
    assert!(
        r.stderr
            .contains("note: contoso-shop: OptionalInteractiveUser is Optional at the HTTP layer"),
        "{}",
        r.stderr
    );
    for (name, config) in configs.as_object().unwrap() {
        lints(&dir, &format!("{}.json", name.len()), config);
    }
    // Language version 2.0 (resources as an object of symbolic names) and a nested
    // deployment's inline template.
    let v2 = json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "languageVersion": "2.0",
        "contentVersion": "1.0.0.0",
        "resources": {
            "shop": {"type": "Microsoft.Web/sites", "apiVersion": "2022-09-01", "name": "contoso-shop",
                     "properties": {"clientCertEnabled": true, "clientCertMode": "Optional"}},
            "nested": {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner",
                       "properties": {"mode": "Incremental", "template": {"resources": [
                           {"type": "Microsoft.Web/sites", "apiVersion": "2022-09-01", "name": "contoso-inner",
                            "properties": {"clientCertEnabled": false}}
                       ]}}}
        }
    });
    let r = import_app_service(&dir, "v2.json", &v2.to_string(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v2: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v2["contoso-shop"]["clientCertMode"], "Optional");
    assert_eq!(v2["contoso-inner"]["clientCertEnabled"], false);
    // A single ARM resource (`az resource show`, or one taken from a template).
    let template: Value = serde_json::from_str(ARM_TEMPLATE).unwrap();
    let resource = template["resources"][1].clone();
    let r = import_app_service(&dir, "resource.json", &resource.to_string(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let both: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(both["contoso-shop"], configs["contoso-shop"]);
    assert_eq!(
        both["contoso-shop/staging"], configs["contoso-shop/staging"],
        "its slot too"
    );
    // `[[` is ARM's escape for a literal `[`: not an expression.
    let mut escaped = resource.clone();
    escaped["properties"]["clientCertExclusionPaths"] = json!("[[parameters('x')]");
    let r = import_app_service(
        &dir,
        "escaped.json",
        &escaped.to_string(),
        &["--site", "contoso-shop"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "not translated: contoso-shop: clientCertExclusionPaths: entry \"[parameters('x')]\""
        ),
        "the literal is an entry, refused by the filter as a path: {}",
        r.stderr
    );
}

#[test]
fn terraform_show_json_is_read_through_its_modules() {
    let dir = TempDir::new("import-terraform");
    let r = import_app_service(&dir, "state.json", TERRAFORM_SHOW, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let configs: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        configs,
        json!({
            "contoso-portal": {
                "clientCertEnabled": true,
                "clientCertMode": "Required",
                "responses": {"preset": "appService"}
            },
            "contoso-orders": {
                "clientCertEnabled": true,
                "clientCertMode": "Optional",
                "clientCertExclusionPaths": "/health;/swagger",
                "responses": {"preset": "appService"}
            },
            "contoso-jobs": {
                "clientCertEnabled": false,
                "clientCertMode": "Optional",
                "responses": {"preset": "appService"}
            }
        })
    );
    assert!(
        r.stderr
            .contains("note: data.azurerm_linux_web_app.legacy: a data source skipped"),
        "{}",
        r.stderr
    );
    for (i, config) in configs.as_object().unwrap().values().enumerate() {
        lints(&dir, &format!("tf{i}.json"), config);
    }
    // A plan: a value known only after apply is never guessed.
    let mut plan: Value = serde_json::from_str(TERRAFORM_SHOW).unwrap();
    plan["planned_values"] = plan["values"].take();
    plan.as_object_mut().unwrap().remove("values");
    plan["planned_values"]["root_module"]["resources"][1]["values"]
        .as_object_mut()
        .unwrap()
        .remove("client_certificate_exclusion_paths");
    plan["resource_changes"] = json!([{
        "address": "azurerm_linux_web_app.portal",
        "change": {"actions": ["create"], "after_unknown": {"client_certificate_exclusion_paths": true, "id": true}}
    }]);
    let r = import_app_service(&dir, "plan.json", &plan.to_string(), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("not translated: contoso-portal: client_certificate_exclusion_paths: known only after apply"),
        "{}",
        r.stderr
    );
    // The older azurerm_app_service.
    let old = json!({"format_version": "1.0", "values": {"root_module": {"resources": [{
        "address": "azurerm_app_service.legacy", "mode": "managed", "type": "azurerm_app_service",
        "values": {"name": "contoso-legacy", "client_cert_enabled": true, "client_cert_mode": "Optional"}
    }]}}});
    let r = import_app_service(&dir, "old.json", &old.to_string(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let config: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(config["clientCertEnabled"], true);
    assert_eq!(config["clientCertMode"], "Optional");
}

/// Azure Resource Manager's property names are case-insensitive: `Properties` and
/// `ClientCertEnabled` are read, never taken as absent (Azure's default, disabled); two
/// spellings of one name are refused.
#[test]
fn arm_property_names_are_read_in_any_case() {
    let dir = TempDir::new("import-arm-case");
    let template = json!({"resources": [
        {"Type": "Microsoft.Web/sites", "Name": "app1",
         "Properties": {"ClientCertEnabled": true, "CLIENTCERTMODE": "Optional"}},
        {"type": "Microsoft.Web/sites", "name": "app3", "properties": {"clientCertEnabled": true}}
    ]});
    let r = import_app_service(&dir, "case.json", &template.to_string(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let configs: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(configs["app1"]["clientCertEnabled"], true, "{configs}");
    assert_eq!(configs["app1"]["clientCertMode"], "Optional");
    let nested = json!({"resources": [{"type": "Microsoft.Resources/deployments", "name": "d",
        "Properties": {"Template": {"Resources": [{"type": "Microsoft.Web/sites", "name": "app2",
            "properties": {"clientCertEnabled": true}}]}}}]});
    let r = import_app_service(&dir, "nested.json", &nested.to_string(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let config: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(config["clientCertEnabled"], true);
    let twice = r#"{"type": "Microsoft.Web/sites", "name": "app1", "properties": {"clientCertEnabled": true, "ClientCertEnabled": false}}"#;
    let r = import_app_service(&dir, "twice.json", twice, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("twice.json: properties.clientCertEnabled: given twice"),
        "{}",
        r.stderr
    );
    // The same key twice (serde_json would keep the last) is refused too.
    let dup = r#"{"type": "Microsoft.Web/sites", "name": "app1", "clientCertEnabled": true, "clientCertMode": "Required", "clientCertMode": "Optional"}"#;
    let r = import_app_service(&dir, "dup.json", dup, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("dup.json: the key \"clientCertMode\" twice in one object"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "");
}

/// A site declared `existing` is a reference to one deployed elsewhere: no configuration is
/// guessed for it.
#[test]
fn an_existing_arm_site_is_reported_not_guessed() {
    let dir = TempDir::new("import-arm-existing");
    let template = json!({"languageVersion": "2.0", "resources": {
        "site": {"type": "Microsoft.Web/sites", "name": "app1", "existing": true},
        "other": {"type": "Microsoft.Web/sites", "name": "app2", "properties": {"clientCertEnabled": true}}
    }});
    let r = import_app_service(&dir, "existing.json", &template.to_string(), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr
            .contains("not translated: app1: declared \"existing\""),
        "{}",
        r.stderr
    );
    let r = import_app_service(
        &dir,
        "existing.json",
        &template.to_string(),
        &["--allow-partial"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let config: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(config["clientCertEnabled"], true, "app2 alone: {config}");
    assert!(config.get("app1").is_none());
    // Nothing but an existing site: nothing to write, even with --allow-partial.
    let only =
        json!({"type": "Microsoft.Web/sites", "name": "app1", "existing": true, "properties": {}});
    let r = import_app_service(&dir, "only.json", &only.to_string(), &["--allow-partial"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout, "");
}

/// In an array each item has its own shape: `az resource show --ids a b` gives ARM resources,
/// `az webapp list` az webapp objects.
#[test]
fn an_array_is_read_item_by_item_as_arm_resources_or_az_objects() {
    let dir = TempDir::new("import-array");
    let list = json!([
        {"type": "Microsoft.Web/sites", "name": "app1",
         "properties": {"clientCertEnabled": true, "clientCertExclusionPaths": "/healthz"}},
        {"type": "Microsoft.Web/sites", "name": "app2", "clientCertEnabled": true, "clientCertMode": "Optional"}
    ]);
    let r = import_app_service(&dir, "list.json", &list.to_string(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let configs: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(configs["app1"]["clientCertEnabled"], true);
    assert_eq!(configs["app1"]["clientCertExclusionPaths"], "/healthz");
    assert_eq!(configs["app2"]["clientCertMode"], "Optional");
    // Both shapes in one object: which holds the settings is not known.
    let both = json!({"type": "Microsoft.Web/sites", "name": "app1", "clientCertEnabled": true, "properties": {}});
    let r = import_app_service(&dir, "both.json", &both.to_string(), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("both.json: clientCertEnabled: beside properties"),
        "{}",
        r.stderr
    );
}

/// An exclusion entry the filter would read more broadly than App Service (a trailing `/`,
/// which the filter ignores; a percent escape, which it decodes) is reported, never copied.
#[test]
fn an_exclusion_entry_the_filter_reads_more_broadly_is_reported() {
    let dir = TempDir::new("import-exclusion");
    let site = |paths: &str| {
        json!({"type": "Microsoft.Web/sites", "name": "app1", "clientCertEnabled": true,
               "clientCertExclusionPaths": paths})
        .to_string()
    };
    let r = import_app_service(&dir, "slash.json", &site("/admin/;/health"), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("not translated: app1: clientCertExclusionPaths: entry \"/admin/\": App Service excludes only paths starting with \"/admin/\"; here a trailing / is ignored, so it would also exclude \"/admin\""),
        "{}",
        r.stderr
    );
    let r = import_app_service(
        &dir,
        "slash.json",
        &site("/admin/;/health"),
        &["--allow-partial"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let config: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(config["clientCertExclusionPaths"], "/health");
    assert!(
        r.stderr
            .contains("(/health excludes /health and /health/... but not /healthx"),
        "{}",
        r.stderr
    );
    let r = import_app_service(&dir, "escaped.json", &site("/%61dmin"), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("not translated: app1: clientCertExclusionPaths: entry \"/%61dmin\": App Service compares it as written"),
        "{}",
        r.stderr
    );
    // `/` excludes every path in both: kept, and no note about segments.
    let r = import_app_service(&dir, "root.json", &site("/"), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("whole segments"), "{}", r.stderr);
}

/// A plan leaves out what is not known before apply: an absent attribute is unknown, with or
/// without resource_changes, never Azure's default.
#[test]
fn an_attribute_absent_from_a_plan_is_unknown() {
    let dir = TempDir::new("import-plan-absent");
    let plan = json!({"format_version": "1.2", "planned_values": {"root_module": {"resources": [{
        "address": "azurerm_linux_web_app.app", "mode": "managed", "type": "azurerm_linux_web_app",
        "values": {"name": "app1", "client_certificate_mode": "Required", "client_certificate_exclusion_paths": null}
    }]}}});
    let r = import_app_service(&dir, "plan.json", &plan.to_string(), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("not translated: app1: client_certificate_enabled: absent from this plan's planned values"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("client_certificate_exclusion_paths"),
        "null is known (unset): {}",
        r.stderr
    );
}

#[test]
fn input_that_is_no_app_service_site_is_refused_naming_the_file_and_field() {
    let dir = TempDir::new("import-az-bad");
    let mut tf_bad: Value = serde_json::from_str(TERRAFORM_SHOW).unwrap();
    tf_bad["values"]["root_module"]["child_modules"][0]["resources"][0]["values"]["client_certificate_mode"] =
        json!("Sometimes");
    let mut arm_bad: Value = serde_json::from_str(ARM_TEMPLATE).unwrap();
    arm_bad["resources"][1]["properties"]["clientCertEnabled"] = json!("yes");
    let cases = [
        ("notjson.json", "{\"name\": ".to_string(), "notjson.json: not JSON"),
        (
            "other.json",
            json!({"kind": "Deployment", "spec": {}}).to_string(),
            "other.json: not the JSON of `az webapp show`, an ARM template or resource, or `terraform show -json`",
        ),
        (
            "storage.json",
            json!({"type": "Microsoft.Storage/storageAccounts", "name": "x"}).to_string(),
            "storage.json: type: \"Microsoft.Storage/storageAccounts\" is not an App Service site",
        ),
        (
            "mode.json",
            AZ_WEBAPP_SHOW.replace("\"clientCertMode\": \"Required\"", "\"clientCertMode\": \"Sometimes\""),
            "mode.json: clientCertMode: unknown mode \"Sometimes\": App Service's are Required, Optional and OptionalInteractiveUser",
        ),
        (
            "ignore.json",
            AZ_WEBAPP_SHOW.replace("\"clientCertMode\": \"Required\"", "\"clientCertMode\": \"Ignore\""),
            "ignore.json: clientCertMode: unknown mode \"Ignore\"",
        ),
        (
            "tfmode.json",
            tf_bad.to_string(),
            "tfmode.json: values.root_module.child_modules[0].resources[0].values.client_certificate_mode: unknown mode \"Sometimes\"",
        ),
        (
            "armenabled.json",
            arm_bad.to_string(),
            "armenabled.json: resources[1].properties.clientCertEnabled: expected true or false, found a string",
        ),
        (
            "params.json",
            json!({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#", "resources": [], "parameters": {}}).to_string(),
            "params.json: an ARM parameters file, not a template",
        ),
        (
            "nosite.json",
            json!({"values": {"root_module": {"resources": [{"type": "azurerm_resource_group", "address": "azurerm_resource_group.main", "values": {}}]}}}).to_string(),
            "nosite.json: no App Service site",
        ),
    ];
    for (name, text, message) in cases {
        let r = import_app_service(&dir, name, &text, &[]);
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{name}: nothing is written half");
        assert!(r.stderr.contains(message), "{name}: {}", r.stderr);
    }
    // An exclusion path the filter refuses is reported and left out, the rest kept.
    let r = import_app_service(
        &dir,
        "relative.json",
        &AZ_WEBAPP_SHOW.replace("/health;/public", "/health;public"),
        &["--allow-partial"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("not translated: contoso-api: clientCertExclusionPaths: entry \"public\""),
        "{}",
        r.stderr
    );
    let config: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(config["clientCertExclusionPaths"], "/health");
}

// ---------------------------------------------------------------------------------------------
// `import apim`: API Management policy documents.

/// A policy as API Management exports it (format xml): inbound, backend, outbound and on-error
/// sections, other policies beside the validation, four identities (one with an expression,
/// one naming a stored certificate) and an expression reading the certificate elsewhere.
const APIM_POLICY: &str = r#"<!--
    Orders API: partners call with a client certificate issued by the Contoso CA.
-->
<policies>
    <inbound>
        <base />
        <rate-limit-by-key calls="100" renewal-period="60" counter-key="@(context.Subscription.Id)" />
        <validate-client-certificate
            validate-revocation="false"
            validate-trust="true"
            validate-not-before="true"
            validate-not-after="true"
            ignore-error="false">
            <identities>
                <identity thumbprint="8C:6E:27:4B:3A:01:92:5F:88:D1:0C:AA:42:7E:19:B6:5D:03:F1:C4" common-name="billing" />
                <identity issuer-subject="CN=Contoso Issuing CA, O=Contoso" dns-name="device-42.contoso.com" serial-number="0A1B2C" />
                <identity subject="@(context.Variables.GetValueOrDefault&lt;string&gt;(&quot;partner-subject&quot;))" />
                <identity common-name="reports" issuer-certificate-id="contoso-issuing-ca" />
            </identities>
        </validate-client-certificate>
        <set-header name="X-Client-Thumbprint" exists-action="override">
            <value>@(context.Request.Certificate?.Thumbprint ?? "")</value>
        </set-header>
        <set-backend-service backend-id="orders-backend" />
    </inbound>
    <backend>
        <forward-request timeout="30" />
    </backend>
    <outbound>
        <base />
        <set-header name="X-Powered-By" exists-action="delete" />
    </outbound>
    <on-error>
        <base />
    </on-error>
</policies>
"#;

fn import_apim(dir: &TempDir, name: &str, text: &str, extra: &[&str]) -> Run {
    let file = dir.write(name, text).display().to_string();
    let mut args = vec!["import", "apim", file.as_str()];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn an_apim_policy_becomes_the_validation_object_and_what_has_no_counterpart_is_listed() {
    let f = Fixture::new("import-apim");
    let r = import_apim(&f.dir, "policy.xml", APIM_POLICY, &["--ca", &f.ca]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout, "", "nothing is written half");
    for line in [
        "not translated: policies/inbound/validate-client-certificate/identities/identity[3]@subject: \"@(context.Variables.GetValueOrDefault<string>(\\\"partner-subject\\\"))\" is a policy expression, not evaluated here; the identity is left out (never loosened)",
        "not translated: policies/inbound/validate-client-certificate/identities/identity[4]@issuer-certificate-id: \"contoso-issuing-ca\" names a certificate stored in API Management",
        "not translated: policies/inbound/set-header/value: mentions Certificate",
        "client-cert-auth: 3 item(s) not translated; nothing written (--allow-partial writes the rest)",
    ] {
        assert!(r.stderr.contains(line), "{line}\n{}", r.stderr);
    }
    assert!(
        r.stderr
            .contains("note: policies/inbound/base: <base/> runs the enclosing scope's policies"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("policies/outbound/base"),
        "only inbound's base matters"
    );

    let r = import_apim(
        &f.dir,
        "policy.xml",
        APIM_POLICY,
        &["--ca", &f.ca, "--allow-partial"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let config: Value = serde_json::from_str(&r.stdout).unwrap();
    let v = &config["validation"];
    assert_eq!(
        v["identities"],
        json!([
            {"thumbprint": "8C:6E:27:4B:3A:01:92:5F:88:D1:0C:AA:42:7E:19:B6:5D:03:F1:C4", "commonName": "billing"},
            {"issuerSubject": "CN=Contoso Issuing CA, O=Contoso", "dnsName": "device-42.contoso.com", "serialNumber": "0A1B2C"}
        ]),
        "the two identities that translate, whole"
    );
    assert_eq!(v["validateNotBefore"], true);
    assert_eq!(v["validateNotAfter"], true);
    assert_eq!(v["validateTrust"], true);
    assert_eq!(v["validateRevocation"], false);
    assert_eq!(
        v["trustedCaCertificates"].as_array().unwrap().len(),
        1,
        "the self-signed root"
    );
    assert_eq!(v["intermediateCertificates"].as_array().unwrap().len(), 1);
    assert_eq!(config["clientCertMode"], "Required");
    assert_eq!(config["responses"], json!({"preset": "apim"}));
    assert_eq!(config["forward"], json!({"arrClientCert": false}));
    assert_eq!(config.get("reportOnly"), None);
    let lint = lints(&f.dir, "apim.json", &config);
    assert!(lint.contains("identities: 2"), "{lint}");

    // Without --ca: a placeholder the plugin refuses, said on standard error.
    let r = import_apim(&f.dir, "policy.xml", APIM_POLICY, &["--allow-partial"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("REPLACE-WITH-THE-CA-CERTIFICATES-OF-THE-API-MANAGEMENT-INSTANCE")
    );
    assert!(
        r.stderr.contains("note: the CA is a placeholder"),
        "{}",
        r.stderr
    );
    let placeholder = f.path("placeholder.json", &r.stdout);
    assert_eq!(
        run(&["lint", &placeholder]).code,
        2,
        "the placeholder never runs"
    );
}

/// (attributes, extra arguments, validateNotBefore / NotAfter / Trust / Revocation as written,
/// reportOnly, a not-translated line).
type AttributeCase<'a> = (
    &'a str,
    Vec<&'a str>,
    [Option<bool>; 4],
    bool,
    Option<&'a str>,
);

/// Each attribute on its own: API Management's defaults (every check on), revocation with and
/// without `--crl`, `ignore-error`, expressions, a check under `<choose>`.
#[test]
fn each_attribute_of_validate_client_certificate_maps_as_api_management_reads_it() {
    let f = Fixture::new("import-apim-attrs");
    let root = Ca::new("apim crl root");
    let crl = f.path(
        "ca.crl",
        &root.crl(
            &[7],
            time::OffsetDateTime::now_utc() + time::Duration::days(3),
        ),
    );
    let root_ca = f.path("root.pem", &root.cert_pem());
    let policy = |attributes: &str, identities: &str| {
        format!(
            "<policies><inbound><validate-client-certificate {attributes}><identities>{identities}</identities></validate-client-certificate></inbound></policies>"
        )
    };
    let cn = r#"<identity common-name="billing"/>"#;
    let table: [AttributeCase; 8] = [
        // API Management's defaults: all four checks, revocation fetched online.
        (
            "",
            vec!["--ca", &root_ca],
            [Some(true), Some(true), Some(true), None],
            false,
            Some(
                "validate-client-certificate@validate-revocation: API Management fetches the revocation lists",
            ),
        ),
        (
            "",
            vec!["--ca", &root_ca, "--crl", &crl],
            [Some(true), Some(true), Some(true), Some(true)],
            false,
            None,
        ),
        (
            r#"validate-revocation="false" validate-not-before="False" validate-not-after="FALSE""#,
            vec!["--ca", &root_ca],
            [Some(false), Some(false), Some(true), Some(false)],
            false,
            None,
        ),
        (
            r#"validate-revocation="false" validate-trust="false""#,
            vec![],
            [Some(true), Some(true), Some(false), Some(false)],
            false,
            None,
        ),
        (
            r#"validate-revocation="false" ignore-error="true""#,
            vec!["--ca", &root_ca],
            [Some(true), Some(true), Some(true), Some(false)],
            true,
            None,
        ),
        (
            r#"validate-revocation="false" validate-trust="false""#,
            vec!["--ca", &root_ca],
            [Some(true), Some(true), Some(false), Some(false)],
            false,
            Some(
                "--ca: policies/inbound/validate-client-certificate@validate-trust is false, so the CA certificates are not used",
            ),
        ),
        (
            r#"validate-revocation="false" validate-not-after="@(true)""#,
            vec!["--ca", &root_ca],
            [Some(true), None, Some(true), Some(false)],
            false,
            Some(
                "validate-client-certificate@validate-not-after: \"@(true)\" is a policy expression",
            ),
        ),
        (
            r#"validate-trust="false""#,
            vec!["--crl", &crl],
            [Some(true), Some(true), Some(false), None],
            false,
            Some("validate-revocation: \"true\" without validate-trust"),
        ),
    ];
    for (i, (attributes, extra, [nb, na, trust, revocation], report_only, lost)) in
        table.iter().enumerate()
    {
        let text = policy(attributes, cn);
        let mut args = extra.clone();
        args.push("--allow-partial");
        let r = import_apim(&f.dir, &format!("a{i}.xml"), &text, &args);
        assert_eq!(r.code, 0, "{attributes}: {}", r.stderr);
        let config: Value = serde_json::from_str(&r.stdout).unwrap();
        let v = &config["validation"];
        let got = |k: &str| v.get(k).and_then(Value::as_bool);
        assert_eq!(
            [
                got("validateNotBefore"),
                got("validateNotAfter"),
                got("validateTrust"),
                got("validateRevocation")
            ],
            [*nb, *na, *trust, *revocation],
            "{attributes} {extra:?}"
        );
        assert_eq!(v["identities"], json!([{"commonName": "billing"}]));
        assert_eq!(
            config.get("reportOnly").is_some(),
            *report_only,
            "{attributes}"
        );
        if *revocation == Some(true) {
            assert_eq!(v["crls"].as_array().unwrap().len(), 1);
        }
        match lost {
            Some(line) => {
                assert!(r.stderr.contains(line), "{attributes}: {}", r.stderr);
                let strict = import_apim(&f.dir, &format!("a{i}.xml"), &text, extra);
                assert_eq!(strict.code, 1, "{attributes}: {}", strict.stderr);
                assert_eq!(strict.stdout, "");
            }
            None => {
                assert!(
                    !r.stderr.contains("not translated"),
                    "{attributes}: {}",
                    r.stderr
                );
                lints(&f.dir, &format!("a{i}.json"), &config);
            }
        }
    }
    // ignore-error: API Management goes on after a failure; here that is report only.
    let r = import_apim(
        &f.dir,
        "ignore.xml",
        &policy(r#"validate-revocation="false" ignore-error="true""#, cn),
        &["--ca", &root_ca],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let config: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(config["reportOnly"], true);
    assert!(r.stderr.contains("here that is reportOnly"), "{}", r.stderr);
    // Under <choose>: applies only when its condition holds, translated as always.
    let chosen = format!(
        "<policies><inbound><choose><when condition=\"@(context.Request.Url.Path.StartsWith(&quot;/partners&quot;))\"><validate-client-certificate validate-revocation=\"false\"><identities>{cn}</identities></validate-client-certificate></when></choose></inbound></policies>"
    );
    let r = import_apim(&f.dir, "choose.xml", &chosen, &["--ca", &root_ca]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("not translated: policies/inbound/choose/when/validate-client-certificate: applies only under <choose> (\"@(context.Request.Url.Path.StartsWith(\\\"/partners\\\"))\")"),
        "{}",
        r.stderr
    );
    // Every identity left out: writing none would admit every certificate, so nothing is
    // written even with --allow-partial.
    let none = policy(
        r#"validate-revocation="false""#,
        r#"<identity issuer-certificate-id="ca-1"/><identity thumbprint="@(context.Variables[&quot;t&quot;])"/>"#,
    );
    let r = import_apim(
        &f.dir,
        "none.xml",
        &none,
        &["--ca", &root_ca, "--allow-partial"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains("no identity is left to translate"),
        "{}",
        r.stderr
    );
    // issuer-thumbprint needs the trust check here: its identity is left out without it.
    let issuer = policy(
        r#"validate-revocation="false" validate-trust="false""#,
        r#"<identity issuer-thumbprint="8C6E274B3A01925F88D10CAA427E19B65D03F1C4"/><identity common-name="billing"/>"#,
    );
    let r = import_apim(&f.dir, "issuer.xml", &issuer, &["--allow-partial"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("identity[1]@issuer-thumbprint: needs validate-trust here"),
        "{}",
        r.stderr
    );
    let config: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        config["validation"]["identities"],
        json!([{"commonName": "billing"}])
    );
}

#[test]
fn xml_that_is_not_a_policy_is_refused_naming_the_file_line_and_attribute() {
    let f = Fixture::new("import-apim-bad");
    let vcc = |attributes: &str, inner: &str| {
        format!(
            "<policies>\n<inbound>\n<validate-client-certificate {attributes}>{inner}</validate-client-certificate>\n</inbound>\n</policies>\n"
        )
    };
    let cases = [
        (
            "notxml.xml",
            "<policies><inbound></policies>".to_string(),
            "notxml.xml: not XML",
        ),
        (
            "config.xml",
            "<configuration><appSettings/></configuration>".to_string(),
            "config.xml: <configuration>: not an API Management policy document",
        ),
        (
            "none.xml",
            "<policies><inbound><base/></inbound></policies>".to_string(),
            "none.xml: no <validate-client-certificate> in the policy",
        ),
        (
            "bool.xml",
            vcc(r#"validate-not-after="yes""#, ""),
            "bool.xml line 3: policies/inbound/validate-client-certificate@validate-not-after: \"yes\" is not true or false",
        ),
        (
            "attr.xml",
            vcc(r#"validate-chain="true""#, ""),
            "attr.xml line 3: policies/inbound/validate-client-certificate@validate-chain: not an attribute of <validate-client-certificate>",
        ),
        (
            "identity-attr.xml",
            vcc("", r#"<identities><identity cn="billing"/></identities>"#),
            "policies/inbound/validate-client-certificate/identities/identity@cn: not an attribute of <identity>",
        ),
        (
            "thumb.xml",
            vcc(
                "",
                r#"<identities><identity thumbprint="8C6E27"/></identities>"#,
            ),
            "thumb.xml line 3: policies/inbound/validate-client-certificate/identities/identity: thumbprint",
        ),
        (
            "empty.xml",
            vcc("", "<identities><identity/></identities>"),
            "identity: an identity without attributes",
        ),
        (
            "element.xml",
            vcc("", "<trusted-issuers/>"),
            "validate-client-certificate/trusted-issuers: unknown element <trusted-issuers>",
        ),
        (
            "outbound.xml",
            "<policies><inbound/><outbound><validate-client-certificate/></outbound></policies>"
                .to_string(),
            "policies/outbound/validate-client-certificate: <validate-client-certificate> is allowed in the inbound section only",
        ),
        (
            "dtd.xml",
            "<!DOCTYPE policies [<!ENTITY a \"aaaa\">]><policies/>".to_string(),
            "dtd.xml: not XML",
        ),
    ];
    for (name, text, message) in cases {
        let r = import_apim(&f.dir, name, &text, &["--ca", &f.ca]);
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{name}: nothing is written half");
        assert!(r.stderr.contains(message), "{name}: {}", r.stderr);
    }
    // A bundle of intermediates alone has no root to build to.
    let inter_only =
        Ca::new("r").intermediate("only an intermediate", testkit::pki::Alg::EcdsaP256);
    let ca = f.path("inter.pem", &inter_only.cert_pem());
    let r = import_apim(
        &f.dir,
        "ok.xml",
        &vcc(r#"validate-revocation="false""#, ""),
        &["--ca", &ca],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--ca: no self-signed CA certificate"),
        "{}",
        r.stderr
    );
}

/// A certificate check written as code is seen however it is spelt (whitespace, C# comments and
/// escapes, `@` identifiers, an XML comment inside the text, a named value), and a `<choose>`
/// that answers by itself is reported: none is dropped silently.
#[test]
fn a_certificate_check_written_as_code_is_reported_however_it_is_spelt() {
    let f = Fixture::new("import-apim-code");
    let policy = |before: &str| {
        format!(
            "<policies><inbound>\n{before}\n<validate-client-certificate validate-revocation=\"false\" validate-trust=\"false\" />\n</inbound></policies>\n"
        )
    };
    let pin = |condition: &str| {
        format!(
            "<choose><when condition=\"{condition}\"><set-variable name=\"x\" value=\"1\" /></when></choose>"
        )
    };
    let cases = [
        (
            "newline",
            pin("@(context.Request\n  .Certificate?.Thumbprint != &quot;8C6E&quot;)"),
            "policies/inbound/choose/when@condition: mentions Certificate",
        ),
        (
            "variable",
            pin("@{ var r = context.Request; return r.Certificate == null; }"),
            "policies/inbound/choose/when@condition: mentions Certificate",
        ),
        (
            "comment",
            pin("@(context.Request.Certi/* x */ficate == null)"),
            "policies/inbound/choose/when@condition: mentions Certificate",
        ),
        (
            "escape",
            pin("@(context.Request.\\u0043ertificate == null)"),
            "policies/inbound/choose/when@condition: mentions Certificate",
        ),
        (
            "verbatim",
            pin("@(context.Request.@Certificate == null)"),
            "policies/inbound/choose/when@condition: mentions Certificate",
        ),
        (
            "xml-comment",
            "<set-header name=\"X\" exists-action=\"override\"><value>@(context.Request.<!-- split -->Certificate?.Thumbprint)</value></set-header>".to_string(),
            "policies/inbound/set-header/value: mentions Certificate",
        ),
        (
            "named-value",
            pin("{{cert-pin-failed}}"),
            "policies/inbound/choose/when@condition: \"{{cert-pin-failed}}\" uses a named value",
        ),
        (
            "return-response",
            "<choose><when condition=\"@(context.Variables.ContainsKey(&quot;x&quot;))\"><return-response><set-status code=\"403\" /></return-response></when></choose>".to_string(),
            "policies/inbound/choose: a <choose> with <return-response> may be an access check",
        ),
    ];
    for (name, before, message) in cases {
        let r = import_apim(&f.dir, &format!("{name}.xml"), &policy(&before), &[]);
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{name}: nothing is written");
        assert!(
            r.stderr.contains(&format!("not translated: {message}")),
            "{name}: {}",
            r.stderr
        );
    }
    // A named value in the policy element's attributes or an identity is never read as a value.
    let text = "<policies><inbound><validate-client-certificate validate-revocation=\"false\" validate-trust=\"{{trust}}\"><identities><identity common-name=\"{{partner}}\" /><identity common-name=\"billing\" /></identities></validate-client-certificate></inbound></policies>";
    let r = import_apim(&f.dir, "named.xml", text, &["--allow-partial"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for line in [
        "not translated: policies/inbound/validate-client-certificate@validate-trust: \"{{trust}}\" uses a named value",
        "not translated: policies/inbound/validate-client-certificate/identities/identity[1]@common-name: \"{{partner}}\" uses a named value",
    ] {
        assert!(r.stderr.contains(line), "{line}\n{}", r.stderr);
    }
    let config: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        config["validation"]["identities"],
        json!([{"commonName": "billing"}])
    );
    assert_eq!(
        config["validation"]["validateTrust"],
        json!(true),
        "the strict reading"
    );
}

/// An attribute with a prefix or namespace (`xml:`, `x:`) is no attribute API Management reads
/// by that name: refused, never taken for the plain one.
#[test]
fn a_prefixed_or_namespaced_policy_attribute_is_refused() {
    let f = Fixture::new("import-apim-ns");
    let cases = [
        (
            "xml.xml",
            r#"<policies><inbound><validate-client-certificate validate-revocation="false" xml:validate-trust="false" validate-trust="true" /></inbound></policies>"#,
            "policies/inbound/validate-client-certificate@xml:validate-trust: a namespaced or prefixed attribute",
        ),
        (
            "identity.xml",
            r#"<policies xmlns:x="urn:x"><inbound><validate-client-certificate validate-revocation="false" validate-trust="false"><identities><identity common-name="alice" x:common-name="bob" /></identities></validate-client-certificate></inbound></policies>"#,
            "identities/identity@x:common-name: a namespaced or prefixed attribute",
        ),
        (
            "identities.xml",
            r#"<policies><inbound><validate-client-certificate validate-revocation="false" validate-trust="false"><identities xml:lang="en"><identity common-name="alice" /></identities></validate-client-certificate></inbound></policies>"#,
            "validate-client-certificate/identities@xml:lang: a namespaced or prefixed attribute",
        ),
    ];
    for (name, text, message) in cases {
        let r = import_apim(&f.dir, name, text, &["--allow-partial"]);
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{name}");
        assert!(r.stderr.contains(message), "{name}: {}", r.stderr);
    }
}

// ---------------------------------------------------------------------------------------------
// Every importer's output against the JSON Schema (and the plugin, through lint).

#[cfg(feature = "schemars")]
#[test]
fn every_importers_output_passes_the_schema_and_lint() {
    let f = Fixture::new("import-schema");
    let mut configs: Vec<(String, Value)> = Vec::new();
    let ingress_file = f.file(
        "shop.yaml",
        &[
            ingress(
                "shop",
                "admin",
                "shop.example.com",
                &[
                    ("auth-tls-secret", "shop/ca"),
                    ("auth-tls-verify-depth", "2"),
                    ("auth-tls-match-cn", "CN=(billing|reports)"),
                    (
                        "auth-tls-error-page",
                        "https://login.example.com/cert-error",
                    ),
                    ("auth-tls-pass-certificate-to-upstream", "true"),
                ],
                &[("/admin", "Prefix"), ("/admin/login", "Exact")],
            ),
            ingress(
                "shop",
                "app",
                "shop.example.com",
                &[
                    ("auth-tls-secret", "ca"),
                    ("auth-tls-verify-depth", "2"),
                    ("auth-tls-verify-client", "optional"),
                    ("auth-tls-match-cn", "CN=alice"),
                    (
                        "auth-tls-error-page",
                        "https://login.example.com/cert-error",
                    ),
                ],
                &[("/", "ImplementationSpecific")],
            ),
        ],
    );
    let (config, _) = f.config(&ingress_file, &[]);
    configs.push(("ingress-nginx".into(), config));
    let r = run(&["import", "ingress-nginx", &ingress_file, "--config-only"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    configs.push((
        "ingress-nginx placeholder".into(),
        serde_json::from_str(&r.stdout).unwrap(),
    ));

    for (name, text) in [
        ("az", AZ_WEBAPP_SHOW),
        ("arm", ARM_TEMPLATE),
        ("terraform", TERRAFORM_SHOW),
    ] {
        let r = import_app_service(&f.dir, &format!("{name}.json"), text, &["--allow-partial"]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let out: Value = serde_json::from_str(&r.stdout).unwrap();
        if name == "az" {
            configs.push((name.into(), out));
        } else {
            for (site, config) in out.as_object().unwrap() {
                configs.push((format!("{name} {site}"), config.clone()));
            }
        }
    }
    let r = import_apim(
        &f.dir,
        "policy.xml",
        APIM_POLICY,
        &["--ca", &f.ca, "--allow-partial"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    configs.push(("apim".into(), serde_json::from_str(&r.stdout).unwrap()));
    let r = import_apim(&f.dir, "policy.xml", APIM_POLICY, &["--allow-partial"]);
    configs.push((
        "apim placeholder".into(),
        serde_json::from_str(&r.stdout).unwrap(),
    ));

    let values: Vec<Value> = configs.iter().map(|(_, c)| c.clone()).collect();
    let errors = crate::schema::schema_errors(&values);
    for ((name, config), error) in configs.iter().zip(&errors) {
        assert_eq!(error, "", "{name}: the schema refuses {config}");
        if !name.ends_with("placeholder") {
            lints(&f.dir, "schema-lint.json", config);
        }
    }
    assert_eq!(configs.len(), 11, "every importer's output was checked");
}

/// The examples of docs/migrating-from-azure.md and the README are the importers' exact output
/// for the inputs the page shows.
#[test]
fn the_documented_azure_examples_are_the_exact_output() {
    let repo = testkit::envoy::repo();
    let page = std::fs::read_to_string(repo.join("docs/migrating-from-azure.md")).unwrap();
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let between = |text: &str, start: &str, end: &str| -> String {
        let from = text.find(start).unwrap_or_else(|| panic!("no {start:?}")) + start.len();
        let to = text[from..]
            .find(end)
            .unwrap_or_else(|| panic!("no {end:?} after {start:?}"));
        text[from..from + to].to_string()
    };
    let dir = TempDir::new("import-azure-doc");
    for (input, command) in [
        ("site.json", "import app-service site.json"),
        ("policy.xml", "import apim policy.xml"),
    ] {
        let shown_input = between(
            &page,
            &format!("$ cat {input}\n"),
            &format!("$ client-cert-auth {command}\n"),
        );
        let shown = between(&page, &format!("$ client-cert-auth {command}\n"), "```");
        let file = dir.write(input, &shown_input).display().to_string();
        let mut args: Vec<&str> = command.split(' ').collect();
        *args.last_mut().unwrap() = &file;
        let r = run(&args);
        assert_eq!(r.code, 0, "{command}: {}", r.stderr);
        assert_eq!(r.stdout, shown, "docs/migrating-from-azure.md: {command}");
        let in_readme = between(&readme, &format!("-- {command}\n"), "```");
        assert_eq!(r.stdout, in_readme, "README.md: {command}");
        let config: Value = serde_json::from_str(&r.stdout).unwrap();
        if input == "site.json" {
            lints(&dir, "site-config.json", &config);
        }
    }
}
