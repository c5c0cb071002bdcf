#!/usr/bin/env python3
"""QMP system_reset (issue 10) on the probe guest: an in-process reset.

The ticker suite prints "# ticker: N"; after a few ticks QMP system_reset
replies {} and sends RESET {"guest": false, "reason": ...} with a
timestamp, and the probe starts again from its first line ("TAP version
13") and its ticker from 1. A reset of a stopped VM leaves it stopped
until cont, as QEMU 7.2 does (QEMU reports "prelaunch" then, keel "paused"). On keel, `keel ctl
reset` then resets it once more and exits 0; quit ends it with status 0.
The same script and probe binary run on keel and on QEMU (`-M pc`, without
-no-reboot, which would turn QEMU's system_reset into a shutdown), so both
are held to one set of checks.

    run_reset.py --vmm keel --keel build/keel --probe build/tests/guest/probe.elf
    run_reset.py --vmm qemu --keel build/keel --probe build/tests/guest/probe.elf

Prints SKIPPED without /dev/kvm or QEMU."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from integration_common import Failure, Skip, require_kvm, run_and_report
from run_qmp import (STEP_TIMEOUT, TICK, Client, Vmm, qmp_session, check_event, check_return, check_status, expect,
                     probe_argv, wait_for_line)

FIRST_LINE = "TAP version 13"
# QEMU 7.2's ShutdownCause for QMP system_reset (qapi/run-state.json).
RESET_DATA = {"guest": False, "reason": "host-qmp-system-reset"}


def vmm_argv(args, path):
    # The smp suite first: with --cpus 2 the APs must come up again after
    # each reset (INIT/SIPI from their power-on state).
    suites = "tests=smp,ticker" if args.cpus > 1 else "tests=ticker"
    argv = probe_argv(args, f"unix:{path},server=on,wait=off", f"{suites} ticks=0", cpus=args.cpus)
    return [word for word in argv if word != "-no-reboot"]


def boots(vmm):
    """How many times the probe has started, and the ticks since the last start."""
    with vmm.condition:
        starts = [i for i, line in enumerate(vmm.lines) if FIRST_LINE in line]
        if not starts:
            return 0, []
        ticks = [int(m.group(1)) for m in (TICK.search(line) for line in vmm.lines[starts[-1]:]) if m]
        return len(starts), ticks


def wait_for_boot(vmm, count, min_ticks):
    """Until the probe has started `count` times and ticked `min_ticks` times since."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        started, ticks = boots(vmm)
        expect(started <= count, f"the probe started {started} times, expected {count}; output: {vmm.tail()}")
        if started == count and len(ticks) >= min_ticks:
            expect(ticks[0] == 1, f"the ticker did not start from 1 after boot {count}: {ticks}")
            with vmm.condition:
                failed = [line for line in vmm.lines if line.startswith("not ok")]
            expect(not failed, f"probe checks failed: {failed}")
            return ticks
        expect(vmm.process.poll() is None, f"the VMM exited ({vmm.process.returncode}); output: {vmm.tail()}")
        time.sleep(0.1)
    raise Failure(f"boot {count} with {min_ticks} ticks did not happen within {STEP_TIMEOUT} s; output: {vmm.tail()}")


def check_reset_event(client):
    event = client.wait_for_event("RESET", STEP_TIMEOUT)
    check_event(event, "RESET")
    expect(event.get("data") == RESET_DATA, f"RESET data: expected {RESET_DATA}, got {event}")


def conversation(vmm, client, path, args):
    expect("QMP" in client.read(), "no greeting")
    check_return(client.execute("qmp_capabilities"), "qmp_capabilities")
    wait_for_boot(vmm, 1, 3)

    # A running VM: reset, it runs again from the start.
    reply = client.execute("system_reset", id="r1")
    expect(reply.get("return") == {} and reply.get("id") == "r1", f"system_reset: {reply}")
    check_reset_event(client)
    check_status(client, "running", True)
    wait_for_boot(vmm, 2, 2)

    # A stopped VM stays stopped after the reset, then boots again on cont.
    check_return(client.execute("stop"), "stop")
    client.take_events()
    check_return(client.execute("system_reset"), "system_reset while paused")
    check_reset_event(client)
    # QEMU 7.2 moves a VM that is not running to "prelaunch" on a reset;
    # keel keeps "paused". Either way it does not run until cont.
    check_status(client, "paused" if args.vmm == "keel" else "prelaunch", False)
    time.sleep(1)
    started, _ = boots(vmm)
    expect(started == 2, f"the probe ran while the VM was paused after the reset; output: {vmm.tail()}")
    check_return(client.execute("cont"), "cont")
    wait_for_boot(vmm, 3, 2)

    if args.vmm == "keel":
        # The server takes one client at a time: keel ctl gets its turn
        # (the socket closes only once its file object is closed too).
        client.stream.close()
        client.close()
        ctl = subprocess.run([args.keel, "ctl", "--qmp", path, "reset"], capture_output=True, text=True,
                             timeout=STEP_TIMEOUT)
        expect(ctl.returncode == 0, f"keel ctl reset: exit {ctl.returncode}; stderr: {ctl.stderr!r}")
        wait_for_boot(vmm, 4, 2)
        client = Client(path, STEP_TIMEOUT)
        expect("QMP" in client.read(), "no greeting")
        check_return(client.execute("qmp_capabilities"), "qmp_capabilities")

    check_return(client.execute("quit"), "quit")
    status = vmm.process.wait(timeout=STEP_TIMEOUT)
    expect(status == 0, f"exit status {status} after quit, expected 0")
    client.close()  # the keel ctl step may have made a new one


def run(args):
    require_kvm()
    if args.vmm == "qemu" and not shutil.which(args.qemu):
        raise Skip(f"{args.qemu} not installed")
    with tempfile.TemporaryDirectory(prefix="keel-reset-") as scratch:
        path = os.path.join(scratch, "qmp.sock")
        vmm = Vmm(vmm_argv(args, path))
        with qmp_session(vmm, path) as client:
            conversation(vmm, client, path, args)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vmm", choices=["keel", "qemu"], default="keel")
    parser.add_argument("--keel", default="build/keel")
    parser.add_argument("--qemu", default="qemu-system-x86_64")
    parser.add_argument("--probe", required=True)
    parser.add_argument("--cpus", type=int, default=1)
    return run_and_report(run, parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
