#!/usr/bin/env python3
"""Validates every example plugin configuration in the repository.

Each configuration found in README.md and docs/*.md (```json blocks), envoy.yaml (the inline
plugin configuration) and deploy/ (WasmPlugin pluginConfig, EnvoyExtensionPolicy wasm config) is
checked twice: against the JSON Schema in schema/, and by the plugin's own parser
(`client-cert-auth lint`). Kubernetes manifests are also checked for the fields their
platforms require, and every relative link of the Markdown files (README.md, docs/*.md and the
other top-level *.md) must name a file that exists, and a heading or anchor of it when it has a
`#fragment`. Run by tests/tools/schema.rs (make test); exits 1 on the first report of failures.

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


def manual_pages(repo):
    """The Markdown files whose configuration examples are checked: README.md, then docs/."""
    pages = ["README.md"]
    pages += sorted(os.path.relpath(p, repo) for p in glob.glob(os.path.join(repo, "docs", "*.md")))
    return pages


def markdown_examples(repo, page):
    text = open(os.path.join(repo, page), encoding="utf-8").read()
    out = []
    # Any fence whose language is JSON (json, jsonc, JSON): none may escape the check.
    for i, block in enumerate(re.findall(r"^```[ \t]*json\w*[ \t]*\n(.*?)^```", text, re.S | re.M | re.I)):
        where = f"{page} json block {i}"
        block = block.strip()
        # Fragments such as `"forward": {...}` are shown inside the top-level object.
        if block.startswith('"'):
            block = "{" + block + "}"
        try:
            out.append((where, json.loads(block)))
        except json.JSONDecodeError as e:
            fail(where, f"not JSON: {e}")
    return out


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    text = open(path, encoding="utf-8").read()
    found = set(re.findall(r'<a (?:id|name)="([^"]+)"', text))
    seen = {}
    for heading in re.findall(r"^#{1,6} +(.*?) *#*$", strip_fences(text), re.M):
        s = slug(heading)
        n = seen.get(s, 0)
        found.add(s if n == 0 else f"{s}-{n}")
        seen[s] = n + 1
    return found


def strip_fences(text):
    """Markdown without its fenced blocks, where `#` lines are not headings."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def strip_code(text):
    """Markdown without its fenced blocks and inline code, where brackets are not links."""
    return re.sub(r"`[^`\n]*`", "", strip_fences(text))


def check_links(repo):
    """Every relative link of the repository's Markdown names a file (and anchor) that exists."""
    pages = sorted(set(manual_pages(repo)) | {
        os.path.relpath(p, repo) for p in glob.glob(os.path.join(repo, "*.md"))})
    count = 0
    for page in pages:
        text = strip_code(open(os.path.join(repo, page), encoding="utf-8").read())
        for target in re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text):
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):
                continue  # https:, mailto:
            count += 1
            file, _, fragment = target.partition("#")
            path = os.path.normpath(os.path.join(repo, os.path.dirname(page), file)) if file \
                else os.path.join(repo, page)
            if not os.path.exists(path):
                fail(f"{page} link {target}", "no such file")
            elif fragment and path.endswith(".md") and fragment not in anchors(path):
                fail(f"{page} link {target}", f"no heading or anchor #{fragment} in {file or page}")
    return pages, count


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
    """Replaces the examples' PEM placeholders by real ones, recursively."""
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
    for required in ("--repo", "--cli", "--ca", "--crl"):
        parser.add_argument(required, required=True)
    args = parser.parse_args()
    schema = json.load(open(os.path.join(args.repo, "schema", "client-cert-auth.schema.json")))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    ca = open(args.ca).read()
    crl = open(args.crl).read()

    pages = manual_pages(args.repo)
    groups = {
        "README.md": markdown_examples(args.repo, "README.md"),
        "docs/": [e for page in pages[1:] for e in markdown_examples(args.repo, page)],
        "envoy.yaml": envoy_yaml_examples(args.repo),
        "deploy/": deploy_examples(args.repo),
    }
    # At least as many as there are: an example moved between the README and docs/ is still
    # checked, and one lost (or a fence the pattern no longer sees) fails here.
    minimum = {"README.md": 1, "docs/": 8, "envoy.yaml": 1, "deploy/": 3}
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
    print("checked " + str(sum(len(e) for e in groups.values())) + " example configurations: "
          + ", ".join(f"{group} {len(e)}" for group, e in groups.items()))
    linked, links = check_links(args.repo)
    print(f"checked {links} relative links in {len(linked)} Markdown files")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
