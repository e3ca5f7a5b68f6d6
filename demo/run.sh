#!/bin/sh
# Starts the echo upstream and Envoy with the repository's envoy.yaml; Ctrl-C stops both.
# Called by `make run` once the module is built and the demo certificates exist.
set -eu
cd "$(dirname "$0")/.."
ENVOY=${ENVOY_BIN:-.venv/bin/envoy}

python3 demo/echo.py --port 8081 &
ECHO_PID=$!
trap 'kill $ECHO_PID 2>/dev/null || true' EXIT INT TERM

C=.demo-certs
cat <<MSG

client-cert-auth demo: Envoy on https://localhost:8443, echo upstream behind it.
Plugin configuration (envoy.yaml): Required, exclusion paths /public and /healthz.
Try, from another terminal in this folder:

  # no certificate: 401 "client certificate required"
  curl -s --cacert $C/ca.pem https://localhost:8443/hello

  # a valid certificate: the upstream receives X-ARR-ClientCert (base64 DER)
  curl -s --cacert $C/ca.pem --cert $C/client.pem --key $C/client.key https://localhost:8443/hello

  # a forged header is removed and replaced by the real one
  curl -s --cacert $C/ca.pem --cert $C/client.pem --key $C/client.key -H 'X-ARR-ClientCert: forged' https://localhost:8443/hello

  # an expired certificate: 401 "client certificate invalid"
  curl -s --cacert $C/ca.pem --cert $C/expired.pem --key $C/expired.key https://localhost:8443/hello

  # an excluded path needs no certificate
  curl -s --cacert $C/ca.pem https://localhost:8443/public/index.html

Envoy's log follows (the filter logs each denial at info level). Ctrl-C stops the demo.

MSG
"$ENVOY" -c envoy.yaml --concurrency 1 --log-level info \
  --component-log-level wasm:info,main:warning,config:warning,upstream:warning,admin:warning
