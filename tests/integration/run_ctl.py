#!/usr/bin/env python3
"""`keel ctl` against a real QEMU (7.2 here): QEMU with no machine at all
(`-machine none`: no guest, no firmware, no /dev/kvm) serving QMP on a unix
socket, driven by keel ctl's status, pause, resume, --json, stats, send-key
and quit, checking the printed lines and the exit statuses scripts rely on
(0 done, 1 the VM answered an error, 2 bad usage, 3 cannot reach the VM).

The protocol corner cases (split replies, events, garbage, silence) are in
tests/unit/ctl against a scripted peer. Standard library only."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from integration_common import Failure, Skip, run_and_report

CTL_TIMEOUT = 30  # keel ctl's own --timeout is 10 s: this only catches a hang


def ctl(keel, *args):
    done = subprocess.run([keel, "ctl", *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=CTL_TIMEOUT)
    stdout = done.stdout.decode("utf-8", "replace")
    stderr = done.stderr.decode("utf-8", "replace")
    print(f"$ keel ctl {' '.join(args)}  -> {done.returncode}")
    print(stdout, end="")
    print(stderr, end="", file=sys.stderr)
    return done.returncode, stdout, stderr


def expect(result, status, stdout=None, stderr=None):
    got_status, got_stdout, got_stderr = result
    if got_status != status:
        raise Failure(f"exit {got_status}, expected {status} (stderr: {got_stderr.strip()!r})")
    if stdout is not None and got_stdout != stdout:
        raise Failure(f"stdout {got_stdout!r}, expected {stdout!r}")
    if stderr is not None and got_stderr != stderr:
        raise Failure(f"stderr {got_stderr!r}, expected {stderr!r}")


def wait_for_socket(path, qemu, limit=15):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if os.path.exists(path):
            return
        if qemu.poll() is not None:
            raise Failure(f"QEMU exited with {qemu.returncode} before creating {path}")
        time.sleep(0.05)
    raise Failure(f"QEMU created no QMP socket at {path} within {limit} s")


def test(args):
    if not shutil.which(args.qemu):
        raise Skip(f"{args.qemu} not installed")
    keel = args.keel
    with tempfile.TemporaryDirectory(prefix="keel-ctl-") as directory:
        sock = os.path.join(directory, "qmp.sock")
        qemu = subprocess.Popen([args.qemu, "-machine", "none", "-nodefaults", "-display", "none",
                                 "-qmp", f"unix:{sock},server=on,wait=off"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for_socket(sock, qemu)
            expect(ctl(keel, "--qmp", sock, "status"), 0, "running\n", "")
            expect(ctl(keel, "--qmp", sock, "pause"), 0, "", "")
            expect(ctl(keel, "--qmp", sock, "status"), 0, "paused\n")
            expect(ctl(keel, "status", "--qmp", sock, "--json"), 0,
                   '{"status":"paused","singlestep":false,"running":false}\n')
            expect(ctl(keel, "--qmp", sock, "resume"), 0, "", "")
            expect(ctl(keel, "--qmp", sock, "--json", "status"), 0,
                   '{"status":"running","singlestep":false,"running":true}\n')
            # QEMU has no x-keel-stats: its error, exit 1.
            expect(ctl(keel, "--qmp", sock, "stats"), 1, "",
                   "keel ctl: CommandNotFound: The command x-keel-stats has not been found\n")
            expect(ctl(keel, "--qmp", sock, "send-key", "ctrl-alt-delete"), 0, "", "")
            status, _, stderr = ctl(keel, "--qmp", sock, "send-key", "nosuchkey")
            if status != 1 or not stderr.startswith("keel ctl: GenericError: ") or stderr.count("\n") != 1:
                raise Failure(f"send-key nosuchkey: exit {status}, stderr {stderr!r}")
            # Usage errors (2) never reach QEMU.
            expect(ctl(keel, "status"), 2)
            expect(ctl(keel, "--qmp", sock, "--timeout", "soon", "status"), 2)
            expect(ctl(keel, "--qmp", sock, "send-key", "ctrl--a"), 2)
            expect(ctl(keel, "--qmp", sock, "quit"), 0, "", "")
            try:
                qemu.wait(timeout=15)
            except subprocess.TimeoutExpired:
                raise Failure("QEMU still running 15 s after keel ctl quit")
            if qemu.returncode != 0:
                raise Failure(f"QEMU exited with {qemu.returncode} after quit")
        finally:
            if qemu.poll() is None:
                qemu.kill()
                qemu.wait()
        # The VM is gone (QEMU removed its socket): exit 3, one line.
        status, stdout, stderr = ctl(keel, "--qmp", sock, "status")
        if status != 3 or stdout or not stderr.startswith("keel ctl: ") or stderr.count("\n") != 1:
            raise Failure(f"status on a gone VM: exit {status}, stdout {stdout!r}, stderr {stderr!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keel", required=True, help="the keel binary")
    parser.add_argument("--qemu", default="qemu-system-x86_64")
    return run_and_report(test, parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
