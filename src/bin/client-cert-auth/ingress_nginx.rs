//! `client-cert-auth import ingress-nginx FILE...`: Ingress manifests with ingress-nginx's
//! `auth-tls-*` annotations in, the manifests that do the same with this filter out (Envoy
//! Gateway's `ClientTrafficPolicy` and `EnvoyExtensionPolicy`, or Istio's `Gateway` and
//! `WasmPlugin`), per host and path (docs/migrating-from-ingress-nginx.md has the mapping).
//!
//! Everything is read and checked before anything is written: a document that is not a
//! Kubernetes object, or an Ingress field of the wrong shape, stops the import with the file,
//! the document and the field; an annotation that cannot be translated is listed (one line
//! each, with its Ingress) and makes the import fail unless `--allow-partial`. The plugin
//! configuration produced is checked by the filter's own parser before it is printed.

use serde_json::{Value, json};
use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

use client_cert_auth::Config;

use crate::common::{Imported, split_bundle};

const PREFIX: &str = "nginx.ingress.kubernetes.io/";

/// Which platform's manifests to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Envoy Gateway: `ClientTrafficPolicy` + `EnvoyExtensionPolicy`.
    EnvoyGateway,
    /// Istio: `Gateway` (OPTIONAL_MUTUAL) + `WasmPlugin`.
    Istio,
}

/// The command line's choices.
pub struct Options {
    pub target: Target,
    /// `--ca`: the CA secret's `ca.crt` (PEM bundle).
    pub ca: Option<String>,
    /// `--crl`: the CA secret's `ca.crl` (PEM).
    pub crl: Option<String>,
    /// `--gateway`: the Gateway the policies attach to (Envoy Gateway).
    pub gateway: String,
    /// `--image`: the module's OCI image.
    pub image: String,
}

/// One Ingress, as far as the import reads it.
struct Ingress {
    /// `namespace/name`.
    id: String,
    namespace: String,
    /// `auth-tls-*` in force (a secret in the Ingress's own namespace).
    auth: Option<Auth>,
    /// (host, path, exact) of every path of its rules.
    paths: Vec<(Option<String>, String, bool)>,
    hosts: Vec<String>,
    tls_secrets: Vec<String>,
}

struct Auth {
    secret: String,
    mode: &'static str,
    no_ca: bool,
    depth: u32,
    identity: Option<Value>,
    /// `auth-tls-match-cn` as written.
    match_cn: Option<String>,
    error_page: Option<String>,
    pass_certificate: bool,
}

/// Where a document came from, for messages.
struct At<'a> {
    file: &'a str,
    index: usize,
}

impl At<'_> {
    fn err(&self, field: &str, problem: impl std::fmt::Display) -> String {
        format!(
            "{} document {}: {field}: {problem}",
            self.file,
            self.index + 1
        )
    }
}

fn str_of<'y>(y: &'y Yaml, at: &At<'_>, field: &str) -> Result<Option<&'y str>, String> {
    match y {
        Yaml::BadValue | Yaml::Null => Ok(None),
        Yaml::String(s) => Ok(Some(s)),
        other => Err(at.err(field, format!("expected a string, found {}", kind(other)))),
    }
}

fn list_of<'y>(y: &'y Yaml, at: &At<'_>, field: &str) -> Result<&'y [Yaml], String> {
    match y {
        Yaml::BadValue | Yaml::Null => Ok(&[]),
        Yaml::Array(items) => Ok(items),
        other => Err(at.err(field, format!("expected a list, found {}", kind(other)))),
    }
}

fn kind(y: &Yaml) -> &'static str {
    match y {
        Yaml::Real(_) | Yaml::Integer(_) => "a number",
        Yaml::String(_) => "a string",
        Yaml::Boolean(_) => "a boolean",
        Yaml::Array(_) => "a list",
        Yaml::Hash(_) => "a mapping",
        Yaml::Alias(_) => "an alias",
        Yaml::Null | Yaml::BadValue => "nothing",
    }
}

