#!/usr/bin/env bash
# Multi-host CI on two Vagrant boxes:
#   0. offline box (GL_BOX=geneve-lab/debian12, what `npm run test:vagrant` uses): build it or
#      take it from the cache (vagrant/box/build.ts), and confine libvirt and Vagrant to a lab
#      network namespace of their own (vagrant/lab/driver.ts): every vagrant/ssh/geneve-lab
#      command below then runs inside that namespace;
#   1. vagrant up box-1 and box-2 (Debian 12, 192.168.56.11/.12), within GL_BOOT_TIMEOUT seconds:
#      a box that does not come up is reported with the end of its serial console;
#   2. give both boxes one lab SSH key and record their host keys in a known_hosts (read through
#      Vagrant's own connection, never trusted on first sight on the lab network);
#   3. run every recipes/vagrant-*.yaml from this machine (and, with a provisioned public box,
#      again from inside box-1); JUnit, JSON and the artifacts of failed checks are kept;
#   4. vagrant destroy -f, always (trap), even when a step failed or the run was interrupted;
#      with the lab namespace also its domains, volumes, pool, networks, daemons and the namespace
#      itself — and if this script is killed outright (SIGKILL), the lab's watchdog does it.
#
# Usage: vagrant/ci.sh                 the whole run
#        vagrant/ci.sh --run-only WHERE DIR   only step 3 for one place (used inside box-1)
# Environment: GL_BOX (box name; geneve-lab/… means the offline box), GL_BOX_DIR (an unpacked
#              offline box to use instead of building: build.ts --print-dir), GL_BOX_FILE (a .box
#              file to add instead), GL_PROVIDER (libvirt|virtualbox), GL_RESULTS_DIR,
#              GL_RECIPES (space separated), GL_CLI (default "node bin/geneve-lab.js"),
#              GL_KEEP_BOXES=1 (skip destroy, debugging only; not with the offline box, whose
#              lab's watchdog removes the boxes when this script ends), GL_PAUSE_BEFORE_DESTROY=
#              SECONDS (debugging: wait that long, or until $RESULTS/PAUSED is removed, before the
#              trap destroys anything), GL_RECIPE_TIMEOUT (seconds per
#              command, default 900), GL_BOOT_TIMEOUT (seconds for vagrant up, default 600),
#              GL_INSIDE_BOX (0|1: also run the recipes inside box-1; default 1 except offline).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
read -r -a GL <<<"${GL_CLI:-node bin/geneve-lab.js}"
read -r -a RECIPES <<<"${GL_RECIPES:-$(echo recipes/vagrant-*.yaml)}"
STEP_TIMEOUT=${GL_RECIPE_TIMEOUT:-900}
log() { printf '\n== %s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }
IN_LAB=() # command prefix that enters the lab namespace (empty without one)

# Run every recipe at one place: up (applies and runs the checks) then down, each report kept.
# All hosts are remote, so no root is needed here; the lab state lives next to the reports.
# Returns non-zero when any recipe failed, after running all of them.
run_recipes() {
  local where=$1 out=$2 failed=0 recipe name base rc t0
  mkdir -p "$out"
  for recipe in "${RECIPES[@]}"; do
    name=$(basename "$recipe" .yaml)
    base="$out/$where-$name"
    log "$where: up $recipe"
    rc=0
    t0=$(date +%s)
    run_bg timeout "$STEP_TIMEOUT" "${IN_LAB[@]}" "${GL[@]}" --state-dir "$out/state" up "$recipe" \
      --junit "$base.junit.xml" --artifacts "$base.artifacts" >"$base.up.log" 2>&1 || rc=$?
    echo "$where $name up exit=$rc seconds=$(($(date +%s) - t0))" >>"$out/summary.txt"
    [ "$rc" = 0 ] || { failed=1; tail -n 30 "$base.up.log" >&2 || true; }
    # down runs even after a failed up: it removes whatever the lab still owns on both boxes.
    rc=0
    run_bg timeout "$STEP_TIMEOUT" "${IN_LAB[@]}" "${GL[@]}" --state-dir "$out/state" down "$recipe" --json \
      >"$base.down.json" 2>"$base.down.log" || rc=$?
    echo "$where $name down exit=$rc" >>"$out/summary.txt"
    [ "$rc" = 0 ] || failed=1
  done
  return "$failed"
}

# Long commands run in the background and are waited for: a trapped signal interrupts `wait`
# at once (a foreground child would make bash defer the trap until the child ends, and a hung
# `vagrant up` ignores SIGINT).
CHILD=
run_bg() {
  local rc=0
  "$@" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=
  return "$rc"
}

if [ "${1:-}" = --run-only ]; then
  [ $# -eq 3 ] || { echo "usage: $0 --run-only WHERE DIR" >&2; exit 2; }
  run_recipes "$2" "$3"
  exit $?
fi

command -v vagrant >/dev/null || { echo "ci.sh: vagrant is not installed (Debian: apt-get install vagrant vagrant-libvirt)" >&2; exit 3; }
RESULTS=${GL_RESULTS_DIR:-$ROOT/vagrant/results/$(date -u +%Y%m%dT%H%M%SZ)}
LAB=${GL_LAB_DIR:-$ROOT/vagrant/.lab}  # the recipes refer to vagrant/.lab; override only for tests
BOX=${GL_BOX:-debian/bookworm64}
OFFLINE=0
case "$BOX" in geneve-lab/*) OFFLINE=1 ;; esac
BOOT_TIMEOUT=${GL_BOOT_TIMEOUT:-600}
INSIDE_BOX=${GL_INSIDE_BOX:-$((1 - OFFLINE))}
read -r -a BOXES <<<"${GL_BOXES:-box-1 box-2}"
declare -A ADDRESS=([box-1]=192.168.56.11 [box-2]=192.168.56.12)
DRIVER=(node --import tsx "$ROOT/vagrant/lab/driver.ts")
mkdir -p "$RESULTS"
install -d -m 700 "$LAB"
STARTED=$(date +%s)
LAB_WORKDIR=
VAGRANT=(vagrant)

# GL_PAUSE_BEFORE_DESTROY=SECONDS (debugging): the trap waits before destroying anything, up to
# SECONDS or until $RESULTS/PAUSED is removed, so the boxes can be looked at after a failure.
# shellcheck disable=SC2317  # called by the EXIT trap
pause_before_destroy() {
  local secs=${GL_PAUSE_BEFORE_DESTROY:-0} until
  [[ "$secs" =~ ^[0-9]+$ ]] && [ "$secs" -gt 0 ] && [ -f "$LAB/vagrant_ssh_config" ] || return 0
  until=$(($(date +%s) + secs))
  : >"$RESULTS/PAUSED"
  log "GL_PAUSE_BEFORE_DESTROY=$secs: the boxes stay up until $(date -u -d "@$until" +%H:%M:%S) or until $RESULTS/PAUSED is removed; reach one with:"
  echo "  ${IN_LAB[*]} ssh -F $LAB/vagrant_ssh_config box-1 'sudo ipsec statusall'"
  while [ -e "$RESULTS/PAUSED" ] && [ "$(date +%s)" -lt "$until" ]; do sleep 2; done
  rm -f "$RESULTS/PAUSED"
}

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  trap '' INT TERM # a second Ctrl-C must not interrupt the cleanup itself
  if [ -n "$CHILD" ]; then kill "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  pause_before_destroy
  if [ "${GL_KEEP_BOXES:-0}" = 1 ]; then
    log "GL_KEEP_BOXES=1: boxes left running; remove them with: ${VAGRANT[*]} destroy -f${LAB_WORKDIR:+ ; ${DRIVER[*]} down --lab $LAB_WORKDIR}"
    [ -z "$LAB_WORKDIR" ] || echo "ci.sh: with the offline box the lab's watchdog removes the boxes as soon as this script ends; to look at them, use GL_PAUSE_BEFORE_DESTROY=SECONDS instead" >&2
  else
    log "vagrant destroy -f"
    timeout 300 "${VAGRANT[@]}" destroy -f || { echo "ci.sh: vagrant destroy failed; run '${VAGRANT[*]} destroy -f' by hand" >&2; [ "$rc" != 0 ] || rc=1; }
    if [ -n "$LAB_WORKDIR" ]; then
      log "removing the lab namespace, libvirt and everything in it"
      local keep=()
      [ "$rc" = 0 ] || keep=(--save-logs "$RESULTS/lab-logs")
      "${DRIVER[@]}" down --lab "$LAB_WORKDIR" "${keep[@]}" || { echo "ci.sh: the lab could not be removed completely (see above)" >&2; [ "$rc" != 0 ] || rc=1; }
    fi
  fi
  echo "total $(($(date +%s) - STARTED)) s, exit $rc, results in $RESULTS"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$OFFLINE" = 1 ]; then
  GL_PROVIDER=libvirt
  export GL_BOX="$BOX" GL_LIBVIRT_DRIVER="${GL_LIBVIRT_DRIVER:-qemu}" GL_BOOT_TIMEOUT="$BOOT_TIMEOUT"
  if [ -n "${GL_BOX_FILE:-}" ]; then
    box_arg=(--box "$GL_BOX_FILE")
  else
    box_dir=${GL_BOX_DIR:-}
    if [ -z "$box_dir" ]; then
      log "offline box (vagrant/box/build.ts)"
      t0=$(date +%s)
      run_bg node --import tsx vagrant/box/build.ts --print-dir >"$RESULTS/box.out"
      box_dir=$(tail -n 1 "$RESULTS/box.out")
      echo "box: $(($(date +%s) - t0)) s" >>"$RESULTS/summary.txt"
    fi
    box_arg=(--box-dir "$box_dir")
  fi
  log "lab namespace with its own libvirtd (vagrant/lab/driver.ts)"
  t0=$(date +%s)
  run_bg "${DRIVER[@]}" up --owner $$ "${box_arg[@]}" >"$RESULTS/lab.env"
  while IFS='=' read -r key value; do
    case "$key" in
      LAB_ID | LAB_NS | LAB_WORKDIR | LIBVIRTD_PID | VAGRANT_HOME | VAGRANT_DOTFILE_PATH | GL_CONSOLE_DIR) printf -v "$key" '%s' "$value" ;;
    esac
  done <"$RESULTS/lab.env"
  [ -n "$LAB_WORKDIR" ] && [ -n "$LIBVIRTD_PID" ] || { echo "ci.sh: the lab driver printed no lab" >&2; exit 1; }
  echo "lab: $(($(date +%s) - t0)) s (namespace $LAB_NS, work dir $LAB_WORKDIR)" >>"$RESULTS/summary.txt"
  export VAGRANT_HOME VAGRANT_DOTFILE_PATH GL_CONSOLE_DIR VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_DEFAULT_PROVIDER=libvirt LIBVIRT_DEFAULT_URI=qemu:///system
  IN_LAB=(nsenter "--target=$LIBVIRTD_PID" --mount --net "--wd=$ROOT" --)
  VAGRANT=("${IN_LAB[@]}" vagrant)
fi

log "vagrant up ${GL_PROVIDER:+(provider $GL_PROVIDER)}"
t0=$(date +%s)
rc=0
run_bg timeout --kill-after=15 "$BOOT_TIMEOUT" "${VAGRANT[@]}" up ${GL_PROVIDER:+--provider "$GL_PROVIDER"} || rc=$?
if [ "$rc" != 0 ]; then
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "ci.sh: the boxes did not become reachable over SSH within GL_BOOT_TIMEOUT=$BOOT_TIMEOUT s (vagrant up stopped)" >&2
  else
    echo "ci.sh: vagrant up failed (exit $rc)" >&2
  fi
  if [ -n "$LAB_WORKDIR" ]; then
    echo "ci.sh: serial console of each box:" >&2
    "${DRIVER[@]}" console --lab "$LAB_WORKDIR" --lines 25 >&2 || true
  fi
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && exit 4
  exit "$rc"
fi
echo "vagrant up: $(($(date +%s) - t0)) s" >>"$RESULTS/summary.txt"

# Commands on the boxes go over Vagrant's own SSH settings (one `vagrant ssh-config`, then plain
# ssh: a `vagrant ssh` costs seconds of Ruby start-up each).
"${VAGRANT[@]}" ssh-config "${BOXES[@]}" >"$LAB/vagrant_ssh_config"
on_box() { local box=$1; shift; "${IN_LAB[@]}" ssh -F "$LAB/vagrant_ssh_config" "$box" "$@"; }

# One lab key for both boxes (user vagrant, which has passwordless sudo; the executor uses
# `sudo -n`). Host keys are read through Vagrant's own connection to each box, so the lab's
# known_hosts never trusts a key first seen on the lab network.
[ -f "$LAB/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C geneve-lab-vagrant -f "$LAB/id_ed25519"
: >"$LAB/known_hosts"
for box in "${BOXES[@]}"; do
  hostkey=$(on_box "$box" 'cat /etc/ssh/ssh_host_ed25519_key.pub' | tr -d '\r')
  awk -v a="${ADDRESS[$box]}" 'NF >= 2 { print a, $1, $2 }' <<<"$hostkey" >>"$LAB/known_hosts"
  # shellcheck disable=SC2016  # expanded by the box's shell, not here
  on_box "$box" 'install -d -m 700 ~/.ssh && k=$(cat) && (grep -qxF "$k" ~/.ssh/authorized_keys 2>/dev/null || echo "$k" >>~/.ssh/authorized_keys)' \
    <"$LAB/id_ed25519.pub"
  # The offline box starts Open vSwitch after sshd (it does not hold up SSH); wait for it here.
  t0=$(date +%s)
  run_bg timeout 600 "${IN_LAB[@]}" ssh -F "$LAB/vagrant_ssh_config" "$box" 'sudo systemctl start openvswitch-switch.service' \
    || { echo "ci.sh: Open vSwitch did not start on $box" >&2; exit 1; }
  echo "$box openvswitch ready after $(($(date +%s) - t0)) s more" >>"$RESULTS/summary.txt"
done
[ "$(wc -l <"$LAB/known_hosts")" -eq "${#BOXES[@]}" ] || { echo "ci.sh: could not read the boxes' host keys" >&2; exit 1; }

# Recipes with OVS IPsec (`psk`) use each box's own openvswitch-ipsec service (ovs-monitor-ipsec
# and strongSwan's charon), which the box does not start at boot: start it only when needed.
if grep -qE '^[^#]*\bpsk:' "${RECIPES[@]}"; then
  for box in "${BOXES[@]}"; do
    t0=$(date +%s)
    run_bg timeout 300 "${IN_LAB[@]}" ssh -F "$LAB/vagrant_ssh_config" "$box" 'sudo systemctl start openvswitch-ipsec.service' \
      || { echo "ci.sh: openvswitch-ipsec did not start on $box" >&2; exit 1; }
    echo "$box openvswitch-ipsec ready after $(($(date +%s) - t0)) s" >>"$RESULTS/summary.txt"
  done
fi

# The CLI as built (npm run build); built here only when it never was.
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -f dist/cli/main.js ] || npm run build --if-present >/dev/null

failed=0
run_recipes from-host "$RESULTS" || failed=1

if [ "$INSIDE_BOX" = 1 ]; then
  # box-1 runs the recipes too: it needs the key and known_hosts (rsync'ed with the project).
  "${VAGRANT[@]}" rsync box-1
  log "inside box-1"
  "${VAGRANT[@]}" ssh box-1 --no-tty -c \
    'cd ~/geneve-lab && rm -rf /tmp/gl-results && GL_CLI="node bin/geneve-lab.js" vagrant/ci.sh --run-only inside-box-1 /tmp/gl-results' \
    || failed=1
  mkdir -p "$RESULTS/inside-box-1"
  "${VAGRANT[@]}" ssh box-1 --no-tty -c 'tar -C /tmp/gl-results -cf - .' | tar -C "$RESULTS/inside-box-1" -xf - || failed=1
fi

log "summary"
cat "$RESULTS/summary.txt" "$RESULTS/inside-box-1/summary.txt" 2>/dev/null || true
exit "$failed"
