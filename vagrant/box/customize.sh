#!/usr/bin/env bash
# mmdebstrap customize hook for the offline geneve-lab box (vagrant/box/build.ts runs it with the
# finished Debian tree as $1). Everything here is about booting fast under TCG and being a
# well-behaved Vagrant box; see vagrant/README.md ("The offline box") for the why of each part.
# Environment (set by build.ts): GL_VAGRANT_PUBKEY  Vagrant's insecure public key (from the
# installed vagrant package), GL_BOX_FILES  the directory holding this script's sibling files.
set -euo pipefail
R=$1
: "${GL_VAGRANT_PUBKEY:?}" "${GL_BOX_FILES:?}"
in_root() { chroot "$R" "$@"; }

# --- The vagrant user: Vagrant's insecure key, passwordless sudo (Vagrant's box conventions).
in_root useradd --create-home --shell /bin/bash --user-group vagrant
install -d -m 700 "$R/home/vagrant/.ssh"
install -m 600 "$GL_VAGRANT_PUBKEY" "$R/home/vagrant/.ssh/authorized_keys"
in_root chown -R vagrant:vagrant /home/vagrant/.ssh
printf 'vagrant ALL=(ALL) NOPASSWD: ALL\n' >"$R/etc/sudoers.d/vagrant"
chmod 440 "$R/etc/sudoers.d/vagrant"

# --- Identity per box. Both boxes are copy-on-write clones of one image, so nothing that must
# differ between them may be in the image: the SSH host key is made at first boot (ed25519 only:
# RSA key generation costs seconds under TCG), the hostname comes from the kernel command line
# (systemd.hostname=), and /etc/machine-id is empty so systemd makes a new one.
rm -f "$R"/etc/ssh/ssh_host_*
install -m 644 "$GL_BOX_FILES/sshd-geneve-lab.conf" "$R/etc/ssh/sshd_config.d/geneve-lab.conf"
install -m 755 "$GL_BOX_FILES/geneve-lab-identity" "$R/usr/local/sbin/geneve-lab-identity"
install -m 644 "$GL_BOX_FILES/geneve-lab-identity.service" "$R/etc/systemd/system/geneve-lab-identity.service"
: >"$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id"
printf 'geneve-lab\n' >"$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$R/etc/hosts"

# --- Static network from the kernel command line (ip=…), no DHCP: systemd-network-generator
# turns ip= into .network files, systemd-networkd applies them. Interfaces keep kernel names
# (net.ifnames=0): eth0 = Vagrant's management network, eth1 = the lab underlay.
: >"$R/etc/resolv.conf"
install -m 644 "$GL_BOX_FILES/90-geneve-lab-fallback.network" "$R/etc/systemd/network/90-geneve-lab-fallback.network"
in_root systemctl enable systemd-networkd.service systemd-network-generator.service

# --- The root file system is /dev/vda itself (no partition table), mounted rw by the kernel.
printf '/dev/vda / ext4 defaults,noatime 0 0\n' >"$R/etc/fstab"

# --- Boot time. Under TCG every unit started costs a fork/exec on a slow CPU, so units that do
# nothing useful in a throw-away lab box are masked (no VGA consoles, binfmt, rfkill, fuse, loop,
# device-mapper, debug/trace/config file systems, periodic maintenance).
in_root systemctl mask apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
  e2scrub_reap.service fstrim.timer systemd-networkd-wait-online.service getty-static.service \
  getty@tty1.service systemd-rfkill.socket systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
  modprobe@configfs.service modprobe@dm_mod.service modprobe@efi_pstore.service modprobe@fuse.service \
  modprobe@loop.service sys-kernel-config.mount sys-fs-fuse-connections.mount sys-kernel-debug.mount \
  sys-kernel-tracing.mount dev-hugepages.mount systemd-journal-flush.service >/dev/null
# What "SSH-ready" waits for is sshd, and sshd needs neither the network to be configured (it
# listens on the wildcard address) nor Open vSwitch. Debian orders sshd after network.target and
# OVS before it, which puts networkd's and OVS's start-up (a minute under a loaded TCG) in front of
# sshd. Both are copied into /etc without those orderings (drop-ins cannot remove ordering);
# OVS starts after sshd instead, so it does not compete for the one vCPU while the box comes up.
# The lab waits for OVS itself before using it (vagrant/ci.sh). sshd's config test before every
# start (ExecStartPre) is dropped too: the config is fixed in this image.
sed -E -e '/^After=/s/[[:space:]]*network\.target//' -e '/^ExecStartPre=\/usr\/sbin\/sshd -t$/d' \
  -e '/^\[Unit\]$/a After=geneve-lab-identity.service' "$R/lib/systemd/system/ssh.service" >"$R/etc/systemd/system/ssh.service"
for u in ovsdb-server.service ovs-vswitchd.service openvswitch-switch.service; do
  sed -E -e '/^Before=/{s/(^|[ =])network\.target( |$)/\1\2/;s/networking\.service//;s/=[[:space:]]+$/=/}' \
    -e '/^PartOf=network\.target$/d' -e '/^\[Unit\]$/a After=ssh.service' "$R/lib/systemd/system/$u" >"$R/etc/systemd/system/$u"
done
for u in ssh.service ovsdb-server.service ovs-vswitchd.service openvswitch-switch.service; do
  if grep -E '^(Before|After|PartOf)=.*network\.target' "$R/etc/systemd/system/$u"; then
    echo "customize.sh: $u still orders itself against network.target" >&2
    exit 1
  fi
done
in_root systemctl enable geneve-lab-identity.service
install -d "$R/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' >"$R/etc/systemd/journald.conf.d/geneve-lab.conf"

# --- IPsec is installed (strongswan + openvswitch-ipsec, for GRE over IPsec) but not started at
# boot: it costs boot time and only the IPsec scenarios need it (`systemctl start openvswitch-ipsec`).
in_root systemctl disable openvswitch-ipsec.service strongswan-starter.service >/dev/null 2>&1 || true

# --- Smaller image: no apt lists or caches (the box is offline; `apt-get update` restores them).
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb
# Stamp: which build made this box (read by the tier and shown by `cat /etc/geneve-lab-box`).
printf '%s\n' "${GL_BOX_STAMP:-geneve-lab box}" >"$R/etc/geneve-lab-box"
