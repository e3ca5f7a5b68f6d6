//! What the online revocation tests (`tests/e2e/revocation.rs`, `revocation_e2e_attacks.rs`)
//! put behind Envoy's clusters: a std-only HTTP/1.1 file server (CRLs, pre-made OCSP answers)
//! that counts what it is asked and can be told to stall or fail, and OpenSSL's own OCSP
//! responder (`openssl ocsp -port`) over a CA database the test writes; and how they configure
//! Envoy and ask through it.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::cases::{ARR, b64};
use crate::envoy::{Call, ClientCert, Envoy, EnvoyOptions, Pki, TempDir, curl};
use crate::openssl::openssl;
use crate::pki::{Alg, Ca};
use rcgen::SerialNumber;

/// How the file server answers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Behaviour {
    /// The file under the root at the request's path (any method): 200, else 404.
    Serve,
    /// Reads the request and never answers (until told otherwise, then closes).
    Stall,
    /// 500 with an empty body.
    Fail,
    /// Waits this long after reading the request, then answers as [`Behaviour::Serve`] (a
    /// slow responder).
    Delay(Duration),
}

/// One request the file server read.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// The request target, query included.
    pub path: String,
    /// The `Host` header ("" when absent).
    pub host: String,
    pub content_type: String,
    pub body: Vec<u8>,
    pub at: Instant,
}

struct State {
    root: PathBuf,
    behaviour: Behaviour,
    seen: Vec<Seen>,
}

/// A plaintext HTTP/1.1 server on 127.0.0.1, one request per connection (`connection: close`),
/// stopped on drop.
pub struct FileServer {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl FileServer {
    /// On a port of the system's choice.
    pub fn start(root: &Path) -> FileServer {
        FileServer::start_on(root, 0)
    }

    /// On this port (0: any); a port another server just left can be taken again.
    pub fn start_on(root: &Path, port: u16) -> FileServer {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("binding the file server");
        let port = listener.local_addr().expect("file server address").port();
        let state = Arc::new(Mutex::new(State {
            root: root.to_path_buf(),
            behaviour: Behaviour::Serve,
            seen: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (state, stop) = (state.clone(), stop.clone());
                    std::thread::spawn(move || serve(stream, &state, &stop));
                }
            })
        };
        FileServer {
            port,
            state,
            stop,
            accept: Some(accept),
        }
    }

    /// Serves from another folder from now on.
    pub fn set_root(&self, root: &Path) {
        self.lock().root = root.to_path_buf();
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.lock().behaviour = behaviour;
    }

