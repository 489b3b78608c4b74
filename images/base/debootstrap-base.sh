#!/usr/bin/env bash
# Build `debian:bookworm-slim` locally when no image registry is reachable: a minimal Debian 12 root
# file system from this machine's own Debian mirror (debootstrap), imported into the Docker engine.
# Everything in images/ is FROM debian:bookworm-slim; where Docker Hub is reachable this is not needed.
set -euo pipefail

TAG=${1:-debian:bookworm-slim}
# Another architecture (arm64, for Apple Silicon) needs qemu-user-static with binfmt: the second stage of
# debootstrap runs the foreign binaries under emulation.
ARCH=${2:-$(dpkg --print-architecture)}
SUITE=bookworm

# The machine's mirrors, from its apt sources (deb822 *.sources or one-line sources.list).
mirror_for() {  # $1 = archive name: debian | debian-security
  cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -oE "(URIs:|^deb)[[:space:]]+[^[:space:]]*/$1/?([[:space:]]|\$)" \
    | awk '{print $2}' | sed 's:/*$::' | head -n1 || true
}
MIRROR=$(mirror_for debian)
SECURITY=$(mirror_for debian-security)
[ -n "$MIRROR" ] || { echo "no Debian mirror found in the apt sources" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }

ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
echo "debootstrap $SUITE ($ARCH) from $MIRROR into $ROOT"
if [ "$ARCH" = "$(dpkg --print-architecture)" ]; then
  debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >/dev/null
else
  debootstrap --variant=minbase --arch "$ARCH" --foreign "$SUITE" "$ROOT" "$MIRROR" >/dev/null
  chroot "$ROOT" /debootstrap/debootstrap --second-stage >/dev/null
fi

# Like the official slim image: the same suites in apt's sources, no docs/man pages/locales installed.
{
  printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' "$MIRROR" "$SUITE" "$SUITE"
  printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
  if [ -n "$SECURITY" ]; then
    printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "$SECURITY" "$SUITE"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
  fi
} >"$ROOT/etc/apt/sources.list.d/debian.sources"
rm -f "$ROOT/etc/apt/sources.list"
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
CFG
printf 'APT::Install-Recommends "false";\n' >"$ROOT/etc/apt/apt.conf.d/docker-no-recommends"
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/log/*.log
find "$ROOT"/usr/share/doc "$ROOT"/usr/share/man "$ROOT"/usr/share/info -type f ! -name copyright -delete

# Imported through a one-line build from scratch, so that the image's config names its architecture
# (`docker import` records the engine's own).
CONTEXT=$(mktemp -d)
trap 'rm -rf "$ROOT" "$CONTEXT"' EXIT
tar -C "$ROOT" -cf "$CONTEXT/rootfs.tar" .
printf 'FROM scratch\nADD rootfs.tar /\nCMD ["bash"]\n' >"$CONTEXT/Dockerfile"
docker buildx build -q --load --platform "linux/$ARCH" -t "$TAG" "$CONTEXT" >/dev/null
echo "imported $TAG ($(docker image inspect -f '{{.Architecture}}, {{.Size}}' "$TAG") bytes)"
