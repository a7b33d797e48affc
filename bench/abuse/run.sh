#!/usr/bin/env bash
# Abuse-control benchmark (issue #4): wrk against the gateway with the
# reputation, rate-limit and challenge stages on, and against the same
# build with them dropped, in one run. The WAF stage is dropped in both so
# that what differs is the three cheap stages. The Go benchmarks of the
# limiter (decisions/s, bytes per key, Redis cost) are in
# bench/ratelimit_bench_test.go.
#
#   bench/abuse/run.sh [DURATION] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
dur=${1:-15s}
conns=${2:-16}
command -v wrk >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get install -y -qq wrk; }

tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
go build -tags benchstages -o "$tmp/bulwark" ./cmd/bulwark
go build -o "$tmp/backend" ./bench/backend
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null

conf() { # dir https admin
  mkdir -p "$1/tenants"
  cp "$tmp/cert.pem" "$tmp/key.pem" "$1/"
  # A deny list of 10,000 /24s (none of them loopback), as a file.
  for i in $(seq 0 9999); do echo "10.$((i / 256)).$((i % 256)).0/24"; done >"$1/deny.txt"
  cat >"$1/platform.yaml" <<YAML
listeners: {https: "$2", http: "", admin: "$3"}
tls:
  certificates: [{cert: cert.pem, key: key.pem}]
state_dir: $1/state
events:
  access: true
  sinks: [{type: file, path: $1/events.jsonl}]
ratelimit:
  store: memory
  defaults: {rate: "1000000/s", burst: 1000000, concurrent: 4096}
  bounds: {rate: "1000000/s", burst: 1000000, concurrent: 4096}
challenge:
  suspicious_threshold: 3
reputation:
  deny_files: [deny.txt]
  bans: {threshold: 1000, window: 1m, duration: 1m}
tenants:
  bench: {hosts: ["localhost"]}
YAML
  cat >"$1/tenants/bench.yaml" <<YAML
tenant: bench
routes:
  - name: web
    hosts: ["localhost"]
    challenge: suspicious
    backends: [{url: "http://127.0.0.1:9180"}]
YAML
}
conf "$tmp/on" 127.0.0.1:9446 127.0.0.1:9904
conf "$tmp/off" 127.0.0.1:9447 127.0.0.1:9905

"$tmp/backend" -addr 127.0.0.1:9180 &
BULWARK_BENCH_DROP_STAGES=waf "$tmp/bulwark" gateway --log-level warn "$tmp/on" >/dev/null &
BULWARK_BENCH_DROP_STAGES=waf,reputation,ratelimit,challenge "$tmp/bulwark" gateway --log-level warn "$tmp/off" >/dev/null &
for _ in $(seq 100); do
  curl -sf http://127.0.0.1:9904/readyz >/dev/null && curl -sf http://127.0.0.1:9905/readyz >/dev/null && break
  sleep 0.1
done
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
for t in on:9446 off:9447; do
  echo "== abuse stages ${t%%:*} (benign GET, $dur, $conns connections, 1 thread)"
  wrk -t1 -c"$conns" -d"$dur" --latency -s bench/waf/a-benign-get.lua "https://localhost:${t##*:}/" | grep -E 'Requests/sec|^ +(50|99)%|Non-2xx|Socket errors'
done
echo "== decisions counted by the stages that were on"
curl -s http://127.0.0.1:9904/metrics | grep -E '^bulwark_(ratelimit_decisions_total|reputation_decisions_total)' || true