/// Reads every document of every file: the Ingresses, checked; other objects are skipped with
/// a note.
fn read_ingresses(
    inputs: &[(String, String)],
    notes: &mut Vec<String>,
    untranslated: &mut Vec<String>,
) -> Result<Vec<Ingress>, String> {
    let mut out = Vec::new();
    for (file, text) in inputs {
        let docs = YamlLoader::load_from_str(text).map_err(|e| format!("{file}: not YAML: {e}"))?;
        for (index, doc) in docs.iter().enumerate() {
            let at = At { file, index };
            if doc.is_null() {
                continue;
            }
            if !doc.is_hash() {
                return Err(at.err("(document)", "not a Kubernetes object (a mapping)"));
            }
            let kind = str_of(&doc["kind"], &at, "kind")?
                .ok_or_else(|| at.err("kind", "missing: not a Kubernetes object"))?;
            let api = str_of(&doc["apiVersion"], &at, "apiVersion")?
                .ok_or_else(|| at.err("apiVersion", "missing: not a Kubernetes object"))?;
            if kind == "List" {
                return Err(at.err("kind", "a List: give its items as documents"));
            }
            if kind != "Ingress" {
                notes.push(format!(
                    "{file} document {}: {kind} skipped (not an Ingress)",
                    index + 1
                ));
                continue;
            }
            if api != "networking.k8s.io/v1" {
                return Err(at.err(
                    "apiVersion",
                    format!("{api:?}: only networking.k8s.io/v1 Ingresses are read"),
                ));
            }
            out.push(read_ingress(doc, &at, untranslated)?);
        }
    }
    if out.is_empty() {
        return Err("no Ingress in the input".to_string());
    }
    Ok(out)
}

