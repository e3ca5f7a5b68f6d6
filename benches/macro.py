#!/usr/bin/env python3
"""The macro benchmark behind `make bench`.

One Envoy process with one worker and side-by-side TLS listeners whose routes Envoy answers
itself (so no upstream hides the filter's cost): no filter; a no-op proxy-wasm module; the Lua
peer; Envoy's native XFCC SANITIZE_SET with the certificate; this filter with the Azure
settings; this filter with trust and identities. oha loads each listener with keep-alive mTLS,
alternating listeners over several rounds, then at a fixed rate for latency. The results, with
the machine description, go to BENCHMARKS.md.

Usage: macro.py --envoy BIN --oha BIN --filter WASM --noop WASM --certs DIR [--rounds N]
                [--seconds S] [--connections C] [--rate Q] [--out BENCHMARKS.md]
"""
import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

LISTENERS = [
    ("no filter", 10000),
    ("no-op wasm (floor)", 10001),
    ("Lua peer", 10002),
    ("native XFCC SANITIZE_SET", 10003),
    ("client-cert-auth, Azure settings", 10004),
    ("client-cert-auth, trust + identities", 10005),
]


def listener(name, port, certs, http_filters, hcm_extra=""):
    return f"""
  - name: {name}
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: {port} }} }}
    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: false
          common_tls_context:
            alpn_protocols: ["h2", "http/1.1"]
            tls_certificates:
            - certificate_chain: {{ filename: {certs}/server.pem }}
              private_key: {{ filename: {certs}/server.key }}
            validation_context:
              trusted_ca: {{ filename: {certs}/ca.pem }}
              trust_chain_verification: ACCEPT_UNTRUSTED
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: {name}
          codec_type: AUTO
          normalize_path: true
{hcm_extra}          route_config:
            virtual_hosts:
            - name: direct
              domains: ["*"]
              routes:
              - match: {{ prefix: "/" }}
                direct_response: {{ status: 200, body: {{ inline_string: "ok" }} }}
          http_filters:
{http_filters}          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
"""


def wasm_filter(name, path, config):
    value = json.dumps(config)
    return f"""          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: {name}
                root_id: {name}
                fail_open: false
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: {json.dumps(value)}
                vm_config:
                  vm_id: {name}
                  runtime: envoy.wasm.runtime.v8
                  code: {{ local: {{ filename: {path} }} }}
"""


def envoy_config(args, lua_path):
    certs = os.path.abspath(args.certs)
    ca_p256 = open(os.path.join(certs, "ca-p256.pem")).read()
    ca_rsa = open(os.path.join(certs, "ca-rsa.pem")).read()
    azure = {"clientCertMode": "Required", "clientCertExclusionPaths": "/public;/healthz"}
    trust = {
        "clientCertMode": "Required",
        "clientCertExclusionPaths": "/public;/healthz",
        "validation": {
            "validateTrust": True,
            "trustedCaCertificates": [ca_p256, ca_rsa],
            "identities": [{"commonName": "bench-p256"}, {"commonName": "bench-rsa"}],
        },
    }
    lua = f"""          - name: envoy.filters.http.lua
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
              default_source_code: {{ filename: {lua_path} }}
"""
    xfcc_hcm = """          forward_client_cert_details: SANITIZE_SET
          set_current_client_cert_details: { cert: true }
"""
    parts = [
        listener("nofilter", 10000, certs, ""),
        listener("noop", 10001, certs, wasm_filter("noop", os.path.abspath(args.noop), {})),
        listener("lua", 10002, certs, lua),
        listener("xfcc", 10003, certs, "", xfcc_hcm),
        listener("azure", 10004, certs, wasm_filter("azure", os.path.abspath(args.filter), azure)),
        listener("trust", 10005, certs, wasm_filter("trust", os.path.abspath(args.filter), trust)),
    ]
    return f"""admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: {args.admin_port} }} }}
static_resources:
  listeners:{''.join(parts)}"""


