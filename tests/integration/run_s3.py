#!/usr/bin/env python3
"""ACPI S3, suspend to RAM (issue 10), on the probe guest.

The acpi-s3 suite writes a real-mode waking vector into the FACS, prints
"# acpi-s3: suspending" and writes \\_S3's SLP_TYP | SLP_EN to PM1_CNT. The
VMM must then send SUSPEND (no data) and report query-status "suspended"
(running false); system_wakeup (--wake key: send-key a; --wake rtc: no
command, the probe's RTC alarm with PM1 RTC_EN, `s3-wake=rtc`) replies {}
and WAKEUP follows; the machine
resumes through the waking vector with PM1 WAK_STS set, the probe prints
"# resumed from S3" and its checks pass; the ticker suite after it shows the
guest running on (query-status "running"), and quit ends it with exit 0.
Before the guest sleeps, system_wakeup must fail with QEMU's GenericError
wording. The same script and probe binary run on keel and on QEMU (`-M pc`,
whose PIIX4 PM offers S3: disable_s3=0 is set explicitly).

    run_s3.py --vmm qemu --probe build/tests/guest/probe.elf
    run_s3.py --vmm keel --keel build/keel --probe build/tests/guest/probe.elf

Prints SKIPPED without /dev/kvm or QEMU, and on keel until the machine wires
S3 (KEEL_S3_WIRED below)."""
import argparse
import shutil
import sys
import tempfile
import os
import time

from integration_common import Skip, require_kvm, run_and_report
from run_qmp import (STEP_TIMEOUT, Vmm, check_error, check_event, check_return, expect, probe_argv, qmp_session,
                     wait_for_line)

# Flip to True once keel's machine implements the S3 sleep handler and the
# wake path (devices/acpi/README.md, "S3"): the keel half then runs.
KEEL_S3_WIRED = True

SUSPEND_LINE = "# acpi-s3: suspending"
RESUME_LINE = "# resumed from S3"
EXPECTED_CHECKS = ("suspended (S3) and resumed through the FACS waking vector", "PM1 WAK_STS set on resume",
                   "WAK_STS cleared by writing 1", "RAM kept across S3")
NOT_SUSPENDED = "Unable to wake up: guest is not in suspended state"


def check_status(client, status, running):
    result = check_return(client.execute("query-status"), "query-status")
    expect(result.get("status") == status and result.get("running") is running,
           f"query-status: expected {status} (running {running}), got {result}")


