//! `client-cert-auth import app-service FILE`: an App Service site's client-certificate
//! settings in, the plugin configuration out (docs/migrating-from-azure.md has the mapping).
//!
//! Three inputs, told apart by their shape: the JSON of `az webapp show` (or `az webapp list`,
//! an array; the settings at the top level, camelCase), an ARM template or a single ARM resource
//! (`Microsoft.Web/sites` and `/slots`, the settings under `properties`; child resources and
//! nested deployments are walked), and `terraform show -json` of a state or a plan
//! (`azurerm_linux_web_app`, `azurerm_windows_web_app`, their slots and function apps, and the
//! older `azurerm_app_service`, in the root module and every child module).
//!
//! ARM property names are read in any case (Resource Manager's are case-insensitive); two
//! spellings of one, the same JSON key twice, or both shapes in one object are refused. A site
//! declared `existing` and an attribute absent from a Terraform plan are reported, not guessed.
//!
//! Azure's meaning is kept exactly: `clientCertEnabled` false (Azure's default, so also when
//! absent) disables the check whatever the mode; an absent mode is `Required`; the modes are
//! Azure's three, written in Azure's case; the exclusion paths string is copied as Azure holds
//! it (`/a;/b`), after the filter's parser accepted each entry (an entry it would read more
//! broadly than App Service, ending in `/` or with a percent escape, is reported). An ARM
//! expression (`[parameters('x')]`) or a value Terraform knows only after apply is never
//! guessed: it is reported, and without `--allow-partial` nothing is written. Left out, each of
//! the three settings takes the plugin's default, which is the strictest (enabled, `Required`,
//! nothing excluded).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use client_cert_auth::Config;

use crate::common::Imported;

/// Azure's modes, in Azure's spelling.
const MODES: [&str; 3] = ["Required", "Optional", "OptionalInteractiveUser"];

/// Terraform resource types with App Service's client-certificate settings, and the names of
/// their enabled, mode and exclusion-paths attributes.
const TERRAFORM_TYPES: [(&str, [&str; 2], Option<&str>); 9] = {
    const ON_MODE: [&str; 2] = ["client_certificate_enabled", "client_certificate_mode"];
    const PATHS: Option<&str> = Some("client_certificate_exclusion_paths");
    [
        ("azurerm_linux_web_app", ON_MODE, PATHS),
        ("azurerm_windows_web_app", ON_MODE, PATHS),
        ("azurerm_linux_web_app_slot", ON_MODE, PATHS),
        ("azurerm_windows_web_app_slot", ON_MODE, PATHS),
        ("azurerm_linux_function_app", ON_MODE, PATHS),
        ("azurerm_windows_function_app", ON_MODE, PATHS),
        ("azurerm_linux_function_app_slot", ON_MODE, PATHS),
        ("azurerm_windows_function_app_slot", ON_MODE, PATHS),
        // azurerm 3.x's deprecated resource, which has no exclusion paths.
        (
            "azurerm_app_service",
            ["client_cert_enabled", "client_cert_mode"],
            None,
        ),
    ]
};

/// One of a site's three settings as the input holds it.
struct Setting<'a> {
    /// Where it is, as a JSON path from the document's root (for errors).
    path: String,
    /// Its name where the site is (for the `not translated` lines).
    name: String,
    value: Option<&'a Value>,
    /// Terraform plan: not known before apply (why).
    unknown: Option<&'static str>,
}

/// A site found in the input.
struct Site<'a> {
    /// Its name (the key of the output when there are several).
    name: String,
    /// Where it is, for messages: a JSON path, or a Terraform address.
    at: String,
    enabled: Setting<'a>,
    mode: Setting<'a>,
    paths: Setting<'a>,
    /// ARM: strings may be template expressions.
    arm: bool,
    /// ARM: declared `existing` (a reference to a site deployed elsewhere; its settings are not
    /// in the file).
    existing: bool,
}

