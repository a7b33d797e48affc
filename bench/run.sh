#!/usr/bin/env bash
# Proxy-path benchmark: wrk against the backend directly, then through the
# gateway (HTTPS, routing, proxy, access record), in one run on this
# machine. Prints wrk's output; bench/RESULTS.md records the figures.
#
#   bench/run.sh [DURATION] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-20s}
conns=${2:-32}
command -v wrk >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get install -y -qq wrk; }

tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/bulwark" ./cmd/bulwark
go build -o "$tmp/backend" ./bench/backend
"$tmp/backend" -addr 127.0.0.1:9180 &
"$tmp/bulwark" gateway --state-dir "$tmp/state" --log-level warn bench/config >/dev/null &
for _ in $(seq 50); do
  curl -sf http://127.0.0.1:9902/readyz >/dev/null && curl -sf http://127.0.0.1:9180/ >/dev/null && break
  sleep 0.1
done

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "== direct: http://127.0.0.1:9180/ ($dur, $conns connections, 1 thread)"
wrk -t1 -c"$conns" -d"$dur" --latency http://127.0.0.1:9180/
echo
echo "== through the gateway: https://localhost:9443/ ($dur, $conns connections, 1 thread)"
# wrk sends SNI from the URL host; plain "localhost" resolves everywhere.
wrk -t1 -c"$conns" -d"$dur" --latency https://localhost:9443/
echo
echo "== gateway errors during the run"
curl -s http://127.0.0.1:9902/metrics | grep -E '^bulwark_(http_requests_total|proxy_upstream_errors_total)' || true
