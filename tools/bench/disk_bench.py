#!/usr/bin/env python3
"""End-to-end disk benchmark: the probe guest's `virtio-blk-bench` suite on
keel and on QEMU (same probe binary, same image size, same RAM), a few runs
each, and a table of the results. Run through `ninja -C build bench`.

The guest does `--requests` 4 KiB reads spread over the disk, one in flight
at a time, each completed by an MSI-X interrupt while the vCPU halts, then
the same number of writes. It prints "# bench: <phase> start" and
"# bench: <phase> end ... cycles=HEX doorbell_cycles=HEX"; this script
timestamps those lines as they arrive on the serial port (host clock), so a
phase's time is end - start. `doorbell_cycles / cycles` (guest TSC) is the
share of the phase between the guest's doorbell write and its seeing the
used element and the interrupt; scaled by the phase's wall time it gives
the doorbell->completion round trip. The rest is the guest driver's own
work (building descriptors, reading the used ring), which on a PVM host is
emulated instruction by instruction.

Each run gets a fresh sparse raw image in --dir (default: the temp
directory; its file system type is printed, since it matters: io_uring
completes a page-cache read on ext4 inline but hands one on tmpfs to a
worker thread). keel uses its io_uring backend on the page cache; QEMU runs
with its defaults (cache=writeback, aio=threads). The guest negotiates
VIRTIO_BLK_F_FLUSH, as Linux does, so neither VMM writes through.
"""
import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from run_probe import GuestProcess  # noqa: E402  (line arrival times on the host)

PHASES = ("read", "write")
START = re.compile(r"^# bench: (\w+) start$")
END = re.compile(r"^# bench: (\w+) end requests=(\d+) errors=(\d+) cycles=([0-9a-f]+) doorbell_cycles=([0-9a-f]+)$")


class BenchError(Exception):
    pass


def command(vmm, args, disk):
    cmdline = f"tests=virtio-blk-bench bench-requests={args.requests}"
    if vmm == "keel":
        return [args.keel, "run", "--kernel", args.probe, "--cmdline", cmdline, "--serial", "stdio",
                "--memory", f"{args.memory}M", "--disk", f"path={disk}"]
    return [args.qemu, "-enable-kvm", "-M", "pc", "-m", f"{args.memory}M", "-display", "none", "-serial", "stdio",
            "-monitor", "none", "-no-reboot", "-device", "isa-debug-exit,iobase=0x501,iosize=2",
            "-kernel", args.probe, "-append", cmdline,
            "-drive", f"file={disk},if=none,format=raw,id=d0",
            "-device", "virtio-blk-pci,drive=d0,disable-legacy=on,disable-modern=off"]


def guest_exit_value(vmm, status):
    if vmm == "keel":
        return status
    return status >> 1 if status > 0 and status & 1 else None  # isa-debug-exit: (value << 1) | 1


def run_once(vmm, args, scratch):
    """One boot; returns {phase: (seconds, requests, doorbell seconds per request)}."""
    disk = os.path.join(scratch, f"{vmm}.img")
    with open(disk, "wb") as image:
        image.truncate(args.disk_mib << 20)
    try:
        guest = GuestProcess(command(vmm, args, disk), args.timeout)
        status = guest.wait()
        timed = list(guest.lines)
    finally:
        os.unlink(disk)
    if guest.timed_out:
        raise BenchError(f"{vmm}: timed out after {args.timeout} s")
    texts = [text for _, text in timed]
    failed = [text for text in texts if text.startswith("not ok")]
    if failed or guest_exit_value(vmm, status) != 0:
        raise BenchError(f"{vmm}: exit status {status}, " + ("; ".join(failed) or "no failed check printed") +
                         "\n  " + "\n  ".join(texts[-15:]))
    starts, results = {}, {}
    for arrived, text in timed:
        if match := START.match(text):
            starts[match.group(1)] = arrived
        elif (match := END.match(text)) and match.group(1) in starts:
            phase = match.group(1)
            requests, errors = int(match.group(2)), int(match.group(3))
            cycles, doorbell = int(match.group(4), 16), int(match.group(5), 16)
            if errors:
                raise BenchError(f"{vmm}: {errors} of {requests} {phase} requests failed")
            seconds = arrived - starts[phase]
            results[phase] = (seconds, requests, seconds * doorbell / cycles / requests if cycles else 0.0)
    if set(results) != set(PHASES):
        raise BenchError(f"{vmm}: phases {sorted(results)} reported, want {list(PHASES)}")
    return results


def measure(vmms, args, scratch):
    """Runs the VMMs in turn (keel, QEMU, keel, ...) so that a change in the
    host's load hits both alike; returns the table rows."""
    runs = {vmm: [] for vmm in vmms}
    for _ in range(args.runs):
        for vmm in vmms:
            runs[vmm].append(run_once(vmm, args, scratch))
    rows = []
    for vmm in vmms:
        for phase in PHASES:
            times = [run[phase][0] for run in runs[vmm]]
            seconds = statistics.median(times)
            requests = runs[vmm][0][phase][1]
            doorbell = statistics.median(run[phase][2] for run in runs[vmm])
            rows.append((vmm, phase, requests, seconds, min(times), max(times), requests / seconds,
                         seconds / requests * 1e6, doorbell * 1e6))
    return rows


def file_system(path):
    """The type of the file system holding `path` (the longest matching
    mount point in /proc/self/mounts), or "?"."""
    path = os.path.realpath(path)
    best, kind = "", "?"
    try:
        with open("/proc/self/mounts") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) < 3:
                    continue
                point = fields[1].replace("\\040", " ")
                inside = path == point or path.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):
                    best, kind = point, fields[2]
    except OSError:
        pass
    return kind


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keel", required=True)
    parser.add_argument("--probe", required=True)
    parser.add_argument("--qemu", default="qemu-system-x86_64")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000, help="4 KiB requests per phase")
    parser.add_argument("--disk-mib", type=int, default=64, help="image size")
    parser.add_argument("--memory", type=int, default=512, help="guest RAM, MiB")
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where the images go (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=150)
    args = parser.parse_args()

    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIPPED: /dev/kvm not available")
        return 0
    vmms = ["keel"]
    if shutil.which(args.qemu):
        vmms.append("qemu")
    else:
        print(f"{args.qemu} not found: QEMU rows SKIPPED")
    with tempfile.TemporaryDirectory(prefix="keel-disk-bench-", dir=args.dir) as scratch:
        try:
            rows = measure(vmms, args, scratch)
        except BenchError as error:
            print(f"bench: FAILED: {error}")
            return 1
    pvm = " (PVM host: guest code emulated)" if os.path.isdir("/sys/module/kvm_pvm") else ""
    print(f"virtio-blk, probe guest, 4 KiB requests at queue depth 1, MSI-X, {args.disk_mib} MiB raw image in "
          f"{args.dir} ({file_system(args.dir)}), median of {args.runs} runs{pvm}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"{'vmm':<6} {'phase':<6} {'requests':>8} {'median s':>9} {'min s':>7} {'max s':>7} {'requests/s':>11} "
          f"{'us/request':>11} {'doorbell->completion us':>24}")
    for vmm, phase, requests, seconds, low, high, rate, per_request, doorbell in rows:
        print(f"{vmm:<6} {phase:<6} {requests:>8} {seconds:>9.3f} {low:>7.3f} {high:>7.3f} {rate:>11.0f} "
              f"{per_request:>11.1f} {doorbell:>24.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