def run_s3(vmm, client, wake):
    expect("QMP" in client.read(), "no greeting")
    check_return(client.execute("qmp_capabilities"), "qmp_capabilities")
    # system_wakeup on a running guest is checked after the wake: before the
    # suspend it would race the guest (keel reaches SLP_EN within
    # milliseconds with wait=off).

    with vmm.condition:
        # The probe prints this line before it writes SLP_EN: seen here, the
        # SUSPEND event may have gone out before qmp_capabilities, and QMP
        # (QEMU's too) sends no events during capabilities negotiation.
        suspended_early = any(SUSPEND_LINE in line for line in vmm.lines)
    wait_for_line(vmm, SUSPEND_LINE, STEP_TIMEOUT)
    if suspended_early:
        deadline = time.monotonic() + STEP_TIMEOUT
        while check_return(client.execute("query-status"), "query-status").get("status") != "suspended":
            expect(time.monotonic() < deadline, "query-status never reported suspended")
            time.sleep(0.05)
        print("note: the guest suspended before qmp_capabilities; SUSPEND event not required")
    else:
        suspend = client.wait_for_event("SUSPEND", STEP_TIMEOUT)
        check_event(suspend, "SUSPEND")
        expect("data" not in suspend, f"SUSPEND carries no data in QEMU 7.2: {suspend}")
    check_status(client, "suspended", False)
    # Asleep: nothing more on the console while suspended.
    with vmm.condition:
        lines_before = len(vmm.lines)
    time.sleep(1)
    with vmm.condition:
        late = vmm.lines[lines_before:]
    expect(not any(RESUME_LINE in line for line in late), f"resumed without a wake event: {late}")

    if wake == "rtc":
        pass  # the probe's RTC alarm (5 s after it armed it) wakes the machine by itself
    elif wake == "key":
        # A key press wakes a suspended pc machine (QEMU's PS/2 keyboard
        # asks for a wake-up with reason "other").
        keys = {"keys": [{"type": "qcode", "data": "a"}]}
        reply = client.execute("send-key", keys, id="w1")
        expect(reply.get("return") == {} and reply.get("id") == "w1", f"send-key: {reply}")
    else:
        reply = client.execute("system_wakeup", id="w1")
        expect(reply.get("return") == {} and reply.get("id") == "w1", f"system_wakeup: {reply}")
    wakeup = client.wait_for_event("WAKEUP", STEP_TIMEOUT)
    check_event(wakeup, "WAKEUP")
    expect("data" not in wakeup, f"WAKEUP carries no data in QEMU 7.2: {wakeup}")
    check_status(client, "running", True)
    desc = check_error(client.execute("system_wakeup"), "GenericError", "system_wakeup while running")
    expect(desc == NOT_SUSPENDED, f"system_wakeup while running: {desc!r}, expected {NOT_SUSPENDED!r}")
    wait_for_line(vmm, RESUME_LINE, STEP_TIMEOUT)
    # The ticker suite runs after acpi-s3, so the guest is still running:
    # it makes progress after the wake.
    vmm.wait_for_tick(0, STEP_TIMEOUT)
    check_status(client, "running", True)
    with vmm.condition:
        failed = [line for line in vmm.lines if line.startswith("not ok")]
        skipped = [line for line in vmm.lines if "# SKIP" in line]
        passed = [line for line in vmm.lines if line.startswith("ok ") and "acpi-s3: " in line]
    expect(not failed, f"probe checks failed: {failed}")
    expect(not skipped, f"probe checks skipped (no S3 offered?): {skipped}")
    for check in EXPECTED_CHECKS + (("RTC_STS set (woken by the RTC alarm)",) if wake == "rtc" else ()):
        expect(any(check in line for line in passed), f"no passed '{check}' check; output: {vmm.tail()}")
    check_return(client.execute("quit"), "quit")
    status = vmm.process.wait(timeout=STEP_TIMEOUT)
    expect(status == 0, f"exit status {status} after quit, expected 0; output: {vmm.tail()}")


def run(args):
    require_kvm()
    if args.vmm == "qemu" and not shutil.which(args.qemu):
        raise Skip(f"{args.qemu} not installed")
    if args.vmm == "keel" and not KEEL_S3_WIRED:
        raise Skip("keel S3 wake not wired yet")
    with tempfile.TemporaryDirectory(prefix="keel-s3-") as scratch:
        path = os.path.join(scratch, "qmp.sock")
        qemu_extra = ("-global", f"PIIX4_PM.disable_s3={args.qemu_disable_s3}")
        cmdline = "tests=acpi-s3,ticker ticks=0" + (" s3-wake=rtc" if args.wake == "rtc" else "")
        # keel: wait=on, so the guest (which reaches SLP_EN within
        # milliseconds) starts only once this client is connected.
        wait = "on" if args.vmm == "keel" else "off"
        vmm = Vmm(probe_argv(args, f"unix:{path},server=on,wait={wait}", cmdline, qemu_extra=qemu_extra))
        with qmp_session(vmm, path) as client:
            run_s3(vmm, client, args.wake)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vmm", choices=["keel", "qemu"], default="keel")
    parser.add_argument("--wake", choices=["qmp", "key", "rtc"], default="qmp",
                        help="wake with QMP system_wakeup, a key press (send-key a) or the guest's RTC alarm")
    parser.add_argument("--keel", default="build/keel")
    parser.add_argument("--qemu", default="qemu-system-x86_64")
    parser.add_argument("--probe", required=True)
    parser.add_argument("--qemu-disable-s3", choices=["0", "1"], default="0",
                        help="QEMU's PIIX4_PM.disable_s3 (1: no \\_S3, to see this test fail)")
    return run_and_report(run, parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
