#!/usr/bin/env bash
# Multi-host CI on two Vagrant boxes:
#   1. vagrant up box-1 and box-2 (Debian 12, 192.168.56.11/.12; provider from $GL_PROVIDER or Vagrant's default)
#   2. give both boxes one lab SSH key and record their host keys in a known_hosts (no trust-on-first-use)
#   3. run every recipes/vagrant-*.yaml from this machine, then from inside box-1
#   4. collect the JSON and JUnit reports in a results directory
#   5. vagrant destroy -f, always (trap), even when a step failed or the run was interrupted
#
# Usage: vagrant/ci.sh                 the whole run
#        vagrant/ci.sh --run-only WHERE DIR   only step 3 for one place (used inside box-1)
# Environment: GL_PROVIDER (libvirt|virtualbox), GL_RESULTS_DIR, GL_RECIPES (space separated),
#              GL_CLI (default "node bin/geneve-lab.js"), GL_KEEP_BOXES=1 (skip destroy, debugging only),
#              GL_RECIPE_TIMEOUT (seconds per command, default 900).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
read -r -a GL <<<"${GL_CLI:-node bin/geneve-lab.js}"
read -r -a RECIPES <<<"${GL_RECIPES:-$(echo recipes/vagrant-*.yaml)}"
STEP_TIMEOUT=${GL_RECIPE_TIMEOUT:-900}
log() { printf '\n== %s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# Run every recipe at one place: up (applies and runs the checks) then down, each report kept.
# All hosts are remote, so no root is needed here; the lab state lives next to the reports.
# Returns non-zero when any recipe failed, after running all of them.
run_recipes() {
  local where=$1 out=$2 failed=0 recipe name base rc
  mkdir -p "$out"
  for recipe in "${RECIPES[@]}"; do
    name=$(basename "$recipe" .yaml)
    base="$out/$where-$name"
    log "$where: up $recipe"
    rc=0
    timeout "$STEP_TIMEOUT" "${GL[@]}" --state-dir "$out/state" up "$recipe" --json --junit "$base.junit.xml" \
      >"$base.up.json" 2>"$base.up.log" || rc=$?
    echo "$where $name up exit=$rc" >>"$out/summary.txt"
    [ "$rc" = 0 ] || { failed=1; tail -n 20 "$base.up.log" >&2 || true; }
    # down runs even after a failed up: it removes whatever the lab still owns on both boxes.
    rc=0
    timeout "$STEP_TIMEOUT" "${GL[@]}" --state-dir "$out/state" down "$recipe" --json >"$base.down.json" 2>"$base.down.log" || rc=$?
    echo "$where $name down exit=$rc" >>"$out/summary.txt"
    [ "$rc" = 0 ] || failed=1
  done
  return "$failed"
}

if [ "${1:-}" = --run-only ]; then
  [ $# -eq 3 ] || { echo "usage: $0 --run-only WHERE DIR" >&2; exit 2; }
  run_recipes "$2" "$3"
  exit $?
fi

command -v vagrant >/dev/null || { echo "ci.sh: vagrant is not installed (Debian: apt-get install vagrant vagrant-libvirt)" >&2; exit 3; }
RESULTS=${GL_RESULTS_DIR:-$ROOT/vagrant/results/$(date -u +%Y%m%dT%H%M%SZ)}
LAB=${GL_LAB_DIR:-$ROOT/vagrant/.lab}  # the recipes refer to vagrant/.lab; override only for tests
BOXES=(box-1 box-2)
declare -A ADDRESS=([box-1]=192.168.56.11 [box-2]=192.168.56.12)
mkdir -p "$RESULTS"
install -d -m 700 "$LAB"
STARTED=$(date +%s)

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "${GL_KEEP_BOXES:-0}" = 1 ]; then
    log "GL_KEEP_BOXES=1: boxes left running; remove them with: vagrant destroy -f"
  else
    log "vagrant destroy -f"
    vagrant destroy -f || { echo "ci.sh: vagrant destroy failed; run 'vagrant destroy -f' by hand" >&2; [ "$rc" != 0 ] || rc=1; }
  fi
  echo "total $(($(date +%s) - STARTED)) s, exit $rc, results in $RESULTS"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "vagrant up ${GL_PROVIDER:+(provider $GL_PROVIDER)}"
vagrant up ${GL_PROVIDER:+--provider "$GL_PROVIDER"}
echo "vagrant up: $(($(date +%s) - STARTED)) s" >>"$RESULTS/summary.txt"

# One lab key for both boxes (user vagrant, which has passwordless sudo; the executor uses
# `sudo -n`). Host keys are read through Vagrant's own connection to each box, so the lab's
# known_hosts never trusts a key first seen on the lab network.
[ -f "$LAB/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C geneve-lab-vagrant -f "$LAB/id_ed25519"
: >"$LAB/known_hosts"
for box in "${BOXES[@]}"; do
  hostkey=$(vagrant ssh "$box" --no-tty -c 'cat /etc/ssh/ssh_host_ed25519_key.pub' | tr -d '\r')
  awk -v a="${ADDRESS[$box]}" 'NF >= 2 { print a, $1, $2 }' <<<"$hostkey" >>"$LAB/known_hosts"
  # shellcheck disable=SC2016  # expanded by the box's shell, not here
  vagrant ssh "$box" --no-tty -c \
    'install -d -m 700 ~/.ssh && k=$(cat) && (grep -qxF "$k" ~/.ssh/authorized_keys 2>/dev/null || echo "$k" >>~/.ssh/authorized_keys)' \
    <"$LAB/id_ed25519.pub"
done
[ "$(wc -l <"$LAB/known_hosts")" -eq "${#BOXES[@]}" ] || { echo "ci.sh: could not read the boxes' host keys" >&2; exit 1; }
# box-1 runs the recipes too: it needs the key and known_hosts (rsync'ed with the project).
vagrant rsync box-1

[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --if-present >/dev/null

failed=0
run_recipes from-host "$RESULTS" || failed=1

log "inside box-1"
vagrant ssh box-1 --no-tty -c \
  'cd ~/geneve-lab && rm -rf /tmp/gl-results && GL_CLI="node bin/geneve-lab.js" vagrant/ci.sh --run-only inside-box-1 /tmp/gl-results' \
  || failed=1
mkdir -p "$RESULTS/inside-box-1"
vagrant ssh box-1 --no-tty -c 'tar -C /tmp/gl-results -cf - .' | tar -C "$RESULTS/inside-box-1" -xf - || failed=1

log "summary"
cat "$RESULTS/summary.txt" "$RESULTS/inside-box-1/summary.txt" 2>/dev/null || true
exit "$failed"
