#!/usr/bin/env bash
# Build a Linux guest for keel's boot tests from Debian packages, without
# installing anything: the current Debian 12 kernel (cloud or generic flavour)
# and an initramfs made of busybox-static, the virtio (and e1000) modules and
# an /init that prints a marker, runs the command from `keel.cmd="..."` on the
# kernel command line and powers off. See README.md next to this script.
#
# Usage: build-linux-guest.sh OUTDIR [--flavour cloud|generic]
# Output: OUTDIR/bzImage, OUTDIR/initramfs.cpio.gz (paths printed at the end).
# Re-running with the same kernel, busybox and script version only prints the
# paths (OUTDIR/.keel-guest-image.stamp records what was built).
set -euo pipefail

die() { echo "build-linux-guest: $*" >&2; exit 1; }
say() { echo "build-linux-guest: $*" >&2; }

usage() {
  echo "usage: $0 OUTDIR [--flavour cloud|generic]" >&2
  exit 2
}

outdir=""
flavour="cloud"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --flavour) [[ $# -ge 2 ]] || usage; flavour="$2"; shift 2 ;;
    --flavour=*) flavour="${1#--flavour=}"; shift ;;
    -h|--help) usage ;;
    -*) echo "build-linux-guest: unknown option '$1'" >&2; usage ;;
    *) [[ -z "$outdir" ]] || usage; outdir="$1"; shift ;;
  esac
done
[[ -n "$outdir" ]] || usage

# The Debian meta package that depends on the current kernel of each flavour,
# and the modules the initramfs loads. `e1000` is only built for the generic
# flavour. Order does not matter: dependencies come from modules.dep.
case "$flavour" in
  cloud)
    meta_package="linux-image-cloud-amd64"
    wanted_modules=(virtio virtio_ring virtio_pci virtio_pci_modern_dev virtio_pci_legacy_dev
                    virtio_blk virtio_net net_failover failover)
    ;;
  generic)
    meta_package="linux-image-amd64"
    wanted_modules=(virtio virtio_ring virtio_pci virtio_pci_modern_dev virtio_pci_legacy_dev
                    virtio_blk virtio_net net_failover failover e1000)
    ;;
  *) die "unknown flavour '$flavour' (expected cloud or generic)" ;;
esac

for tool in apt-cache apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || die "'$tool' not found: this script needs a Debian-based host"
done

mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
cache="$outdir/cache"
stamp="$outdir/.keel-guest-image.stamp"
bzimage="$outdir/bzImage"
initramfs="$outdir/initramfs.cpio.gz"

# The kernel package the meta package depends on now, e.g.
# linux-image-6.1.0-56-cloud-amd64. Empty when apt has no lists for it.
resolve_kernel_package() {
  apt-cache depends "$meta_package" 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1
}

# Candidate versions of the kernel package and busybox-static, one apt-cache
# call (each costs seconds on a busy machine): sets the two variables below.
kernel_deb_version=""
busybox_deb_version=""
resolve_versions() {
  kernel_deb_version=""
  busybox_deb_version=""
  [[ -n "$kernel_package" ]] || return 0
  local policy
  policy="$(apt-cache policy "$kernel_package" busybox-static 2>/dev/null)"
  candidate() {
    awk -v pkg="$1:" '$1 == pkg { found = 1 } found && $1 == "Candidate:" { print $2; exit }' <<<"$policy"
  }
  kernel_deb_version="$(candidate "$kernel_package")"
  busybox_deb_version="$(candidate busybox-static)"
  [[ "$kernel_deb_version" != "(none)" ]] || kernel_deb_version=""
  [[ "$busybox_deb_version" != "(none)" ]] || busybox_deb_version=""
}

# Package lists are needed for apt-cache and apt-get download; fetch them once
# if a package is unknown (a fresh container has none).
kernel_package="$(resolve_kernel_package)"
resolve_versions
if [[ -z "$kernel_deb_version" || -z "$busybox_deb_version" ]]; then
  say "package lists lack $meta_package or busybox-static: running apt-get update"
  if [[ "$(id -u)" -eq 0 ]]; then
    apt-get update -qq || die "apt-get update failed"
  else
    command -v sudo >/dev/null || die "apt-get update needs root: run it as root first"
    sudo apt-get update -qq || die "sudo apt-get update failed"
  fi
  kernel_package="$(resolve_kernel_package)"
  [[ -n "$kernel_package" ]] || die "cannot find the kernel package that $meta_package depends on"
  resolve_versions
  [[ -n "$kernel_deb_version" ]] || die "no installable version of $kernel_package"
  [[ -n "$busybox_deb_version" ]] || die "no installable version of busybox-static"
fi
kernel_version="${kernel_package#linux-image-}"          # 6.1.0-56-cloud-amd64

