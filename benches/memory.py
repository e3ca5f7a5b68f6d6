#!/usr/bin/env python3
"""What a fleet pays in memory: Envoy's resident memory with no filter, a no-op module, the
floor probe and this filter (Azure settings; trust + identities), at 1 and 4 workers, after
every worker served requests; and where one VM's share goes.

Each configuration runs in an Envoy of its own (one listener, Envoy answering the route
itself), started, loaded with oha over many connections (so the kernel spreads them over every
worker), then read: VmRSS from /proc, and the module's linear memory from its gauge. Each
measurement is taken `--runs` times and the lowest kept (resident memory only grows with
noise: a page touched stays). Envoy runs one VM per worker plus one on the main thread, so a
configuration's cost per VM is its difference to the no-op module divided by workers + 1.

Usage: memory.py --envoy BIN --oha BIN --filter WASM --noop WASM --floor WASM --certs DIR
                 [--runs N] [--out FILE]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from macro import listener, oha, wait_ready, wasm_filter  # noqa: E402

PORT = 10000
ADMIN = 10901
WORKERS = (1, 4)


def variants(args):
    certs = os.path.abspath(args.certs)
    ca_p256 = open(os.path.join(certs, "ca-p256.pem")).read()
    ca_rsa = open(os.path.join(certs, "ca-rsa.pem")).read()
    azure = {"clientCertMode": "Required", "clientCertExclusionPaths": "/public;/healthz"}
    trust = {
        **azure,
        "validation": {
            "validateTrust": True,
            "trustedCaCertificates": [ca_p256, ca_rsa],
            "identities": [{"commonName": "bench-p256"}, {"commonName": "bench-rsa"}],
        },
    }
    filt = os.path.abspath(args.filter)
    return [
        ("no filter", ""),
        ("no-op wasm", wasm_filter("noop", os.path.abspath(args.noop), {})),
        ("floor probe", wasm_filter("floor", os.path.abspath(args.floor), "map clock state")),
        ("client-cert-auth, Azure settings", wasm_filter("client_cert_auth", filt, azure)),
        ("client-cert-auth, trust + identities", wasm_filter("client_cert_auth", filt, trust)),
    ]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def gauge(name):
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{ADMIN}/stats?format=json&filter={name}", timeout=2
        ) as r:
            stats = json.load(r).get("stats", [])
    except OSError:
        return None
    values = [s.get("value") for s in stats if s.get("name", "").endswith(name)]
    return values[0] if values else None


def allocator_kib():
    """Envoy's allocator (tcmalloc) as it is now, in KiB, from the admin `/memory` endpoint:
    what is in use, what it holds mapped (in use, or free and kept), and of the free part what
    sits in the per-thread caches. Read live: the `server.memory_*` gauges are refreshed only
    at the stats flush (every 5 s), so right after the load they still show the heap before it.
    Envoy's `heap_size` counts the unmapped (released) pages too; they are taken out here."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ADMIN}/memory", timeout=2) as r:
            m = {k: int(v) for k, v in json.load(r).items() if str(v).isdigit()}
    except (OSError, ValueError):
        return None, None, None
    mapped = m.get("heap_size", 0) - m.get("pageheap_unmapped", 0)
    return m.get("allocated", 0) // 1024, mapped // 1024, m.get("total_thread_cache", 0) // 1024


def code_shape(path):
    """From the module file: the bytes of code, and of its largest function (V8 in Envoy
    compiles every function with TurboFan when the module loads)."""
    data = open(path, "rb").read()

    def leb(pos):
        result = shift = 0
        while True:
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result, pos

    pos, sizes = 8, []
    while pos < len(data):
        section, pos = data[pos], pos + 1
        size, pos = leb(pos)
        if section == 10:
            count, p = leb(pos)
            for _ in range(count):
                body, p = leb(p)
                sizes.append(body)
                p += body
        pos += size
    return sum(sizes), max(sizes, default=0)