/// A member of an object, its name compared without case (Azure Resource Manager's property
/// names are case-insensitive: `Properties`, `ClientCertEnabled`); two spellings of one name
/// are refused, since which one Azure would take is not known.
fn member<'a>(
    file: &str,
    parent: &'a Value,
    parent_path: &str,
    name: &str,
) -> Result<Option<&'a Value>, String> {
    let Some(map) = parent.as_object() else {
        return Ok(None);
    };
    let found: Vec<(&String, &Value)> = map
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [(_, v)] => Ok(Some(v)),
        [(a, _), (b, _), ..] => Err(format!(
            "{file}: {}{name}: given twice, as {a:?} and {b:?} (property names are \
             case-insensitive)",
            prefix(parent_path)
        )),
    }
}

fn setting<'a>(
    file: &str,
    parent: &'a Value,
    parent_path: &str,
    name: &str,
) -> Result<Setting<'a>, String> {
    let path = if parent_path.is_empty() {
        name.to_string()
    } else {
        format!("{parent_path}.{name}")
    };
    Ok(Setting {
        path,
        name: name.to_string(),
        value: member(file, parent, parent_path, name)?.filter(|v| !v.is_null()),
        unknown: None,
    })
}

/// Terraform attribute names are exact.
fn terraform_setting<'a>(parent: &'a Value, parent_path: &str, name: &str) -> Setting<'a> {
    Setting {
        path: format!("{parent_path}.{name}"),
        name: name.to_string(),
        value: parent.get(name).filter(|v| !v.is_null()),
        unknown: None,
    }
}

/// Whether a site object is an ARM resource (its settings under `properties`) rather than
/// `az webapp show` output (at the top level). Both shapes at once are refused.
fn is_arm_shape(file: &str, v: &Value, path: &str) -> Result<bool, String> {
    let arm = member(file, v, path, "properties")?.is_some_and(Value::is_object);
    if arm {
        for name in [
            "clientCertEnabled",
            "clientCertMode",
            "clientCertExclusionPaths",
        ] {
            if member(file, v, path, name)?.is_some() {
                return Err(format!(
                    "{file}: {}{name}: beside properties: both the az webapp show and the ARM \
                     shape, which one holds the site's settings is not known",
                    prefix(path)
                ));
            }
        }
    }
    Ok(arm)
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An ARM template expression: `[...]`, except `[[...`, which is a literal starting with `[`.
fn is_expression(s: &str) -> bool {
    s.starts_with('[') && s.ends_with(']') && !s.starts_with("[[")
}

fn is_site_type(t: &str) -> bool {
    t.eq_ignore_ascii_case("Microsoft.Web/sites")
        || t.eq_ignore_ascii_case("Microsoft.Web/sites/slots")
}

/// The sites of the input, whatever its kind.
fn find_sites<'a>(
    file: &str,
    doc: &'a Value,
    notes: &mut Vec<String>,
) -> Result<Vec<Site<'a>>, String> {
    let not_any = || {
        format!(
            "{file}: not the JSON of `az webapp show`, an ARM template or resource, or \
             `terraform show -json` (expected a site with \"type\": \"Microsoft.Web/sites\", a \
             template's \"resources\", or Terraform's \"values\" / \"planned_values\")"
        )
    };
    let mut sites = Vec::new();
    match doc {
        // `az webapp list`.
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("[{i}]");
                match member(file, item, &at, "type")?.and_then(Value::as_str) {
                    Some(t) if is_site_type(t) && is_arm_shape(file, item, &at)? => {
                        // An ARM resource (`az resource show --ids a b`), with its children.
                        let site = arm_site(file, item, &at, None)?;
                        let name = site.name.clone();
                        sites.push(site);
                        arm_resources(
                            file,
                            member(file, item, &at, "resources")?.unwrap_or(&Value::Null),
                            &format!("{at}.resources"),
                            Some((t, &name)),
                            &mut sites,
                            notes,
                        )?;
                    }
                    Some(t) if is_site_type(t) => sites.push(az_site(file, item, &at)?),
                    Some(t) => notes.push(format!("{file}: {at}: a {t} skipped (not a site)")),
                    None => {
                        return Err(format!(
                            "{file}: {at}.type: missing: not an az webapp object"
                        ));
                    }
                }
            }
        }
        Value::Object(map) => {
            let site_type = member(file, doc, "", "type")?
                .and_then(Value::as_str)
                .filter(|t| is_site_type(t));
            if map.contains_key("values") || map.contains_key("planned_values") {
                terraform(file, doc, &mut sites, notes)?;
            } else if let Some(t) = site_type {
                if is_arm_shape(file, doc, "")? {
                    // An ARM resource (a template's, or `az resource show`), with its children.
                    let site = arm_site(file, doc, "", None)?;
                    let name = site.name.clone();
                    sites.push(site);
                    arm_resources(
                        file,
                        member(file, doc, "", "resources")?.unwrap_or(&Value::Null),
                        "resources",
                        Some((t, &name)),
                        &mut sites,
                        notes,
                    )?;
                } else {
                    sites.push(az_site(file, doc, "")?);
                }
            } else if member(file, doc, "", "resources")?.is_some() {
                if let Some(Value::String(s)) = map.get("$schema")
                    && s.contains("deploymentParameters")
                {
                    return Err(format!("{file}: an ARM parameters file, not a template"));
                }
                arm_resources(
                    file,
                    member(file, doc, "", "resources")?.unwrap_or(&Value::Null),
                    "resources",
                    None,
                    &mut sites,
                    notes,
                )?;
            } else if let Some(Value::String(t)) = map.get("type") {
                return Err(format!(
                    "{file}: type: {t:?} is not an App Service site (Microsoft.Web/sites)"
                ));
            } else {
                return Err(not_any());
            }
        }
        _ => return Err(not_any()),
    }
    if sites.is_empty() {
        return Err(format!(
            "{file}: no App Service site (Microsoft.Web/sites, or Terraform's \
             azurerm_linux_web_app / azurerm_windows_web_app) in the input"
        ));
    }
    Ok(sites)
}

