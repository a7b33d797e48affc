#!/usr/bin/env bash
# Audit benchmark (issue #6): `bulwark audit` over a synthetic GitOps
# repository of 10,000 Kubernetes objects for 200 tenants (bench/auditgen:
# namespaces, workloads, services, Ingresses with cert-manager
# certificates, ConfigMaps, and the compiled network policies and RBAC),
# committed to a Git repository with a history of 3 configuration
# commits, so the Git-based checks (INV-4, INV-12, INV-13) do their real
# work. Prints wall time, CPU time and peak memory (max RSS) per run.
#
#   bench/audit/run.sh [TENANTS] [OBJECTS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
tenants=${1:-200}
objects=${2:-10000}
runs=${3:-3}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/bulwark" ./cmd/bulwark
go run ./bench/auditgen -tenants "$tenants" -manifests "$objects" -out "$tmp/repo"

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
git -C "$tmp/repo" init -q -b main
# Three configuration commits a month apart: the registry, the tenants,
# everything else.
day=0
commit() {
  export GIT_AUTHOR_DATE="2026-0$((day + 1))-01T12:00:00Z" GIT_COMMITTER_DATE="2026-0$((day + 1))-01T12:00:00Z"
  git -C "$tmp/repo" add "$@"
  git -C "$tmp/repo" commit -q -m "commit $day"
  day=$((day + 1))
}
commit platform.yaml
commit tenants
commit .

echo "files: $(find "$tmp/repo" -type f -not -path '*/.git/*' | wc -l), $(du -sh --exclude=.git "$tmp/repo" | cut -f1)"
for i in $(seq "$runs"); do
  /usr/bin/time -f "run $i: %e s wall, %U s user, %S s sys, max RSS %M KB" \
    "$tmp/bulwark" audit "$tmp/repo" >"$tmp/report.txt" || true
  tail -1 "$tmp/report.txt"; echo
done
