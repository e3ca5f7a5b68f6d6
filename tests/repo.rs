//! The repository's own files agree with each other: docker-compose.yml runs the same
//! envoy.yaml, module and certificates as `make run`, and every plugin configuration shown to
//! users is one the plugin accepts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use client_cert_auth::Config;

fn read(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name))
        .unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

/// The JSON blocks under `value: |` in an Envoy configuration.
fn inline_plugin_configs(yaml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = yaml.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "value: |" {
            let indent = line.len() - line.trim_start().len() + 2;
            let mut block = String::new();
            while let Some(next) = lines.peek() {
                if !next.trim().is_empty() && next.len() - next.trim_start().len() < indent {
                    break;
                }
                block.push_str(next.trim());
                block.push('\n');
                lines.next();
            }
            out.push(block);
        }
    }
    out
}

#[test]
fn envoy_yaml_plugin_configuration_is_accepted_by_the_plugin() {
    let configs = inline_plugin_configs(&read("envoy.yaml"));
    assert_eq!(
        configs.len(),
        1,
        "envoy.yaml has one inline plugin configuration"
    );
    let config = Config::from_json(configs[0].as_bytes()).unwrap();
    assert_eq!(
        config.exclusions.entries().collect::<Vec<_>>(),
        ["/public", "/healthz"]
    );
}

#[test]
fn docker_compose_runs_the_same_envoy_yaml_module_and_certificates() {
    let compose = read("docker-compose.yml");
    let envoy = read("envoy.yaml");
    let module = "target/wasm32-wasip1/release/client_cert_auth.wasm";
    assert!(envoy.contains(&format!("filename: {module}")));
    assert!(compose.contains(&format!("./{module}:/work/{module}:ro")));
    assert!(compose.contains("./envoy.yaml:/work/envoy.yaml:ro"));
    assert!(compose.contains("-c\", \"/work/envoy.yaml\""));
    assert!(compose.contains("working_dir: /work"));
    assert!(envoy.contains("filename: .demo-certs/server.pem"));
    assert!(compose.contains("./.demo-certs:/work/.demo-certs:ro"));
    // The echo upstream listens where envoy.yaml's cluster points.
    assert!(envoy.contains("socket_address: { address: 127.0.0.1, port_value: 8081 }"));
    assert!(compose.contains("\"--port\", \"8081\""));

    let tag = compose
        .lines()
        .find_map(|l| l.trim().strip_prefix("image: envoyproxy/envoy:v"))
        .expect("a pinned envoyproxy/envoy image");
    let mut parts = tag
        .split('.')
        .map(|p| p.parse::<u32>().expect("numeric version"));
    let (major, minor, _patch) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().expect("a full version, not a moving tag"),
    );
    assert!(
        (major, minor) >= (1, 38),
        "connection.peer_certificate needs Envoy >= 1.38, compose pins {tag}"
    );
}