    /// Every request read so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// How many requests with this method and target were read so far.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.lock()
            .seen
            .iter()
            .filter(|s| s.method == method && s.path == path)
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn serve(mut stream: TcpStream, state: &Mutex<State>, stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Some(seen) = read_request(&mut stream) else {
        return;
    };
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    let (behaviour, root) = {
        let mut state = lock();
        state.seen.push(seen.clone());
        (state.behaviour, state.root.clone())
    };
    let response = match behaviour {
        Behaviour::Stall => {
            while !stop.load(Ordering::SeqCst) && lock().behaviour == Behaviour::Stall {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        Behaviour::Fail => answer("500 Internal Server Error", "text/plain", &[]),
        Behaviour::Delay(wait) => {
            std::thread::sleep(wait);
            serve_file(&seen, &root)
        }
        Behaviour::Serve => serve_file(&seen, &root),
    };
    let _ = stream.write_all(&response);
    let _ = stream.flush();
}

/// The file under `root` at the request's path: 200 with it, else 404.
fn serve_file(seen: &Seen, root: &Path) -> Vec<u8> {
    let path = seen.path.split('?').next().unwrap_or_default();
    let file = (!path.split('/').any(|part| part == ".."))
        .then(|| root.join(path.trim_start_matches('/')))
        .filter(|file| file.is_file())
        .and_then(|file| std::fs::read(file).ok());
    let content_type = if seen.method == "POST" {
        "application/ocsp-response"
    } else {
        "application/pkix-crl"
    };
    match file {
        Some(body) => answer("200 OK", content_type, &body),
        None => answer("404 Not Found", "text/plain", b"not found"),
    }
}

fn answer(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// The request line, headers and body (by `content-length`), or `None` if the peer closed or
/// sent something else.
fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.to_string();
    let header = |name: &str| {
        head.split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let host = header("host");
    let content_type = header("content-type");
    let length: usize = header("content-length").parse().unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        method,
        path,
        host,
        content_type,
        body,
        at: Instant::now(),
    })
}

/// A certificate's serial as OpenSSL's CA database writes it (upper-case hex).
pub fn openssl_serial(dir: &Path, cert: &Path) -> String {
    let out = openssl(
        dir,
        &[
            "x509",
            "-noout",
            "-serial",
            "-in",
            &cert.display().to_string(),
        ],
    );
    out.trim()
        .strip_prefix("serial=")
        .unwrap_or_else(|| panic!("openssl printed no serial: {out:?}"))
        .to_string()
}

/// One row of OpenSSL's CA database (`index.txt`).
pub struct IndexEntry {
    /// As [`openssl_serial`] gives it.
    pub serial: String,
    /// `/CN=...`, unique per valid row.
    pub subject: String,
    pub revoked: bool,
}

/// Writes `index.txt` (and `index.txt.attr`, subjects need not be unique) in `dir`: every
/// entry valid until 2049, the revoked ones revoked yesterday.
pub fn write_index(dir: &Path, entries: &[IndexEntry]) -> PathBuf {
    let yesterday = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let revoked_at = format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        yesterday.year() % 100,
        u8::from(yesterday.month()),
        yesterday.day(),
        yesterday.hour(),
        yesterday.minute(),
        yesterday.second()
    );
    let text: String = entries
        .iter()
        .map(|e| {
            let (status, when) = if e.revoked {
                ("R", revoked_at.as_str())
            } else {
                ("V", "")
            };
            format!(
                "{status}\t491231235959Z\t{when}\t{}\tunknown\t{}\n",
                e.serial, e.subject
            )
        })
        .collect();
    std::fs::write(dir.join("index.txt.attr"), "unique_subject = no\n").expect("index.txt.attr");
    let path = dir.join("index.txt");
    std::fs::write(&path, text).expect("writing index.txt");
    path
}

/// `openssl ocsp -port`: OpenSSL's OCSP responder over `dir/index.txt`, for the CA
/// `dir/ca.pem`, signing with `dir/<signer>.pem` and `dir/<signer>.key`; killed on drop.
pub struct OcspResponder {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl OcspResponder {
    /// `extra`: more `openssl ocsp` arguments (e.g. `-badsig`).
    pub fn start(dir: &Path, port: u16, signer: &str, extra: &[&str]) -> OcspResponder {
        let log = dir.join(format!("ocsp-{port}-{signer}.log"));
        let log_file = std::fs::File::create(&log).expect("creating the responder log");
        let child = Command::new("openssl")
            .current_dir(dir)
            .args([
                "ocsp",
                "-index",
                "index.txt",
                "-CA",
                "ca.pem",
                "-ndays",
                "1",
            ])
            .args(["-port", &port.to_string()])
            .args(["-rsigner", &format!("{signer}.pem")])
            .args(["-rkey", &format!("{signer}.key")])
            // A request it cannot read must not stop it.
            .arg("-ignore_err")
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("starting openssl ocsp");
        let responder = OcspResponder { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !responder
            .log()
            .contains("waiting for OCSP client connections")
        {
            assert!(
                Instant::now() < deadline,
                "openssl ocsp did not start on port {port}: {}",
                responder.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        responder
    }

    /// What it logged (stderr): one "Received request" line per request.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn requests(&self) -> usize {
        self.log().matches("Received request").count()
    }
}

impl Drop for OcspResponder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pre-made OCSP answer, by `openssl ocsp` in file mode: a request for `dir/<cert>.pem`
/// (issuer `dir/ca.pem`; with a nonce of openssl's own or none), answered from
/// `dir/index.txt` by `dir/<signer>.pem`/`.key` for the CA `dir/<ca>.pem`. Written to
/// `dir/<out>`; its bytes are returned.
pub fn premade_answer(
    dir: &Path,
    cert: &str,
    ca: &str,
    signer: &str,
    nonce: bool,
    out: &str,
) -> Vec<u8> {
    let request = format!("{out}.req");
    openssl(
        dir,
        &[
            "ocsp",
            "-issuer",
            &format!("{ca}.pem"),
            "-cert",
            &format!("{cert}.pem"),
            if nonce { "-nonce" } else { "-no_nonce" },
            "-reqout",
            &request,
        ],
    );
    openssl(
        dir,
        &[
            "ocsp",
            "-index",
            "index.txt",
            "-CA",
            &format!("{ca}.pem"),
            "-rsigner",
            &format!("{signer}.pem"),
            "-rkey",
            &format!("{signer}.key"),
            "-ndays",
            "1",
            "-reqin",
            &request,
            "-respout",
            out,
        ],
    );
    std::fs::read(dir.join(out)).expect("reading the pre-made OCSP answer")
}

// ---------------------------------------------------------------------------------------------
// Envoy configured for online revocation, as the online revocation suites
// (`tests/e2e/revocation.rs`, `tests/e2e/revocation_e2e_attacks.rs`) configure it.

pub const CRL_CLUSTER: &str = "crl_test";
pub const CRL_URL: &str = "http://crl.test/issuing.crl";
pub const CRL_PATH: &str = "/issuing.crl";
/// The file the file server answers a GET of [`CRL_PATH`] with.
pub const CRL_FILE: &str = "issuing.crl";
pub const OCSP_CLUSTER: &str = "ocsp_test";
/// The OCSP URL: its host is the request's authority, its path the file the file server
/// answers a POST with.
pub const OCSP_URL: &str = "http://ocsp.test/ocsp";
pub const OCSP_PATH: &str = "/ocsp";
pub const OCSP_FILE: &str = "ocsp";

/// The host calls online revocation needs, commented out in the repository's `envoy.yaml`
/// (exactly as a user uncomments them).
pub const REVOCATION_CAPABILITIES: [&str; 5] = [
    "proxy_http_call",
    "proxy_on_http_call_response",
    "proxy_set_effective_context",
    "proxy_get_header_map_value",
    "proxy_continue_stream",
];

/// The plugin configuration: Required, trust in `trusted`, revocation from `sources`
/// (`revocationSources`) with this `revocationFailure`.
pub fn plugin_config(trusted: &[&Ca], sources: Value, failure: &str) -> String {
    serde_json::to_string_pretty(&json!({
        "clientCertMode": "Required",
        "validation": {
            "validateTrust": true,
            "trustedCaCertificates": trusted.iter().map(|ca| ca.cert_pem()).collect::<Vec<_>>(),
            "validateRevocation": true,
            "revocationSources": sources,
            "revocationFailure": failure
        }
    }))
    .unwrap()
}

/// A CRL source at `url` through `cluster`.
pub fn crl_source(cluster: &str, url: &str, refresh_seconds: u64) -> Value {
    json!({"url": url, "cluster": cluster, "refreshSeconds": refresh_seconds})
}

/// The OCSP source: [`OCSP_URL`] through [`OCSP_CLUSTER`].
pub fn ocsp_source(timeout_ms: u32, cache_seconds: u32) -> Value {
    json!({"cluster": OCSP_CLUSTER, "url": OCSP_URL, "timeoutMs": timeout_ms, "cacheSeconds": cache_seconds})
}

/// `envoy.yaml` with the revocation capabilities uncommented, the plugin configuration
/// `config`, plaintext clusters to `127.0.0.1:<port>`, and `concurrency` workers.
pub fn revocation_options(
    config: String,
    clusters: &[(&str, u16)],
    concurrency: u32,
) -> EnvoyOptions {
    EnvoyOptions {
        plugin_config: Some(config),
        clusters: clusters
            .iter()
            .map(|(name, port)| (name.to_string(), *port))
            .collect(),
        concurrency: Some(concurrency),
        yaml_edits: REVOCATION_CAPABILITIES
            .iter()
            .map(|name| (format!("# {name}: {{}}"), format!("{name}: {{}}")))
            .collect(),
        ..EnvoyOptions::default()
    }
}

/// Waits (3 s at most: counters reach Envoy once a second) until the filter's counter
/// `client_cert_auth.<name>` is at least `at_least`; returns its value.
pub fn counter_at_least(envoy: &Envoy, name: &str, at_least: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let value = envoy.gauge(name);
        if value >= at_least || Instant::now() > deadline {
            return value;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A scratch folder (named after `tag`) holding `der` as [`CRL_FILE`], and a file server
/// answering from it: one CRL source (keep both: the folder goes with its `TempDir`).
pub fn serve_crl(tag: &str, der: &[u8]) -> (TempDir, FileServer) {
    let files = TempDir::new(tag);
    set_crl(&files, der);
    let server = FileServer::start(&files.0);
    (files, server)
}

/// What the CRL source of [`serve_crl`] serves from now on (a fetch sees the old or the new).
pub fn set_crl(files: &TempDir, der: &[u8]) {
    replace_file(&files.0.join(CRL_FILE), der);
}

/// DER of a genuine CRL of `ca`: `serials` revoked, cRLNumber `number`, thisUpdate `age` ago,
/// valid for a day (HTTP CRLs are DER, RFC 5280 section 4.2.1.13).
pub fn crl_der(ca: &Ca, serials: &[u64], number: u64, age: time::Duration) -> Vec<u8> {
    let now = time::OffsetDateTime::now_utc();
    der_of(&ca.crl_between(serials, now - age, now + time::Duration::days(1), number))
}

/// The DER inside a PEM block.
pub fn der_of(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("rcgen's CRL PEM")
}

// ---------------------------------------------------------------------------------------------
// Asking through Envoy, as the online revocation suites (`tests/e2e/revocation.rs`,
// `tests/e2e/revocation_e2e_attacks.rs`) do.

/// A client certificate of the test CA with this serial, saved as `<stem>.pem`/`.key`.
pub fn leaf(pki: &Pki, stem: &str, serial: u64) -> ClientCert {
    leaf_of(pki, &pki.ca, stem, serial)
}

/// A client certificate of `ca` with this serial, saved as `<stem>.pem`/`.key`.
pub fn leaf_of(pki: &Pki, ca: &Ca, stem: &str, serial: u64) -> ClientCert {
    pki.save(
        stem,
        &ca.client_with(stem, Alg::EcdsaP256, |p| {
            p.serial_number = Some(SerialNumber::from(serial));
        }),
    )
}

/// The test CA's key beside its certificate (`ca.key`), so openssl can sign as the CA.
pub fn save_ca_key(pki: &Pki) {
    pki.dir.write("ca.key", &pki.ca.key().serialize_pem());
}

/// Replaces a file by renaming a complete copy over it: a fetch sees the old or the new one.
pub fn replace_file(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).expect("writing a served file");
    std::fs::rename(&tmp, path).expect("moving a served file into place");
}

/// One request's fate: status, what the filter put in the access log, and the
/// `X-ARR-ClientCert` values the echo upstream received (`None`: it was not reached).
#[derive(Debug)]
pub struct Outcome {
    pub status: u16,
    pub decision: String,
    pub upstream_arr: Option<Vec<String>>,
    pub took: Duration,
}

impl Outcome {
    pub fn forwarded(&self, cert: &ClientCert) -> bool {
        self.status == 200 && self.upstream_arr == Some(vec![b64(&cert.der)])
    }
    pub fn denied(&self, reason: &str) -> bool {
        self.status == 401
            && self.upstream_arr.is_none()
            && self.decision.contains("decision=deny")
            && self.decision.contains(&format!("reason={reason} "))
    }
}

/// Sends one request with `cert` and reads its access log line (each request here writes
/// exactly one, and requests of a test are sequential).
pub fn ask(envoy: &Envoy, pki: &Pki, cert: &ClientCert) -> Outcome {
    let before = envoy.access_log(0).len();
    let start = Instant::now();
    let response = curl(envoy, pki, &Call::new("/r").cert(cert));
    let took = start.elapsed();
    let lines = envoy.access_log(before + 1);
    let line = lines.get(before).cloned().unwrap_or_default();
    let decision = line
        .split_once("client_cert_auth=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(state, _)| state.to_string())
        .unwrap_or_else(|| format!("(no access log line: {line:?})"));
    Outcome {
        status: response.status,
        decision,
        upstream_arr: response.try_upstream_header(ARR).ok(),
        took,
    }
}

#[track_caller]
pub fn expect_forwarded(envoy: &Envoy, pki: &Pki, cert: &ClientCert, what: &str) {
    let outcome = ask(envoy, pki, cert);
    assert!(
        outcome.forwarded(cert),
        "{what}: expected 200 with X-ARR-ClientCert upstream, got {outcome:?}"
    );
}

#[track_caller]
pub fn expect_denied(envoy: &Envoy, pki: &Pki, cert: &ClientCert, reason: &str, what: &str) {
    let outcome = ask(envoy, pki, cert);
    assert!(
        outcome.denied(reason),
        "{what}: expected 401 reason={reason}, got {outcome:?}"
    );
}

/// The database row of `<stem>.pem`.
pub fn entry(pki: &Pki, stem: &str, revoked: bool) -> IndexEntry {
    IndexEntry {
        serial: openssl_serial(&pki.dir.0, &pki.dir.0.join(format!("{stem}.pem"))),
        subject: format!("/CN={stem}"),
        revoked,
    }
}
