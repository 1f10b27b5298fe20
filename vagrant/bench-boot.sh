#!/usr/bin/env bash
# Benchmark of the offline Vagrant lab (results go into BENCHMARKS.md, "Vagrant tier"):
#   vagrant/bench-boot.sh [RUNS]         RUNS times: lab namespace + two boxes up to SSH-ready,
#                                        no recipes, destroy; prints each phase with the load average
#   vagrant/bench-boot.sh --cold-build   a cold box build into an empty cache (downloads ~190 packages)
# Run as root on an otherwise idle machine if you can: TCG guests share the host's CPUs, so every
# other busy process (and the load average printed next to each figure) shows in the numbers.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
load() { cut -d' ' -f1-3 /proc/loadavg; }

if [ "${1:-}" = --cold-build ]; then
  cache=$(mktemp -d /var/tmp/geneve-lab-box-bench.XXXXXX)
  trap 'rm -rf "$cache"' EXIT
  echo "cold box build into $cache (load $(load))"
  t0=$(date +%s)
  node --import tsx vagrant/box/build.ts --cache-dir "$cache" --json
  echo "cold build: $(($(date +%s) - t0)) s (load after $(load))"
  t0=$(date +%s)
  node --import tsx vagrant/box/build.ts --cache-dir "$cache" >/dev/null
  echo "second build, same inputs: $(($(date +%s) - t0)) s (skipped: cache hit)"
  exit 0
fi

runs=${1:-1}
box_dir=$(node --import tsx vagrant/box/build.ts --print-dir)
for i in $(seq 1 "$runs"); do
  results=$(mktemp -d /var/tmp/geneve-lab-boot-bench.XXXXXX)
  before=$(load)
  t0=$(date +%s)
  GL_BOX=geneve-lab/debian12 GL_BOX_DIR="$box_dir" GL_BOX_CPUS=1 GL_BOX_MEMORY=1024 GL_RECIPES=' ' \
    GL_RESULTS_DIR="$results" bash vagrant/ci.sh >"$results/ci.log" 2>&1 || { echo "run $i failed: $results/ci.log"; exit 1; }
  total=$(($(date +%s) - t0))
  echo "run $i: $(grep -E '^(lab|vagrant up|box-[12] openvswitch)' "$results/summary.txt" | tr '\n' ';' | sed 's/;$//'); whole run ${total} s; load before ${before}, after $(load)"
  rm -rf "$results"
done