fn name_of(file: &str, v: &Value, path: &str) -> Result<Option<String>, String> {
    match member(file, v, path, "name")? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "{file}: {}name: expected a string, found {}",
            prefix(path),
            describe(other)
        )),
    }
}

fn prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}.")
    }
}

/// `az webapp show`: the settings at the top level.
fn az_site<'a>(file: &str, v: &'a Value, path: &str) -> Result<Site<'a>, String> {
    let name = name_of(file, v, path)?.unwrap_or_else(|| {
        if path.is_empty() {
            "site".into()
        } else {
            path.into()
        }
    });
    Ok(Site {
        at: if path.is_empty() {
            name.clone()
        } else {
            format!("{path} ({name})")
        },
        name,
        enabled: setting(file, v, path, "clientCertEnabled")?,
        mode: setting(file, v, path, "clientCertMode")?,
        paths: setting(file, v, path, "clientCertExclusionPaths")?,
        arm: false,
        existing: false,
    })
}

/// An ARM resource: the settings under `properties`.
fn arm_site<'a>(
    file: &str,
    v: &'a Value,
    path: &str,
    parent_name: Option<&str>,
) -> Result<Site<'a>, String> {
    let own = name_of(file, v, path)?.unwrap_or_else(|| "site".into());
    let name = match parent_name {
        Some(parent) => format!("{parent}/{own}"),
        None => own,
    };
    let properties = member(file, v, path, "properties")?.unwrap_or(&Value::Null);
    let props_path = format!("{}properties", prefix(path));
    let existing = member(file, v, path, "existing")?
        .is_some_and(|e| !matches!(e, Value::Null | Value::Bool(false)));
    if !properties.is_null() && !properties.is_object() {
        return Err(format!(
            "{file}: {props_path}: expected an object, found {}",
            describe(properties)
        ));
    }
    Ok(Site {
        at: if path.is_empty() {
            name.clone()
        } else {
            format!("{path} ({name})")
        },
        name,
        enabled: setting(file, properties, &props_path, "clientCertEnabled")?,
        mode: setting(file, properties, &props_path, "clientCertMode")?,
        paths: setting(file, properties, &props_path, "clientCertExclusionPaths")?,
        arm: true,
        existing,
    })
}

