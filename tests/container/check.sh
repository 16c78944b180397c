#!/usr/bin/env bash
# Build the Dockerfile and run compose.yaml for real, then check the deployment from outside:
# the image runs as a non-root user with its health check, PostgreSQL and both replicas come
# up, the replicas make one store (`mockserver check-shared`), and a replica killed with
# SIGKILL comes back by itself (compose's restart policy). `make container-check`.
#
# Uses docker compose where a Docker engine runs; else podman with podman-compose (Debian's
# podman; podman-compose from PyPI into a throwaway virtualenv). Where Docker Hub cannot be
# reached, the two images compose.yaml starts from are made here instead: python:3.11-slim as
# Debian bookworm's Python 3.11 (debootstrap), postgres:16 as Debian's PostgreSQL on that
# base (postgres.Containerfile). Not part of `make test`: it needs root, several minutes and
# a container engine; the suite must not need Docker.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
mockserver="${MOCKSERVER:-$repo/.venv/bin/mockserver}"
work="$(mktemp -d /tmp/mockserver-container-XXXXXX)"
export MOCKSERVER_ADMIN_TOKEN="check-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export COMPOSE_PROJECT_NAME=mockserver-check
say() { printf '\n== %s\n' "$*"; }

if docker info >/dev/null 2>&1; then
  engine=docker
  compose=(docker compose -f "$repo/compose.yaml")
else
  engine=podman
  if ! command -v podman >/dev/null; then
    [[ $(id -u) -eq 0 ]] || { echo "no Docker engine and no podman: install podman (root)" >&2; exit 1; }
    apt-get update -qq && apt-get install -y -qq podman runc debootstrap >/dev/null
  fi
  export CONTAINERS_CONF="$here/containers.conf" BUILDAH_FORMAT=docker  # docker: keeps HEALTHCHECK
  python3 -m venv "$work/venv" && "$work/venv/bin/pip" install -q podman-compose
  compose=("$work/venv/bin/podman-compose" -f "$repo/compose.yaml" -f "$work/override.yaml")
  base=python:3.11-slim postgres=postgres:16
  if ! timeout 60 podman pull -q docker.io/library/python:3.11-slim >/dev/null 2>&1; then
    say "Docker Hub unreachable: making python:3.11-slim's stand-in from Debian bookworm"
    base=localhost/mockserver-check-python:3.11
    if ! podman image exists "$base"; then
      # The mirror this machine's apt uses for bookworm's main archive (apt-cache policy reads
      # both source formats): debootstrap then works wherever apt-get does.
      mirror="$(apt-cache policy | awk '$3 == "bookworm/main" { print $2; exit }')"
      [[ -n "$mirror" ]] || { echo "no bookworm/main in apt's sources: apt-get update first" >&2; exit 1; }
      debootstrap --variant=minbase --include=python3,python3-pip,python-is-python3,ca-certificates \
        bookworm "$work/rootfs" "$mirror" >/dev/null
      rm -f "$work"/rootfs/usr/lib/python3.*/EXTERNALLY-MANAGED  # as in python:3.11-slim
      # This machine's own certificate authorities (a proxy of its own may sign PyPI's).
      cp /etc/ssl/certs/ca-certificates.crt "$work/rootfs/etc/ssl/certs/ca-certificates.crt"
      tar -C "$work/rootfs" -c . | podman import -q - "$base" >/dev/null
    fi
    postgres=localhost/mockserver-check-postgres:stand-in
    podman build -q --network host --build-arg BASE="$base" -t "$postgres" \
      -f "$here/postgres.Containerfile" "$here" >/dev/null
  fi
  cat >"$work/override.yaml" <<EOF
services:
  postgres: {image: "$postgres"}
  mockserver-1: &build
    build: {context: "$repo", args: {PYTHON_IMAGE: "$base"}, network: host}
  mockserver-2: *build
EOF
fi

cleanup() { "${compose[@]}" down -v >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

say "building and starting PostgreSQL and two replicas ($engine)"
started=$(date +%s)
"${compose[@]}" up -d --build >"$work/up.log" 2>&1 || { cat "$work/up.log"; exit 1; }
replicas=$("$engine" ps --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" \
  --format '{{.Names}}' | grep -E 'mockserver-[12]' | sort)
[[ $(wc -l <<<"$replicas") -eq 2 ]] || { echo "expected two replicas, found: $replicas" >&2; exit 1; }

healthy() {  # the image's own HEALTHCHECK, run now (podman without systemd runs no timer)
  if [[ $engine == podman ]]; then podman healthcheck run "$1" >/dev/null 2>&1
  else [[ $(docker inspect -f '{{.State.Health.Status}}' "$1") == healthy ]]; fi
}
for replica in $replicas; do
  for _ in $(seq 60); do healthy "$replica" && break; sleep 1; done
  healthy "$replica" || { "$engine" logs "$replica" | tail -20; echo "$replica: not healthy" >&2; exit 1; }
  user=$("$engine" exec "$replica" id -u)
  [[ $user != 0 ]] || { echo "$replica runs as root" >&2; exit 1; }
  echo "$replica: healthy, user id $user"
done
echo "up and healthy in $(($(date +%s) - started)) s"
image=$("$engine" inspect -f '{{.Image}}' "$(head -1 <<<"$replicas")")
"$engine" image inspect -f 'image: {{.Size}} bytes, health check every {{.Config.Healthcheck.Interval}}' "$image"

say "the replicas make one store"
"$mockserver" check-shared http://127.0.0.1:8081 http://127.0.0.1:8082

say "a replica killed with SIGKILL comes back"
first=$(head -1 <<<"$replicas")
# The server process itself, from the host, as a crash kills it (`docker kill` counts as a
# deliberate stop, after which no restart policy restarts a container).
pid=$("$engine" inspect -f '{{.State.Pid}}' "$first")
kill -KILL "$pid"
for _ in $(seq 30); do
  sleep 1
  now=$("$engine" inspect -f '{{.State.Pid}}' "$first")
  [[ $now != 0 && $now != "$pid" ]] && healthy "$first" && break
done
healthy "$first" && [[ $now != "$pid" ]] || { echo "$first did not come back" >&2; exit 1; }
echo "$first: process $pid killed; back as $now, healthy"
"$mockserver" check-shared --events 50 http://127.0.0.1:8081 http://127.0.0.1:8082 | tail -1

say "all checks passed"
