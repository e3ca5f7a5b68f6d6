//! `client-cert-auth`: try a configuration before deploying it, with the filter's own core.
//!
//! ```text
//! client-cert-auth check --config CONFIG.json [--cert CLIENT.pem] [--chain CHAIN.pem]
//!                        [--path /some/path] [--method GET] [--host example.com] [--route NAME]
//!                        [--xfcc HEADER-VALUE] [--at 2027-01-01T00:00:00Z] [--json]
//! client-cert-auth lint CONFIG.json
//! client-cert-auth import ingress-nginx INGRESS.yaml... [--target envoy-gateway|istio]
//!                        [--ca CA.crt] [--crl CA.crl] [--gateway NAME] [--image REF]
//!                        [--config-only] [--allow-partial]
//! client-cert-auth import app-service SITE.json [--site NAME] [--allow-partial]
//! client-cert-auth import apim POLICY.xml [--ca CA.pem]... [--crl CA.crl]... [--allow-partial]
//! client-cert-auth --help | --version
//! ```
//! Exit codes: 0 pass or forward (and `--help`, `--version`, a complete import), 1 deny (or an
//! import with something it could not translate, without `--allow-partial`: nothing is
//! written), 2 bad configuration, unreadable input or bad usage.

#[path = "client-cert-auth/apim.rs"]
mod apim;
#[path = "client-cert-auth/app_service.rs"]
mod app_service;
#[path = "client-cert-auth/common.rs"]
mod common;
#[path = "client-cert-auth/ingress_nginx.rs"]
mod ingress_nginx;

use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches, Command};
use client_cert_auth::{
    Config, Decision, FORWARDED_HEADER, PassReason, Request, VerdictCache, decide, rfc3339,
};
use client_cert_auth::{RevocationFailure, Source};
use client_cert_auth::{envoy_url_encode, pem_bundle};

/// A failure that ends the program with exit code 2.
struct Fatal(String);

/// Adds a line to what the command prints (written at the end, see [`print`]).
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        // Writing to a String cannot fail.
        let _ = writeln!($out, $($arg)*);
    }};
}

/// Writes the command's output. Output into a closed pipe (`| head -1`) is not an error worth
/// a word: the reader has what it wanted; the exit code stays the command's.
fn print(out: &str) -> Result<(), Fatal> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Fatal(format!("cannot write the output: {e}")))
        }
        _ => Ok(()),
    }
}