fn read_ingress(
    doc: &Yaml,
    at: &At<'_>,
    untranslated: &mut Vec<String>,
) -> Result<Ingress, String> {
    let meta = &doc["metadata"];
    let name = str_of(&meta["name"], at, "metadata.name")?
        .ok_or_else(|| at.err("metadata.name", "missing"))?;
    let namespace = str_of(&meta["namespace"], at, "metadata.namespace")?
        .unwrap_or("default")
        .to_string();
    let id = format!("{namespace}/{name}");
    let mut annotations: Vec<(String, String)> = Vec::new();
    match &meta["annotations"] {
        Yaml::BadValue | Yaml::Null => {}
        Yaml::Hash(map) => {
            for (k, v) in map {
                let key = str_of(k, at, "metadata.annotations")?.unwrap_or_default();
                let field = format!("metadata.annotations[{key:?}]");
                // Kubernetes annotation values are strings; YAML may read `true` or `1` unquoted.
                let value = match v {
                    Yaml::String(s) => s.clone(),
                    Yaml::Boolean(b) => b.to_string(),
                    Yaml::Integer(i) => i.to_string(),
                    other => {
                        return Err(
                            at.err(&field, format!("expected a string, found {}", kind(other)))
                        );
                    }
                };
                if let Some(short) = key.strip_prefix(PREFIX) {
                    annotations.push((short.to_string(), value));
                }
            }
        }
        other => {
            return Err(at.err(
                "metadata.annotations",
                format!("expected a mapping, found {}", kind(other)),
            ));
        }
    }
    let get = |name: &str| {
        annotations
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut lost = |annotation: &str, why: &str| {
        untranslated.push(format!("{id}: {PREFIX}{annotation}: {why}"));
    };
    for (key, _) in &annotations {
        let known = matches!(
            key.as_str(),
            "auth-tls-secret"
                | "auth-tls-verify-client"
                | "auth-tls-verify-depth"
                | "auth-tls-error-page"
                | "auth-tls-pass-certificate-to-upstream"
                | "auth-tls-match-cn"
        );
        if key.starts_with("auth-tls-") && !known {
            lost(key, "unknown to this importer");
        }
        if key.ends_with("-snippet") {
            lost(key, "nginx configuration is not translated");
        }
        if key == "use-regex" && get("use-regex") == Some("true") {
            lost(
                key,
                "regular-expression paths are not translated (use rules' routeNames)",
            );
        }
    }
    let auth = match get("auth-tls-secret") {
        None => None,
        Some(secret) => {
            let (secret_ns, secret_name) = match secret.split_once('/') {
                Some((ns, n)) => (ns, n),
                None => (namespace.as_str(), secret),
            };
            if secret_ns != namespace {
                lost(
                    "auth-tls-secret",
                    &format!(
                        "{secret:?} is in another namespace than the Ingress (the CA reference \
                         would need a ReferenceGrant); copy the secret into {namespace:?}"
                    ),
                );
            }
            // ingress-nginx's own fallbacks: an unknown mode is `on`, a depth that is not a
            // positive integer is 1.
            let (mode, no_ca) = match get("auth-tls-verify-client").unwrap_or("on") {
                "off" => ("Ignore", false),
                "optional" => ("Optional", false),
                "optional_no_ca" => ("Optional", true),
                _ => ("Required", false),
            };
            let depth = get("auth-tls-verify-depth")
                .and_then(|d| d.trim().parse::<u32>().ok())
                .filter(|d| *d > 0)
                .unwrap_or(1);
            let identity = match get("auth-tls-match-cn") {
                None => None,
                Some(cn) => match plain_common_name(cn) {
                    Some(name) => Some(json!({"subjectPattern": anchored_common_name(name)})),
                    None if cn.starts_with("CN=") => Some(json!({"subjectPattern": cn})),
                    None => {
                        lost(
                            "auth-tls-match-cn",
                            &format!(
                                "{cn:?} does not start with CN=, which ingress-nginx refuses too"
                            ),
                        );
                        None
                    }
                },
            };
            let error_page = get("auth-tls-error-page").map(str::to_string);
            if error_page.as_deref().is_some_and(|p| p.starts_with('@')) {
                lost(
                    "auth-tls-error-page",
                    "a named nginx location cannot be reached from Envoy",
                );
            }
            let pass_certificate = get("auth-tls-pass-certificate-to-upstream") == Some("true");
            Some(Auth {
                secret: secret_name.to_string(),
                mode,
                no_ca,
                depth,
                identity,
                match_cn: get("auth-tls-match-cn").map(str::to_string),
                error_page: error_page.filter(|p| !p.starts_with('@')),
                pass_certificate,
            })
        }
    };
    let spec = &doc["spec"];
    let mut paths = Vec::new();
    let mut hosts = Vec::new();
    for (r, rule) in list_of(&spec["rules"], at, "spec.rules")?
        .iter()
        .enumerate()
    {
        let host = str_of(&rule["host"], at, &format!("spec.rules[{r}].host"))?.map(str::to_string);
        if let Some(h) = &host
            && !hosts.contains(h)
        {
            hosts.push(h.clone());
        }
        let list = list_of(
            &rule["http"]["paths"],
            at,
            &format!("spec.rules[{r}].http.paths"),
        )?;
        for (p, path) in list.iter().enumerate() {
            let field = format!("spec.rules[{r}].http.paths[{p}]");
            let value = str_of(&path["path"], at, &format!("{field}.path"))?.unwrap_or("/");
            if !value.starts_with('/') {
                return Err(at.err(
                    &format!("{field}.path"),
                    format!("{value:?} does not start with /"),
                ));
            }
            let exact = match str_of(&path["pathType"], at, &format!("{field}.pathType"))? {
                Some("Exact") => true,
                Some("Prefix" | "ImplementationSpecific") => false,
                Some(other) => {
                    return Err(at.err(
                        &format!("{field}.pathType"),
                        format!("{other:?} is not Exact, Prefix or ImplementationSpecific"),
                    ));
                }
                None => {
                    return Err(at.err(
                        &format!("{field}.pathType"),
                        "missing (networking.k8s.io/v1 requires it)",
                    ));
                }
            };
            paths.push((host.clone(), value.to_string(), exact));
        }
    }
    let mut tls_secrets = Vec::new();
    for (t, tls) in list_of(&spec["tls"], at, "spec.tls")?.iter().enumerate() {
        if let Some(s) = str_of(&tls["secretName"], at, &format!("spec.tls[{t}].secretName"))? {
            tls_secrets.push(s.to_string());
        }
    }
    Ok(Ingress {
        id,
        namespace,
        auth,
        paths,
        hosts,
        tls_secrets,
    })
}

/// `CN=name` with nothing a regular expression would read specially: the exact common name
/// the user almost always meant (nginx's unanchored match would also admit `name-evil`). Not
/// with a space at either end; that stays the unanchored subjectPattern as written.
fn plain_common_name(pattern: &str) -> Option<&str> {
    let name = pattern.strip_prefix("CN=")?;
    (!name.is_empty()
        && !name.starts_with(' ')
        && !name.ends_with(' ')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'@' | b' ')))
    .then_some(name)
}

