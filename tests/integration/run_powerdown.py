#!/usr/bin/env python3
"""A host-initiated power-down (issue 10) on the probe guest.

--mode qmp: the acpi-power suite enables the ACPI power button and prints
"# acpi-power: ready"; QMP system_powerdown replies {} and sends POWERDOWN
(no data); the guest takes the SCI, prints "# acpi: power button" and powers
off through PM1_CNT (S5): SHUTDOWN {"guest": true, "reason":
"guest-shutdown"}, exit 0. The same script and probe binary run on keel and
on QEMU (`-M pc`), so both are held to one set of checks.
--mode sigpwr (keel): SIGPWR instead of QMP does the same (POWERDOWN too).
--mode hard-stop: the ticker suite ignores the button; `keel ctl powerdown
--hard-stop-after 3s` sends quit after 3 s and exits 4; the VM exits 0.

    run_powerdown.py --vmm keel --keel build/keel --probe build/tests/guest/probe.elf --mode qmp
    run_powerdown.py --vmm qemu --keel build/keel --probe build/tests/guest/probe.elf --mode qmp

Prints SKIPPED without /dev/kvm or QEMU."""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from integration_common import Failure, Skip, require_kvm, run_and_report
from run_qmp import (STEP_TIMEOUT, Client, Vmm, check_event, check_return, expect, probe_argv, read_until_closed,
                     wait_for_line)

HARD_STOP_SECONDS = 3


def vmm_argv(args, path, cmdline):
    return probe_argv(args, f"unix:{path},server=on,wait=off", cmdline)


def negotiate(client):
    expect("QMP" in client.read(), "no greeting")
    check_return(client.execute("qmp_capabilities"), "qmp_capabilities")


def check_powered_off(vmm, client, events):
    """The guest saw the button and powered off: POWERDOWN once, then
    SHUTDOWN guest-shutdown, the probe's line, exit 0."""
    events = events + [m for m in read_until_closed(client) if "event" in m]
    names = [e["event"] for e in events]
    expect(names.count("POWERDOWN") == 1, f"expected one POWERDOWN event, got {names}")
    powerdown = events[names.index("POWERDOWN")]
    check_event(powerdown, "POWERDOWN")
    expect("data" not in powerdown, f"POWERDOWN carries no data in QEMU 7.2: {powerdown}")
    expect(names.count("SHUTDOWN") == 1, f"expected one SHUTDOWN event, got {names}")
    shutdown = events[names.index("SHUTDOWN")]
    check_event(shutdown, "SHUTDOWN")
    expect(names.index("POWERDOWN") < names.index("SHUTDOWN"), f"SHUTDOWN before POWERDOWN: {names}")
    expect(shutdown.get("data") == {"guest": True, "reason": "guest-shutdown"}, f"SHUTDOWN: {shutdown}")
    status = vmm.process.wait(timeout=STEP_TIMEOUT)
    vmm.reader.join(timeout=10)  # the last console lines
    with vmm.condition:
        failed = [line for line in vmm.lines if line.startswith("not ok")]
        pressed = any("# acpi: power button" in line for line in vmm.lines)
    expect(not failed, f"probe checks failed: {failed}")
    expect(pressed, f"the probe did not report the power button; output: {vmm.tail()}")
    expect(status == 0, f"exit status {status} after the guest powered off, expected 0; output: {vmm.tail()}")


def press_by_qmp(vmm, client):
    wait_for_line(vmm, "# acpi-power: ready", STEP_TIMEOUT)
    reply = client.execute("system_powerdown", id="p1")
    expect(reply.get("return") == {} and reply.get("id") == "p1", f"system_powerdown: {reply}")
    check_powered_off(vmm, client, client.take_events())


def press_by_signal(vmm, client):
    wait_for_line(vmm, "# acpi-power: ready", STEP_TIMEOUT)
    vmm.process.send_signal(signal.SIGPWR)
    check_powered_off(vmm, client, client.take_events())


def hard_stop(vmm, path, args):
    """The ticker ignores the button: keel ctl quits it after the time."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while vmm.last_tick() == 0 and time.monotonic() < deadline and vmm.process.poll() is None:
        time.sleep(0.1)
    expect(vmm.last_tick() > 0, f"the ticker never started; output: {vmm.tail()}")
    start = time.monotonic()
    ctl = subprocess.run([args.keel, "ctl", "--qmp", path, "powerdown", "--hard-stop-after", f"{HARD_STOP_SECONDS}s"],
                         capture_output=True, text=True, timeout=STEP_TIMEOUT)
    took = time.monotonic() - start
    expect(ctl.returncode == 4, f"keel ctl powerdown: exit {ctl.returncode}, expected 4; stderr: {ctl.stderr!r}")
    expect("did not power off within 3s; stopped it with quit" in ctl.stderr, f"keel ctl stderr: {ctl.stderr!r}")
    expect(HARD_STOP_SECONDS <= took < HARD_STOP_SECONDS + 20, f"keel ctl took {took:.1f} s")
    status = vmm.process.wait(timeout=STEP_TIMEOUT)
    expect(status == 0, f"exit status {status} after quit, expected 0")


def run(args):
    require_kvm()
    if args.vmm == "qemu" and not shutil.which(args.qemu):
        raise Skip(f"{args.qemu} not installed")
    if args.mode == "sigpwr" and args.vmm != "keel":
        raise Failure("--mode sigpwr is keel's (QEMU treats SIGPWR as its default action)")
    cmdline = "tests=ticker ticks=0" if args.mode == "hard-stop" else "tests=acpi-power"
    with tempfile.TemporaryDirectory(prefix="keel-powerdown-") as scratch:
        path = os.path.join(scratch, "qmp.sock")
        vmm = Vmm(vmm_argv(args, path, cmdline))
        client = None
        try:
            if args.mode == "hard-stop":
                hard_stop(vmm, path, args)
                return
            client = Client(path, STEP_TIMEOUT)
            negotiate(client)
            if args.mode == "qmp":
                press_by_qmp(vmm, client)
            else:
                press_by_signal(vmm, client)
        except (OSError, ValueError, subprocess.TimeoutExpired) as error:
            raise Failure(f"{type(error).__name__}: {error}; output: {vmm.tail()}")
        finally:
            if client:
                client.close()
            vmm.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["qmp", "sigpwr", "hard-stop"], default="qmp")
    parser.add_argument("--vmm", choices=["keel", "qemu"], default="keel")
    parser.add_argument("--keel", default="build/keel")
    parser.add_argument("--qemu", default="qemu-system-x86_64")
    parser.add_argument("--probe", required=True)
    return run_and_report(run, parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
