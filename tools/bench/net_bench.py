#!/usr/bin/env python3
"""End-to-end network benchmark: frames per second guest->host and
host->guest at 64 and 1500 bytes through a TAP in a private network
namespace, on keel and on QEMU (same probe binary, same TAP set-up), a few
runs each, and a table of the results. Run through `ninja -C build bench`;
needs root (namespace and TAP), /dev/kvm, and `ip`.

The guest runs the probe's `virtio-net-bench` suite
(tests/guest/suite_virtio_net_bench.c), four phases of --frames frames of
EtherType 0x88B5, the first payload byte tagging the phase:
  tx64, tx1500   the guest sends as fast as its 16-entry ring allows; a
                 packet socket on the TAP (host side, in the namespace)
                 counts them and takes the kernel's receive timestamp of
                 the first and the last: rate = (n - 1) / (last - first).
                 Every frame must arrive.
  rx64, rx1500   after the guest's "ready" line the host floods the TAP
                 with frames of that size and tag, in bursts faster than
                 any guest here can take them (the TAP's queue stays full;
                 the surplus is dropped by the kernel), until the guest has
                 counted --frames of them; rate = (n - 1) / the time between
                 its "start" and "end" lines (host clock at arrival).
The TAP, its namespace and the VMM come from tests/integration/run_net.py
(the same command lines as the virtio-net integration test: one vCPU,
512 MiB, a modern-only virtio-net-pci on QEMU with vnet_hdr=on). keel and
QEMU runs alternate so that a change in the host's load hits both.

On a PVM host the guest's driver code is emulated (~2-3 M instructions/s),
so these rates say more about the emulator than about either VMM; the
in-process benchmark (virtio_net_bench) measures keel's own frame path.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from run_probe import GuestProcess  # noqa: E402  (line arrival times on the host)
from run_net import GUEST_MAC, TAP_NAME, Namespace, guest_value, vmm_command  # noqa: E402

ETHERTYPE = 0x88B5
# name, direction, Ethernet frame bytes (no FCS), tag: as in the guest suite.
PHASES = [("tx64", "tx", 64, 1), ("tx1500", "tx", 1500, 2), ("rx64", "rx", 64, 3), ("rx1500", "rx", 1500, 4)]
DIRECTION = {"tx": "guest->host", "rx": "host->guest"}
FLOOD_BURST = 64          # frames per burst; ...
FLOOD_PAUSE = 0.001       # ... then a pause: ~50 k frames/s offered, far above any guest here
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
SOURCE_MAC = bytes.fromhex("026b65650002")  # the flood's sender: locally administered


class BenchError(Exception):
    pass


# ---- internal modes, run inside the namespace ---------------------------------

def capture(_args):
    """Counts the guest's frames per tag with kernel receive timestamps until
    SIGTERM, then prints {tag: [count, first, last]} as one JSON line."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    seen = {}
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.bind((TAP_NAME, ETHERTYPE))
        sock.settimeout(0.2)
        print("ready", flush=True)
        while not stop:
            try:
                data, ancillary, _flags, _address = sock.recvmsg(2048, 64)
            except (socket.timeout, InterruptedError):
                continue
            if len(data) < 15:
                continue
            stamp = time.time()
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                    seconds, nanoseconds = struct.unpack("qq", value[:16])
                    stamp = seconds + nanoseconds * 1e-9
            entry = seen.setdefault(data[14], [0, stamp, stamp])
            entry[0] += 1
            entry[2] = stamp
    print(json.dumps(seen), flush=True)
    return 0


def flood(args):
    """Sends frames of --size bytes tagged --tag to the guest until SIGTERM."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    guest = bytes.fromhex(GUEST_MAC.replace(":", ""))
    head = guest + SOURCE_MAC + ETHERTYPE.to_bytes(2, "big") + bytes([args.tag])
    frame = head + bytes((i * 7) & 0xFF for i in range(len(head), args.size))
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
        sock.bind((TAP_NAME, 0))
        while not stop:
            for _ in range(FLOOD_BURST):
                try:
                    sock.send(frame)
                except OSError:  # ENOBUFS: the TAP's queue is full, as intended
                    break
            time.sleep(FLOOD_PAUSE)
    return 0


# ---- the runner -------------------------------------------------------------

def helper(namespace, *words):
    return namespace.exec([sys.executable, os.path.abspath(__file__), *words])


def stop(process, timeout=10):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[0]


def guest_phase_results(timed):
    """{phase: (start arrival, end arrival, frames, bad)} from the guest's lines."""
    starts, results = {}, {}
    for arrived, text in timed:
        words = text.split()
        if len(words) < 4 or words[:2] != ["#", "bench:"]:
            continue
        name, event = words[2], words[3]
        if event == "start":
            starts[name] = arrived
        elif event == "end" and name in starts:
            fields = dict(word.split("=", 1) for word in words[4:] if "=" in word)
            results[name] = (starts[name], arrived, int(fields.get("frames", 0)), int(fields.get("bad", 0)))
    return results


