#!/usr/bin/env python3
"""First sight of two builds of the module side by side (`make bench-first-sight`): one Envoy
per round with the first-sight listeners of `make bench` for each module (the trust check,
three configured intermediates per key type, the verdict cache on and off), fresh VMs each
round, the two modules measured in alternating order. The time is the module's own, from the
`certificate judged in N us` line it logs (host clock).

Usage: first_sight.py --envoy BIN --certs DIR --filter WASM --baseline WASM [--rounds N]
"""
import argparse
import os
import statistics
import subprocess

import macro

MODULES = ("baseline", "filter")
# The trust check alone (what `make bench` measures), and with every header that prints the
# certificate's names (the informational headers and the Traefik preset).
PROFILES = {
    "trust": {},
    "trust + info headers + traefik": {"forward": {"infoHeaders": True, "preset": "traefik"}},
}
PORTS = {
    (module, profile): (10109 + 2 * i, 10110 + 2 * i)
    for i, (module, profile) in enumerate((m, p) for p in PROFILES for m in MODULES)
}


def config(args):
    certs = os.path.abspath(args.certs)
    parts = []
    for (module, profile), (first, nosig) in PORTS.items():
        settings = {**macro.first_sight_config(certs), **PROFILES[profile]}
        path = os.path.abspath(getattr(args, module))
        name = f"{module}{list(PROFILES).index(profile)}"
        parts.append(macro.listener(f"{name}first", first, certs,
                                    macro.wasm_filter(f"{name}first", path, settings)))
        parts.append(macro.listener(f"{name}nosig", nosig, certs,
                                    macro.wasm_filter(f"{name}nosig", path,
                                                      {**settings, "cacheSize": 0})))
    return f"""admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: {args.admin_port} }} }}
static_resources:
  listeners:{''.join(parts)}"""


def main():
    p = argparse.ArgumentParser()
    for required in ("--envoy", "--certs", "--filter", "--baseline"):
        p.add_argument(required, required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--admin-port", type=int, default=10199)
    args = p.parse_args()
    os.makedirs("target/bench", exist_ok=True)
    open("target/bench/first-sight.yaml", "w").write(config(args))
    log_path = "target/bench/first-sight.log"
    samples = {key: {} for key in PORTS}
    for r in range(args.rounds):
        log = open(log_path, "w")
        envoy = subprocess.Popen(
            [args.envoy, "-c", "target/bench/first-sight.yaml", "--concurrency", "1",
             "--use-dynamic-base-id", "--log-level", "info", "--component-log-level", "wasm:debug"],
            stdout=log, stderr=log,
        )
        try:
            macro.wait_ready(args.admin_port, envoy)
            order = list(PORTS) if r % 2 == 0 else list(reversed(PORTS))
            for which in order:
                got = macro.first_sight(args, *PORTS[which], log_path=log_path)
                for alg, kinds in got.items():
                    for kind, values in kinds.items():
                        samples[which].setdefault((alg, kind), []).extend(values)
        finally:
            envoy.terminate()
            envoy.wait()
    med = statistics.median
    print(f"First sight, module time (us, median over {args.rounds} rounds in alternating order;")
    print("baseline -> this build)")
    print()
    print("| Configuration | Key type | cold: new intermediate | warm: intermediate seen | without signatures |")
    print("|---|---|---|---|---|")
    for profile in PROFILES:
        for alg in ("rsa", "p256"):
            cells = []
            for kind in ("new", "known", "nosig"):
                b = med(samples[("baseline", profile)][(alg, kind)])
                f = med(samples[("filter", profile)][(alg, kind)])
                cells.append(f"{b:.0f} -> {f:.0f} ({f / b:.2f}x)")
            label = {"rsa": "RSA-2048", "p256": "P-256"}[alg]
            print(f"| {profile} | {label} | " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
