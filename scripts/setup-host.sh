#!/usr/bin/env bash
# Prepares a Debian/Ubuntu host for vmfleet: packages, a guest kernel, and the
# libvirt daemons. Idempotent: a second run only checks. Works with and without
# systemd (containers and CI boxes often have no init system at all).
set -euo pipefail

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

SOCK=/var/run/libvirt/libvirt-sock
KERNEL_PKG=${VMFLEET_KERNEL_PACKAGE:-linux-image-cloud-amd64}
# mmdebstrap: the end-to-end tests' Debian root filesystem (nginx on port 80).
# awscli: the AWS CLI v2, a client of the AWS endpoint in the tests (v1 may be
# on PATH as well; the tests drive both). ansible: its amazon.aws and
# community.aws modules, the tests' infrastructure-as-code client, and
# python3-boto3, which they need. chromium: the browser the dashboard's tests
# drive (chromedp).
PKGS=(qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-clients e2fsprogs busybox-static curl libxml2-utils iptables mmdebstrap awscli ansible python3-boto3 chromium "$KERNEL_PKG")

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install them with your package manager"
	log "installing ${missing[*]}"
	sudo_ apt-get update -q >/dev/null
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# The daemons: systemd starts them on a normal machine; elsewhere we do.
if [ ! -S "$SOCK" ] || ! virsh -c qemu:///system version >/dev/null 2>&1; then
	if [ -d /run/systemd/system ]; then
		sudo_ systemctl start virtlogd.socket libvirtd.socket libvirtd.service || true
	else
		# pidof skips zombies (pgrep does not): a dead daemon must be restarted.
		pidof virtlogd >/dev/null || sudo_ virtlogd -d
		pidof libvirtd >/dev/null || sudo_ libvirtd -d
	fi
	for _ in $(seq 1 100); do
		[ -S "$SOCK" ] && virsh -c qemu:///system version >/dev/null 2>&1 && break
		sleep 0.1
	done
	[ -S "$SOCK" ] || die "libvirtd did not come up (no $SOCK); look at /var/log/libvirt/libvirtd.log"
fi
# virtlogd can die on its own (or never have been started by a libvirtd that
# was already running); without it every domain start fails.
if [ ! -d /run/systemd/system ] && ! pidof virtlogd >/dev/null; then sudo_ virtlogd -d; fi

# The daemon's socket belongs to group vmfleet (mode 0660): its members
# drive vmfleet without sudo, as docker's group does (and, like it, are as
# good as root on this machine). Add yourself with: usermod -aG vmfleet $USER
getent group vmfleet >/dev/null || sudo_ groupadd --system vmfleet

# One line on how guests will run (vmfleet decides the same way).
if [ -d /sys/module/kvm_pvm ] && [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; then
	log "guests will run under TCG (software emulation): this host's KVM is PVM (kvm_pvm), which boots only PVM-built guest kernels"
elif [ -c /dev/kvm ] && virsh -c qemu:///system domcapabilities --virttype kvm >/dev/null 2>&1; then
	log "guests will run under KVM (/dev/kvm is usable by libvirt)"
elif [ -c /dev/kvm ]; then
	log "guests will run under TCG (software emulation): /dev/kvm exists but libvirt cannot use it"
else
	log "guests will run under TCG (software emulation): no /dev/kvm on this host"
fi

# Kernel same-page merging: instances restored from one snapshot start with
# the same pages (kernel, init, drivers), and QEMU offers guest RAM for
# merging. Turned on where the host has it and lets us; vmfleet works
# without it, with more memory per instance (vmfleet stats shows PSS).
if [ "$(cat /sys/kernel/mm/ksm/run 2>/dev/null)" = 0 ]; then
	if echo 1 | sudo_ tee /sys/kernel/mm/ksm/run >/dev/null 2>&1; then
		log "kernel same-page merging (KSM) turned on for instances restored from one snapshot"
	fi
fi
