#!/usr/bin/env python3
"""Boot the Debian cloud kernel under keel and check its log with keel's own
boot-test harness (--expect/--fail-on/--junit/--result-json).

Used by ctest (see CMakeLists.txt here); by hand:

    linux_boot_smoke.py --keel build/keel --guest-script tools/guest-image/build-linux-guest.sh \
        --guest-dir build/guest-cloud --mode smoke

Modes (--mode):
  smoke         the lines of a correct boot, in the order Linux prints them
                (EXPECTED below): keel must exit 0 and the JUnit and JSON
                reports must say passed.
  missing-line  expects "x86/fpu:" and then a line that cannot appear: keel
                must exit non-zero with one summary line naming the unmet
                expectation; on PVM hosts the guest ends at the emulation
                failure after x86/fpu, which keel must report as such (1).
  virtio-blk    for VT-x/AMD-V hosts: boot to the initramfs marker with a
                virtio-blk disk (--disk), read the disk's first sector and
                its serial from the guest, write a marker to sector 8 with
                fsync, power off; the host then checks the marker in the
                image. Skipped on PVM hosts, where Linux stops in early boot.
  net           for VT-x/AMD-V hosts: boot with `--net user,model=M` (--model
                virtio with the cloud kernel, e1000 with the generic one), get a
                DHCP lease from user-mode networking and ping its gateway.
                Skipped on PVM hosts, like virtio-blk.

The guest image is built (or found cached) with the guest-image script in
--guest-dir. Exit codes: 0 pass, 1 fail, 77 skipped (no usable /dev/kvm, the
Debian kernel cannot be downloaded, virtio-blk on a PVM host), as ctest's
SKIP_RETURN_CODE.
"""

import argparse
import fcntl
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree

from integration_common import SKIP, Failure, Skip, require_kvm

CMDLINE = "console=ttyS0 noxsave"
# On PVM hosts Linux dies on cmpxchg16b unless CX16 is hidden, and routes its
# timer through the PIT (the ..TIMER line) only without TSC-deadline.
CPU_FEATURES = "-cx16,-tsc-deadline"
KEEL_TIMEOUT = "600s"
RUNNER_TIMEOUT = 800  # seconds; ctest's TIMEOUT is 900

# In the order the 6.1 cloud kernel prints them on keel (checked on a real
# run; the memory map is keel's for --memory 512M).
EXPECTED = [
    r"\] Command line: console=ttyS0 noxsave$",
    r"BIOS-e820: \[mem 0x0000000000000000-0x000000000009fbff\] usable",
    r"BIOS-e820: \[mem 0x0000000000100000-0x000000001fffffff\] usable",
    r"RAMDISK: \[mem 0x",
    r"ACPI: RSDP 0x",
    r"ACPI: XSDT 0x",
    r"ACPI: FACP 0x",
    r"ACPI: DSDT 0x",
    r"ACPI: APIC 0x",
    r"ACPI: MCFG 0x",
    r"smpboot: Allowing 2 CPUs, 0 hotplug CPUs",
    r"printk: console \[ttyS0\] enabled",
    r"\.\.TIMER: vector=0x30 apic1=0 pin1=2",
    r"x86/fpu:",
]
FAIL_ON = ["Kernel panic", "ACPI Error", "ACPI BIOS Error", r"\[Firmware Bug\]", "BIOS bug"]
IMPOSSIBLE = "keel-impossible-line"

# Output of the guest-image script that means the Debian mirror could not be
# reached (then the test is skipped, not failed).
NETWORK_FAILURE = re.compile(
    r"apt-get download .* failed|apt-get update failed|Could not resolve|Temporary failure resolving|"
    r"Failed to fetch|Could not connect|Connection timed out|Network is unreachable")


def is_pvm_host():
    return os.path.exists("/sys/module/kvm_pvm")


