#!/usr/bin/env python3
"""What each crate contributes to the wasm module: `twiggy top -f csv` of a build with symbols,
code and data summed by the crate that owns each item (our own crate by module). Debug sections
and the function-name section are left out: the release module is stripped of them.

Usage: size.py TWIGGY_CSV [RELEASE_WASM] > table.md
"""
import collections
import csv
import os
import re
import sys


def crate_of(name):
    # Generic serde code is named after whatever type it was instantiated for (often `core`'s
    # PhantomData or Option): count it as what it is, the configuration's deserialization.
    if "serde" in name and not name.startswith("client_cert_auth::"):
        return "serde, serde_json (reading the configuration)"
    if name.startswith("<"):
        m = re.match(r"<&?(?:mut )?(?:dyn )?([a-z_][a-z0-9_]*)", name)
        crate = m.group(1) if m else "other"
    else:
        m = re.match(r"([a-z_][a-z0-9_]*)(?:\[[0-9a-f]+\])?::", name)
        crate = m.group(1) if m else None
    if crate is None:
        if name.startswith("data segment"):
            return "data (constants, tables, strings)"
        if re.match(r"(fiat_|ring_core_|nistz|p256_|x25519|GFp|bn_|LIMBS|ecp_)", name):
            return "ring"
        if name.startswith("proxy_on_") or name.startswith("proxy_"):
            return "proxy_wasm"
        return "other (unnamed, runtime)"
    if crate == "client_cert_auth":
        m = re.match(r"<?client_cert_auth::([a-z_]+)", name)
        return "client_cert_auth::" + (m.group(1) if m else "?")
    if crate in ("core", "alloc", "std", "hashbrown", "dlmalloc"):
        return "Rust standard library (" + crate + ")"
    return crate


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    sizes = collections.Counter()
    for row in rows:
        name = row["Name"]
        if name.startswith("custom section") or "function names" in name:
            continue
        sizes[crate_of(name)] += int(row["ShallowSize"])
    total = sum(sizes.values())
    print("| Crate | bytes | share |")
    print("|---|---|---|")
    for crate, size in sizes.most_common(25):
        print(f"| {crate} | {size} | {100 * size / total:.1f} % |")
    rest = total - sum(s for _, s in sizes.most_common(25))
    if rest:
        print(f"| everything else | {rest} | {100 * rest / total:.1f} % |")
    print(f"| **total (code and data)** | {total} | |")
    if len(sys.argv) > 2 and os.path.exists(sys.argv[2]):
        print(f"\nThe release module is {os.path.getsize(sys.argv[2])} bytes (the same build, stripped).")


if __name__ == "__main__":
    main()