# Everything that decides the output: when it all matches the stamp and the
# outputs exist, there is nothing to do.
script_hash="$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
stamp_text="flavour=$flavour
kernel_package=$kernel_package
kernel_deb_version=$kernel_deb_version
busybox_deb_version=$busybox_deb_version
modules=${wanted_modules[*]}
script_sha256=$script_hash"

print_paths() {
  echo "kernel-version: $kernel_version"
  echo "bzImage: $bzimage"
  echo "initramfs: $initramfs"
}

if [[ -f "$stamp" && -f "$bzimage" && -f "$initramfs" ]] && [[ "$(cat "$stamp")" == "$stamp_text" ]]; then
  say "up to date ($kernel_package)"
  print_paths
  exit 0
fi

# --- fetch and unpack (no root install) --------------------------------------
mkdir -p "$cache/debs"
fetch_deb() {  # package version -> path of the .deb in the cache
  local package="$1" version="$2" existing
  existing="$(find "$cache/debs" -maxdepth 1 -name "${package}_*.deb" -print | head -n 1)"
  # apt-get encodes the epoch's ':' as %3a in the file name.
  if [[ -n "$existing" && "$(dpkg-deb -f "$existing" Version)" == "$version" ]]; then
    echo "$existing"
    return
  fi
  rm -f "$cache/debs/${package}"_*.deb
  say "downloading $package $version"
  # apt-get download writes into the current directory. Its stderr warning
  # about downloading "unsandboxed as root" is harmless and filtered.
  (cd "$cache/debs" && apt-get download -q "$package=$version" 2> >(grep -v 'unsandboxed as root' >&2)) >/dev/null ||
    die "apt-get download $package=$version failed"
  existing="$(find "$cache/debs" -maxdepth 1 -name "${package}_*.deb" -print | head -n 1)"
  [[ -n "$existing" ]] || die "apt-get download left no .deb for $package"
  echo "$existing"
}

kernel_deb="$(fetch_deb "$kernel_package" "$kernel_deb_version")"
busybox_deb="$(fetch_deb busybox-static "$busybox_deb_version")"

unpacked="$cache/unpacked"
rm -rf "$unpacked"
mkdir -p "$unpacked/kernel" "$unpacked/busybox"
say "unpacking $(basename "$kernel_deb")"
dpkg-deb -x "$kernel_deb" "$unpacked/kernel"
dpkg-deb -x "$busybox_deb" "$unpacked/busybox"

vmlinuz="$unpacked/kernel/boot/vmlinuz-$kernel_version"
moddir="$unpacked/kernel/lib/modules/$kernel_version"
busybox="$unpacked/busybox/bin/busybox"
[[ -f "$vmlinuz" ]] || die "$kernel_package has no boot/vmlinuz-$kernel_version"
[[ -d "$moddir" ]] || die "$kernel_package has no lib/modules/$kernel_version"
[[ -x "$busybox" ]] || die "busybox-static has no bin/busybox"

# The package ships no modules.dep (its postinst runs depmod): make one in the
# unpacked tree with kmod's depmod when the host has it (it also reads
# compressed modules), else with busybox's.
if [[ ! -f "$moddir/modules.dep" ]]; then
  depmod_tool="$(PATH="$PATH:/sbin:/usr/sbin" command -v depmod || true)"
  if [[ -n "$depmod_tool" ]]; then
    "$depmod_tool" -b "$unpacked/kernel" "$kernel_version"
  else
    "$busybox" depmod -b "$unpacked/kernel" "$kernel_version"
  fi
  [[ -f "$moddir/modules.dep" ]] || die "depmod made no modules.dep for $kernel_version"
fi

# --- module list in load order ----------------------------------------------
# modules.dep lines are "kernel/path/name.ko[.xz]: dep1 dep2 ...". A module's
# name uses '_' where its file name may use '-'. Modules built into the kernel
# (modules.builtin) need no loading.
declare -A module_path=() module_deps=() builtin=()
while IFS= read -r line; do
  path="${line%%:*}"
  deps="${line#*:}"
  file="${path##*/}"
  name="${file%%.ko*}"
  name="${name//-/_}"
  module_path["$name"]="$path"
  module_deps["$name"]="$deps"
done <"$moddir/modules.dep"
if [[ -f "$moddir/modules.builtin" ]]; then
  while IFS= read -r path; do
    file="${path##*/}"
    name="${file%%.ko*}"
    builtin["${name//-/_}"]=1
  done <"$moddir/modules.builtin"
fi