/// The exact common name as a subject pattern bound at both ends: one whole `CN=name`
/// attribute, anywhere in the subject as nginx prints it, between the start or an unescaped `,`
/// or `+` and the end or `,` or `+` (a `,` after an escaped `\\` fails closed). Every subject
/// it matches holds `CN=name`, so nginx's unanchored search matched it too. Not the commonName
/// identity, which compares after trimming and so would admit the subject nginx prints
/// `CN=\ name` (a leading space), which nginx's pattern refuses; the pattern sees the escape as
/// nginx does.
fn anchored_common_name(name: &str) -> String {
    format!("^(.*[^\\\\][,+])?CN={name}([,+].*)?$")
}

/// The placeholder written where the CA belongs when `--ca` is not given: the plugin refuses
/// to start with it (it is not a certificate), never runs without a CA.
fn placeholder(secret: &str) -> String {
    format!(
        "-----BEGIN CERTIFICATE-----\nREPLACE-WITH-ca.crt-OF-SECRET-{secret}\n-----END CERTIFICATE-----\n"
    )
}

/// The plugin configuration for these Ingresses.
fn plugin_config(
    ingresses: &[Ingress],
    options: &Options,
    notes: &mut Vec<String>,
    untranslated: &mut Vec<String>,
) -> Result<(Value, Option<String>), String> {
    let with_auth: Vec<(&Ingress, &Auth)> = ingresses
        .iter()
        .filter_map(|i| i.auth.as_ref().map(|a| (i, a)))
        .collect();
    let Some((first, first_auth)) = with_auth.first() else {
        return Err(
            "no Ingress has nginx.ingress.kubernetes.io/auth-tls-secret: nothing to translate"
                .to_string(),
        );
    };
    // One trust store, one depth, one error page for the whole configuration: the first
    // Ingress's; another value elsewhere is reported.
    for (ingress, auth) in &with_auth[1..] {
        let mut differs = |annotation: &str, what: &str| {
            untranslated.push(format!(
                "{}: {PREFIX}{annotation}: differs from {}'s ({what} is one setting for the whole \
                 configuration); {}'s is used",
                ingress.id, first.id, first.id
            ));
        };
        if auth.secret != first_auth.secret {
            differs("auth-tls-secret", "the trust store");
        }
        if auth.depth != first_auth.depth {
            differs("auth-tls-verify-depth", "the chain depth");
        }
        if auth.error_page != first_auth.error_page {
            differs("auth-tls-error-page", "the error page");
        }
        if auth.no_ca != first_auth.no_ca {
            differs("auth-tls-verify-client", "verifying against the CA or not");
        }
    }
    let no_ca = first_auth.no_ca;
    let mut validation = json!({});
    if no_ca {
        validation["validateNotBefore"] = json!(false);
        validation["validateNotAfter"] = json!(false);
    } else {
        let (roots, intermediates) = match &options.ca {
            Some(pem) => {
                let (roots, intermediates) = split_bundle("--ca", pem)?;
                if roots.is_empty() {
                    return Err(
                        "--ca: no self-signed CA certificate (a bundle of intermediates alone \
                         verifies nothing in nginx either)"
                            .to_string(),
                    );
                }
                (roots, intermediates)
            }
            None => {
                notes.push(format!(
                    "the CA is a placeholder (REPLACE-WITH-ca.crt-OF-SECRET-{}): give --ca with the \
                     secret's ca.crt, or paste it; the plugin refuses to start until then",
                    first_auth.secret
                ));
                (vec![placeholder(&first_auth.secret)], Vec::new())
            }
        };
        validation["trustedCaCertificates"] = json!(roots);
        if !intermediates.is_empty() {
            validation["intermediateCertificates"] = json!(intermediates);
        }
        validation["maxChainDepth"] = json!(first_auth.depth);
        if let Some(crl) = &options.crl {
            validation["validateRevocation"] = json!(true);
            validation["crls"] = json!([crl]);
        }
    }
    if options.crl.is_some() && no_ca {
        untranslated.push(format!(
            "{}: --crl: optional_no_ca verifies nothing, so the CRL is not used",
            first.id
        ));
    }
    // Rules: exact paths first, then prefixes longest first (ingress-nginx's order), each with
    // its Ingress's mode and identity.
    let mut rules: Vec<(bool, usize, Value)> = Vec::new();
    for (n, ingress) in ingresses.iter().enumerate() {
        for (p, (host, path, exact)) in ingress.paths.iter().enumerate() {
            let mut rule = json!({"name": rule_name(&ingress.id, n, p)});
            if let Some(h) = host {
                rule["hosts"] = json!([h]);
            }
            rule[if *exact { "pathExact" } else { "pathPrefix" }] = json!(path);
            match &ingress.auth {
                Some(auth) => {
                    rule["mode"] = json!(auth.mode);
                    if let Some(identity) = &auth.identity {
                        rule["identities"] = json!([identity]);
                    }
                }
                None => rule["mode"] = json!("Ignore"),
            }
            rules.push((*exact, path.len(), rule));
        }
    }
    rules.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    for ingress in ingresses {
        if let Some(auth) = &ingress.auth
            && let Some(cn) = auth.match_cn.as_deref().and_then(plain_common_name)
        {
            notes.push(format!(
                "{}: auth-tls-match-cn \"CN={cn}\" is the subjectPattern \"{}\": a CN attribute \
                 must be exactly {cn:?} (nginx's unanchored match also admitted \
                 CN={cn}-anything, or CN={cn} inside another attribute's value)",
                ingress.id,
                anchored_common_name(cn)
            ));
        }
    }
    for ingress in ingresses {
        if let Some(auth) = &ingress.auth
            && auth.mode == "Optional"
            && !auth.no_ca
            && auth.identity.is_some()
        {
            notes.push(format!(
                "{}: optional with auth-tls-match-cn: nginx answered 403 to a request without a \
                 certificate (the empty subject does not match); the rule lets it through \
                 (docs/migrating-from-ingress-nginx.md, where the behaviour differs)",
                ingress.id
            ));
        }
    }
    let mut responses = json!({"preset": "ingressNginx"});
    if let Some(page) = &first_auth.error_page {
        responses["errorPage"] = json!(page);
    }
    let mut forward = json!({"arrClientCert": false, "preset": "ingressNginx"});
    if with_auth.iter().any(|(_, a)| a.pass_certificate) {
        forward["passCertificate"] = json!(true);
    }
    // A request no rule matches (a host spelt with its port, a path no Ingress has) gets the
    // strictest mode of the Ingresses: when in doubt, the certificate is asked for.
    let strictest = ["Required", "Optional", "Ignore"]
        .into_iter()
        .find(|mode| with_auth.iter().any(|(_, a)| a.mode == *mode))
        .unwrap_or("Ignore");
    let config = json!({
        "clientCertMode": strictest,
        "validation": validation,
        "rules": rules.into_iter().map(|(_, _, r)| r).collect::<Vec<_>>(),
        "responses": responses,
        "forward": forward,
    });
    if options.ca.is_some() || no_ca {
        Config::from_json(config.to_string().as_bytes())
            .map_err(|e| format!("the configuration produced is refused by the filter: {e}"))?;
    }
    Ok((config, Some(first_auth.secret.clone())))
}