/// A template's `resources` (an array, or an object of symbolic names in language version
/// 2.0), their child resources and nested deployments' templates.
fn arm_resources<'a>(
    file: &str,
    resources: &'a Value,
    path: &str,
    parent: Option<(&str, &str)>,
    sites: &mut Vec<Site<'a>>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let list: Vec<(String, &Value)> = match resources {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("{path}[{i}]"), r))
            .collect(),
        Value::Object(map) => map
            .iter()
            .map(|(k, r)| (format!("{path}.{k}"), r))
            .collect(),
        other => {
            return Err(format!(
                "{file}: {path}: expected an array of resources, found {}",
                describe(other)
            ));
        }
    };
    for (at, resource) in list {
        let Some(own_type) = member(file, resource, &at, "type")?.and_then(Value::as_str) else {
            return Err(format!("{file}: {at}.type: missing: not an ARM resource"));
        };
        // A child resource's type and name are relative to its parent's.
        let (full_type, parent_name) = match parent {
            Some((ptype, pname)) if !own_type.contains('/') => {
                (format!("{ptype}/{own_type}"), Some(pname))
            }
            _ => (own_type.to_string(), None),
        };
        if is_site_type(&full_type) {
            let site = arm_site(file, resource, &at, parent_name)?;
            let name = site.name.clone();
            sites.push(site);
            arm_resources(
                file,
                member(file, resource, &at, "resources")?.unwrap_or(&Value::Null),
                &format!("{at}.resources"),
                Some((&full_type, &name)),
                sites,
                notes,
            )?;
        } else if full_type.eq_ignore_ascii_case("Microsoft.Resources/deployments") {
            let props_path = format!("{at}.properties");
            let properties = member(file, resource, &at, "properties")?.unwrap_or(&Value::Null);
            if member(file, properties, &props_path, "templateLink")?.is_some_and(Value::is_object)
            {
                notes.push(format!(
                    "{file}: {at}: a linked template (properties.templateLink) is not read: \
                     import it too"
                ));
            }
            let template_path = format!("{props_path}.template");
            let template =
                member(file, properties, &props_path, "template")?.unwrap_or(&Value::Null);
            arm_resources(
                file,
                member(file, template, &template_path, "resources")?.unwrap_or(&Value::Null),
                &format!("{at}.properties.template.resources"),
                None,
                sites,
                notes,
            )?;
        } else {
            let name = resource.get("name").and_then(Value::as_str).unwrap_or("");
            arm_resources(
                file,
                member(file, resource, &at, "resources")?.unwrap_or(&Value::Null),
                &format!("{at}.resources"),
                Some((&full_type, name)),
                sites,
                notes,
            )?;
        }
    }
    Ok(())
}

/// `terraform show -json`: a state (`values`) or a plan (`planned_values`, with the values
/// known only after apply in `resource_changes[].change.after_unknown`).
fn terraform<'a>(
    file: &str,
    doc: &'a Value,
    sites: &mut Vec<Site<'a>>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let (key, root) = if doc.get("values").is_some_and(|v| !v.is_null()) {
        ("values", &doc["values"])
    } else {
        ("planned_values", &doc["planned_values"])
    };
    if !root.is_object() {
        return Err(format!(
            "{file}: {key}: expected an object, found {}",
            describe(root)
        ));
    }
    let mut unknown: BTreeMap<&str, &Value> = BTreeMap::new();
    if let Some(changes) = doc["resource_changes"].as_array() {
        for change in changes {
            if let Some(address) = change["address"].as_str() {
                unknown.insert(address, &change["change"]["after_unknown"]);
            }
        }
    }
    let module = &root["root_module"];
    if !module.is_object() {
        return Err(format!(
            "{file}: {key}.root_module: missing: not `terraform show -json` output"
        ));
    }
    terraform_module(
        file,
        module,
        &format!("{key}.root_module"),
        (key == "planned_values", &unknown),
        sites,
        notes,
    )
}

