#!/usr/bin/env python3
"""Validates every example plugin configuration in the repository.

Each configuration found in README.md (```json blocks), envoy.yaml (the inline plugin
configuration) and deploy/ (WasmPlugin pluginConfig, EnvoyExtensionPolicy wasm config) is
checked twice: against the JSON Schema in schema/, and by the plugin's own parser
(`client-cert-auth lint`). Kubernetes manifests are also checked for the fields their
platforms require. Run by tests/tools/schema.rs (make test); exits 1 on the first report of failures.

Usage: check_examples.py --repo DIR --cli BIN --ca CA.pem --crl CRL.pem
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema
import yaml

failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


def readme_examples(repo):
    text = open(os.path.join(repo, "README.md"), encoding="utf-8").read()
    out = []
    for i, block in enumerate(re.findall(r"```json\n(.*?)```", text, re.S)):
        block = block.strip()
        # Fragments such as `"forward": {...}` are shown inside the top-level object.
        if block.startswith('"'):
            block = "{" + block + "}"
        out.append((f"README.md json block {i}", json.loads(block)))
    return out


def envoy_yaml_examples(repo):
    doc = yaml.safe_load(open(os.path.join(repo, "envoy.yaml"), encoding="utf-8"))
    out = []
    for listener in doc["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for f in chain["filters"]:
                for hf in f["typed_config"].get("http_filters", []):
                    if hf["name"] == "envoy.filters.http.wasm":
                        value = hf["typed_config"]["config"]["configuration"]["value"]
                        out.append((f"envoy.yaml listener {listener['name']}", json.loads(value)))
    return out


def require(where, doc, path):
    node = doc
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            fail(where, f"missing {path}")
            return None
        node = node[key]
    return node


def deploy_examples(repo):
    out = []
    files = sorted(glob.glob(os.path.join(repo, "deploy", "**", "*.yaml"), recursive=True))
    for path in files:
        rel = os.path.relpath(path, repo)
        for n, doc in enumerate(yaml.safe_load_all(open(path, encoding="utf-8"))):
            if not doc:
                continue
            where = f"{rel} document {n} ({doc.get('kind')})"
            for field in ("apiVersion", "kind", "metadata.name"):
                require(where, doc, field)
            kind = doc.get("kind")
            spec = doc.get("spec", {})
            if kind == "WasmPlugin":
                for field in ("url", "sha256", "phase", "failStrategy", "pluginConfig"):
                    require(where, spec, field)
                # Never FAIL_OPEN: an authentication plugin must not let traffic through.
                if spec.get("failStrategy") not in ("FAIL_CLOSE", "FAIL_RELOAD"):
                    fail(where, "failStrategy must be FAIL_RELOAD or FAIL_CLOSE")
                if spec.get("phase") not in ("AUTHN", "AUTHZ", "STATS"):
                    fail(where, f"unknown phase {spec.get('phase')}")
                if "selector" not in spec and "targetRefs" not in spec:
                    fail(where, "needs selector or targetRefs")
                out.append((where, spec.get("pluginConfig", {})))
            elif kind == "EnvoyExtensionPolicy":
                require(where, spec, "targetRefs")
                for i, wasm in enumerate(spec.get("wasm", [])):
                    w = f"{where} wasm[{i}]"
                    for field in ("code.image.url", "code.image.sha256", "config"):
                        require(w, wasm, field)
                    if wasm.get("failOpen") is not False:
                        fail(w, "failOpen must be false")
                    out.append((w, wasm.get("config", {})))
            elif kind == "ClientTrafficPolicy":
                require(where, spec, "tls.clientValidation")
                require(where, spec, "targetRefs")
            elif kind == "Gateway":
                modes = [s.get("tls", {}).get("mode") for s in spec.get("servers", [])]
                if "OPTIONAL_MUTUAL" not in modes:
                    fail(where, "no server with tls.mode OPTIONAL_MUTUAL")
            elif kind == "EnvoyFilter":
                require(where, spec, "configPatches")
    return out


def with_real_material(value, ca, crl):
    """Replaces the README's PEM placeholders by real ones, recursively."""
    if isinstance(value, str):
        if value.startswith("-----BEGIN CERTIFICATE-----"):
            return ca
        if value.startswith("-----BEGIN X509 CRL-----"):
            return crl
        return value
    if isinstance(value, list):
        return [with_real_material(v, ca, crl) for v in value]
    if isinstance(value, dict):
        return {k: with_real_material(v, ca, crl) for k, v in value.items()}
    return value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--crl", required=True)
    args = parser.parse_args()
    schema = json.load(open(os.path.join(args.repo, "schema", "client-cert-auth.schema.json")))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    ca = open(args.ca).read()
    crl = open(args.crl).read()

    groups = {
        "README.md": readme_examples(args.repo),
        "envoy.yaml": envoy_yaml_examples(args.repo),
        "deploy/": deploy_examples(args.repo),
    }
    minimum = {"README.md": 5, "envoy.yaml": 1, "deploy/": 3}
    for group, examples in groups.items():
        if len(examples) < minimum[group]:
            fail(group, f"found {len(examples)} example configurations, expected at least {minimum[group]}")
        for where, config in examples:
            for error in validator.iter_errors(config):
                fail(where, f"schema: {error.message} at {list(error.path)}")
            real = with_real_material(config, ca, crl)
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                json.dump(real, f)
            lint = subprocess.run([args.cli, "lint", f.name], capture_output=True, text=True)
            os.unlink(f.name)
            if lint.returncode != 0:
                fail(where, f"the plugin refuses it: {lint.stderr.strip()}")
            else:
                print(f"ok  {where}")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