def run_once(vmm, args):
    """One boot; returns {phase: frames per second}."""
    vmm_args = argparse.Namespace(vmm=vmm, keel=args.keel, qemu=args.qemu, probe=args.probe, backend="tap",
                                  model="virtio")
    cmdline = f"tests=virtio-net-bench bench-frames={args.frames}"
    with Namespace() as namespace:
        counter = subprocess.Popen(helper(namespace, "--capture"), stdout=subprocess.PIPE, text=True)
        guest = None
        try:
            if counter.stdout.readline().strip() != "ready":
                raise BenchError("the capture helper did not start")
            guest = GuestProcess(namespace.exec(vmm_command(vmm_args, cmdline)), args.timeout)
            deadline = time.monotonic() + args.timeout
            for name, direction, size, tag in PHASES:
                if direction != "rx":
                    continue
                if not guest.wait_for_line(f"# bench: {name} ready", deadline):
                    raise BenchError(f"{vmm}: no '{name} ready' line")
                flooder = subprocess.Popen(helper(namespace, "--flood", "--size", str(size), "--tag", str(tag)))
                try:
                    if not guest.wait_for_line(f"# bench: {name} end", deadline):
                        raise BenchError(f"{vmm}: no '{name} end' line (flooding {size}-byte frames)")
                finally:
                    stop(flooder)
            status = guest.wait()
        finally:
            if guest is not None and guest.process.poll() is None:
                guest.process.kill()
                guest.process.wait()
            captured = stop(counter)
    timed = list(guest.lines)
    texts = [text for _, text in timed]
    failed = [text for text in texts if text.startswith("not ok")]
    if guest.timed_out or failed or guest_value(vmm_args, status) != 0:
        raise BenchError(f"{vmm}: exit status {status}{' (timed out)' if guest.timed_out else ''}, " +
                         ("; ".join(failed) or "no failed check printed") + "\n  " + "\n  ".join(texts[-12:]))
    try:
        seen = {int(tag): entry for tag, entry in json.loads(captured.strip().splitlines()[-1]).items()}
    except (IndexError, ValueError):
        raise BenchError(f"{vmm}: the capture helper printed no counts")
    if args.verbose:
        for text in texts:
            if text.startswith("# bench:"):
                print(f"  {vmm}: {text}")
    in_guest = guest_phase_results(timed)
    rates = {}
    for name, direction, _size, tag in PHASES:
        if name not in in_guest:
            raise BenchError(f"{vmm}: no result line for {name}")
        start, end, frames, bad = in_guest[name]
        if frames != args.frames or bad:
            raise BenchError(f"{vmm}: {name}: the guest reports {frames} of {args.frames} frames, {bad} bad")
        if direction == "tx":
            count, first, last = seen.get(tag, [0, 0.0, 0.0])
            if count != args.frames:
                raise BenchError(f"{vmm}: {name}: the host saw {count} of {args.frames} frames")
            rates[name] = (count - 1) / (last - first) if last > first else 0.0
        else:
            rates[name] = (frames - 1) / (end - start) if end > start else 0.0
    return rates


def measure(vmms, args):
    runs = {vmm: [] for vmm in vmms}
    for _ in range(args.runs):
        for vmm in vmms:
            runs[vmm].append(run_once(vmm, args))
    return runs


def preconditions(args):
    """None, or why the benchmark cannot run here."""
    if os.geteuid() != 0:
        return "needs root (network namespace and TAP set-up)"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun missing"
    if not shutil.which("ip"):
        return "`ip` not installed (Debian: iproute2)"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm not available"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keel")
    parser.add_argument("--probe")
    parser.add_argument("--qemu", default="qemu-system-x86_64")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=5000, help="frames per phase")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per boot")
    parser.add_argument("--verbose", action="store_true", help="print the guest's marker lines of every boot")
    # internal modes
    parser.add_argument("--capture", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--flood", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=64, help=argparse.SUPPRESS)
    parser.add_argument("--tag", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.capture:
        return capture(args)
    if args.flood:
        return flood(args)
    if not args.keel or not args.probe:
        parser.error("--keel and --probe are required")
    args.frames = max(2, args.frames)
    why = preconditions(args)
    if why:
        print(f"net_bench: SKIPPED: {why}")
        return 0
    # A terminated runner still unwinds: VMM and helpers killed, namespace deleted.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    vmms = ["keel"]
    if shutil.which(args.qemu):
        vmms.append("qemu")
    else:
        print(f"{args.qemu} not found: QEMU rows SKIPPED")
    try:
        runs = measure(vmms, args)
    except BenchError as error:
        print(f"net_bench: FAILED: {error}")
        return 1
    pvm = " (PVM host: guest code emulated)" if os.path.isdir("/sys/module/kvm_pvm") else ""
    print(f"virtio-net end to end, probe guest, TAP in a private netns, {args.frames} frames per phase, "
          f"{args.runs} runs{pvm}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"{'vmm':<6} {'direction':<12} {'bytes':>5} {'median pkts/s':>14} {'min':>8} {'max':>8} {'keel/QEMU':>10}")
    for name, direction, size, _tag in PHASES:
        medians = {vmm: statistics.median(run[name] for run in runs[vmm]) for vmm in vmms}
        for vmm in vmms:
            rates = [run[name] for run in runs[vmm]]
            ratio = f"{medians['keel'] / medians['qemu']:.2f}" if vmm == "keel" and "qemu" in medians else "-"
            print(f"{vmm:<6} {DIRECTION[direction]:<12} {size:>5} {medians[vmm]:>14.0f} {min(rates):>8.0f} "
                  f"{max(rates):>8.0f} {ratio:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