fn terraform_module<'a>(
    file: &str,
    module: &'a Value,
    path: &str,
    (plan, unknown): (bool, &BTreeMap<&str, &Value>),
    sites: &mut Vec<Site<'a>>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let list = |key: &str| -> Result<&'a [Value], String> {
        match &module[key] {
            Value::Null => Ok(&[]),
            Value::Array(items) => Ok(items),
            other => Err(format!(
                "{file}: {path}.{key}: expected an array, found {}",
                describe(other)
            )),
        }
    };
    for (i, resource) in list("resources")?.iter().enumerate() {
        let at = format!("{path}.resources[{i}]");
        let Some(rtype) = resource["type"].as_str() else {
            return Err(format!(
                "{file}: {at}.type: missing: not a Terraform resource"
            ));
        };
        let Some((_, [enabled, mode], paths)) = TERRAFORM_TYPES.iter().find(|(t, ..)| *t == rtype)
        else {
            continue;
        };
        let address = resource["address"].as_str().unwrap_or(rtype).to_string();
        if resource["mode"].as_str() == Some("data") {
            notes.push(format!(
                "{address}: a data source skipped (it reads a site another configuration manages)"
            ));
            continue;
        }
        let values = &resource["values"];
        if !values.is_object() {
            return Err(format!(
                "{file}: {at}.values: expected an object, found {}",
                describe(values)
            ));
        }
        let name =
            name_of(file, values, &format!("{at}.values"))?.unwrap_or_else(|| address.clone());
        let after_unknown = unknown.get(address.as_str()).copied();
        // In a plan, an attribute known before apply is in the planned values (null when
        // unset): one that is absent is unknown, whether or not resource_changes says so.
        let field = |attribute: &str| {
            let mut s = terraform_setting(values, &format!("{at}.values"), attribute);
            if after_unknown.is_some_and(|u| u[attribute] == Value::Bool(true)) {
                s.unknown = Some("known only after apply in this plan");
            } else if plan && values.get(attribute).is_none() {
                s.unknown = Some(
                    "absent from this plan's planned values, so not known before apply \
                     (Terraform leaves unknown values out)",
                );
            }
            s
        };
        sites.push(Site {
            at: format!("{address} ({name})"),
            name,
            enabled: field(enabled),
            mode: field(mode),
            // Absent from the resource type: nothing to read, nothing excluded.
            paths: paths.map_or_else(|| terraform_setting(&Value::Null, &at, "-"), field),
            arm: false,
            existing: false,
        });
    }
    for (i, child) in list("child_modules")?.iter().enumerate() {
        terraform_module(
            file,
            child,
            &format!("{path}.child_modules[{i}]"),
            (plan, unknown),
            sites,
            notes,
        )?;
    }
    Ok(())
}

/// Why a value cannot be translated, if it cannot: an ARM expression, or unknown until apply.
fn unevaluable(site: &Site<'_>, s: &Setting<'_>) -> Option<String> {
    if let Some(why) = s.unknown {
        return Some(format!("{why}: import the state after apply"));
    }
    match s.value {
        Some(Value::String(v)) if site.arm && is_expression(v) => Some(format!(
            "{v:?} is an ARM template expression, not evaluated here (write the value, or \
             import the deployed site: az webapp show)"
        )),
        _ => None,
    }
}

/// An ARM string literal: `[[` stands for `[`.
fn literal(site: &Site<'_>, v: &str) -> String {
    match v.strip_prefix("[[") {
        Some(rest) if site.arm => format!("[{rest}"),
        _ => v.to_string(),
    }
}