def wait_ready(port, proc):
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("Envoy exited during startup; see target/bench/envoy.log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as r:
                if b"LIVE" in r.read():
                    return
        except OSError:
            time.sleep(0.2)
    sys.exit("Envoy did not become ready")


def curl_status(port, certs, cert, path="/"):
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-k", f"https://127.0.0.1:{port}{path}"]
    if cert:
        cmd += ["--cert", os.path.join(certs, f"{cert}.pem"), "--key", os.path.join(certs, f"{cert}.key")]
    return subprocess.run(cmd, capture_output=True, text=True).stdout


def oha(args, port, extra):
    cmd = [
        args.oha, "--no-tui", "--output-format", "json", "--insecure",
        "--cert", os.path.join(args.certs, "client-p256.pem"),
        "--key", os.path.join(args.certs, "client-p256.key"),
        *extra, f"https://127.0.0.1:{port}/",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"oha failed: {out.stderr}")
    data = json.loads(out.stdout)
    summary = data["summary"]
    pct = data.get("latencyPercentiles", {})
    codes = data.get("statusCodeDistribution", {})
    return {
        "rps": summary["requestsPerSec"],
        "p50": pct.get("p50", 0.0) * 1e6,
        "p99": pct.get("p99", 0.0) * 1e6,
        "ok": codes.get("200", 0),
        "not_ok": sum(v for k, v in codes.items() if k != "200"),
    }


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, Python {platform.python_version()}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--envoy", required=True)
    p.add_argument("--oha", required=True)
    p.add_argument("--filter", required=True)
    p.add_argument("--noop", required=True)
    p.add_argument("--certs", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--rate", type=int, default=2000)
    p.add_argument("--admin-port", type=int, default=10900)
    p.add_argument("--out", default="BENCHMARKS.md")
    p.add_argument("--micro", default="", help="file with the micro benchmark output")
    args = p.parse_args()

    os.makedirs("target/bench", exist_ok=True)
    lua_path = os.path.abspath("benches/lua/azure.lua")
    open("target/bench/envoy.yaml", "w").write(envoy_config(args, lua_path))
    log = open("target/bench/envoy.log", "w")
    envoy = subprocess.Popen(
        [args.envoy, "-c", "target/bench/envoy.yaml", "--concurrency", "1",
         "--use-dynamic-base-id", "--log-level", "info"],
        stdout=log, stderr=log,
    )
    try:
        wait_ready(args.admin_port, envoy)
        version = subprocess.run([args.envoy, "--version"], capture_output=True, text=True).stdout.strip()
        # First sight with the chain check, before anything else touches that listener: one
        # fresh certificate of each key type.
        for cert in ("client-rsa", "client-p256"):
            assert curl_status(10005, args.certs, cert) == "200", cert
            time.sleep(1.1)  # first-sight lines are logged at info level at most once a second
        judged = re.findall(r"certificate judged in (\d+) us", open("target/bench/envoy.log").read())
        # Sanity: every listener answers a client with a certificate; the filters refuse one
        # without, and an expired one.
        for name, port in LISTENERS:
            assert curl_status(port, args.certs, "client-p256") == "200", name
        for port in (10002, 10004, 10005):
            assert curl_status(port, args.certs, None) == "401", port
            assert curl_status(port, args.certs, "expired") == "401", port

        results = {name: [] for name, _ in LISTENERS}
        for _ in range(2):  # warm-up: JIT tiers, connection setup
            for name, port in LISTENERS:
                oha(args, port, ["-z", "1s", "-c", str(args.connections)])
        for r in range(args.rounds):
            order = LISTENERS if r % 2 == 0 else list(reversed(LISTENERS))
            for name, port in order:
                results[name].append(oha(args, port, ["-z", f"{args.seconds}s", "-c", str(args.connections)]))
        latency = {}
        for name, port in LISTENERS:
            latency[name] = oha(args, port, ["-z", f"{args.seconds}s", "-c", "8", "-q", str(args.rate)])
    finally:
        envoy.terminate()
        envoy.wait()

    rps = {n: statistics.median(x["rps"] for x in v) for n, v in results.items()}
    errors = {n: sum(x["not_ok"] for x in v) for n, v in results.items()}
    base = rps["no filter"]
    floor = rps["no-op wasm (floor)"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (benches/macro.py); numbers from one run on a shared machine.",
        "Compare ratios measured side by side in the same run, not absolute numbers across runs.",
        "",
        f"- Machine: {machine()}",
        f"- Envoy: {version} (`--concurrency 1`), routes answered by Envoy (direct_response)",
        f"- Load: oha, keep-alive TLS with a P-256 client certificate, {args.connections} connections, "
        f"{args.rounds} rounds of {args.seconds} s per listener, alternating; latency at a fixed "
        f"{args.rate} req/s with 8 connections",
        f"- Module: {os.path.getsize(args.filter)} bytes",
        "",
        "| Listener | req/s (median) | ratio to no filter | ratio to no-op wasm | p50 at fixed rate (us) | p99 at fixed rate (us) | non-200 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, _ in LISTENERS:
        lines.append(
            f"| {name} | {rps[name]:.0f} | {rps[name] / base:.2f} | {rps[name] / floor:.2f} | "
            f"{latency[name]['p50']:.0f} | {latency[name]['p99']:.0f} | {errors[name]} |"
        )
    azure = rps["client-cert-auth, Azure settings"] / floor
    trust = rps["client-cert-auth, trust + identities"] / floor
    lua = rps["Lua peer"]
    p99_delta = latency["client-cert-auth, Azure settings"]["p99"] - latency["no-op wasm (floor)"]["p99"]
    verdict = lambda ok: "met" if ok else "**missed**"
    lines += [
        "",
        "Budgets (from the performance issue):",
        "",
        f"- Azure settings >= 0.95x the no-op module: {azure:.2f}x, {verdict(azure >= 0.95)}; "
        f"faster than the Lua peer: {rps['client-cert-auth, Azure settings'] / lua:.2f}x, "
        f"{verdict(rps['client-cert-auth, Azure settings'] > lua)}",
        f"- Trust + identities (cache hits) >= 0.93x the no-op module: {trust:.2f}x, {verdict(trust >= 0.93)}",
        f"- p99 at a fixed rate within +50 us of the no-op module: {p99_delta:+.0f} us, {verdict(p99_delta <= 50)}",
        f"- Module size <= 350 KB: {os.path.getsize(args.filter)} bytes, {verdict(os.path.getsize(args.filter) <= 350 * 1024)}",
        f"- First sight with the chain check, in the module (host clock): RSA-2048 {judged[0] if judged else '?'} us, "
        f"P-256 {judged[1] if len(judged) > 1 else '?'} us",
        "",
    ]
    lines += [
        "## Where the time goes",
        "",
        "Measured with a probe module that makes chosen host calls and nothing else, in the same",
        "setup (2026-11-29): on Envoy 1.40 with V8, the first host call of a request that returns",
        "data costs about 3.5-4 us of the worker's time, whatever the size of the data (the",
        "64-byte certificate digest costs as much as the 1-2 KB PEM); later calls of the same kind",
        "in the request are cheap (~0.4 us), calls that return nothing (set, remove, time, metrics)",
        "cost 0.2-0.4 us. The filter needs at least the header map (to strip forged headers, and",
        "for the path) and the certificate's digest (for the verdict cache): about 7-9 us per",
        "request, against ~26 us for the whole no-op request here, which bounds the filter near",
        "0.75-0.8x the no-op module. The decision itself is ~0.14 us natively on a cache hit",
        "(micro benchmarks below) and ~0.25 us in the module.",
        "",
    ]
    if args.micro and os.path.exists(args.micro):
        lines += ["## Micro benchmarks (native, `cargo bench --profile bench-native --bench core`)", "", "```",
                  open(args.micro).read().strip(), "```", ""]
    open(args.out, "w").write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