fn command() -> Command {
    let value = |name: &'static str, value: &'static str, help: &'static str| {
        Arg::new(name).long(name).value_name(value).help(help)
    };
    Command::new("client-cert-auth")
        .version(env!("CARGO_PKG_VERSION"))
        .about(
            "Try a client-cert-auth configuration with the filter's own core, before deploying it",
        )
        .subcommand_required(true)
        .subcommand(
            Command::new("check")
                .about("Decide one request as the filter would (exit 0 pass or forward, 1 deny)")
                .arg(
                    value("config", "CONFIG.json", "The plugin configuration (JSON)")
                        .required(true),
                )
                .arg(value(
                    "cert",
                    "CLIENT.pem",
                    "The client certificate (PEM), as the connection presents it",
                ))
                .arg(value(
                    "chain",
                    "CHAIN.pem",
                    "Intermediate certificates presented with it (PEM bundle)",
                ))
                .arg(value("path", "PATH", "The request path").default_value("/"))
                .arg(value("method", "METHOD", "The request method").default_value("GET"))
                .arg(value("host", "HOST", "The request's :authority").default_value("localhost"))
                .arg(value(
                    "route",
                    "NAME",
                    "The name of the Envoy route the request takes (for routeNames rules)",
                ))
                .arg(value(
                    "xfcc",
                    "HEADER-VALUE",
                    "An x-forwarded-client-cert value, as the connection manager writes it",
                ))
                .arg(
                    value(
                        "header",
                        "'NAME: VALUE'",
                        "A request header line, repeatable (a front proxy's certificate header, for certificateSource \"header\")",
                    )
                    .action(ArgAction::Append),
                )
                .arg(value(
                    "peer",
                    "ADDRESS:PORT",
                    "The immediate peer (Envoy's source.address), checked against header.trustedProxies",
                ))
                .arg(value(
                    "at",
                    "RFC3339-TIME",
                    "The time to decide at (RFC 3339), instead of now",
                ))
                .arg(
                    Arg::new("json")
                        .long("json")
                        .action(ArgAction::SetTrue)
                        .help("One JSON object on stdout instead of lines"),
                ),
        )
        .subcommand(
            Command::new("lint")
                .about("Validate a configuration and print what was understood")
                .arg(Arg::new("config").value_name("CONFIG").required(true)),
        )
        .subcommand(
            Command::new("import")
                .about(
                    "Translate another platform's settings into this filter's configuration (or manifests carrying it)",
                )
                .subcommand_required(true)
                .subcommand(
                    Command::new("ingress-nginx")
                        .about(
                            "Ingress manifests with ingress-nginx's auth-tls-* annotations -> \
                             Envoy Gateway (or Istio) manifests on standard output",
                        )
                        .arg(
                            Arg::new("files")
                                .value_name("INGRESS.yaml")
                                .required(true)
                                .num_args(1..)
                                .help("Ingress manifests (YAML, several documents each)"),
                        )
                        .arg(
                            value("target", "PLATFORM", "envoy-gateway or istio")
                                .default_value("envoy-gateway"),
                        )
                        .arg(value(
                            "ca",
                            "CA.crt",
                            "The CA secret's ca.crt, inlined (otherwise a placeholder)",
                        ))
                        .arg(value("crl", "CA.crl", "The CA secret's ca.crl, inlined"))
                        .arg(
                            value("gateway", "NAME", "The Envoy Gateway Gateway to attach to")
                                .default_value("eg"),
                        )
                        .arg(
                            value("image", "REF", "The module's OCI image")
                                .default_value("REPLACE-WITH-THE-MODULE-IMAGE"),
                        )
                        .arg(
                            Arg::new("config-only")
                                .long("config-only")
                                .action(ArgAction::SetTrue)
                                .help("Print the plugin configuration (JSON) only"),
                        )
                        .arg(allow_partial("annotations")),
                )
                .subcommand(
                    Command::new("app-service")
                        .about(
                            "An App Service site's client-certificate settings (az webapp show, \
                             an ARM template or resource, terraform show -json) -> the plugin \
                             configuration (JSON) on standard output",
                        )
                        .arg(
                            Arg::new("file")
                                .value_name("SITE.json")
                                .required(true)
                                .help("az webapp show / list, an ARM template or resource, or terraform show -json output"),
                        )
                        .arg(value(
                            "site",
                            "NAME",
                            "With several sites, print this one's configuration alone",
                        ))
                        .arg(allow_partial("settings")),
                )
                .subcommand(
                    Command::new("apim")
                        .about(
                            "An API Management policy with <validate-client-certificate> -> the \
                             plugin configuration (JSON) on standard output",
                        )
                        .arg(
                            Arg::new("file")
                                .value_name("POLICY.xml")
                                .required(true)
                                .help("The policy document (XML)"),
                        )
                        .arg(
                            value(
                                "ca",
                                "CA.pem",
                                "The instance's CA certificates (PEM), repeatable (otherwise a placeholder)",
                            )
                            .action(ArgAction::Append),
                        )
                        .arg(
                            value(
                                "crl",
                                "CA.crl",
                                "A CRL of those CAs (PEM), repeatable, for validate-revocation",
                            )
                            .action(ArgAction::Append),
                        )
                        .arg(allow_partial("items (attributes, expressions)")),
                ),
        )
}

fn allow_partial(what: &'static str) -> Arg {
    Arg::new("allow-partial")
        .long("allow-partial")
        .action(ArgAction::SetTrue)
        .help(format!(
            "Write the output even when {what} were not translated"
        ))
}

fn read_text(path: &str, what: &str) -> Result<String, Fatal> {
    String::from_utf8(read(path, what)?)
        .map_err(|_| Fatal(format!("the {what} {path} is not UTF-8 text")))
}

