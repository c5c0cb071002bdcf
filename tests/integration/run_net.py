#!/usr/bin/env python3
"""Network integration test: the probe guest's virtio-net suite behind a TAP
in a private network namespace, under keel or QEMU.

    run_net.py --vmm qemu --probe build/tests/guest/probe.elf --irq msix
    run_net.py --vmm keel --keel build/keel --probe ... --irq intx --mrg

Steps (as root): `ip netns add keelnet-<pid>`; in it lo up and a TAP
`ktap0` with 10.0.2.2/24; the VMM started inside the namespace with the
TAP as its NIC (QEMU: -netdev tap,vnet_hdr=on and a modern-only
virtio-net-pci; keel: --net tap=ktap0,mac=...); once the guest prints
"virtio-net: ready": three frames with broken IPv4/UDP/ICMP checksums
(the guest must count exactly those), `ping -c 20 -i 0.2 -W 5 10.0.2.15` with 0% loss, then
2,000 UDP datagrams of 1..1472 bytes (every size once, the rest random,
seeded) to 10.0.2.15:7, one at a time, each echo byte-exact; then the
"probe-net-done" datagram to port 9, after which the guest prints its TAP
report and exits. The namespace (and with it the TAP) is deleted and the
VMM killed on every exit path.

--backend user: user-mode networking instead (keel: --net user,...;
QEMU: -netdev user,...), no root, namespace or TAP: two free host UDP
ports P and P2 (bound to port 0 and closed) forwarded to the guest's ports
7 and 9 (hostfwd=udp:127.0.0.1:P-:7, hostfwd=udp:127.0.0.1:P2-:9); the
guest announces itself with an ARP request for the gateway 10.0.2.2
(net-gw=) before its ready line, since slirp learns the guest's MAC only
from the guest's own frames; no broken frames and no ping (slirp forwards
no ICMP to the guest, net-ping=0); the same 2,000 datagrams go to
127.0.0.1:P and the end-of-run datagram to 127.0.0.1:P2.

--model e1000: the probe's e1000 suite on an Intel 82540EM instead (QEMU:
-device e1000,...,romfile= on a tap without vnet_hdr, so QEMU itself
inserts the checksums the guest offloads; keel: --net ...,model=e1000);
the same host-side checks, ready line "e1000: ready".

Exit codes: 0 pass, 1 fail, 77 skipped (tap: not root, no /dev/net/tun,
`ip`, `ping`; both: no /dev/kvm or QEMU), as ctest's SKIP_RETURN_CODE.

Internal modes, run inside the namespace by the runner itself:
--udp-client (the echo exchange, prints one JSON line), --send-bad and
--send-done.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

from integration_common import Failure, Skip, require_kvm, run_and_report
from run_probe import DEBUG_EXIT_PORT, GuestProcess, check_tap, guest_value

GUEST_IP = "10.0.2.15"
HOST_CIDR = "10.0.2.2/24"
TAP_NAME = "ktap0"
GUEST_MAC = "02:6b:65:65:6c:01"  # locally administered
ECHO_PORT = 7
DONE_PORT = 9
DONE_PAYLOAD = b"probe-net-done"
MAX_PAYLOAD = 1472  # 1500 - IPv4 (20) - UDP (8): no fragments
SUITE_OF_MODEL = {"virtio": "virtio-net", "e1000": "e1000"}  # --model: the probe suite that drives it
PINGS = 20
BROKEN_FRAMES = 3  # sent on purpose: the guest must count exactly these as bad checksums
HOST_LOOPBACK = "127.0.0.1"  # --backend user: where the host forwards listen
SLIRP_GATEWAY = "10.0.2.2"  # --backend user: slirp's host/gateway address (keel's and QEMU's default)


# ---- inside the namespace -------------------------------------------------

def datagram_sizes(count, seed):
    """Every size 1..MAX_PAYLOAD once, the rest random; shuffled, seeded."""
    rng = random.Random(seed)
    sizes = list(range(1, MAX_PAYLOAD + 1))
    sizes += [rng.randint(1, MAX_PAYLOAD) for _ in range(max(0, count - len(sizes)))]
    rng.shuffle(sizes)
    return sizes[:count] if count < len(sizes) else sizes


def udp_client(args):
    """Sends each datagram, waits for its echo (retrying twice after a
    timeout; every timeout counts as a loss), compares it byte for byte.
    Stops at the first wrong echo or after 3 datagrams lost in a row."""
    rng = random.Random(args.seed + 1)
    sizes = datagram_sizes(args.count, args.seed)
    result = {"sent": 0, "echoed": 0, "lost": 0, "wrong": None, "sizes": len(set(sizes))}
    started = time.monotonic()
    lost_in_a_row = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((args.target, args.port))
        sock.settimeout(args.reply_timeout)
        for index, size in enumerate(sizes):
            payload = rng.randbytes(size)
            echoed = False
            for _attempt in range(3):
                sock.send(payload)
                result["sent"] += 1
                try:
                    reply = sock.recv(65536)
                except socket.timeout:
                    result["lost"] += 1
                    continue
                if reply != payload:
                    first = next((i for i, (a, b) in enumerate(zip(reply, payload)) if a != b), min(len(reply), size))
                    result["wrong"] = f"datagram {index} ({size} bytes): echo of {len(reply)} bytes differs at {first}"
                    break
                echoed = True
                break
            if result["wrong"]:
                break
            if echoed:
                result["echoed"] += 1
                lost_in_a_row = 0
            else:
                lost_in_a_row += 1
                if lost_in_a_row >= 3:
                    result["wrong"] = f"datagrams {index - 2}..{index} never echoed"
                    break
    result["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(result))
    return 0


def internet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def broken_frames(source_mac):
    """Three frames the guest must reject and count: a bad IPv4 header
    checksum, a bad (non-zero) UDP checksum, a bad ICMP checksum."""
    guest_mac = bytes.fromhex(GUEST_MAC.replace(":", ""))
    source = socket.inet_aton(HOST_CIDR.split("/")[0])
    target = socket.inet_aton(GUEST_IP)

    def ipv4(protocol, body, corrupt_header):
        header = bytearray(20)
        header[0], header[8], header[9] = 0x45, 64, protocol
        header[2:4] = (20 + len(body)).to_bytes(2, "big")
        header[12:16], header[16:20] = source, target
        header[10:12] = (internet_checksum(bytes(header)) ^ (0x5555 if corrupt_header else 0)).to_bytes(2, "big")
        return guest_mac + source_mac + b"\x08\x00" + bytes(header) + body

    udp = bytearray(b"\x9c\x40\x00\x07" + (8 + 5).to_bytes(2, "big") + b"\0\0" + b"wrong")
    pseudo = source + target + b"\x00\x11" + len(udp).to_bytes(2, "big")
    good = internet_checksum(pseudo + bytes(udp)) or 0xFFFF
    udp_bad = bytearray(udp)
    udp_bad[6:8] = ((good ^ 0x00FF) or 1).to_bytes(2, "big")
    udp[6:8] = good.to_bytes(2, "big")
    icmp = bytearray(b"\x08\x00\0\0\x12\x34\x00\x01" + b"wrong-icmp")
    icmp[2:4] = (internet_checksum(bytes(icmp)) ^ 0x0F0F).to_bytes(2, "big")
    return [ipv4(17, bytes(udp), True), ipv4(17, bytes(udp_bad), False), ipv4(1, bytes(icmp), False)]


def send_bad(_args):
    with open(f"/sys/class/net/{TAP_NAME}/address") as address:
        source_mac = bytes.fromhex(address.read().strip().replace(":", ""))
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
        sock.bind((TAP_NAME, 0))
        for frame in broken_frames(source_mac):
            sock.send(frame)
    return 0


def send_done(args):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(DONE_PAYLOAD, (args.target, args.done_port))
    return 0


# ---- the runner ------------------------------------------------------------

def run(argv, check=True, timeout=30):
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise Failure(f"{' '.join(argv)}: exit {done.returncode}: {(done.stderr or done.stdout).strip()}")
    return done


def preconditions(args):
    if args.backend == "user":
        pass  # no root-only set-up: host forwards on free unprivileged ports
    elif os.geteuid() != 0:
        raise Skip("needs root (network namespace and TAP set-up)")
    elif not os.path.exists("/dev/net/tun"):
        raise Skip("/dev/net/tun missing")
    for tool in ("ip", "ping") if args.backend == "tap" else ():
        if not shutil.which(tool):
            raise Skip(f"`{tool}` not installed (Debian: iproute2, iputils-ping)")
    require_kvm()
    if args.vmm == "qemu" and not shutil.which(args.qemu):
        raise Skip(f"{args.qemu} not installed")
    if args.vmm == "keel":
        helptext = run([args.keel, "run", "--help"], check=False).stdout
        if "--net" not in helptext:
            raise Failure("`keel run --help` lists no --net option")


class Namespace:
    """A network namespace holding the TAP; deleted (TAP included) on exit."""

    def __init__(self):
        self.name = f"keelnet-{os.getpid()}"

    def __enter__(self):
        run(["ip", "netns", "add", self.name])
        try:
            for step in (["link", "set", "lo", "up"], ["tuntap", "add", "dev", TAP_NAME, "mode", "tap"],
                         ["addr", "add", HOST_CIDR, "dev", TAP_NAME], ["link", "set", TAP_NAME, "up"]):
                run(["ip", "-n", self.name, *step])
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def exec(self, argv):
        return ["ip", "netns", "exec", self.name, *argv]

    def __exit__(self, *_):
        run(["ip", "-n", self.name, "tuntap", "del", "dev", TAP_NAME, "mode", "tap"], check=False)
        run(["ip", "netns", "del", self.name], check=False)


class HostNetwork:
    """--backend user: the VMM and the clients run in the host's own network
    namespace; nothing to set up or remove."""

    name = "none (user-mode networking)"

    def __enter__(self):
        return self

    def exec(self, argv):
        return argv

    def __exit__(self, *_):
        pass


def free_udp_ports(count):
    """Ports the kernel picks as free on 127.0.0.1 (bound together, so they
    differ, then closed for the VMM to take; a race with another program is
    possible but unlikely)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((HOST_LOOPBACK, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def host_forwards(args):
    """--backend user: the two UDP forwards, in QEMU's hostfwd syntax (keel's is the same)."""
    return [f"hostfwd=udp:{HOST_LOOPBACK}:{args.host_echo_port}-:{ECHO_PORT}",
            f"hostfwd=udp:{HOST_LOOPBACK}:{args.host_done_port}-:{DONE_PORT}"]


def keel_backend(args):
    return ",".join(["user", *host_forwards(args)]) if args.backend == "user" else f"tap={TAP_NAME}"


def qemu_netdev(args):
    # ipv6=off: keel's slirp runs IPv4 only, so both guests see the same traffic.
    if args.backend == "user":
        return ",".join(["user,id=n0,ipv6=off", *host_forwards(args)])
    vnet_hdr = "on" if args.model == "virtio" else "off"  # e1000: QEMU computes offloaded checksums itself
    return f"tap,id=n0,ifname={TAP_NAME},script=no,downscript=no,vnet_hdr={vnet_hdr}"


def vmm_command(args, cmdline):
    if args.vmm == "keel":
        return [args.keel, "run", "--kernel", args.probe, "--cmdline", cmdline, "--serial", "stdio", "--cpus", "1",
                "--net", f"{keel_backend(args)},{'model=e1000,' if args.model == 'e1000' else ''}mac={GUEST_MAC}"]
    # Modern-only virtio-net-pci (device ID 1041, as keel's); romfile= skips
    # loading the iPXE option ROM, which the probe does not need.
    return [args.qemu, "-enable-kvm", "-M", "pc", "-m", "512M", "-smp", "1", "-display", "none",
            "-serial", "stdio", "-monitor", "none", "-no-reboot",
            "-device", f"isa-debug-exit,iobase={DEBUG_EXIT_PORT},iosize=2",
            "-kernel", args.probe, "-append", cmdline,
            "-netdev", qemu_netdev(args),
            "-device", f"e1000,netdev=n0,mac={GUEST_MAC},romfile=" if args.model == "e1000" else
            f"virtio-net-pci,netdev=n0,disable-legacy=on,disable-modern=off,mac={GUEST_MAC},romfile="]


def ping(namespace, timings):
    started = time.monotonic()
    try:
        done = run(namespace.exec(["ping", "-n", "-c", str(PINGS), "-i", "0.2", "-W", "5", GUEST_IP]), check=False,
                   timeout=PINGS * 6)
    except subprocess.TimeoutExpired:
        raise Failure(f"ping to {GUEST_IP} did not finish in {PINGS * 6} s")
    timings["ping"] = time.monotonic() - started
    summary = [line for line in done.stdout.splitlines() if "packet loss" in line or "rtt" in line]
    for line in summary:
        print(f"# runner: ping: {line}")
    if done.returncode != 0 or not re.search(r"\b0% packet loss", done.stdout):
        raise Failure(f"ping to {GUEST_IP}: exit {done.returncode}, {summary or done.stderr.strip()}")


def echo_address(args):
    """Where the datagrams go: the guest itself, or the host forward to it."""
    return (HOST_LOOPBACK, args.host_echo_port) if args.backend == "user" else (GUEST_IP, ECHO_PORT)


def udp_echo(args, namespace, timings):
    started = time.monotonic()
    target, port = echo_address(args)
    client = [sys.executable, os.path.abspath(__file__), "--udp-client", "--target", target,
              "--port", str(port), "--count", str(args.datagrams), "--seed", str(args.seed)]
    try:
        done = run(namespace.exec(client), check=False, timeout=args.udp_budget)
    except subprocess.TimeoutExpired:
        raise Failure(f"the UDP exchange took over {args.udp_budget} s")
    timings["udp"] = time.monotonic() - started
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise Failure(f"UDP client: exit {done.returncode}: {done.stderr.strip()}")
    print(f"# runner: udp: {json.dumps(result)}")
    if result["wrong"]:
        raise Failure(f"UDP echo: {result['wrong']}")
    if result["lost"] or result["echoed"] != args.datagrams:
        raise Failure(f"UDP echo: {result['lost']} lost, {result['echoed']} of {args.datagrams} echoed")
    if args.datagrams >= MAX_PAYLOAD and result["sizes"] != MAX_PAYLOAD:
        raise Failure(f"UDP echo covered {result['sizes']} sizes, want {MAX_PAYLOAD}")
    return result


def guest_count(lines, pattern):
    for line in lines:
        match = re.search(pattern, line)
        if match:
            return int(match.group(1))
    return None


def check_counts(lines, datagrams, backend):
    """The guest's own tally must match what was sent: every datagram echoed
    once; on a TAP every ping answered and at least one ARP reply; through
    user-mode networking no ICMP at all (slirp forwards none) and the
    gateway's answer to the guest's ARP request (slirp needs no ARP reply
    from the guest: it learnt the MAC from that request)."""
    echoes = guest_count(lines, r"(\d+) UDP echoes")
    icmp = guest_count(lines, r"(\d+) ICMP echo replies")
    arp = guest_count(lines, r"(\d+) ARP replies")
    if backend == "user":
        gateway = any(f"gateway {SLIRP_GATEWAY} is at" in line for line in lines)
        if echoes != datagrams or icmp != 0 or not gateway:
            raise Failure(f"guest counted {echoes} UDP echoes (want {datagrams}), {icmp} ICMP replies (want 0), "
                          f"gateway {SLIRP_GATEWAY} {'resolved' if gateway else 'not resolved'} (want resolved)")
        return
    if echoes != datagrams or icmp != PINGS or not arp:
        raise Failure(f"guest counted {echoes} UDP echoes (want {datagrams}), {icmp} ICMP replies (want {PINGS}), "
                      f"{arp} ARP replies (want 1+)")


def run_test(args):
    preconditions(args)
    user = args.backend == "user"
    if user:
        args.host_echo_port, args.host_done_port = free_udp_ports(2)
    mode = f"virtio-irq={args.irq}" + (" net-mrg=1" if args.mrg else "") if args.model == "virtio" else ""
    suite = SUITE_OF_MODEL[args.model]
    ready_line = f"{suite}: ready"
    backend_words = f"net-bad=0 net-gw={SLIRP_GATEWAY} net-ping=0" if user else f"net-bad={BROKEN_FRAMES}"
    cmdline = (f"tests={suite} {mode} net-ip={GUEST_IP} net-mac={GUEST_MAC} net-timeout={args.guest_timeout} "
               f"{backend_words}")
    timings = {}
    started = time.monotonic()
    with HostNetwork() if user else Namespace() as namespace:
        argv = namespace.exec(vmm_command(args, cmdline))
        print(f"# runner: netns {namespace.name}; " + " ".join(argv))
        guest = GuestProcess(argv, args.timeout)
        try:
            ready = guest.wait_for_line(ready_line, time.monotonic() + args.ready_timeout)
            timings["boot"] = time.monotonic() - started
            error = None
            try:
                if not ready:
                    raise Failure(f"no '{ready_line}' line within {args.ready_timeout} s")
                if not user:  # neither reaches a guest behind slirp
                    run(namespace.exec([sys.executable, os.path.abspath(__file__), "--send-bad"]))
                    ping(namespace, timings)
                udp_echo(args, namespace, timings)
            except Failure as failure:
                error = failure
            # End the guest's run either way, so its report shows what it saw.
            send = [sys.executable, os.path.abspath(__file__), "--send-done", "--target", echo_address(args)[0],
                    "--done-port", str(args.host_done_port if user else DONE_PORT)]
            for _ in range(3):
                run(namespace.exec(send), check=False)
                if guest.wait_for_line("# probe: done", time.monotonic() + 10):
                    break
            guest.timeout = 15
            status = guest.wait()
        finally:
            if guest.process.poll() is None:
                guest.process.kill()
                guest.process.wait()
    timings["total"] = time.monotonic() - started
    lines = guest.text_lines()
    for line in lines:
        print(line)
    print("# runner: seconds: " + ", ".join(f"{key} {value:.1f}" for key, value in timings.items()))
    if error:
        raise error
    if guest.timed_out:
        raise Failure("the guest did not exit after the end-of-run datagram")
    check_tap(lines)
    value = guest_value(args, status)
    if value != 0:
        raise Failure(f"exit status {status}: guest value {value}, want 0")
    check_counts(lines, args.datagrams, args.backend)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vmm", choices=["keel", "qemu"], default="qemu")
    parser.add_argument("--keel", help="path to the keel binary")
    parser.add_argument("--qemu", default="qemu-system-x86_64")
    parser.add_argument("--probe", help="path to probe.elf")
    parser.add_argument("--backend", choices=["tap", "user"], default="tap",
                        help="tap: a TAP in a network namespace (root); user: user-mode networking (slirp)")
    parser.add_argument("--model", choices=sorted(SUITE_OF_MODEL), default="virtio",
                        help="the NIC: virtio-net (suite virtio-net) or an Intel 82540EM (suite e1000)")
    parser.add_argument("--irq", choices=["msix", "intx"], default="msix")
    parser.add_argument("--mrg", action="store_true", help="negotiate VIRTIO_NET_F_MRG_RXBUF (1 KiB rx buffers)")
    parser.add_argument("--datagrams", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=170, help="seconds for the whole VMM run")
    parser.add_argument("--ready-timeout", type=float, default=40)
    parser.add_argument("--udp-budget", type=float, default=100, help="seconds for the whole UDP exchange")
    parser.add_argument("--guest-timeout", type=int, default=120, help="guest: seconds of silence before it gives up")
    # internal modes
    parser.add_argument("--udp-client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--send-done", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--send-bad", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--target", default=GUEST_IP, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=ECHO_PORT, help=argparse.SUPPRESS)
    parser.add_argument("--done-port", type=int, default=DONE_PORT, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=2000, help=argparse.SUPPRESS)
    parser.add_argument("--reply-timeout", type=float, default=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.udp_client:
        return udp_client(args)
    if args.send_done:
        return send_done(args)
    if args.send_bad:
        return send_bad(args)
    if not args.probe:
        parser.error("--probe is required")
    # A terminated runner still unwinds: the VMM is killed and the namespace deleted.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if args.vmm == "keel" and not args.keel:
        parser.error("--keel is required with --vmm keel")
    return run_and_report(run_test, args)


if __name__ == "__main__":
    sys.exit(main())
