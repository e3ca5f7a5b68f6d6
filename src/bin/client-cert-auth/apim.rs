//! `client-cert-auth import apim FILE [--ca FILE]... [--crl FILE]...`: an API Management
//! policy document with `<validate-client-certificate>` in, the plugin configuration out: its
//! attributes and identities as the `validation` object, API Management's answer
//! (`responses.preset: "apim"`), nothing forwarded (API Management forwards no certificate),
//! and `ignore-error="true"` as report only (docs/migrating-from-azure.md has the mapping).
//!
//! API Management's defaults are written out (every check `true`, `ignore-error` false). The
//! trust anchors live outside the policy: `--ca` inlines them, otherwise a placeholder the
//! plugin refuses to start with is written and standard error says so. What has no counterpart
//! (policy expressions and named values, `issuer-certificate-id`, online revocation without
//! `--crl`, a check under `<choose>`, any text elsewhere that mentions `Certificate`, a
//! `<choose>` answering with `<return-response>`) is reported one line each, and without `--allow-partial` nothing is written. An identity with such an
//! attribute is dropped whole, never loosened; when no identity is left the import fails even
//! with `--allow-partial` (none would admit every certificate).

use roxmltree::{Document, Node};
use serde_json::{Map, Value, json};

use client_cert_auth::Config;

use crate::common::{Imported, split_bundle};

const ELEMENT: &str = "validate-client-certificate";

/// The placeholder written where the CA belongs without `--ca`: the plugin refuses to start
/// with it (it is not a certificate).
const PLACEHOLDER: &str = "-----BEGIN CERTIFICATE-----\nREPLACE-WITH-THE-CA-CERTIFICATES-OF-THE-API-MANAGEMENT-INSTANCE\n-----END CERTIFICATE-----\n";

/// Identity attributes: API Management's name, this plugin's (None: no counterpart, and why).
const IDENTITY: [(&str, Result<&str, &str>); 9] = [
    ("thumbprint", Ok("thumbprint")),
    ("serial-number", Ok("serialNumber")),
    ("common-name", Ok("commonName")),
    ("subject", Ok("subject")),
    ("dns-name", Ok("dnsName")),
    ("issuer-subject", Ok("issuerSubject")),
    ("issuer-thumbprint", Ok("issuerThumbprint")),
    (
        "issuer-certificate-id",
        Err(
            "names a certificate stored in API Management, which the filter cannot read: give \
             that certificate's SHA-1 thumbprint as issuer-thumbprint",
        ),
    ),
    (
        "certificate-id",
        Err(
            "names a certificate stored in API Management, which the filter cannot read: give \
             that certificate's SHA-1 thumbprint as thumbprint",
        ),
    ),
];

/// The command line's choices.
pub struct Options {
    /// `--ca`: (file name, PEM) of each file: the instance's CA certificates.
    pub ca: Vec<(String, String)>,
    /// `--crl`: (file name, PEM) of each file: CRLs of those CAs.
    pub crl: Vec<(String, String)>,
}

/// `policies/inbound/validate-client-certificate`, with `[n]` where siblings share a name.
fn path_of(node: Node<'_, '_>) -> String {
    let mut parts = Vec::new();
    let mut current = Some(node);
    while let Some(n) = current {
        if n.is_element() {
            let name = n.tag_name().name();
            let same: Vec<Node<'_, '_>> = n
                .parent()
                .map(|p| {
                    p.children()
                        .filter(|c| c.is_element() && c.tag_name().name() == name)
                        .collect()
                })
                .unwrap_or_default();
            if same.len() > 1 {
                let index = same.iter().position(|c| *c == n).unwrap_or(0) + 1;
                parts.push(format!("{name}[{index}]"));
            } else {
                parts.push(name.to_string());
            }
        }
        current = n.parent();
    }
    parts.reverse();
    parts.join("/")
}

/// Where a node is, for messages: `FILE line N: path`.
fn at(file: &str, doc: &Document<'_>, node: Node<'_, '_>) -> String {
    let pos = doc.text_pos_at(node.range().start);
    format!("{file} line {}: {}", pos.row, path_of(node))
}

fn is_expression(value: &str) -> bool {
    let v = value.trim_start();
    v.starts_with("@(") || v.starts_with("@{")
}