fn import(args: &ArgMatches, out: &mut String) -> Result<ExitCode, Fatal> {
    let (imported, args, noun) = match args.subcommand() {
        Some(("ingress-nginx", args)) => (import_ingress_nginx(args)?, args, "annotation(s)"),
        Some(("app-service", args)) => {
            let file = text(args, "file").unwrap_or_default();
            let imported =
                app_service::import(file, &read_text(file, "site file")?, text(args, "site"))
                    .map_err(Fatal)?;
            (imported, args, "setting(s)")
        }
        Some(("apim", args)) => {
            let file = text(args, "file").unwrap_or_default();
            let files = |name: &str, what: &str| -> Result<Vec<(String, String)>, Fatal> {
                args.get_many::<String>(name)
                    .into_iter()
                    .flatten()
                    .map(|p| Ok((p.clone(), read_text(p, what)?)))
                    .collect()
            };
            let options = apim::Options {
                ca: files("ca", "CA")?,
                crl: files("crl", "CRL")?,
            };
            let imported =
                apim::import(file, &read_text(file, "policy")?, &options).map_err(Fatal)?;
            (imported, args, "item(s)")
        }
        _ => return Err(Fatal(command().render_usage().to_string())),
    };
    for note in &imported.notes {
        eprintln!("note: {note}");
    }
    for line in &imported.untranslated {
        eprintln!("not translated: {line}");
    }
    if let Some(refused) = &imported.refused {
        eprintln!("client-cert-auth: {refused}");
        return Ok(ExitCode::from(1));
    }
    if !imported.untranslated.is_empty() && !args.get_flag("allow-partial") {
        eprintln!(
            "client-cert-auth: {} {noun} not translated; nothing written (--allow-partial \
             writes the rest)",
            imported.untranslated.len()
        );
        return Ok(ExitCode::from(1));
    }
    out.push_str(&imported.output);
    Ok(ExitCode::SUCCESS)
}

fn import_ingress_nginx(args: &ArgMatches) -> Result<common::Imported, Fatal> {
    let target = match text(args, "target").unwrap_or_default() {
        "envoy-gateway" => ingress_nginx::Target::EnvoyGateway,
        "istio" => ingress_nginx::Target::Istio,
        other => {
            return Err(Fatal(format!(
                "--target: {other:?} is not envoy-gateway or istio"
            )));
        }
    };
    let mut inputs = Vec::new();
    for file in args.get_many::<String>("files").into_iter().flatten() {
        inputs.push((file.clone(), read_text(file, "manifest")?));
    }
    let options = ingress_nginx::Options {
        target,
        ca: text(args, "ca").map(|p| read_text(p, "CA")).transpose()?,
        crl: text(args, "crl").map(|p| read_text(p, "CRL")).transpose()?,
        gateway: text(args, "gateway").unwrap_or("eg").to_string(),
        image: text(args, "image").unwrap_or_default().to_string(),
    };
    if args.get_flag("config-only") {
        ingress_nginx::config_only(&inputs, &options)
    } else {
        ingress_nginx::import(&inputs, &options)
    }
    .map_err(Fatal)
}

fn main() -> ExitCode {
    let matches = match command().try_get_matches() {
        Ok(matches) => matches,
        Err(e) => {
            // --help and --version print and succeed; usage errors exit with 2.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let mut out = String::new();
    let result = match matches.subcommand() {
        Some(("check", args)) => check(args, &mut out),
        Some(("lint", args)) => lint(args, &mut out),
        Some(("import", args)) => import(args, &mut out),
        _ => Err(Fatal(command().render_usage().to_string())),
    }
    .and_then(|code| print(&out).map(|()| code));
    match result {
        Ok(code) => code,
        Err(Fatal(message)) => {
            eprintln!("client-cert-auth: {message}");
            ExitCode::from(2)
        }
    }
}

fn text<'a>(args: &'a ArgMatches, name: &str) -> Option<&'a str> {
    args.get_one::<String>(name).map(String::as_str)
}

fn read(path: &str, what: &str) -> Result<Vec<u8>, Fatal> {
    std::fs::read(path).map_err(|e| Fatal(format!("cannot read the {what} {path}: {e}")))
}

fn load_config(path: &str) -> Result<Config, Fatal> {
    let bytes = read(path, "configuration")?;
    Config::from_json(&bytes).map_err(|e| Fatal(format!("invalid configuration {path}: {e}")))
}