def build_guest(script, guest_dir, flavour="cloud"):
    """bzImage and initramfs paths; one builder at a time per directory."""
    os.makedirs(guest_dir, exist_ok=True)
    with open(os.path.join(guest_dir, ".keel-guest-image.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(["bash", script, guest_dir, "--flavour", flavour], stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, timeout=RUNNER_TIMEOUT)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        last = output.strip().splitlines()[-1] if output.strip() else f"exit status {result.returncode}"
        if NETWORK_FAILURE.search(output):
            raise Skip(f"cannot fetch the Debian kernel: {last}")
        raise Failure(f"the guest-image script failed: {output.strip()}")
    paths = dict(re.findall(r"^(bzImage|initramfs): (.*)$", result.stdout, re.MULTILINE))
    if "bzImage" not in paths or "initramfs" not in paths:
        raise Failure(f"the guest-image script printed no paths: {result.stdout.strip()}")
    return paths["bzImage"], paths["initramfs"]


def run_keel(keel, kernel, initrd, expects, fail_on, workdir, cmdline=CMDLINE, extra=()):
    junit = os.path.join(workdir, "junit.xml")
    result_json = os.path.join(workdir, "result.json")
    argv = [keel, "run", "--kernel", kernel, "--initrd", initrd, "--cmdline", cmdline,
            "--cpu-features", CPU_FEATURES, "--memory", "512M", "--cpus", "2", "--serial", "stdio",
            "--timeout", KEEL_TIMEOUT, "--junit", junit, "--result-json", result_json, *extra]
    for pattern in expects:
        argv += ["--expect", pattern]
    for pattern in fail_on:
        argv += ["--fail-on", pattern]
    started = time.monotonic()
    try:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=RUNNER_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure(f"keel did not end within {RUNNER_TIMEOUT}s despite --timeout {KEEL_TIMEOUT}")
    elapsed = time.monotonic() - started
    stderr = result.stderr.decode(errors="replace")
    lines = [line for line in stderr.splitlines() if line.strip()]
    summary = lines[-1] if lines else ""
    print(f"keel exited {result.returncode} after {elapsed:.1f}s; summary: {summary}")
    return result.returncode, summary, stderr, junit, result_json


def read_reports(junit, result_json):
    try:
        with open(result_json) as f:
            report = json.load(f)
        suite = ElementTree.parse(junit).getroot()
    except (OSError, ValueError, ElementTree.ParseError) as error:
        raise Failure(f"keel's reports are missing or broken: {error}")
    return report, suite


def check_smoke(keel, kernel, initrd, workdir):
    status, summary, stderr, junit, result_json = run_keel(keel, kernel, initrd, EXPECTED, FAIL_ON, workdir)
    if status != 0:
        raise Failure(f"keel exited {status}, expected 0: {summary}\n{stderr[-4000:]}")
    if not summary.startswith(f"keel: all {len(EXPECTED)} expectations met"):
        raise Failure(f"unexpected summary line: {summary}")
    report, suite = read_reports(junit, result_json)
    if report.get("status") != "passed" or report.get("reason") != "all_expectations_met":
        raise Failure(f"result.json says {report.get('status')} / {report.get('reason')}")
    unmet = [e["pattern"] for e in report.get("expectations", []) if not e.get("met")]
    if len(report.get("expectations", [])) != len(EXPECTED) or unmet:
        raise Failure(f"result.json: unmet expectations {unmet}")
    if suite.get("failures") != "0" or suite.get("errors") != "0":
        raise Failure(f"junit.xml: failures={suite.get('failures')} errors={suite.get('errors')}")
    if int(suite.get("tests", "0")) < len(EXPECTED):
        raise Failure(f"junit.xml: only {suite.get('tests')} test cases")
    print("ok: every expected line appeared in order, no --fail-on matched, reports say passed")


def check_missing_line(keel, kernel, initrd, workdir):
    expects = ["x86/fpu:", IMPOSSIBLE]
    status, summary, stderr, junit, result_json = run_keel(keel, kernel, initrd, expects, FAIL_ON, workdir)
    if status == 0:
        raise Failure(f"keel exited 0 although '{IMPOSSIBLE}' cannot appear: {summary}")
    if not summary.startswith("keel: ") or IMPOSSIBLE not in summary or "2/2" not in summary:
        raise Failure(f"the summary line does not name the unmet expectation 2/2: {summary}")
    report, suite = read_reports(junit, result_json)
    if report.get("status") != "failed":
        raise Failure(f"result.json says {report.get('status')}")
    met = [e.get("met") for e in report.get("expectations", [])]
    if met != [True, False]:
        raise Failure(f"result.json: expectations met {met}, expected [True, False]")
    if suite.get("failures") == "0" and suite.get("errors") == "0":
        raise Failure("junit.xml reports no failure")
    if is_pvm_host():
        # The guest ends at KVM's emulation failure right after x86/fpu.
        if status != 1 or report.get("reason") != "vm_error":
            raise Failure(f"on a PVM host expected exit 1 / vm_error, got {status} / {report.get('reason')}")
        if "PVM emulation failure" not in summary:
            raise Failure(f"the summary line does not name the PVM emulation failure: {summary}")
    print(f"ok: keel exited {status} naming the unmet expectation ({report.get('reason')})")


# The virtio-blk test's disk: its first 16 bytes, the serial keel gives it,
# and what the guest writes (with fsync) at sector 8.
DISK_SECTOR0 = b"KEELDISK-SECTOR0"
DISK_SERIAL = "keel-linux-disk"
DISK_MARKER = b"keel-guest-wrote-this"
DISK_MARKER_SECTOR = 8
DISK_COMMAND = ("dd if=/dev/vda bs=16 count=1 2>/dev/null; echo; "
                "echo serial=$(cat /sys/block/vda/serial); "
                f"echo {DISK_MARKER.decode()} | dd of=/dev/vda bs=512 seek={DISK_MARKER_SECTOR} conv=fsync "
                "2>/dev/null && echo keel-guest: disk written")


def check_virtio_blk(keel, kernel, initrd, workdir):
    image = os.path.join(workdir, "disk.img")
    with open(image, "wb") as f:
        f.write(DISK_SECTOR0)
        f.truncate(8 << 20)
    expects = [r"keel-guest: init ready", "^" + DISK_SECTOR0.decode(), f"^serial={DISK_SERIAL}$",
               r"keel-guest: disk written", r"keel-guest: cmd exit 0"]
    cmdline = f'console=ttyS0 keel.cmd="{DISK_COMMAND}"'
    status, summary, stderr, _, _ = run_keel(keel, kernel, initrd, expects, FAIL_ON, workdir, cmdline=cmdline,
                                             extra=["--disk", f"path={image},serial={DISK_SERIAL}"])
    if status != 0:
        raise Failure(f"keel exited {status}, expected 0: {summary}\n{stderr[-4000:]}")
    with open(image, "rb") as f:
        f.seek(DISK_MARKER_SECTOR * 512)
        written = f.read(len(DISK_MARKER))
    if written != DISK_MARKER:
        raise Failure(f"sector {DISK_MARKER_SECTOR} of the image holds {written!r}, expected {DISK_MARKER!r}")
    print("ok: the guest read the disk and its serial, and its fsync'ed write is in the image")


# The network test: DHCP from keel's user-mode network, then ICMP to its
# gateway (user-mode networking answers pings to its own addresses).
NET_COMMAND = ("ip link set lo up; ip link set eth0 up && udhcpc -i eth0 -n -q -t 10 -T 2 && "
               "cat /sys/class/net/eth0/device/uevent | grep DRIVER && "
               "ping -c 3 -W 5 10.0.2.2 && echo keel-guest: network ok")
NET_DRIVER = {"virtio": "virtio_net", "e1000": "e1000"}


def check_net(keel, kernel, initrd, workdir, model):
    expects = [r"keel-guest: init ready", r"keel-guest: eth0 has 10\.0\.2\.15/24 via 10\.0\.2\.2",
               f"^DRIVER={NET_DRIVER[model]}$", r"3 packets transmitted, 3 packets received",
               r"keel-guest: network ok", r"keel-guest: cmd exit 0"]
    cmdline = f'console=ttyS0 keel.cmd="{NET_COMMAND}"'
    status, summary, stderr, _, _ = run_keel(keel, kernel, initrd, expects, FAIL_ON, workdir, cmdline=cmdline,
                                             extra=["--net", f"user,model={model}"])
    if status != 0:
        raise Failure(f"keel exited {status}, expected 0: {summary}\n{stderr[-4000:]}")
    print(f"ok: the guest's {NET_DRIVER[model]} got a DHCP lease and pinged the gateway")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keel", required=True)
    parser.add_argument("--guest-script", required=True)
    parser.add_argument("--guest-dir", required=True)
    parser.add_argument("--mode", choices=["smoke", "missing-line", "virtio-blk", "net"], default="smoke")
    parser.add_argument("--model", choices=sorted(NET_DRIVER), default="virtio", help="the NIC, for --mode net")
    parser.add_argument("--flavour", choices=["cloud", "generic"], default="cloud",
                        help="the Debian kernel flavour (e1000 is only in generic)")
    args = parser.parse_args()
    try:
        if args.mode in ("virtio-blk", "net") and is_pvm_host():
            raise Skip("PVM host (/sys/module/kvm_pvm): a stock kernel stops in early boot before the "
                       "initramfs; this test needs a VT-x/AMD-V host")
        require_kvm()
        kernel, initrd = build_guest(args.guest_script, args.guest_dir, args.flavour)
        with tempfile.TemporaryDirectory(prefix="keel-linux-boot-") as workdir:
            if args.mode == "smoke":
                check_smoke(args.keel, kernel, initrd, workdir)
            elif args.mode == "virtio-blk":
                check_virtio_blk(args.keel, kernel, initrd, workdir)
            elif args.mode == "net":
                check_net(args.keel, kernel, initrd, workdir, args.model)
            else:
                check_missing_line(args.keel, kernel, initrd, workdir)
    except Skip as skip:
        print(f"SKIPPED: {skip}")
        return SKIP
    except Failure as failure:
        print(f"FAIL: {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