/// One site's plugin configuration.
fn translate(
    file: &str,
    site: &Site<'_>,
    notes: &mut Vec<String>,
    untranslated: &mut Vec<String>,
) -> Result<Value, String> {
    let mut lost = |s: &Setting<'_>, why: String| {
        untranslated.push(format!("{}: {}: {why}", site.name, s.name));
    };
    let mut config = json!({"responses": {"preset": "appService"}});
    // clientCertEnabled: false (Azure's default) whatever the mode.
    let enabled = &site.enabled;
    if let Some(why) = unevaluable(site, enabled) {
        lost(enabled, why);
    } else {
        match enabled.value {
            None => config["clientCertEnabled"] = json!(false),
            Some(Value::Bool(b)) => config["clientCertEnabled"] = json!(b),
            Some(other) => {
                return Err(format!(
                    "{file}: {}: expected true or false, found {} ({other})",
                    enabled.path,
                    describe(other)
                ));
            }
        }
    }
    let mode = &site.mode;
    if let Some(why) = unevaluable(site, mode) {
        lost(mode, why);
    } else {
        let name = match mode.value {
            None => "Required",
            Some(Value::String(v)) => {
                let v = literal(site, v);
                MODES
                    .into_iter()
                    .find(|m| m.eq_ignore_ascii_case(v.trim()))
                    .ok_or_else(|| {
                        format!(
                            "{file}: {}: unknown mode {v:?}: App Service's are Required, \
                             Optional and OptionalInteractiveUser (the portal's Ignore is \
                             clientCertEnabled false)",
                            mode.path
                        )
                    })?
            }
            Some(other) => {
                return Err(format!(
                    "{file}: {}: expected a mode (a string), found {}",
                    mode.path,
                    describe(other)
                ));
            }
        };
        config["clientCertMode"] = json!(name);
        if name == "OptionalInteractiveUser" && config["clientCertEnabled"] != json!(false) {
            notes.push(format!(
                "{}: OptionalInteractiveUser is Optional at the HTTP layer; the browser's \
                 certificate prompt is the Envoy listener's (docs/azure-differences.md)",
                site.name
            ));
        }
    }
    let paths = &site.paths;
    if let Some(why) = unevaluable(site, paths) {
        lost(paths, why);
    } else {
        match paths.value {
            None => {}
            Some(Value::String(v)) => {
                let v = literal(site, v);
                let entries: Vec<&str> = v
                    .split([';', ','])
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .collect();
                // Each entry through the filter's own parser: what it refuses is reported, the
                // rest kept.
                let mut kept = Vec::new();
                for entry in &entries {
                    // App Service's "starts with" compares the path as sent with the entry as
                    // written. The filter ignores an entry's trailing `/` and decodes its
                    // percent escapes, so `/admin/` would also exclude `/admin` and `/%61dmin`
                    // `/admin`: broader than Azure, and the filter has no narrower spelling.
                    if entry.len() > 1 && entry.ends_with('/') {
                        lost(
                            paths,
                            format!(
                                "entry {entry:?}: App Service excludes only paths starting with \
                                 {entry:?}; here a trailing / is ignored, so it would also \
                                 exclude {:?} (write {:?} to exclude both)",
                                entry.trim_end_matches('/'),
                                entry.trim_end_matches('/')
                            ),
                        );
                        continue;
                    }
                    if entry.contains('%') {
                        lost(
                            paths,
                            format!(
                                "entry {entry:?}: App Service compares it as written; here its \
                                 percent escapes are decoded, so it would also exclude the \
                                 decoded path (write the path decoded)"
                            ),
                        );
                        continue;
                    }
                    let probe = json!({"clientCertExclusionPaths": [entry]}).to_string();
                    match Config::from_json(probe.as_bytes()) {
                        Ok(_) => kept.push(*entry),
                        Err(e) => {
                            let problem = e.to_string();
                            let problem = problem
                                .split_once(": ")
                                .map_or(problem.as_str(), |(_, p)| p);
                            lost(paths, format!("entry {problem}"));
                        }
                    }
                }
                if !kept.is_empty() {
                    config["clientCertExclusionPaths"] = if kept.len() == entries.len() {
                        json!(v)
                    } else {
                        json!(kept.join(";"))
                    };
                    // `/` excludes every path in both.
                    if let Some(first) = kept.iter().find(|e| **e != "/") {
                        notes.push(format!(
                            "{}: exclusion paths match whole segments here ({first} excludes \
                             {first} and {first}/... but not {first}x, which App Service's \
                             starts-with also excluded)",
                            site.name
                        ));
                    }
                }
            }
            Some(other) => {
                return Err(format!(
                    "{file}: {}: expected a string of paths separated by ';', found {}",
                    paths.path,
                    describe(other)
                ));
            }
        }
    }
    Config::from_json(config.to_string().as_bytes()).map_err(|e| {
        format!(
            "{file}: {}: the configuration produced is refused by the filter: {e}",
            site.at
        )
    })?;
    Ok(config)
}

