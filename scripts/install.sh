#!/usr/bin/env bash
# Installs everything geneve-lab needs on a Debian 12 machine, as root:
# Debian packages, Node.js >= 22 (from the npm registry when the system's is older),
# the project's npm dependencies, and a build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo $0)" >&2
  exit 3
fi

export DEBIAN_FRONTEND=noninteractive
PACKAGES=(
  iproute2 iputils-ping ethtool procps kmod       # namespaces, links, offloads, probes
  iperf3 tcpdump tshark nftables                  # checks, captures, nftables counter rules
  openvswitch-switch openvswitch-common           # OVS switches and tunnel ports
  ovn-central ovn-host ovn-common                 # OVN as the Geneve control plane (recipes' ovn:)
  strongswan libstrongswan-standard-plugins       # IPsec tunnels: IKE (charon; gcm/openssl for OVS's AES-GCM proposal)
  openvswitch-ipsec                               # ovs-monitor-ipsec (the lab runs one per simulated host)
  libxml2-utils                                   # xmllint: the tests validate --junit against the JUnit XSD
  qemu-system-x86 busybox-static cpio             # geneve-lab vm (kernel geneve anywhere)
  openssh-server openssh-client                   # remote hosts (tests run sshd in namespaces)
  tmux                                            # the TUI end-to-end test
  shellcheck sudo                                 # lint of the shell scripts; SSH hosts reached as a sudo user
  vagrant                                         # validating the two-box Vagrantfile
  # The Vagrant tier (npm run test:vagrant): two real boxes under libvirt, confined to a lab
  # network namespace, and the offline box built from Debian's mirror (vagrant/README.md).
  vagrant-libvirt libvirt-daemon-system libvirt-daemon-system-sysv libvirt-clients
  libvirt-daemon-driver-qemu qemu-utils mmdebstrap dnsmasq-base iptables
)

# Installing openvswitch-switch (or ovn-central / ovn-host) must not start the machine's own OVS
# or OVN services: the lab starts its own daemons per simulated host, inside the host's
# namespace. Likewise libvirt's packages must not start libvirtd (whose "default" network would
# put virbr0, dnsmasq and NAT rules into the root namespace): the Vagrant tier starts its own
# libvirtd inside a lab namespace. A temporary policy-rc.d says "don't start services";
# afterwards we check that no OVS/OVN daemon appeared.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

DAEMONS=(ovsdb-server ovs-vswitchd ovn-northd ovn-controller)
daemon_pids() { for d in "${DAEMONS[@]}"; do pgrep -x "$d" || true; done | sort -n; }
before=$(daemon_pids)

echo "== apt-get update" >&2
apt-get update -q >/dev/null
# IKE services this run installs (not ones the machine already had: those stay as their admin set them).
new_ike_units=()
for unit in strongswan-starter:strongswan-starter.service openvswitch-ipsec:openvswitch-ipsec.service; do
  dpkg -s "${unit%%:*}" >/dev/null 2>&1 || new_ike_units+=("${unit#*:}")
done
echo "== apt-get install ${PACKAGES[*]}" >&2
apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >/dev/null
# Freshly installed, strongSwan and openvswitch-ipsec would start an IKE daemon in the machine's
# own namespace at the next boot; the lab runs its own per simulated host, inside that host's
# namespace, so they stay off (enable them yourself if this machine is to do real IPsec).
if [ "${#new_ike_units[@]}" -gt 0 ] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --quiet "${new_ike_units[@]}" 2>/dev/null || true
fi

new=$(comm -13 <(echo "$before") <(daemon_pids) | tr '\n' ' ')
if [ -n "${new// /}" ]; then
  echo "install.sh: WARNING: installing the packages started daemons (pids $new): $(ps -o comm= -p ${new// /,} | tr '\n' ' ')" >&2
  echo "  geneve-lab does not need them; stop and disable them: systemctl disable --now openvswitch-switch ovn-central ovn-host" >&2
fi

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 22 ]; then
  echo "== Node $(node --version 2>/dev/null || echo none) is too old: installing node@24 into /usr/local" >&2
  npm install -g --prefix /usr/local node@24 >/dev/null
  hash -r
fi
export PATH="/usr/local/bin:$PATH"
echo "== node $(node --version), npm ci" >&2
npm ci --no-audit --no-fund >/dev/null
echo "== build" >&2
npm run --silent build
echo "== ready: try  sudo ./bin/geneve-lab.js doctor" >&2