/// A named value (`{{name}}`): API Management substitutes it before reading the policy, so its
/// value (a literal or an expression) is not in this file.
fn has_named_value(value: &str) -> bool {
    value.contains("{{")
}

/// Why a value cannot be read here, if it cannot: a policy expression or a named value.
fn unreadable(value: &str) -> Option<String> {
    if is_expression(value) {
        Some(format!(
            "{value:?} is a policy expression, not evaluated here"
        ))
    } else if has_named_value(value) {
        Some(format!(
            "{value:?} uses a named value, whose value is not in this file"
        ))
    } else {
        None
    }
}

/// C# `\uXXXX` and `\UXXXXXXXX` escapes (allowed in identifiers) decoded.
fn decode_escapes(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() && matches!(chars[i + 1], 'u' | 'U') {
            let len = if chars[i + 1] == 'u' { 4 } else { 8 };
            let hex: String = chars.iter().skip(i + 2).take(len).collect();
            if hex.len() == len
                && let Ok(n) = u32::from_str_radix(&hex, 16)
                && let Some(c) = char::from_u32(n)
            {
                out.push(c);
                i += 2 + len;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// C# `//` and `/* */` comments removed.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('/') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if after.starts_with("//") {
            rest = after.find('\n').map_or("", |n| &after[n..]);
        } else if let Some(body) = after.strip_prefix("/*") {
            rest = body.find("*/").map_or("", |n| &body[n + 2..]);
        } else {
            out.push('/');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Whether a text (an attribute, an element's text) may read the client certificate: once
/// normalised (escapes decoded, whitespace and `@` identifier prefixes dropped, with and
/// without C# comments), it mentions `certificate` in any case. Deliberately broad: a mention
/// that is no check is reported too (fail safe).
fn mentions_certificate(text: &str) -> bool {
    let decoded = decode_escapes(text);
    [strip_comments(&decoded), decoded].iter().any(|t| {
        let squeezed: String = t
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '@')
            .collect();
        squeezed.to_lowercase().contains("certificate")
    })
}

/// An element's own text, its text nodes joined (comments between them skipped, as the XML
/// reader API Management uses drops them).
fn own_text(node: Node<'_, '_>) -> String {
    node.children()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect()
}

/// The policy reads attributes by plain name: a namespaced or prefixed one (`xml:…`, `x:…`),
/// or two with the same local name, would be read differently by different readers; refused.
fn plain_attributes(file: &str, doc: &Document<'_>, node: Node<'_, '_>) -> Result<(), String> {
    let mut seen: Vec<&str> = Vec::new();
    for attribute in node.attributes() {
        let name = attribute.name();
        if attribute.namespace().is_some() {
            let qualified = doc
                .input_text()
                .get(attribute.range_qname())
                .unwrap_or(name);
            return Err(format!(
                "{}@{qualified}: a namespaced or prefixed attribute (the policy's attributes \
                 have no namespace)",
                at(file, doc, node)
            ));
        }
        if seen.contains(&name) {
            return Err(format!(
                "{}@{name}: a second attribute named {name}",
                at(file, doc, node)
            ));
        }
        seen.push(name);
    }
    Ok(())
}

/// A boolean attribute as .NET reads it (`true` / `false`, any case), API Management's default
/// when absent; `Ok(None)` when it is an expression (reported).
fn boolean(
    file: &str,
    doc: &Document<'_>,
    node: Node<'_, '_>,
    name: &str,
    default: bool,
    lost: &mut Vec<String>,
) -> Result<Option<bool>, String> {
    let value = node
        .attributes()
        .find(|a| a.namespace().is_none() && a.name() == name)
        .map(|a| a.value());
    match value {
        None => Ok(Some(default)),
        Some(v) if unreadable(v).is_some() => {
            let why = unreadable(v).unwrap_or_default();
            lost.push(format!("{}@{name}: {why}", path_of(node)));
            Ok(None)
        }
        Some(v) if v.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(v) if v.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(v) => Err(format!(
            "{}@{name}: {v:?} is not true or false",
            at(file, doc, node)
        )),
    }
}

fn elements<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(Node::is_element)
}

/// The identities, as the filter's objects; an identity with an attribute that cannot be
/// translated is dropped (reported).
fn identities(
    file: &str,
    doc: &Document<'_>,
    element: Node<'_, '_>,
    trust: bool,
    lost: &mut Vec<String>,
) -> Result<Option<Vec<Value>>, String> {
    let mut found = None;
    for child in elements(element) {
        if child.tag_name().name() != "identities" {
            return Err(format!(
                "{}: unknown element <{}> (the policy has only <identities>)",
                at(file, doc, child),
                child.tag_name().name()
            ));
        }
        if found.is_some() {
            return Err(format!("{}: a second <identities>", at(file, doc, child)));
        }
        plain_attributes(file, doc, child)?;
        let mut out = Vec::new();
        for identity in elements(child) {
            if identity.tag_name().name() != "identity" {
                return Err(format!(
                    "{}: unknown element <{}> (<identities> holds <identity> elements)",
                    at(file, doc, identity),
                    identity.tag_name().name()
                ));
            }
            plain_attributes(file, doc, identity)?;
            let path = path_of(identity);
            let mut object = Map::new();
            let mut dropped = false;
            for attribute in identity.attributes() {
                let name = attribute.name();
                let value = attribute.value();
                let Some((_, ours)) = IDENTITY.iter().find(|(n, _)| *n == name) else {
                    return Err(format!(
                        "{}@{name}: not an attribute of <identity> (thumbprint, serial-number, \
                         common-name, subject, dns-name, issuer-subject, issuer-thumbprint, \
                         issuer-certificate-id)",
                        at(file, doc, identity)
                    ));
                };
                let why = match ours {
                    _ if unreadable(value).is_some() => unreadable(value),
                    Err(why) => Some(format!("{value:?} {why}")),
                    Ok("issuerThumbprint") if !trust => Some(
                        "needs validate-trust here (the filter knows the issuer from the trust \
                         path it built)"
                            .to_string(),
                    ),
                    Ok(_) => None,
                };
                match (why, ours) {
                    (Some(why), _) => {
                        lost.push(format!(
                            "{path}@{name}: {why}; the identity is left out (never loosened)"
                        ));
                        dropped = true;
                    }
                    (None, Ok(key)) => {
                        object.insert((*key).to_string(), json!(value));
                    }
                    (None, Err(_)) => {}
                }
            }
            if dropped {
                continue;
            }
            if object.is_empty() {
                return Err(format!(
                    "{}: an identity without attributes",
                    at(file, doc, identity)
                ));
            }
            // Each identity through the filter's own parser, so a bad value is named where it
            // is in the policy (an issuer thumbprint is checked with the whole configuration).
            let mut probe = Value::Object(object.clone());
            if let Some(map) = probe.as_object_mut() {
                map.remove("issuerThumbprint");
            }
            if probe.as_object().is_some_and(|m| !m.is_empty()) {
                let config = json!({"validation": {"identities": [probe]}}).to_string();
                if let Err(e) = Config::from_json(config.as_bytes()) {
                    let message = e.to_string();
                    let message = message
                        .strip_prefix("validation.identities[0].")
                        .unwrap_or(&message);
                    return Err(format!("{}: {message}", at(file, doc, identity)));
                }
            }
            if let Some(t) = object.get("issuerThumbprint").and_then(Value::as_str) {
                let hex: String = t.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
                if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(format!(
                        "{}@issuer-thumbprint: {t:?} is not a SHA-1 thumbprint (40 hex digits)",
                        at(file, doc, identity)
                    ));
                }
            }
            out.push(Value::Object(object));
        }
        found = Some(out);
    }
    Ok(found)
}

/// Reads the policy document `text` (of `file`) and writes the plugin configuration.
pub fn import(file: &str, text: &str, options: &Options) -> Result<Imported, String> {
    let doc = Document::parse(text).map_err(|e| match e {
        roxmltree::Error::DtdDetected => format!("{file}: not XML: {e}"),
        _ => format!(
            "{file}: not XML: {e} (a policy exported as rawxml, with unescaped quotes or < in \
             its expressions, must be exported as xml)"
        ),
    })?;
    let root = doc.root_element();
    let root_name = root.tag_name().name();
    if root_name != "policies" && root_name != "fragment" {
        return Err(format!(
            "{file}: <{root_name}>: not an API Management policy document (its root is \
             <policies>, or <fragment> for a policy fragment)"
        ));
    }
    let mut notes = Vec::new();
    let mut lost = Vec::new();
    let found: Vec<Node<'_, '_>> = root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == ELEMENT)
        .collect();
    let Some(&element) = found.first() else {
        return Err(format!("{file}: no <{ELEMENT}> in the policy"));
    };
    for later in &found[1..] {
        lost.push(format!(
            "{}: a second <{ELEMENT}> (both must pass in API Management); only the first, {}, \
             is translated",
            path_of(*later),
            path_of(element)
        ));
    }
    let sections: Vec<&str> = element
        .ancestors()
        .filter(Node::is_element)
        .map(|n| n.tag_name().name())
        .collect();
    if root_name == "policies" && !sections.contains(&"inbound") {
        return Err(format!(
            "{}: <{ELEMENT}> is allowed in the inbound section only",
            at(file, &doc, element)
        ));
    }
    for ancestor in element.ancestors().filter(Node::is_element) {
        if matches!(ancestor.tag_name().name(), "when" | "otherwise") {
            let condition = ancestor.attribute("condition").unwrap_or("otherwise");
            lost.push(format!(
                "{}: applies only under <choose> ({condition:?}); translated as applying to \
                 every request",
                path_of(element)
            ));
        }
    }
    for node in root.descendants().filter(Node::is_element) {
        match node.tag_name().name() {
            "base" if node.parent().is_some_and(|p| p.tag_name().name() == "inbound") => notes.push(format!(
                "{}: <base/> runs the enclosing scope's policies, which this file does not hold: \
                 import that scope's policy if it validates certificates",
                path_of(node)
            )),
            "include-fragment" => notes.push(format!(
                "{}: the fragment {:?} is not read: import it if it validates certificates",
                path_of(node),
                node.attribute("fragment-id").unwrap_or("")
            )),
            _ => {}
        }
    }
    // A certificate read by an expression outside the policy element: a check (or forwarding)
    // written as code, which is not translated. Every attribute and element text is looked at,
    // not only those that start as an expression (a named value may hold one).
    for node in root.descendants().filter(Node::is_element) {
        if node.ancestors().any(|a| a == element) {
            continue;
        }
        let mut texts: Vec<(String, String)> = node
            .attributes()
            .map(|a| {
                (
                    format!("{}@{}", path_of(node), a.name()),
                    a.value().to_string(),
                )
            })
            .collect();
        texts.push((path_of(node), own_text(node)));
        for (where_, text) in texts {
            if mentions_certificate(&text) {
                lost.push(format!(
                    "{where_}: mentions Certificate (a policy expression reading \
                     context.Request.Certificate is a certificate check or forwarding written \
                     as code); not translated"
                ));
            }
        }
        if let Some(condition) = node.attribute("condition")
            && has_named_value(condition)
        {
            lost.push(format!(
                "{}@condition: {condition:?} uses a named value, whose value is not in this \
                 file (it may check the certificate); not translated",
                path_of(node)
            ));
        }
        let in_inbound =
            root_name == "fragment" || node.ancestors().any(|a| a.tag_name().name() == "inbound");
        if node.tag_name().name() == "choose"
            && in_inbound
            && node
                .descendants()
                .any(|d| d.is_element() && d.tag_name().name() == "return-response")
        {
            lost.push(format!(
                "{}: a <choose> with <return-response> may be an access check written by hand; \
                 not translated",
                path_of(node)
            ));
        }
    }
    plain_attributes(file, &doc, element)?;
    for attribute in element.attributes() {
        if !matches!(
            attribute.name(),
            "validate-revocation"
                | "validate-trust"
                | "validate-not-before"
                | "validate-not-after"
                | "ignore-error"
        ) {
            return Err(format!(
                "{}@{}: not an attribute of <{ELEMENT}> (validate-revocation, validate-trust, \
                 validate-not-before, validate-not-after, ignore-error)",
                at(file, &doc, element),
                attribute.name()
            ));
        }
    }
    let not_before = boolean(file, &doc, element, "validate-not-before", true, &mut lost)?;
    let not_after = boolean(file, &doc, element, "validate-not-after", true, &mut lost)?;
    let trust = boolean(file, &doc, element, "validate-trust", true, &mut lost)?;
    let revocation = boolean(file, &doc, element, "validate-revocation", true, &mut lost)?;
    let ignore_error = boolean(file, &doc, element, "ignore-error", false, &mut lost)?;
    let here = path_of(element);

    let mut validation = Map::new();
    if let Some(b) = not_before {
        validation.insert("validateNotBefore".into(), json!(b));
    }
    if let Some(b) = not_after {
        validation.insert("validateNotAfter".into(), json!(b));
    }
    // An expression in validate-trust: the trust check stays on (the strict reading).
    let trust_on = trust != Some(false);
    let mut placeholder = false;
    if trust_on {
        let mut roots = Vec::new();
        let mut intermediates = Vec::new();
        for (name, pem) in &options.ca {
            let (r, i) = split_bundle(&format!("--ca {name}"), pem)?;
            if r.is_empty() && i.is_empty() {
                return Err(format!("--ca {name}: no PEM certificate in it"));
            }
            roots.extend(r);
            intermediates.extend(i);
        }
        if options.ca.is_empty() {
            placeholder = true;
            notes.push(
                "the CA is a placeholder (REPLACE-WITH-THE-CA-CERTIFICATES-OF-THE-API-MANAGEMENT-\
                 INSTANCE): give --ca with the instance's CA certificates (root and \
                 intermediate, PEM); the plugin refuses to start until then"
                    .to_string(),
            );
            roots.push(PLACEHOLDER.to_string());
        } else if roots.is_empty() {
            return Err(
                "--ca: no self-signed CA certificate among them (API Management builds the \
                 chain to a trusted root; give the root too)"
                    .to_string(),
            );
        }
        validation.insert("validateTrust".into(), json!(true));
        validation.insert("trustedCaCertificates".into(), json!(roots));
        if !intermediates.is_empty() {
            validation.insert("intermediateCertificates".into(), json!(intermediates));
        }
    } else {
        validation.insert("validateTrust".into(), json!(false));
        if !options.ca.is_empty() {
            lost.push(format!(
                "--ca: {here}@validate-trust is false, so the CA certificates are not used"
            ));
        }
    }
    match revocation {
        Some(true) if !trust_on => lost.push(format!(
            "{here}@validate-revocation: \"true\" without validate-trust: the filter checks a CRL \
             against the issuer its trust check found"
        )),
        Some(true) if options.crl.is_empty() => lost.push(format!(
            "{here}@validate-revocation: API Management fetches the revocation lists the \
             certificate names (true is its default); give them with --crl, or configure \
             validation.revocationSources with the Envoy clusters that reach them"
        )),
        Some(true) => {
            validation.insert("validateRevocation".into(), json!(true));
            let crls: Vec<&str> = options.crl.iter().map(|(_, pem)| pem.as_str()).collect();
            validation.insert("crls".into(), json!(crls));
        }
        Some(false) => {
            validation.insert("validateRevocation".into(), json!(false));
            if !options.crl.is_empty() {
                lost.push(format!(
                    "--crl: {here}@validate-revocation is false, so the CRLs are not used"
                ));
            }
        }
        None => {}
    }
    let mut refused = None;
    let had_identities = elements(element)
        .any(|c| c.tag_name().name() == "identities" && elements(c).next().is_some());
    if let Some(list) = identities(file, &doc, element, trust_on, &mut lost)? {
        if had_identities && list.is_empty() {
            refused = Some(format!(
                "{here}: no identity is left to translate, and none would admit every \
                 certificate the other checks pass; nothing written (even with --allow-partial)"
            ));
        }
        if !list.is_empty() {
            validation.insert("identities".into(), Value::Array(list));
        }
    }
    let mut config = json!({
        "clientCertMode": "Required",
        "validation": Value::Object(validation),
        "responses": {"preset": "apim"},
        "forward": {"arrClientCert": false},
    });
    if ignore_error == Some(true) {
        config["reportOnly"] = json!(true);
        notes.push(format!(
            "{here}@ignore-error=\"true\": API Management goes on after a failed validation; \
             here that is reportOnly: nothing is refused, what would be is logged and counted"
        ));
    }
    if !placeholder {
        Config::from_json(config.to_string().as_bytes())
            .map_err(|e| format!("the configuration produced is refused by the filter: {e}"))?;
    }
    let output = serde_json::to_string_pretty(&config).map_err(|e| e.to_string())? + "\n";
    Ok(Imported {
        output,
        notes,
        untranslated: lost,
        refused,
    })
}