/// Reads `text` (the contents of `file`) and writes the plugin configuration: the site's, or
/// with several sites an object of them keyed by site name (`site` picks one).
pub fn import(file: &str, text: &str, site: Option<&str>) -> Result<Imported, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("{file}: not JSON: {e}"))?;
    // serde_json keeps the last of two equal keys; Azure's reader may keep another.
    serde_json::from_str::<NoDuplicateKeys>(text).map_err(|e| format!("{file}: {e}"))?;
    let mut notes = Vec::new();
    let mut untranslated = Vec::new();
    let sites = find_sites(file, &doc, &mut notes)?;
    let mut configs: BTreeMap<String, Value> = BTreeMap::new();
    let mut first_at: BTreeMap<String, String> = BTreeMap::new();
    for s in &sites {
        if let Some(other) = first_at.get(&s.name) {
            return Err(format!(
                "{file}: two sites named {:?} ({other} and {}): import them one by one",
                s.name, s.at
            ));
        }
        first_at.insert(s.name.clone(), s.at.clone());
        if s.existing {
            untranslated.push(format!(
                "{}: declared \"existing\" (a reference to a site deployed elsewhere, whose \
                 settings are not in this file): no configuration written for it (import the \
                 deployed site: az webapp show)",
                s.name
            ));
            continue;
        }
        let config = translate(file, s, &mut notes, &mut untranslated)?;
        configs.insert(s.name.clone(), config);
    }
    let refused = configs
        .is_empty()
        .then(|| format!("{file}: no site whose settings are in the file; nothing written"));
    let value = match site {
        _ if refused.is_some() => Value::Null,
        Some(name) => configs.remove(name).ok_or_else(|| {
            format!(
                "--site: no site {name:?} in {file} (it has {})",
                configs
                    .keys()
                    .map(|k| format!("{k:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?,
        None if configs.len() == 1 => configs.into_values().next().unwrap_or_default(),
        None => {
            notes.push(format!(
                "{} sites: the output is an object of their configurations keyed by site name \
                 (--site NAME prints one alone)",
                configs.len()
            ));
            Value::Object(configs.into_iter().collect())
        }
    };
    if let Some(name) = site {
        let prefix = format!("{name}: ");
        untranslated.retain(|line| line.starts_with(&prefix));
        notes.retain(|line| line.starts_with(&prefix));
    }
    let output = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())? + "\n";
    Ok(Imported {
        output,
        notes,
        untranslated,
        refused,
    })
}

/// A JSON document read only to refuse an object with the same key twice.
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NoDuplicateKeysVisitor)
    }
}

struct NoDuplicateKeysVisitor;

impl<'de> serde::de::Visitor<'de> for NoDuplicateKeysVisitor {
    type Value = NoDuplicateKeys;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_unit<E>(self) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> Result<NoDuplicateKeys, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> Result<NoDuplicateKeys, A::Error> {
        let mut seen = std::collections::BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!(
                    "the key {key:?} twice in one object (which one Azure reads is not known)"
                )));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(NoDuplicateKeys)
    }
}
