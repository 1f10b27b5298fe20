#!/usr/bin/env bash
# Starts the lab's own virtlogd and libvirtd. vagrant/lab/driver.ts runs it as
#   ip netns exec NS vagrant/lab/libvirt-in-ns.sh WORKDIR
# so it is already inside the lab's network namespace and in a mount namespace of its own
# (ip netns exec makes one, to remount /sys). There it mounts the lab's private copies of
# libvirt's config, state, log and cache directories and a private /run over the machine's, then
# starts both daemons; they keep this mount namespace alive after the script exits, and every
# later command of the lab joins it (nsenter --target LIBVIRTD_PID --mount --net). Everything
# libvirt creates — networks, bridges, dnsmasq, NAT rules, domains, volumes — therefore exists
# only in the lab's namespaces and directories. Argument: WORKDIR (made by the driver, holding
# root/{etc,var/lib,var/log,var/cache}/libvirt). Prints the two PIDs as KEY=VALUE lines.
set -euo pipefail
W=$1
[ -f "$W/lab.json" ] || { echo "libvirt-in-ns.sh: $W is not a lab work directory" >&2; exit 2; }

# Nothing mounted from here on may propagate back to the machine's mount namespace.
mount --make-rprivate /
mount -t tmpfs -o mode=0755,size=64m geneve-lab-run /run
mkdir -p /run/libvirt
for d in etc/libvirt var/lib/libvirt var/log/libvirt var/cache/libvirt; do
  mount --bind "$W/root/$d" "/$d"
done
ip link set lo up

virtlogd --daemon --pid-file "$W/virtlogd.pid"
libvirtd --daemon --pid-file "$W/libvirtd.pid"
for _ in $(seq 1 300); do
  [ -S /run/libvirt/libvirt-sock ] && [ -s "$W/libvirtd.pid" ] && [ -s "$W/virtlogd.pid" ] && break
  sleep 0.1
done
[ -S /run/libvirt/libvirt-sock ] || { echo "libvirt-in-ns.sh: libvirtd did not open its socket within 30 s (log: $W/root/var/log/libvirt/libvirtd.log)" >&2; exit 1; }
echo "VIRTLOGD_PID=$(cat "$W/virtlogd.pid")"
echo "LIBVIRTD_PID=$(cat "$W/libvirtd.pid")"
