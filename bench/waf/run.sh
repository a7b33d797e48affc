#!/usr/bin/env bash
# WAF benchmark (issue #3): wrk against, in one run on this machine,
#   1. bulwark gateway, WAF in block mode (CRS v4, paranoia 1, thresholds 5/4)
#   2. the same gateway built without its WAF stage (-tags benchstages, BULWARK_BENCH_DROP_STAGES=waf)
#   3. nginx + ModSecurity v3 (Debian packages), the engine BunkerWeb runs,
#      loading the same CRS v4 files from the coraza-coreruleset module with
#      the same paranoia level and thresholds
# for three workloads: (a) benign GET, (b) benign 2 KB JSON POST, (c) attack.
# All three serve HTTPS with one certificate and proxy to one Go backend.
#
#   bench/waf/run.sh [DURATION] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
dur=${1:-15s}
conns=${2:-16}
need=()
for p in wrk nginx; do command -v $p >/dev/null || need+=($p); done
[ -f /usr/lib/nginx/modules/ngx_http_modsecurity_module.so ] || need+=(libnginx-mod-http-modsecurity)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y -qq "${need[@]}" nginx libnginx-mod-http-modsecurity
fi

tmp=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

go build -o "$tmp/bulwark" ./cmd/bulwark
go build -tags benchstages -o "$tmp/bulwark-nowaf" ./cmd/bulwark
go build -o "$tmp/backend" ./bench/backend
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null

# The gateway configuration, twice: with and without the WAF stage.
gwconf() { # dir https admin
  mkdir -p "$1/tenants"
  cp "$tmp/cert.pem" "$tmp/key.pem" "$1/"
  cat >"$1/platform.yaml" <<YAML
listeners: {https: "$2", http: "", admin: "$3"}
tls:
  certificates: [{cert: cert.pem, key: key.pem}]
state_dir: $1/state
events:
  access: true
  sinks: [{type: file, path: $1/events.jsonl}]
# The rate limiter is not what this benchmark measures.
ratelimit:
  defaults: {rate: "1000000/s", burst: 1000000, concurrent: 4096}
  bounds: {rate: "1000000/s", burst: 1000000, concurrent: 4096}
waf:
  paranoia: 1
  inbound_threshold: 5
  outbound_threshold: 4
  enforce_now: ["bench/web"]
tenants:
  bench: {hosts: ["localhost"]}
YAML
  cat >"$1/tenants/bench.yaml" <<YAML
tenant: bench
routes:
  - name: web
    hosts: ["localhost"]
    waf: {mode: block}
    backends: [{url: "http://127.0.0.1:9180"}]
YAML
}
gwconf "$tmp/gw" 127.0.0.1:9443 127.0.0.1:9902
gwconf "$tmp/gwnowaf" 127.0.0.1:9445 127.0.0.1:9903

# nginx + ModSecurity with the module's CRS files, copied out of the module
# cache (libmodsecurity's Include cannot take the "@" in the path) and with
# the blank line libmodsecurity 3.0.9 needs after the action-less chained
# rules of 949111 and 959111.
crs=$(go list -m -f '{{.Dir}}' github.com/corazawaf/coraza-coreruleset/v4)/rules
mkdir -p "$tmp/modsec/rules"
cp "$crs"/@owasp_crs/* "$tmp/modsec/rules/"
cp "$crs/@crs-setup.conf.example" "$tmp/modsec/crs-setup.conf"
sed -i '/^    SecRule TX:EARLY_BLOCKING "@eq 1"$/a\\' "$tmp/modsec/rules/REQUEST-949-BLOCKING-EVALUATION.conf" "$tmp/modsec/rules/RESPONSE-959-BLOCKING-EVALUATION.conf"
cat >"$tmp/modsec/main.conf" <<CONF
SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "^application/json" "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRequestBodyLimit 1048576
SecRequestBodyNoFilesLimit 1048576
SecRequestBodyLimitAction Reject
SecResponseBodyAccess Off
SecAuditEngine Off
SecArgumentSeparator &
SecCookieFormat 0
Include $tmp/modsec/crs-setup.conf
SecAction "id:9990001,phase:1,pass,nolog,t:none,setvar:tx.blocking_paranoia_level=1,setvar:tx.detection_paranoia_level=1"
SecAction "id:9990002,phase:1,pass,nolog,t:none,setvar:tx.inbound_anomaly_score_threshold=5,setvar:tx.outbound_anomaly_score_threshold=4"
Include $tmp/modsec/rules/*.conf
CONF
cat >"$tmp/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_http_modsecurity_module.so;
worker_processes auto;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log $tmp/nginx-access.log;
  client_body_temp_path $tmp/body; proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fcgi; uwsgi_temp_path $tmp/uwsgi; scgi_temp_path $tmp/scgi;
  upstream backend { server 127.0.0.1:9180; keepalive 64; }
  server {
    listen 127.0.0.1:9444 ssl;
    server_name localhost;
    ssl_certificate $tmp/cert.pem; ssl_certificate_key $tmp/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    modsecurity on;
    modsecurity_rules_file $tmp/modsec/main.conf;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host \$host;
    }
  }
}
CONF

"$tmp/backend" -addr 127.0.0.1:9180 &
"$tmp/bulwark" gateway --log-level warn "$tmp/gw" >/dev/null &
BULWARK_BENCH_DROP_STAGES=waf "$tmp/bulwark-nowaf" gateway --log-level warn "$tmp/gwnowaf" >/dev/null &
nginx -c "$tmp/nginx.conf"
for _ in $(seq 100); do
  curl -sf http://127.0.0.1:9902/readyz >/dev/null && curl -sf http://127.0.0.1:9903/readyz >/dev/null && break
  sleep 0.1
done

declare -A port=([bulwark-waf]=9443 [bulwark-no-waf]=9445 [nginx-modsecurity]=9444)
# Every target must answer each workload as expected before it is timed.
for t in bulwark-waf bulwark-no-waf nginx-modsecurity; do
  p=${port[$t]}
  a=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/cert.pem" "https://localhost:$p/products/list?category=shoes&page=2&sort=price_asc")
  c=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/cert.pem" "https://localhost:$p/products/list?id=1'%20OR%20'1'='1&page=2&sort=price")
  echo "check $t: benign $a, attack $c"
done

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
for w in a-benign-get b-json-post c-attack-get; do
  for t in bulwark-waf bulwark-no-waf nginx-modsecurity; do
    echo "== $w $t ($dur, $conns connections, 1 thread)"
    wrk -t1 -c"$conns" -d"$dur" --latency -s "bench/waf/$w.lua" "https://localhost:${port[$t]}/" | grep -E 'Requests/sec|^ +(50|99)%|Non-2xx|Socket errors'
  done
done
