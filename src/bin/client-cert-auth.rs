//! `client-cert-auth`: try a configuration before deploying it, with the filter's own core.
//!
//! ```text
//! client-cert-auth check --config CONFIG.json [--cert CLIENT.pem] [--chain CHAIN.pem]
//!                        [--path /some/path] [--method GET] [--host example.com]
//!                        [--xfcc HEADER-VALUE] [--at 2027-01-01T00:00:00Z] [--json]
//! client-cert-auth lint CONFIG.json
//! ```
//! Exit codes: 0 pass or forward, 1 deny, 2 bad configuration, unreadable input or bad usage.

use std::process::ExitCode;

use client_cert_auth::cache::VerdictCache;
use client_cert_auth::cert::pem_to_der;
use client_cert_auth::config::Config;
use client_cert_auth::config::Source;
use client_cert_auth::decision::{Decision, FORWARDED_HEADER, Request, decide};
use client_cert_auth::rfc3339;
use client_cert_auth::xfcc::envoy_url_encode;

const USAGE: &str = "usage:
  client-cert-auth check --config CONFIG.json [--cert CLIENT.pem] [--chain CHAIN.pem]
                         [--path /some/path] [--method GET] [--host example.com]
                         [--xfcc HEADER-VALUE] [--at 2027-01-01T00:00:00Z] [--json]
  client-cert-auth lint CONFIG.json";

/// A failure that ends the program with exit code 2.
struct Fatal(String);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("check") => check(&args[1..]),
        Some("lint") => lint(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(Fatal(USAGE.to_string())),
    };
    match result {
        Ok(code) => code,
        Err(Fatal(message)) => {
            eprintln!("client-cert-auth: {message}");
            ExitCode::from(2)
        }
    }
}

fn read(path: &str, what: &str) -> Result<Vec<u8>, Fatal> {
    std::fs::read(path).map_err(|e| Fatal(format!("cannot read the {what} {path}: {e}")))
}

fn load_config(path: &str) -> Result<Config, Fatal> {
    let bytes = read(path, "configuration")?;
    Config::from_json(&bytes).map_err(|e| Fatal(format!("invalid configuration {path}: {e}")))
}

fn lint(args: &[String]) -> Result<ExitCode, Fatal> {
    let [path] = args else {
        return Err(Fatal(USAGE.to_string()));
    };
    let config = load_config(path)?;
    println!("{path}: valid");
    println!("mode: {}", config.mode.name());
    let exclusions: Vec<&str> = config.exclusions.entries().collect();
    if exclusions.is_empty() {
        println!("exclusion paths: none");
    } else {
        println!("exclusion paths: {}", exclusions.join(", "));
    }
    for line in config.validation.describe() {
        println!("{line}");
    }
    println!("verdict cache: {} entries", config.cache_size);
    Ok(ExitCode::SUCCESS)
}

struct CheckArgs {
    config: String,
    cert: Option<String>,
    chain: Option<String>,
    path: String,
    method: String,
    host: String,
    xfcc: Option<String>,
    at: Option<String>,
    json: bool,
}

fn parse_check_args(args: &[String]) -> Result<CheckArgs, Fatal> {
    let mut out = CheckArgs {
        config: String::new(),
        cert: None,
        chain: None,
        path: "/".to_string(),
        method: "GET".to_string(),
        host: "localhost".to_string(),
        xfcc: None,
        at: None,
        json: false,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| Fatal(format!("{flag} needs a value\n{USAGE}")))
        };
        match flag.as_str() {
            "--config" => out.config = value()?,
            "--cert" => out.cert = Some(value()?),
            "--chain" => out.chain = Some(value()?),
            "--path" => out.path = value()?,
            "--method" => out.method = value()?,
            "--host" => out.host = value()?,
            "--xfcc" => out.xfcc = Some(value()?),
            "--at" => out.at = Some(value()?),
            "--json" => out.json = true,
            other => return Err(Fatal(format!("unknown argument {other:?}\n{USAGE}"))),
        }
    }
    if out.config.is_empty() {
        return Err(Fatal(format!("--config is required\n{USAGE}")));
    }
    Ok(out)
}

/// The PEM certificates of a bundle, as DER.
fn read_chain(path: &str) -> Result<Vec<Vec<u8>>, Fatal> {
    let text = String::from_utf8(read(path, "chain")?)
        .map_err(|_| Fatal(format!("the chain {path} is not PEM text")))?;
    let end = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    for block in text.split_inclusive(end).filter(|b| !b.trim().is_empty()) {
        let der = pem_to_der(block.as_bytes(), "CERTIFICATE")
            .map_err(|e| Fatal(format!("the chain {path}, certificate {}: {e}", out.len())))?;
        out.push(der);
    }
    if out.is_empty() {
        return Err(Fatal(format!("the chain {path} holds no certificate")));
    }
    Ok(out)
}

fn check(args: &[String]) -> Result<ExitCode, Fatal> {
    let args = parse_check_args(args)?;
    let config = load_config(&args.config)?;
    let cert = args
        .cert
        .as_deref()
        .map(|p| read(p, "certificate"))
        .transpose()?;
    let chain = args
        .chain
        .as_deref()
        .map(read_chain)
        .transpose()?
        .unwrap_or_default();
    let now = match &args.at {
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
    let synthesized_xfcc = match (&args.xfcc, &cert, config.source) {
        (Some(v), _, _) => Some(v.clone()),
        (None, Some(pem), Source::Xfcc) => Some(format!(
            "Cert=\"{}\"",
            envoy_url_encode(&String::from_utf8_lossy(pem))
        )),
        _ => None,
    };
    let decision = decide(
        &config,
        &Request {
            path: args.path.as_bytes(),
            method: args.method.as_bytes(),
            authority: args.host.as_bytes(),
            peer_certificate: if config.source == Source::Xfcc {
                None
            } else {
                cert.as_deref()
            },
            xfcc: synthesized_xfcc.as_deref().map(str::as_bytes),
            mtls: Some(cert.is_some() || args.xfcc.is_some()),
            peer_digest: None,
            now,
            chain: &chain,
        },
        &mut VerdictCache::new(0),
    );
    let (name, status, reason, header) = match &decision {
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
    if args.json {
        let value = serde_json::json!({
            "decision": name,
            "status": status,
            "reason": reason,
            "header": header,
        });
        println!("{value}");
    } else {
        println!("decision: {name}");
        if let Some(status) = status {
            println!("status: {status}");
        }
        if let Some(reason) = &reason {
            println!("reason: {reason}");
        }
        if let Decision::Forward { headers } = &decision {
            for (name, value) in headers.iter() {
                println!("header: {name}: {value}");
            }
        }
    }
    Ok(match decision {
        Decision::Deny(_) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}
