#!/usr/bin/env bash
# Provision one geneve-lab box (Debian 12): the tools the lab drives (iproute2, Open vSwitch,
# iperf3, tcpdump, tshark, ethtool, strongSwan with openvswitch-ipsec), Node.js >= 22 and the
# project itself.
# Run by Vagrant as root; safe to run again (every step checks before it changes anything).
set -euo pipefail

PROJECT_DIR=${GL_PROJECT_DIR:-/home/vagrant/geneve-lab}
NODE_MAJOR=${GL_NODE_MAJOR:-24}
PROJECT_USER=${GL_PROJECT_USER:-vagrant}
log() { printf '== [%s] %s\n' "${GL_BOX_NAME:-$(hostname)}" "$*"; }

export DEBIAN_FRONTEND=noninteractive
# Answer the two packages that would otherwise ask: no setuid dumpcap, no iperf3 daemon.
debconf-set-selections <<'DEBCONF'
wireshark-common wireshark-common/install-setuid boolean false
iperf3 iperf3/start_daemon boolean false
DEBCONF

log "installing Debian packages"
apt-get update -q
apt-get install -y -q --no-install-recommends \
  iproute2 openvswitch-switch iperf3 tcpdump tshark ethtool kmod procps \
  ca-certificates rsync npm \
  strongswan libstrongswan-standard-plugins openvswitch-ipsec
# GRE over IPsec (vagrant-ipsec-gre.yaml): openvswitch-ipsec's IKE is strongSwan, and its proposal
# is AES-GCM, which needs the gcm plugin from libstrongswan-standard-plugins (only a Recommends).
# As on the offline box, the IPsec daemons run only when a recipe needs them (vagrant/ci.sh starts
# openvswitch-ipsec then).
systemctl disable --now openvswitch-ipsec.service strongswan-starter.service >/dev/null 2>&1 || true

# Node: bookworm's nodejs is 18, the project needs >= 22. The `node` package on the npm registry
# carries the official binary; installed into /usr/local it comes first on PATH.
node_ok() { /usr/local/bin/node -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)' 2>/dev/null; }
if ! node_ok; then
  log "installing node@${NODE_MAJOR} from the npm registry into /usr/local"
  npm install -g --no-audit --no-fund --prefix /usr/local "node@${NODE_MAJOR}"
fi
node_ok || { echo "provision: /usr/local/bin/node is missing or older than 22" >&2; exit 1; }
log "node $(/usr/local/bin/node --version)"

# Kernel pieces the recipes use. A missing module is reported, not fatal: `geneve-lab doctor`
# explains what it means for each recipe.
for m in geneve vxlan openvswitch; do
  modprobe "$m" 2>/dev/null || log "WARNING: kernel module $m could not be loaded"
done
printf '%s\n' geneve vxlan openvswitch >/etc/modules-load.d/geneve-lab.conf

systemctl enable --now openvswitch-switch >/dev/null
ovs-vsctl --timeout=30 show >/dev/null
log "open vswitch $(ovs-vsctl --version | head -n1)"

# The project, from the rsync'ed folder, with its own native modules.
if [ -f "$PROJECT_DIR/package-lock.json" ]; then
  log "npm ci in $PROJECT_DIR"
  chown -R "$PROJECT_USER:" "$PROJECT_DIR"
  sudo -u "$PROJECT_USER" -H env PATH="/usr/local/bin:$PATH" \
    sh -c 'cd "$1" && npm ci --no-audit --no-fund && npm run build --if-present' sh "$PROJECT_DIR"
else
  log "WARNING: $PROJECT_DIR has no package-lock.json (synced folder missing?); project not installed"
fi
log "provisioned"
