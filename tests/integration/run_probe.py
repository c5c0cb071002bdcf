#!/usr/bin/env python3
"""Boot the probe guest under keel or QEMU and check its TAP output.

Used by ctest (see CMakeLists.txt here); also handy by hand:

    run_probe.py --vmm qemu --probe build/tests/guest/probe.elf --suite uart
    run_probe.py --vmm keel --keel build/keel --probe ... --suite smp --cpus 4

Modes (--mode):
  suite           boot with "tests=<suite> now=<unix time>" and require a clean
                  TAP run: exit status meaning 0, a plan matching the results,
                  at least one "ok", no "not ok", "# probe: done".
  unknown-suite   boot with "tests=<suite>" naming no suite: exit value 2 and
                  the line "not ok - unknown suite '<suite>'".
  missing-kernel  keel only: a kernel path that does not exist must give a
                  non-zero exit and a one-line error naming the path.
  demo            keel only: `keel run` with no --kernel boots the embedded
                  probe in demo mode: exit 0 and "probe demo: done".
  disk            the virtio-blk suite on a fresh 2 MiB raw image (keel:
                  --disk path=IMG,serial=keel-probe[,readonly=on]; QEMU: a
                  modern-only virtio-blk-pci): interrupts by --irq (msix or
                  intx); a clean TAP run, then the image must hold exactly the
                  guest's pattern sectors (README.md here). With --readonly the
                  image is pre-filled with the pattern and must stay unchanged.

Exit codes: 0 pass, 1 fail, 77 skipped (no usable /dev/kvm, no QEMU), as
ctest's SKIP_RETURN_CODE.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from integration_common import Failure, Skip, require_kvm, run_and_report

DEBUG_EXIT_PORT = "0x501"
READY_PATTERN = "i8042-inject: ready"  # the guest prints "# i8042-inject: ready"
INJECTED_KEYS = ["a", "b", "ret"]

# The virtio-blk disk (tests/guest/README.md, "virtio-blk disk layout").
SECTOR = 512
DISK_SECTORS = 4096  # 2 MiB
DISK_SERIAL = "keel-probe"
MULTI_SECTORS = range(8, 12)
ZEROED_RANGES = [range(64, 80), range(96, 104)]  # DISCARD, WRITE_ZEROES


def pattern_sectors(sectors):
    return [0, *MULTI_SECTORS, sectors // 2, sectors - 1]


def pattern_sector(sector):
    """Byte i of pattern sector N: N little-endian in bytes 0-3, then
    (13 N + 7 i + 0x5A) mod 256."""
    head = (sector & 0xFFFFFFFF).to_bytes(4, "little")
    return head + bytes((sector * 13 + i * 7 + 0x5A) & 0xFF for i in range(4, SECTOR))


def expected_image(sectors):
    image = bytearray(sectors * SECTOR)
    for sector in pattern_sectors(sectors):
        image[sector * SECTOR:(sector + 1) * SECTOR] = pattern_sector(sector)
    return bytes(image)


class GuestProcess:
    """A VMM child whose stdout is collected line by line with arrival
    times, so checks can react to a line (the i8042-inject ready line) and
    compare guest clocks with the host's."""

    def __init__(self, argv, timeout):
        self.argv = argv
        self.timeout = timeout
        self.lines = []  # (host unix time, text)
        self.condition = threading.Condition()
        self.finished = False
        self.timed_out = False
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in iter(self.process.stdout.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\r\n").replace("\r", "")
            with self.condition:
                self.lines.append((time.time(), text))
                self.condition.notify_all()
        with self.condition:
            self.finished = True
            self.condition.notify_all()

    def wait_for_line(self, wanted, deadline):
        """True once a line containing `wanted` was printed."""
        with self.condition:
            while True:
                if any(wanted in text for _, text in self.lines):
                    return True
                remaining = deadline - time.monotonic()
                if self.finished or remaining <= 0:
                    return False
                self.condition.wait(min(remaining, 0.5))

    def wait(self):
        try:
            status = self.process.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.timed_out = True
            self.process.kill()
            status = self.process.wait()
        self.reader.join(timeout=5)
        return status

    def text_lines(self):
        with self.condition:
            return [text for _, text in self.lines]


def qmp_send_keys(socket_path, keys, deadline):
    """QEMU Machine Protocol: negotiate capabilities, then one send-key per
    key (each one a press and a release after QEMU's default hold time)."""
    while not os.path.exists(socket_path):
        if time.monotonic() > deadline:
            raise Failure(f"QMP socket {socket_path} never appeared")
        time.sleep(0.1)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(max(1.0, deadline - time.monotonic()))
        sock.connect(socket_path)
        stream = sock.makefile("rwb")

        def command(execute, arguments=None):
            message = {"execute": execute}
            if arguments is not None:
                message["arguments"] = arguments
            stream.write(json.dumps(message).encode() + b"\n")
            stream.flush()
            while True:  # skip asynchronous events until our reply
                reply = json.loads(stream.readline() or b"{}")
                if "return" in reply:
                    return
                if "error" in reply or not reply:
                    raise Failure(f"QMP {execute}: {reply}")

        greeting = json.loads(stream.readline() or b"{}")
        if "QMP" not in greeting:
            raise Failure(f"unexpected QMP greeting {greeting}")
        command("qmp_capabilities")
        for key in keys:
            command("send-key", {"keys": [{"type": "qcode", "data": key}]})
            time.sleep(0.3)  # let press and release reach the guest in order


def vmm_command(args, cmdline, qmp_socket, disk=None):
    if args.vmm == "keel":
        argv = [args.keel, "run", "--kernel", args.probe, "--cmdline", cmdline, "--serial", "stdio",
                "--cpus", str(args.cpus)]
        if args.suite == "i8042-inject":
            argv += ["--send-keys", ",".join(INJECTED_KEYS), "--send-keys-after", READY_PATTERN]
        if disk:
            argv += ["--disk", f"path={disk},serial={DISK_SERIAL}" + (",readonly=on" if args.readonly else "")]
        return argv
    argv = [args.qemu, "-enable-kvm", "-M", "pc", "-m", "512M", "-smp", str(args.cpus), "-display", "none",
            "-serial", "stdio", "-monitor", "none", "-no-reboot",
            "-device", f"isa-debug-exit,iobase={DEBUG_EXIT_PORT},iosize=2",
            "-kernel", args.probe, "-append", cmdline]
    if qmp_socket:
        argv += ["-qmp", f"unix:{qmp_socket},server=on,wait=off"]
    if disk:
        # Modern-only (device ID 1042, like keel's); discard=unmap so that
        # DISCARD punches a hole that reads back as zeros, as keel's does.
        drive = f"file={disk},if=none,format=raw,id=disk0,discard=unmap" + (",readonly=on" if args.readonly else "")
        argv += ["-drive", drive, "-device",
                 f"virtio-blk-pci,drive=disk0,disable-legacy=on,disable-modern=off,serial={DISK_SERIAL}"]
    return argv


def guest_value(args, status):
    """The value the guest wrote to the debug-exit port, or None."""
    if args.vmm == "keel":
        return status
    # isa-debug-exit: QEMU exits with (value << 1) | 1; 0 is a normal exit.
    return status >> 1 if status > 0 and status & 1 else None


TAP_RESULT = re.compile(r"^(not )?ok (\d+) - (.*)$")
TAP_PLAN = re.compile(r"^1\.\.(\d+)$")
RTC_UNIX = re.compile(r"^# rtc: unix time (\d+)$")


def check_tap(lines):
    results = [m for m in (TAP_RESULT.match(line) for line in lines) if m]
    plans = [m for m in (TAP_PLAN.match(line) for line in lines) if m]
    failed = [m.group(0) for m in results if m.group(1)]
    failed += [line for line in lines if line.startswith("not ok -")]  # unnumbered: unknown suite
    if failed:
        raise Failure("failed checks:\n  " + "\n  ".join(failed))
    if not results:
        raise Failure("no TAP results")
    if len(plans) != 1:
        raise Failure(f"expected one plan line, found {len(plans)}")
    planned = int(plans[0].group(1))
    numbers = [int(m.group(2)) for m in results]
    if planned != len(results) or numbers != list(range(1, planned + 1)):
        raise Failure(f"plan 1..{planned} does not match results numbered {numbers}")
    if not any(line.startswith("# probe: done") for line in lines):
        raise Failure("no '# probe: done' line")


def check_rtc_against_host(timed_lines):
    """The guest prints the RTC as unix time right after reading it; it
    must match the host clock when the line arrived."""
    for arrived, text in timed_lines:
        match = RTC_UNIX.match(text)
        if match:
            difference = int(match.group(1)) - int(arrived)
            if abs(difference) > 2:
                raise Failure(f"guest RTC differs from host clock by {difference} s")
            print(f"# runner: guest RTC - host clock = {difference} s")
            return
    raise Failure("no '# rtc: unix time' line")


def boot(args, cmdline, disk=None):
    require_kvm()
    if args.vmm == "qemu" and not shutil.which(args.qemu):
        raise Skip(f"{args.qemu} not installed")
    with tempfile.TemporaryDirectory(prefix="probe-") as scratch:
        qmp_socket = os.path.join(scratch, "qmp.sock") if args.vmm == "qemu" else None
        argv = vmm_command(args, cmdline, qmp_socket, disk)
        print("# runner: " + " ".join(argv))
        guest = GuestProcess(argv, args.timeout)
        key_error = None
        if args.vmm == "qemu" and args.suite == "i8042-inject":
            deadline = time.monotonic() + args.timeout
            if guest.wait_for_line(READY_PATTERN, deadline):
                try:
                    qmp_send_keys(qmp_socket, INJECTED_KEYS, deadline)
                except (OSError, ValueError, Failure) as error:
                    key_error = error
        status = guest.wait()
        lines = guest.text_lines()
        for line in lines:
            print(line)
        if guest.timed_out:
            raise Failure(f"timed out after {args.timeout} s")
        if key_error:
            raise Failure(f"could not inject keys over QMP: {key_error}")
        return status, lines, guest.lines


def run_suite(args):
    status, lines, timed_lines = boot(args, f"tests={args.suite} now={int(time.time())}")
    value = guest_value(args, status)
    check_tap(lines)
    if value != 0:
        raise Failure(f"exit status {status}: guest value {value}, want 0")
    if args.suite == "rtc":
        check_rtc_against_host(timed_lines)


def run_unknown_suite(args):
    status, lines, _ = boot(args, f"tests={args.suite}")
    value = guest_value(args, status)
    if value != 2:
        raise Failure(f"exit status {status}: guest value {value}, want 2")
    if f"not ok - unknown suite '{args.suite}'" not in lines:
        raise Failure("no 'not ok - unknown suite' line")


def describe_difference(actual, wanted):
    for offset in range(0, len(wanted), SECTOR):
        if actual[offset:offset + SECTOR] != wanted[offset:offset + SECTOR]:
            sector = offset // SECTOR
            kind = "pattern" if sector in pattern_sectors(len(wanted) // SECTOR) else "zero"
            return f"sector {sector} (want {kind}) differs"
    return f"image size {len(actual)}, want {len(wanted)}"


def run_disk(args):
    """The virtio-blk suite, then the image checked byte for byte: the
    pattern sectors hold the pattern, everything else (the DISCARD and
    WRITE_ZEROES ranges included) is zero; a read-only image is unchanged."""
    wanted = expected_image(DISK_SECTORS)
    with tempfile.TemporaryDirectory(prefix="probe-disk-") as scratch:
        disk = os.path.join(scratch, "disk.img")
        with open(disk, "wb") as image:
            if args.readonly:
                image.write(wanted)  # the guest reads the pattern back
            else:
                image.truncate(DISK_SECTORS * SECTOR)
        if args.readonly:
            os.chmod(disk, 0o444)
        before = hashlib.sha256(open(disk, "rb").read()).hexdigest()
        cmdline = (f"tests=virtio-blk virtio-irq={args.irq} virtio-serial={DISK_SERIAL} "
                   f"virtio-sectors={DISK_SECTORS}" + (" virtio-ro=1" if args.readonly else ""))
        status, lines, _ = boot(args, cmdline, disk)
        value = guest_value(args, status)
        check_tap(lines)
        if value != 0:
            raise Failure(f"exit status {status}: guest value {value}, want 0")
        with open(disk, "rb") as image:
            actual = image.read()
    if args.readonly:
        after = hashlib.sha256(actual).hexdigest()
        if after != before:
            raise Failure(f"read-only image changed: sha256 {before} -> {after}")
        print(f"# runner: read-only image unchanged (sha256 {after})")
    elif actual != wanted:
        raise Failure("image check: " + describe_difference(actual, wanted))
    else:
        print(f"# runner: image holds the pattern in sectors {pattern_sectors(DISK_SECTORS)}, zeros elsewhere")


def run_keel_plain(args, argv):
    require_kvm()
    print("# runner: " + " ".join(argv))
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f"timed out after {args.timeout} s")
    stdout = done.stdout.decode("utf-8", "replace").replace("\r", "")
    stderr = done.stderr.decode("utf-8", "replace").replace("\r", "")
    print(stdout, end="")
    print(stderr, end="", file=sys.stderr)
    return done.returncode, stdout, stderr


def run_missing_kernel(args):
    missing = "/nonexistent/keel-probe-missing-kernel.elf"
    status, stdout, stderr = run_keel_plain(args, [args.keel, "run", "--kernel", missing])
    if status == 0:
        raise Failure("keel exited 0 for a missing kernel")
    output = [line for line in (stdout + stderr).splitlines() if line.strip()]
    if len(output) != 1:
        raise Failure(f"expected a one-line error, got {len(output)} lines")
    if missing not in output[0]:
        raise Failure(f"the error does not name the path: {output[0]!r}")


def run_demo(args):
    status, stdout, _ = run_keel_plain(args, [args.keel, "run"])
    if status != 0:
        raise Failure(f"keel run exited {status}")
    lines = stdout.splitlines()
    for wanted in ("probe demo: done", "# probe: done, exit 0"):
        if wanted not in lines:
            raise Failure(f"no line {wanted!r}")
    if not any(line.startswith("probe demo: RTC ") for line in lines):
        raise Failure("no RTC line in the demo summary")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["suite", "unknown-suite", "missing-kernel", "demo", "disk"],
                        default="suite")
    parser.add_argument("--vmm", choices=["keel", "qemu"], default="keel")
    parser.add_argument("--keel", help="path to the keel binary")
    parser.add_argument("--qemu", default="qemu-system-x86_64")
    parser.add_argument("--probe", help="path to probe.elf")
    parser.add_argument("--suite", default="uart")
    parser.add_argument("--cpus", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=150)
    parser.add_argument("--irq", choices=["msix", "intx"], default="msix", help="disk mode: virtio interrupts")
    parser.add_argument("--readonly", action="store_true", help="disk mode: a read-only disk")
    args = parser.parse_args()
    if args.vmm == "keel" and not args.keel:
        parser.error("--keel is required with --vmm keel")
    if args.mode in ("suite", "unknown-suite", "disk") and not args.probe:
        parser.error("--probe is required")
    modes = {"suite": run_suite, "unknown-suite": run_unknown_suite, "missing-kernel": run_missing_kernel,
             "demo": run_demo, "disk": run_disk}
    return run_and_report(modes[args.mode], args)


if __name__ == "__main__":
    sys.exit(main())
