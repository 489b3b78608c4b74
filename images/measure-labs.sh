#!/usr/bin/env bash
# The two labs side by side, as a user meets them (the README's "compose vs native" table):
#   make up from a clean lab to all-healthy, the lab's idle memory, a first and a warm `make demo`; for
#   compose also the image build (cold with --cold), the rebuild after a code edit, the image sizes.
# Wipes each lab's data (make clean) before measuring it. Run with only one lab up at a time (2 cores).
#   images/measure-labs.sh [--cold] [native] [compose]      (default: both labs)
set -euo pipefail
cd "$(dirname "$0")/.."
cold=no
labs=()
for arg in "$@"; do
  case $arg in
    --cold) cold=yes ;;
    native | compose) labs+=("$arg") ;;
    *) echo "usage: $0 [--cold] [native] [compose]" >&2; exit 2 ;;
  esac
done
[ ${#labs[@]} -gt 0 ] || labs=(native compose)
log=$(mktemp)
results=()

seconds() {  # run "$@" quietly; print its wall time in seconds (its log on failure)
  local start end
  start=$(date +%s.%N)
  "$@" >"$log" 2>&1 || { tail -30 "$log" >&2; echo "failed: $*" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }'
}
record() { results+=("$1|$2|$3"); printf '%-8s %-44s %s\n' "$1" "$2" "$3"; }
dag_seconds() { sed -n 's/.*DAG run .*: success in \([0-9]*\)s.*/\1/p' "$log" | tail -1; }
idle_memory() { make -s status 2>/dev/null | sed -n 's/.*total resident memory: //p' | tail -1; }

for lab in "${labs[@]}"; do
  export RETAILSTREAM_LAB=$lab
  if [ "$lab" = compose ]; then
    if [ $cold = yes ]; then
      make -s clean >/dev/null 2>&1 || true
      docker image rm -f retailstream/runtime:latest retailstream/tools:latest >/dev/null 2>&1 || true
      docker builder prune -af >/dev/null
      record compose "image build, cold (s)" "$(seconds make -s compose-image)"
    fi
    touch pipeline/retailstream/__init__.py  # a code edit: the code is mounted, nothing may rebuild
    record compose "image build after a code edit (s)" "$(seconds make -s compose-image)"
    for image in retailstream/runtime:latest retailstream/tools:latest; do
      record compose "image size $image (GB)" \
        "$(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.2f", $1 / 1e9 }')"
    done
  fi
  make -s clean >/dev/null 2>&1 || true
  record "$lab" "make up, clean lab to all-healthy (s)" "$(seconds make -s up)"
  sleep 60  # idle: let start-up work settle
  record "$lab" "idle memory of the whole lab" "$(idle_memory)"
  record "$lab" "first make demo (s)" "$(seconds make -s demo)"
  record "$lab" "  of which the DAG run (s)" "$(dag_seconds)"
  record "$lab" "warm make demo, nothing new (s)" "$(seconds make -s demo)"
  record "$lab" "  of which the DAG run (s)" "$(dag_seconds)"
  make -s down >/dev/null 2>&1
done

echo
echo "| lab | figure | value |"
echo "|---|---|---|"
for row in "${results[@]}"; do echo "| ${row//|/ | } |"; done
rm -f "$log"