declare -A visited=()
load_order=()
visit() {  # depth-first: a module goes after everything it depends on
  local name="$1" dep dep_file dep_name
  [[ -z "${visited[$name]:-}" ]] || return 0
  visited["$name"]=1
  for dep in ${module_deps[$name]}; do
    dep_file="${dep##*/}"
    dep_name="${dep_file%%.ko*}"
    visit "${dep_name//-/_}"
  done
  load_order+=("$name")
}
for name in "${wanted_modules[@]}"; do
  if [[ -n "${module_path[$name]:-}" ]]; then
    visit "$name"
  elif [[ -n "${builtin[$name]:-}" ]]; then
    say "module $name is built into $kernel_version"
  else
    die "module $name is neither in modules.dep nor built into $kernel_version"
  fi
done

# --- initramfs tree ----------------------------------------------------------
tree="$cache/initramfs-root"
rm -rf "$tree"
mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,mnt,etc,lib/modules/"$kernel_version"}
cp "$busybox" "$tree/bin/busybox"
# One symlink per applet, where busybox's own install would put it.
while IFS= read -r applet; do
  [[ -n "$applet" && "$applet" != "bin/busybox" ]] || continue
  mkdir -p "$tree/$(dirname "$applet")"
  [[ -e "$tree/$applet" ]] || ln -s /bin/busybox "$tree/$applet"
done < <("$busybox" --list-full)

# Modules uncompressed: busybox insmod cannot read .ko.xz/.ko.zst.
modules_file="$tree/etc/keel-modules"
: >"$modules_file"
for name in "${load_order[@]}"; do
  src="$moddir/${module_path[$name]}"
  dst="$tree/lib/modules/$kernel_version/$name.ko"
  case "$src" in
    *.ko) cp "$src" "$dst" ;;
    *.ko.xz) "$busybox" unxz -c "$src" >"$dst" ;;
    *.ko.gz) "$busybox" gunzip -c "$src" >"$dst" ;;
    *.ko.zst) command -v zstd >/dev/null || die "$src is zstd-compressed and zstd is not installed"
              zstd -q -d -c "$src" >"$dst" ;;
    *) die "unknown module format: $src" ;;
  esac
  echo "/lib/modules/$kernel_version/$name.ko" >>"$modules_file"
done
echo "$kernel_version" >"$tree/etc/keel-kernel-version"

# busybox udhcpc runs this script on each lease event; it configures the
# interface, the default route and resolv.conf as a distribution's would.
mkdir -p "$tree/usr/share/udhcpc"
cat >"$tree/usr/share/udhcpc/default.script" <<'DHCP'
#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    for gateway in $router; do ip route add default via "$gateway" dev "$interface"; break; done
    : >/etc/resolv.conf
    for server in $dns; do echo "nameserver $server" >>/etc/resolv.conf; done
    echo "keel-guest: $interface has $ip/${mask:-24} via ${router:-none}"
    ;;
esac
exit 0
DHCP
chmod 0755 "$tree/usr/share/udhcpc/default.script"

cat >"$tree/init" <<'INIT'
#!/bin/sh
# keel guest init (tools/guest-image/build-linux-guest.sh). The kernel starts
# this with no console when the initramfs has no /dev/console (it was built
# without root, so it has no device nodes): mount devtmpfs first, then take
# the console.
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/ TERM=linux
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp

while read -r module; do
  insmod "$module" || echo "keel-guest: insmod $module failed"
done </etc/keel-modules

# keel.cmd="a command" (double quotes, so it may hold spaces; it cannot hold
# a double quote) or keel.cmd=word.
cmdline=" $(cat /proc/cmdline) "
cmd=""
have_cmd=0
case "$cmdline" in
  *' keel.cmd="'*) rest="${cmdline#* keel.cmd=\"}"; cmd="${rest%%\"*}"; have_cmd=1 ;;
  *' keel.cmd='*) rest="${cmdline#* keel.cmd=}"; cmd="${rest%% *}"; have_cmd=1 ;;
esac

echo "keel-guest: init ready (kernel $(cat /etc/keel-kernel-version))"
if [ "$have_cmd" = 1 ]; then
  sh -c "$cmd"
  status=$?
  echo "keel-guest: cmd exit $status"
else
  echo "keel-guest: no keel.cmd on the kernel command line; starting a shell (exit powers off)"
  setsid cttyhack sh
fi

sync
poweroff -f
# poweroff -f only returns if the machine cannot power off; init must not exit.
echo "keel-guest: poweroff failed; halting"
while :; do sleep 3600; done
INIT
chmod 0755 "$tree/init"

say "writing $(basename "$initramfs") (${#load_order[@]} modules: ${load_order[*]})"
# busybox cpio (newc), every file owned by root; sorted for a stable archive.
(cd "$tree" && find . -mindepth 1 | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) |
  "$busybox" gzip -9 >"$initramfs.tmp"
mv "$initramfs.tmp" "$initramfs"
cp "$vmlinuz" "$bzimage.tmp"
mv "$bzimage.tmp" "$bzimage"
printf '%s\n' "$stamp_text" >"$stamp"
print_paths
