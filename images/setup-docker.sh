#!/usr/bin/env bash
# A Docker engine with Compose v2 and buildx on a Debian machine that has none, from the registries this
# project may use: Debian's engine (docker.io, 20.10), the plugins built from the Go module proxy at the
# versions in pipeline/setup/docker-plugins.txt. Starts the engine when none answers (no systemd needed).
# Idempotent; run as root (the Makefile adds sudo). Elsewhere install Docker Desktop or Docker Engine.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f /etc/debian_version ] || { echo "setup-docker is for Debian; install Docker Desktop or Docker Engine" >&2; exit 1; }
missing=$(for p in docker.io debootstrap; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"; done)
if [ -n "$missing" ]; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

if ! docker info >/dev/null 2>&1; then
  # No iptables (containers here reach each other over compose's networks; ports are published by
  # docker-proxy on 127.0.0.1) and no default bridge: what a container-in-a-VM machine can run.
  nohup dockerd --iptables=false --bridge=none >/var/log/retailstream-dockerd.log 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/retailstream-dockerd.log" >&2; exit 1; }
fi

plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
mkdir -p "$plugins"
GO=$(command -v go || echo /usr/local/go/bin/go)
grep -v '^#' pipeline/setup/docker-plugins.txt | while read -r module plugin package; do
  version=${module##*@}
  if "$plugins/$plugin" docker-cli-plugin-metadata 2>/dev/null | grep -q "\"Version\": *\"$version\""; then
    continue
  fi
  echo "building $plugin $version from the Go module proxy"
  dir=$(GOFLAGS=-mod=mod "$GO" mod download -json "$module" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  work=$(mktemp -d)
  cp -r "$dir/." "$work" && chmod -R u+w "$work"
  case $plugin in
    docker-compose) flags="-X github.com/docker/compose/v2/internal.Version=$version" ;;
    docker-buildx) flags="-X github.com/docker/buildx/version.Version=$version" ;;
  esac
  (cd "$work" && GOFLAGS=-mod=mod "$GO" build -trimpath -ldflags "$flags" -o "$plugins/$plugin" "$package")
  rm -rf "$work"
done
docker compose version
docker buildx version