def measure(args, filters, workers):
    certs = os.path.abspath(args.certs)
    config = f"""admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: {ADMIN} }} }}
static_resources:
  listeners:{listener("bench", PORT, certs, filters)}"""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(config)
        path = f.name
    log = open("target/bench/memory-envoy.log", "w")
    proc = subprocess.Popen(
        [args.envoy, "-c", path, "--concurrency", str(workers), "--disable-hot-restart",
         "-l", "warning"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(ADMIN, proc)
        # Many connections, so that every worker serves (and its VM runs) some of them.
        r = oha(args, PORT, ["-n", str(args.requests), "-c", str(8 * workers)])
        if r["not_ok"] or not r["ok"]:
            sys.exit(f"requests failed under {filters[:60]!r}: {r}")
        time.sleep(1.5)  # a timer tick: the module's gauges
        return (rss_kib(proc.pid), gauge("client_cert_auth.memory_bytes"), *allocator_kib())
    finally:
        proc.terminate()
        proc.wait()
        os.unlink(path)


def wasm_layout(path):
    """From the module file: initial linear memory (bytes), the stack size (the initial value
    of the first global, __stack_pointer, which wasm-ld places above the stack) and the bytes
    of data segments."""
    data = open(path, "rb").read()

    def leb(pos, signed=False):
        result = shift = 0
        while True:
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                if signed and b & 0x40:
                    result -= 1 << shift
                return result, pos

    pos, initial, stack, segments = 8, None, None, 0
    while pos < len(data):
        section, pos = data[pos], pos + 1
        size, pos = leb(pos)
        end = pos + size
        if section == 5:  # memory
            _, p = leb(pos)
            _flags, p = leb(p)
            pages, _ = leb(p)
            initial = pages * 65536
        elif section == 6 and stack is None:  # globals: the first is __stack_pointer
            _, p = leb(pos)
            p += 2  # value type, mutability
            if data[p] == 0x41:  # i32.const
                stack, _ = leb(p + 1, signed=True)
        elif section == 11:  # data
            count, p = leb(pos)
            for _ in range(count):
                kind, p = leb(p)
                if kind in (0, 2):
                    if kind == 2:
                        _, p = leb(p)
                    while data[p] != 0x0B:  # the offset expression
                        p += 1
                    p += 1
                length, p = leb(p)
                segments += length
                p += length
        pos = end
    return initial, stack, segments


def mib(kib):
    return kib / 1024


def main():
    p = argparse.ArgumentParser()
    for required in ("--envoy", "--oha", "--filter", "--noop", "--floor", "--certs"):
        p.add_argument(required, required=True)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--requests", type=int, default=4000)
    p.add_argument("--out", default="target/bench/memory.md")
    args = p.parse_args()
    os.makedirs("target/bench", exist_ok=True)

    results = {}
    for name, filters in variants(args):
        for workers in WORKERS:
            runs = [measure(args, filters, workers) for _ in range(args.runs)]
            rss = min(r[0] for r in runs)
            linear = min((r[1] for r in runs if r[1] is not None), default=None)
            # The allocator's gauges of the run with the lowest resident memory.
            best = min(runs, key=lambda r: r[0])
            results[(name, workers)] = (rss, linear, best[2], best[3], best[4])
            print(f"{name}, {workers} worker(s): {mib(rss):.1f} MiB", file=sys.stderr)

    noop = {w: results[("no-op wasm", w)][0] for w in WORKERS}
    lines = [
        "| Configuration | 1 worker | 4 workers | above the no-op module, 1 worker | "
        "above the no-op module, 4 workers | per VM above the no-op module (4 workers, / 5) |",
        "|---|---|---|---|---|---|",
    ]
    for name, _ in variants(args):
        one, four = results[(name, 1)][0], results[(name, 4)][0]
        if name in ("no filter", "no-op wasm"):
            extra = "- | - | -"
        else:
            extra = (f"{mib(one - noop[1]):.1f} MiB | {mib(four - noop[4]):.1f} MiB | "
                     f"{mib((four - noop[4]) / 5):.2f} MiB")
        lines.append(f"| {name} | {mib(one):.1f} MiB | {mib(four):.1f} MiB | {extra} |")
    worst = max(
        (results[(n, 4)][0] - noop[4]) / 5
        for n in ("client-cert-auth, Azure settings", "client-cert-auth, trust + identities")
    )
    lines += [
        "",
        f"Goal: at most 2.0 MiB per VM above the no-op module: {mib(worst):.2f} MiB, "
        + ("met" if mib(worst) <= 2.0 else "NOT met"),
    ]
    initial, stack, segments = wasm_layout(args.filter)
    linear = results[("client-cert-auth, trust + identities", 4)][1]
    trust_above = (results[("client-cert-auth, trust + identities", 4)][0] - noop[4]) / 5
    noop_initial, _, _ = wasm_layout(args.noop)
    lines += [
        "",
        "Resident memory of the whole Envoy (VmRSS), after "
        f"{args.requests} requests over 8 connections per worker, lowest of {args.runs} runs. "
        "Envoy runs a VM per worker and one on the main thread: per VM is the difference to "
        "the no-op module at 4 workers divided by 5, as the fleet-cost issue counts it. Most of "
        "the difference is paid once per Envoy (V8 compiles the module once; the workers share "
        "the code): compare the 1- and 4-worker columns.",
        "",
        "Where one VM of this filter goes (trust + identities, 4 workers):",
        "",
        "| Part | bytes |",
        "|---|---|",
        f"| module file | {os.path.getsize(args.filter)} |",
        f"| initial linear memory (stack and data; the no-op module's: {noop_initial}) | {initial} |",
        f"| of which the stack | {stack} |",
        f"| of which data segments | {segments} |",
        f"| linear memory after load (the module's `memory_bytes` gauge) | {linear} |",
        f"| everything else (per VM above the no-op module, less the difference in linear "
        f"memory): V8's code and metadata for the module, copies of its bytes "
        f"| {int(trust_above * 1024 - (linear or 0) + noop_initial)} |",
        f"| **per VM above the no-op module (measured)** | {int(trust_above * 1024)} |",
    ]
    # The same difference seen by Envoy's allocator: what is live, what compiling left free in
    # the allocator's hands (resident, but no longer used), and what is outside its heap.
    code, largest = code_shape(args.filter)
    lines += [
        "",
        "The difference to the no-op module at 4 workers (whole Envoy, not per VM), by Envoy's "
        "allocator (tcmalloc, read live from the admin `/memory` endpoint after the load):",
        "",
        "| Configuration | in use in the heap | free, in the threads' caches | free, elsewhere in "
        "the allocator (central and transfer caches, page heap) | outside the allocator (V8's "
        "code space, linear memories) |",
        "|---|---|---|---|---|",
    ]
    base = results[("no-op wasm", 4)]
    for name in ("client-cert-auth, Azure settings", "client-cert-auth, trust + identities"):
        rss, _, used, mapped, cached = results[(name, 4)]
        if None in (used, mapped, cached, base[2], base[3], base[4]):
            lines.append(f"| {name} | - | - | - | - |")
            continue
        d_used, d_mapped, d_cached = used - base[2], mapped - base[3], cached - base[4]
        lines.append(f"| {name} | {mib(d_used):.1f} MiB | {mib(d_cached):.1f} MiB | "
                     f"{mib(d_mapped - d_used - d_cached):.1f} MiB | "
                     f"{mib(rss - base[0] - d_mapped):.1f} MiB |")
    lines += [
        "",
        f"The module has {code} bytes of code; its largest function is {largest} bytes. V8 in "
        "Envoy compiles every function with TurboFan when the module loads (proxy-wasm's host "
        "turns Liftoff off): what compiling allocated is freed, but stays with the allocator, "
        "resident (the middle column). What is in use holds, among others, Envoy's and V8's "
        "copies of the module's bytes.",
    ]
    text = "\n".join(lines) + "\n"
    open(args.out, "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
