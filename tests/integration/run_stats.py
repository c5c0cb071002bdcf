#!/usr/bin/env python3
"""Exit statistics on a running keel (issue 10 item 4): boots the probe
guest's ticker suite (it prints "# ticker: N" on the serial port until the
host stops it) with --qmp and --stats-on-exit, then checks
  - QMP x-keel-stats: the JSON shape, rows sorted by total time, the COM1
    UART's range (pio 0x3f8, length 8) with exits > 0, "io" among the exit
    reasons, one vCPU row;
  - `keel ctl stats`: the plain table (header, the UART's row), and
    `keel ctl --json stats` the same JSON;
  - `keel ctl quit`: keel exits 0 and has printed the table to stderr.

    run_stats.py --keel build/keel --probe build/tests/guest/probe.elf

Prints SKIPPED without /dev/kvm. Standard library only."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from integration_common import Failure, require_kvm, run_and_report
from run_qmp import STEP_TIMEOUT, Client, Vmm, check_return, expect

UART_BASE = 0x3F8


def ctl(keel, sock, *args):
    done = subprocess.run([keel, "ctl", "--qmp", sock, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=STEP_TIMEOUT)
    stdout = done.stdout.decode("utf-8", "replace")
    print(f"$ keel ctl {' '.join(args)} -> {done.returncode}\n{stdout}", end="")
    if done.returncode != 0:
        raise Failure(f"keel ctl {' '.join(args)}: exit {done.returncode}: {done.stderr.decode().strip()}")
    return stdout


def check_stats_json(stats):
    expect(isinstance(stats, dict) and set(stats) == {"ranges", "exit-reasons", "vcpus"},
           f"x-keel-stats members: {stats}")
    ranges = stats["ranges"]
    expect(isinstance(ranges, list) and ranges, f"x-keel-stats ranges: {ranges}")
    for row in ranges:
        expect(set(row) == {"bus", "base", "length", "device", "exits", "total-ns", "mean-ns"}, f"row: {row}")
        expect(row["bus"] in ("pio", "mmio") and isinstance(row["device"], str), f"row: {row}")
        for key in ("base", "length", "exits", "total-ns", "mean-ns"):
            expect(isinstance(row[key], int) and row[key] >= 0, f"row {key}: {row}")
        expect(row["mean-ns"] == (row["total-ns"] // row["exits"] if row["exits"] else 0), f"mean: {row}")
    times = [row["total-ns"] for row in ranges]
    expect(times == sorted(times, reverse=True), f"ranges not sorted by total-ns: {times}")
    uart = [r for r in ranges if r["bus"] == "pio" and r["base"] == UART_BASE]
    expect(len(uart) == 1 and uart[0]["length"] == 8 and uart[0]["device"] == "COM1 UART" and uart[0]["exits"] > 0,
           f"no COM1 UART row with exits: {ranges}")
    reasons = {r["reason"]: r["exits"] for r in stats["exit-reasons"]}
    expect(reasons.get("io", 0) >= 1, f"exit-reasons: {stats['exit-reasons']}")
    vcpus = stats["vcpus"]
    expect(len(vcpus) == 1 and vcpus[0]["cpu-index"] == 0 and vcpus[0]["exits"] >= reasons["io"], f"vcpus: {vcpus}")
    return uart[0]


def check_table(text, what):
    lines = text.splitlines()
    expect(lines and lines[0].split() == ["bus", "base", "length", "exits", "total", "ms", "mean", "ns", "device"],
           f"{what}: no table header: {text!r}")
    uart = [line for line in lines if line.split()[:3] == ["pio", "0x3f8", "0x8"] and line.endswith("COM1 UART")]
    expect(len(uart) == 1 and int(uart[0].split()[3]) > 0, f"{what}: no COM1 UART row: {text!r}")
    expect(any(line.startswith("exits by reason: ") and "io " in line for line in lines), f"{what}: {text!r}")
    expect(any(line.startswith("vcpu 0: ") for line in lines), f"{what}: {text!r}")


class KeelWithStderr(Vmm):
    """Vmm's console-line reader, with stderr to a file of its own: the
    table must be on stderr, not among the guest's console lines."""

    def __init__(self, argv, stderr_file):  # pylint: disable=super-init-not-called
        import threading
        self.lines = []
        self.condition = threading.Condition()
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr_file)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()


def test(args):
    require_kvm()
    with tempfile.TemporaryDirectory(prefix="keel-stats-") as scratch:
        sock = os.path.join(scratch, "qmp.sock")
        stderr_path = os.path.join(scratch, "stderr")
        argv = [args.keel, "run", "--kernel", args.probe, "--cmdline", "tests=ticker ticks=0", "--serial", "stdio",
                "--qmp", f"unix:{sock},server=on,wait=off", "--stats-on-exit"]
        with open(stderr_path, "wb") as stderr_file:
            vmm = KeelWithStderr(argv, stderr_file)
        try:
            vmm.wait_for_tick(1, STEP_TIMEOUT)  # the guest has written to the UART
            client = Client(sock, STEP_TIMEOUT)
            try:
                expect("QMP" in client.read(), "no QMP greeting")
                check_return(client.execute("qmp_capabilities"), "qmp_capabilities")
                stats = check_return(client.execute("x-keel-stats"), "x-keel-stats")
                first = check_stats_json(stats)
                vmm.wait_for_tick(vmm.last_tick() + 1, STEP_TIMEOUT)
                again = check_stats_json(check_return(client.execute("x-keel-stats"), "x-keel-stats"))
                expect(again["exits"] > first["exits"], f"UART exits did not grow: {first} then {again}")
            finally:
                client.stream.close()  # one QMP client at a time: makefile() holds the fd too
                client.close()
            check_table(ctl(args.keel, sock, "stats"), "keel ctl stats")
            check_stats_json(json.loads(ctl(args.keel, sock, "--json", "stats")))
            ctl(args.keel, sock, "quit")
            try:
                status = vmm.process.wait(timeout=STEP_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise Failure("keel still running after keel ctl quit")
            expect(status == 0, f"keel exited {status} after quit")
        finally:
            vmm.kill()
        with open(stderr_path, encoding="utf-8", errors="replace") as f:
            stderr = f.read()
        print(stderr, end="", file=sys.stderr)
        marker = "keel: exit statistics\n"
        expect(marker in stderr, f"--stats-on-exit printed no table: {stderr!r}")
        check_table(stderr[stderr.index(marker) + len(marker):], "--stats-on-exit")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keel", required=True)
    parser.add_argument("--probe", required=True)
    return run_and_report(test, parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