/// `<namespace>-<name>-<n>`, cut to the 64 letters, digits, `_` and `-` a rule name may have.
fn rule_name(id: &str, ingress: usize, path: usize) -> String {
    let base: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let suffix = format!("-{ingress}-{path}");
    let keep = 64usize.saturating_sub(suffix.len());
    format!("{}{suffix}", &base[..base.len().min(keep)])
}

fn to_yaml(v: &Value) -> Yaml {
    match v {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Integer(i),
            None => Yaml::Real(n.to_string()),
        },
        Value::String(s) => Yaml::String(s.clone()),
        Value::Array(items) => Yaml::Array(items.iter().map(to_yaml).collect()),
        Value::Object(map) => {
            let mut hash = yaml_rust2::yaml::Hash::new();
            for (k, v) in map {
                hash.insert(Yaml::String(k.clone()), to_yaml(v));
            }
            Yaml::Hash(hash)
        }
    }
}

fn emit(documents: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    for doc in documents {
        let mut text = String::new();
        let mut emitter = YamlEmitter::new(&mut text);
        emitter.multiline_strings(true);
        emitter
            .dump(&to_yaml(doc))
            .map_err(|e| format!("cannot write YAML: {e:?}"))?;
        out.push_str(&text);
        out.push('\n');
    }
    Ok(out)
}

