#!/usr/bin/env python3
"""keel's seccomp filters (src/sandbox) on real runs of the probe guest:

  --mode on    `--seccomp=on` given explicitly: the smp suite on 2 vCPUs with
               the boot-test harness (--expect, --junit, --result-json,
               --console-log, --timeout) and a file: console passes, writes
               its reports, and prints no seccomp line; then a guest on a
               unix: console whose client reads the output and types,
               stopped by SIGTERM (exit 143).
  --mode log   `--seccomp=log`: the rtc suite passes.
  --mode bad   `--seccomp=maybe` is a one-line error naming the value and
               on, log, off; exit 1, nothing run.

A forbidden call killing keel is covered by tests/unit/sandbox (death tests
on real filters). Standard library only."""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

from integration_common import Failure, require_kvm, run_and_report

RUN_TIMEOUT = 150


def run(argv):
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=RUN_TIMEOUT)
    stdout = done.stdout.decode("utf-8", "replace").replace("\r", "")
    stderr = done.stderr.decode("utf-8", "replace").replace("\r", "")
    print(stdout, end="")
    print(stderr, end="", file=sys.stderr)
    return done.returncode, stdout, stderr


def no_seccomp_line(stderr):
    for line in stderr.splitlines():
        if "seccomp" in line:
            raise Failure(f"seccomp complained: {line!r}")


def run_on(args):
    require_kvm()
    with tempfile.TemporaryDirectory(prefix="keel-seccomp-") as work:
        junit = os.path.join(work, "junit.xml")
        result_json = os.path.join(work, "result.json")
        console_log = os.path.join(work, "console.log")
        serial = os.path.join(work, "serial.txt")
        status, _, stderr = run([args.keel, "run", "--seccomp=on", "--kernel", args.probe, "--cpus", "2",
                                 "--cmdline", f"tests=smp now={int(time.time())}", "--serial", f"file:{serial}",
                                 "--expect", "# probe: done", "--fail-on", "^not ok", "--timeout", "120s",
                                 "--junit", junit, "--result-json", result_json, "--console-log", console_log])
        no_seccomp_line(stderr)
        if status != 0:
            raise Failure(f"keel --seccomp=on exited {status} on the smp suite")
        with open(result_json, encoding="utf-8") as report:
            result = json.load(report)
        if "passed" not in json.dumps(result):
            raise Failure(f"result JSON does not say passed: {result}")
        for path in (junit, console_log, serial):
            if os.path.getsize(path) == 0:
                raise Failure(f"{os.path.basename(path)} is empty")

        sock_path = os.path.join(work, "console.sock")
        # The rtc and pit suites take seconds (they wait for the clock and
        # timers) and the i8042-inject suite then prints its ready line and
        # waits up to 20 s for keys that never come: the client is connected
        # long before that line, and keel is still running when it arrives,
        # whatever the host's speed. The client sends a few
        # bytes (console input on the console thread), and SIGTERM (the main
        # thread) ends the run.
        keel = subprocess.Popen([args.keel, "run", "--seccomp=on", "--kernel", args.probe, "--serial",
                                 f"unix:{sock_path}", "--cmdline", f"tests=rtc,pit,i8042-inject now={int(time.time())}"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = b""
        try:
            received = b""
            deadline = time.monotonic() + 30
            client = None
            while client is None and time.monotonic() < deadline and keel.poll() is None:
                try:
                    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    client.connect(sock_path)
                except OSError:
                    client.close()
                    client = None
                    time.sleep(0.05)
            if client is None:
                raise Failure("could not connect to the unix: console")
            client.settimeout(60)
            with client:
                while b"i8042-inject: ready" not in received:
                    chunk = client.recv(4096)
                    if not chunk:
                        break
                    received += chunk
                client.sendall(b"keel\r\n")
                time.sleep(0.2)
                keel.terminate()
            _, err = keel.communicate(timeout=RUN_TIMEOUT)
        finally:
            if keel.poll() is None:
                keel.kill()
                keel.wait()
        stderr = err.decode("utf-8", "replace")
        print(stderr, end="", file=sys.stderr)
        no_seccomp_line(stderr)
        if b"i8042-inject: ready" not in received:
            raise Failure("the unix: console client did not get the guest's output")
        if keel.returncode != 128 + 15:
            raise Failure(f"keel --seccomp=on stopped by SIGTERM exited {keel.returncode}, want 143")


def run_log(args):
    require_kvm()
    status, stdout, stderr = run([args.keel, "run", "--seccomp=log", "--kernel", args.probe, "--serial", "stdio",
                                  "--cmdline", f"tests=rtc now={int(time.time())}"])
    no_seccomp_line(stderr)
    if status != 0 or "# probe: done, exit 0" not in stdout:
        raise Failure(f"keel --seccomp=log exited {status} on the rtc suite")


def run_bad(args):
    status, stdout, stderr = run([args.keel, "run", "--seccomp=maybe"])
    if status != 1:
        raise Failure(f"--seccomp=maybe exited {status}, expected 1")
    lines = [line for line in (stdout + stderr).splitlines() if line.strip()]
    if len(lines) != 1:
        raise Failure(f"expected a one-line error, got {len(lines)} lines")
    for word in ("maybe", "on", "log", "off"):
        if word not in lines[0]:
            raise Failure(f"the error does not name {word!r}: {lines[0]!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keel", required=True)
    parser.add_argument("--probe")
    parser.add_argument("--mode", choices=("on", "log", "bad"), required=True)
    args = parser.parse_args()
    test = {"on": run_on, "log": run_log, "bad": run_bad}[args.mode]
    return run_and_report(test, args)


if __name__ == "__main__":
    sys.exit(main())
