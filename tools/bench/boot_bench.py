#!/usr/bin/env python3
"""Start-up benchmark: boot the probe guest in demo mode to its debug-exit,
on keel and on QEMU (same guest binary, same RAM size), and print a table of
wall time and peak RSS. Run through `ninja -C build bench`.

On PVM hosts every guest instruction is emulated, so these figures measure
VMM start-up and firmware cost plus the emulator, not native guest speed.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time


def run_once(command):
    """Runs `command`, returns (wall seconds, peak RSS KiB of the child)."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.execvp(command[0], command)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    return wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def measure(name, command, runs, expected_status):
    walls, rss = [], []
    for _ in range(runs):
        wall, maxrss, code = run_once(command)
        if code != expected_status:
            sys.exit(f"bench: {name} exited {code}, expected {expected_status}: {' '.join(command)}")
        walls.append(wall)
        rss.append(maxrss)
    return name, statistics.median(walls), min(walls), max(walls), statistics.median(rss)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keel", required=True)
    parser.add_argument("--probe", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--memory", default="512")
    args = parser.parse_args()

    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIPPED: /dev/kvm not available")
        return 0
    rows = [measure("keel", [args.keel, "run", "--kernel", args.probe, "--cmdline", "demo", "--serial", "none",
                              "--memory", f"{args.memory}M"], args.runs, 0)]
    qemu = shutil.which("qemu-system-x86_64")
    if qemu:
        # isa-debug-exit makes QEMU exit with (0 << 1) | 1 = 1 for the guest's 0.
        rows.append(measure("qemu", [qemu, "-enable-kvm", "-M", "pc", "-m", args.memory, "-display", "none",
                                     "-serial", "none", "-monitor", "none", "-device",
                                     "isa-debug-exit,iobase=0x501,iosize=2", "-kernel", args.probe,
                                     "-append", "demo"], args.runs, 1))
    else:
        print("qemu-system-x86_64 not found: QEMU row SKIPPED")
    pvm = " (PVM host: guest code emulated)" if os.path.isdir("/sys/module/kvm_pvm") else ""
    print(f"probe guest demo boot to debug-exit, {args.memory} MiB, {args.runs} runs{pvm}")
    print(f"{'vmm':<6} {'median s':>9} {'min s':>8} {'max s':>8} {'peak RSS MiB':>13}")
    for name, median, low, high, rss in rows:
        print(f"{name:<6} {median:>9.3f} {low:>8.3f} {high:>8.3f} {rss / 1024:>13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