/// Reads `inputs` (file name, contents) and writes the manifests.
pub fn import(inputs: &[(String, String)], options: &Options) -> Result<Imported, String> {
    let mut notes = Vec::new();
    let mut untranslated = Vec::new();
    let ingresses = read_ingresses(inputs, &mut notes, &mut untranslated)?;
    let (config, secret) = plugin_config(&ingresses, options, &mut notes, &mut untranslated)?;
    let secret = secret.unwrap_or_default();
    let namespace = ingresses
        .iter()
        .find(|i| i.auth.is_some())
        .map_or("default", |i| i.namespace.as_str());
    let mut hosts: Vec<String> = Vec::new();
    for host in ingresses.iter().flat_map(|i| i.hosts.iter()) {
        if !hosts.contains(host) {
            hosts.push(host.clone());
        }
    }
    let documents = match options.target {
        Target::EnvoyGateway => {
            let target = json!([{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": options.gateway}]);
            notes.push(format!(
                "Envoy Gateway: the policies attach to Gateway {namespace}/{} (--gateway); its \
                 listeners and HTTPRoutes for the Ingresses' hosts are not written here",
                options.gateway
            ));
            vec![
                json!({
                    "apiVersion": "gateway.envoyproxy.io/v1alpha1",
                    "kind": "ClientTrafficPolicy",
                    "metadata": {"name": "client-cert-auth", "namespace": namespace},
                    "spec": {
                        "targetRefs": target,
                        "tls": {"clientValidation": {
                            "optional": true,
                            "caCertificateRefs": [{"group": "", "kind": "Secret", "name": secret}]
                        }}
                    }
                }),
                json!({
                    "apiVersion": "gateway.envoyproxy.io/v1alpha1",
                    "kind": "EnvoyExtensionPolicy",
                    "metadata": {"name": "client-cert-auth", "namespace": namespace},
                    "spec": {
                        "targetRefs": target,
                        "wasm": [{
                            "name": "client-cert-auth",
                            "rootID": "client_cert_auth",
                            "failOpen": false,
                            "code": {"type": "Image", "image": {"url": options.image}},
                            "config": config
                        }]
                    }
                }),
            ]
        }
        Target::Istio => {
            let credential = ingresses
                .iter()
                .flat_map(|i| i.tls_secrets.iter())
                .next()
                .cloned()
                .unwrap_or_else(|| "REPLACE-WITH-THE-SERVER-CERTIFICATE-SECRET".to_string());
            notes.push(format!(
                "Istio: the Gateway's credentialName {credential:?} (in istio-system) needs the \
                 CA beside it: create secret {credential}-cacert with key ca.crt from secret {secret}"
            ));
            let gateway_hosts = if hosts.is_empty() {
                vec!["*".to_string()]
            } else {
                hosts.clone()
            };
            vec![
                json!({
                    "apiVersion": "networking.istio.io/v1",
                    "kind": "Gateway",
                    "metadata": {"name": "client-cert-auth", "namespace": "istio-system"},
                    "spec": {
                        "selector": {"istio": "ingressgateway"},
                        "servers": [{
                            "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                            "hosts": gateway_hosts,
                            "tls": {"mode": "OPTIONAL_MUTUAL", "credentialName": credential}
                        }]
                    }
                }),
                json!({
                    "apiVersion": "extensions.istio.io/v1alpha1",
                    "kind": "WasmPlugin",
                    "metadata": {"name": "client-cert-auth", "namespace": "istio-system"},
                    "spec": {
                        "selector": {"matchLabels": {"istio": "ingressgateway"}},
                        "url": format!("oci://{}", options.image),
                        "pluginName": "client_cert_auth",
                        "phase": "AUTHN",
                        "failStrategy": "FAIL_CLOSE",
                        "pluginConfig": config
                    }
                }),
            ]
        }
    };
    Ok(Imported {
        output: emit(&documents)?,
        notes,
        untranslated,
        refused: None,
    })
}

/// The plugin configuration alone (`--config-only`), as JSON.
pub fn config_only(inputs: &[(String, String)], options: &Options) -> Result<Imported, String> {
    let mut notes = Vec::new();
    let mut untranslated = Vec::new();
    let ingresses = read_ingresses(inputs, &mut notes, &mut untranslated)?;
    let (config, _) = plugin_config(&ingresses, options, &mut notes, &mut untranslated)?;
    let output = serde_json::to_string_pretty(&config).map_err(|e| e.to_string())? + "\n";
    Ok(Imported {
        output,
        notes,
        untranslated,
        refused: None,
    })
}