fn lint(args: &ArgMatches, out: &mut String) -> Result<ExitCode, Fatal> {
    let path = text(args, "config").unwrap_or_default();
    let config = load_config(path)?;
    say!(out, "{path}: valid");
    say!(out, "mode: {}", config.mode.name());
    if config.report_only {
        say!(
            out,
            "report only: nothing is denied (would-deny is logged and counted) unless a rule sets reportOnly false"
        );
    }
    let exclusions: Vec<&str> = config.exclusions.entries().collect();
    if exclusions.is_empty() {
        say!(out, "exclusion paths: none");
    } else {
        say!(out, "exclusion paths: {}", exclusions.join(", "));
    }
    for line in config.validation.describe() {
        say!(out, "{line}");
    }
    if config.rules.is_empty() {
        say!(out, "rules: none");
    } else {
        say!(out, "rules, first match decides:");
        for (i, rule) in config.rules.iter().enumerate() {
            say!(out, "  rules[{i}]: {}", rule.describe());
        }
    }
    say!(out, "verdict cache: {} entries", config.cache_size);
    for warning in warnings(&config) {
        say!(out, "warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Below this OCSP wait (milliseconds), `lint` warns under `revocationFailure: allow`.
const SHORT_OCSP_TIMEOUT_MS: u32 = 500;

/// What is valid but probably not meant.
fn warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if config.exclusions.entries().any(|e| e == "/") {
        out.push(
            "clientCertExclusionPaths holds \"/\": every path is excluded, so no request ever needs a \
             certificate and the modes and rules only decide whether a presented one is forwarded"
                .to_string(),
        );
    }
    if let Some(first) = config.rules.iter().position(|r| r.matches_everything()) {
        for later in first + 1..config.rules.len() {
            out.push(format!(
                "rules[{later}] can never apply: rules[{first}] has no condition, so it matches \
                 every request first"
            ));
        }
    }
    if let Some(front) = &config.front {
        out.push(
            "certificateSource \"header\" trusts Envoy's source.address, which is the socket peer \
             only with use_remote_address: true on the HTTP connection manager (and no \
             xff_num_trusted_hops or original_ip_detection_extensions); with Envoy's default it \
             comes from X-Forwarded-For, which any client writes. The filter cannot see that \
             setting: check it"
                .to_string(),
        );
        for (i, (cidr, text)) in front.trusted.iter().zip(&front.trusted_text).enumerate() {
            // Wider than the largest private network of its family (10.0.0.0/8, the ULA block
            // fc00::/7): more than one organisation's network, or a mistake.
            let (family, private, widest) = match cidr.family_prefix() {
                (true, bits) => ("IPv4", "10.0.0.0/8", bits < 8),
                (false, bits) => ("IPv6", "fc00::/7", bits < 7),
            };
            if widest {
                out.push(format!(
                    "header.trustedProxies[{i}] {text:?} is wider than any private {family} \
                     network ({private}): every peer in it may hand over a certificate header; \
                     list the proxies' own addresses"
                ));
            }
        }
    }
    if let Some(sources) = config.validation.online_sources()
        && let Some(ocsp) = &sources.ocsp
        && sources.failure == RevocationFailure::Allow
        && ocsp.timeout_ms < SHORT_OCSP_TIMEOUT_MS
    {
        out.push(format!(
            "validation.revocationSources.ocsp.timeoutMs is {} ms under revocationFailure \
             \"allow\": a responder slower than that is no answer, and the certificate passes \
             without a revocation status; {SHORT_OCSP_TIMEOUT_MS} ms or more leaves a responder \
             time to answer",
            ocsp.timeout_ms
        ));
    }
    let identities = config.identities_by_field();
    for (field, identity) in &identities {
        for pattern in identity.unanchored_patterns() {
            out.push(format!(
                "{field}.subjectPattern {pattern:?} is searched anywhere in the subject, as \
                 nginx's auth-tls-match-cn is: CN=alice also admits CN=alice-evil and \
                 CN=mallory,OU=CN=alice; anchor it at both ends (^CN=alice(,|$)) or use \
                 commonName"
            ));
        }
    }
    if !config.validation.trust_enabled() {
        for (field, identity) in &identities {
            if identity.is_forgeable() {
                let names: Vec<&str> = identity.0.iter().map(|a| a.name()).collect();
                out.push(format!(
                    "{field} ({}) can be written into a self-signed certificate by anyone: \
                     without the trust check (validation.trustedCaCertificates) it proves nothing",
                    names.join(", ")
                ));
            }
        }
    }
    out
}

/// The PEM certificates of a bundle, as DER.
fn read_chain(path: &str) -> Result<Vec<Vec<u8>>, Fatal> {
    let text = String::from_utf8(read(path, "chain")?)
        .map_err(|_| Fatal(format!("the chain {path} is not PEM text")))?;
    let out = pem_bundle(&text).map_err(|e| Fatal(format!("the chain {path}: {e}")))?;
    if out.is_empty() {
        return Err(Fatal(format!("the chain {path} holds no certificate")));
    }
    Ok(out)
}

fn check(args: &ArgMatches, out: &mut String) -> Result<ExitCode, Fatal> {
    let config = load_config(text(args, "config").unwrap_or_default())?;
    let cert = text(args, "cert")
        .map(|p| read(p, "certificate"))
        .transpose()?;
    let chain = text(args, "chain")
        .map(read_chain)
        .transpose()?
        .unwrap_or_default();
    let xfcc = text(args, "xfcc");
    let header_lines: Vec<(String, Vec<u8>)> = args
        .get_many::<String>("header")
        .into_iter()
        .flatten()
        .map(|line| {
            line.split_once(':')
                .map(|(n, v)| (n.trim().to_string(), v.trim().as_bytes().to_vec()))
                .ok_or_else(|| Fatal(format!("--header {line:?} is not 'NAME: VALUE'")))
        })
        .collect::<Result<_, _>>()?;
    let headers: Vec<(&str, &[u8])> = header_lines
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let now = match text(args, "at") {
        Some(at) => rfc3339::parse(at).ok_or_else(|| {
            Fatal(format!(
                "--at {at:?} is not an RFC 3339 time such as 2027-01-01T00:00:00Z"
            ))
        })?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .map_err(|_| Fatal("the system clock is before 1970".to_string()))?,
    };
    // What Envoy would hand the filter: the property for the connection source, or the XFCC
    // element a SANITIZE_SET connection manager writes for the xfcc source.
    let synthesized_xfcc = match (xfcc, &cert, config.source) {
        (Some(v), _, _) => Some(v.to_string()),
        (None, Some(pem), Source::Xfcc) => Some(format!(
            "Cert=\"{}\"",
            envoy_url_encode(&String::from_utf8_lossy(pem))
        )),
        _ => None,
    };
    let decision = decide(
        &config,
        &mut Request {
            path: text(args, "path").unwrap_or("/").as_bytes(),
            method: text(args, "method").unwrap_or("GET").as_bytes(),
            authority: text(args, "host").unwrap_or("localhost").as_bytes(),
            peer_certificate: if config.source == Source::Xfcc {
                None
            } else {
                cert.as_deref()
            },
            xfcc: synthesized_xfcc.as_deref().map(str::as_bytes),
            mtls: Some(cert.is_some() || xfcc.is_some()),
            peer_digest: None,
            route: text(args, "route").map(str::as_bytes),
            method_override: None,
            now,
            chain: &chain,
            headers: &headers,
            source_address: text(args, "peer").map(str::as_bytes),
        },
        &mut VerdictCache::new(0),
    )
    .decision;
    let (name, status, reason, header) = match &decision {
        Decision::Pass(reason @ PassReason::ReportOnly(would)) => (
            "would_deny",
            Some(config.reply(would).status),
            Some(reason.describe()),
            None,
        ),
        Decision::Pass(reason) => ("pass", None, Some(reason.describe()), None),
        Decision::Forward { headers } => (
            "forward",
            None,
            None,
            decision
                .header(FORWARDED_HEADER)
                .map(str::to_string)
                .or_else(|| headers.first().map(|(_, v)| v.clone())),
        ),
        Decision::Deny(reason) => (
            "deny",
            Some(config.reply(reason).status),
            Some(reason.describe()),
            None,
        ),
    };
    if args.get_flag("json") {
        let value = serde_json::json!({
            "decision": name,
            "status": status,
            "reason": reason,
            "header": header,
        });
        say!(out, "{value}");
    } else {
        say!(out, "decision: {name}");
        if let Some(status) = status {
            say!(out, "status: {status}");
        }
        if let Some(reason) = &reason {
            say!(out, "reason: {reason}");
        }
        if let Decision::Forward { headers } = &decision {
            for (name, value) in headers.iter() {
                say!(out, "header: {name}: {value}");
            }
        }
    }
    Ok(match decision {
        Decision::Deny(_) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}
