#!/usr/bin/env python3
"""QMP on a running VM (issue 10): boots the probe guest's ticker suite
(ticks=0: "# ticker: N" until the host stops it) with a QMP socket and holds
one conversation with it: greeting, qmp_capabilities, query-status, stop (the
ticker stops advancing), query-status paused, stop again (no event), cont
(the ticker goes on), query-cpus-fast, query-name, human-monitor-command
`info status`, bad commands and garbage, quit (exit 0, SHUTDOWN event).
--mode wait: `server=on` alone (QEMU's wait=on) holds the guest until a
client connects. --mode signal: SIGTERM sends SHUTDOWN (host-signal).
--mode fd (keel only): --qmp-fd with a socketpair, --name.

    run_qmp.py --vmm keel --keel build/keel --probe build/tests/guest/probe.elf
    run_qmp.py --vmm qemu --probe build/tests/guest/probe.elf

The same script runs the same conversation against QEMU
(`-qmp unix:...,server=on,wait=off`), so both are held to one set of checks:
field names, JSON types and state transitions. Prints SKIPPED without
/dev/kvm or QEMU."""
import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from integration_common import Failure, Skip, require_kvm, run_and_report

DEBUG_EXIT_PORT = 0x501
TICK = re.compile(r"# ticker: (\d+)")
STEP_TIMEOUT = 60  # seconds; an emulated guest is slow to boot


class Vmm:
    """The VMM child; its console lines are collected by a thread."""

    def __init__(self, argv, pass_fds=()):
        self.lines = []
        self.condition = threading.Condition()
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, pass_fds=pass_fds)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in iter(self.process.stdout.readline, b""):
            with self.condition:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                self.condition.notify_all()

    def last_tick(self):
        with self.condition:
            ticks = [int(m.group(1)) for m in (TICK.search(line) for line in self.lines) if m]
        return ticks[-1] if ticks else 0

    def wait_for_tick(self, above, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.last_tick() > above:
                return self.last_tick()
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise Failure(f"the ticker did not pass {above} within {timeout} s; output: {self.tail()}")

    def tail(self):
        with self.condition:
            return " | ".join(self.lines[-8:])

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class Client:
    """One QMP client: reads lines, keeps events apart from replies."""

    def __init__(self, path, timeout, connected=None):
        if connected is not None:  # one end of a socketpair
            self.sock = connected
            self.sock.settimeout(STEP_TIMEOUT)
            self.stream = self.sock.makefile("rwb")
            self.events = []
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise Failure(f"cannot connect to the QMP socket {path}")
                time.sleep(0.1)
        self.sock.settimeout(STEP_TIMEOUT)
        self.stream = self.sock.makefile("rwb")
        self.events = []

    def read(self):
        line = self.stream.readline()
        if not line:
            raise Failure("the QMP connection closed")
        return json.loads(line)

    def send_raw(self, data):
        self.stream.write(data)
        self.stream.flush()

    def execute(self, name, arguments=None, **extra):
        message = {"execute": name, **extra}
        if arguments is not None:
            message["arguments"] = arguments
        self.send_raw(json.dumps(message).encode() + b"\n")
        return self.reply()

    def reply(self):
        while True:
            message = self.read()
            if "event" in message:
                self.events.append(message)
                continue
            return message

    def take_events(self):
        events, self.events = self.events, []
        return events

    def wait_for_event(self, name, timeout):
        """Reads until the event `name` arrives and returns it; other events
        stay in self.events. Only events may arrive meanwhile."""
        for i, event in enumerate(self.events):
            if event.get("event") == name:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.read()
            if message.get("event") == name:
                return message
            expect("event" in message, f"unexpected reply while waiting for {name}: {message}")
            self.events.append(message)
        raise Failure(f"no {name} event within {timeout} s; other events: {self.events}")

    def close(self):
        self.sock.close()


@contextlib.contextmanager
def qmp_session(vmm, path, also=()):
    """A client of `vmm`'s QMP socket at `path`. A socket, JSON or timeout
    error (or one of the exception types `also`) becomes a Failure carrying
    the VMM's last output; on the way out the client is closed and the VMM
    killed."""
    client = None
    try:
        client = Client(path, STEP_TIMEOUT)
        yield client
    except (OSError, ValueError, subprocess.TimeoutExpired, *also) as error:
        raise Failure(f"{type(error).__name__}: {error}; output: {vmm.tail()}")
    finally:
        if client:
            client.close()
        vmm.kill()


def expect(condition, what):
    if not condition:
        raise Failure(what)


def check_return(reply, what):
    expect("return" in reply, f"{what}: expected a return, got {reply}")
    return reply["return"]


def check_error(reply, error_class, what):
    expect("error" in reply, f"{what}: expected an error, got {reply}")
    error = reply["error"]
    expect(error.get("class") == error_class and isinstance(error.get("desc"), str),
           f"{what}: expected {error_class}, got {error}")
    return error["desc"]


def check_event(event, name):
    expect(event.get("event") == name, f"expected event {name}, got {event}")
    stamp = event.get("timestamp", {})
    expect(isinstance(stamp.get("seconds"), int) and isinstance(stamp.get("microseconds"), int),
           f"event {name}: bad timestamp {stamp}")


def check_status(client, status, running):
    result = check_return(client.execute("query-status"), "query-status")
    expect(set(result) == {"status", "singlestep", "running"}, f"query-status members: {result}")
    expect(result["status"] == status and result["running"] is running and result["singlestep"] is False,
           f"query-status: expected {status}, got {result}")


def probe_argv(args, qmp, cmdline, cpus=1, keel_extra=(), qemu_extra=()):
    """keel or QEMU (per args.vmm) on the probe guest with a QMP socket
    spec `qmp` (QEMU's syntax, which keel shares); shared by the QMP tests."""
    if args.vmm == "keel":
        return [args.keel, "run", "--kernel", args.probe, "--cmdline", cmdline, "--serial", "stdio",
                "--cpus", str(cpus), "--qmp", qmp, *keel_extra]
    return [args.qemu, "-enable-kvm", "-M", "pc", "-m", "512M", "-smp", str(cpus), "-display", "none",
            "-serial", "stdio", "-monitor", "none", "-no-reboot",
            "-device", f"isa-debug-exit,iobase={DEBUG_EXIT_PORT},iosize=2",
            "-kernel", args.probe, "-append", cmdline, "-qmp", qmp, *qemu_extra]


def wait_for_line(vmm, text, timeout):
    """Until a console line contains `text`; Failure if the VMM exits or
    `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with vmm.condition:
            if any(text in line for line in vmm.lines):
                return
        if vmm.process.poll() is not None:
            break
        time.sleep(0.05)
    raise Failure(f"no '{text}' line within {timeout} s; output: {vmm.tail()}")


def read_until_closed(client):
    """Every message until the VMM closes the connection (it exits)."""
    messages = []
    try:
        while True:
            messages.append(client.read())
    except (Failure, OSError):
        pass
    return messages


def vmm_argv(args, path):
    # server=on alone: QEMU's default wait=on, the guest starts once a client is there.
    qmp = f"unix:{path},server=on" + (",wait=off" if args.mode == "conversation" else "")
    return probe_argv(args, qmp, "tests=ticker ticks=0", cpus=args.cpus)


def conversation(vmm, client, args):
    greeting = client.read()
    version = greeting.get("QMP", {}).get("version", {})
    expect(set(version.get("qemu", {})) == {"major", "minor", "micro"} and isinstance(version.get("package"), str),
           f"greeting: {greeting}")
    expect(greeting["QMP"].get("capabilities") == [] or "oob" in greeting["QMP"].get("capabilities", []),
           f"greeting capabilities: {greeting}")
    check_error(client.execute("query-status"), "CommandNotFound", "a command before qmp_capabilities")
    expect(check_return(client.execute("qmp_capabilities"), "qmp_capabilities") == {}, "qmp_capabilities: not {}")

    vmm.wait_for_tick(0, STEP_TIMEOUT)
    check_status(client, "running", True)

    # stop: a STOP event, the ticker stands still.
    expect(check_return(client.execute("stop", id="s1"), "stop") == {}, "stop: not {}")
    events = client.take_events()
    expect(len(events) == 1, f"stop: expected one STOP event, got {events}")
    check_event(events[0], "STOP")
    expect("data" not in events[0], f"STOP carries no data: {events[0]}")
    check_status(client, "paused", False)
    time.sleep(0.5)  # a line already on its way may still arrive
    paused_at = vmm.last_tick()
    time.sleep(2.0)
    expect(vmm.last_tick() == paused_at, f"the ticker advanced while paused: {paused_at} -> {vmm.last_tick()}")
    hmp = check_return(client.execute("human-monitor-command", {"command-line": "info status"}), "info status")
    expect(hmp == "VM status: paused\r\n", f"info status while paused: {hmp!r}")
    # stop on a paused VM: {} and no event.
    expect(check_return(client.execute("stop"), "second stop") == {}, "second stop: not {}")
    expect(client.take_events() == [], "a second stop sent an event")

    # cont: a RESUME event, the ticker goes on.
    expect(check_return(client.execute("cont"), "cont") == {}, "cont: not {}")
    events = client.take_events()
    expect(len(events) == 1, f"cont: expected one RESUME event, got {events}")
    check_event(events[0], "RESUME")
    vmm.wait_for_tick(paused_at, STEP_TIMEOUT)
    check_status(client, "running", True)
    expect(check_return(client.execute("cont"), "cont while running") == {}, "cont while running: not {}")
    expect(client.take_events() == [], "cont while running sent an event")

    cpus = check_return(client.execute("query-cpus-fast"), "query-cpus-fast")
    expect(isinstance(cpus, list) and len(cpus) == args.cpus, f"query-cpus-fast: {cpus}")
    for index, cpu in enumerate(cpus):
        expect(set(cpu) == {"cpu-index", "qom-path", "thread-id", "props", "target"}, f"query-cpus-fast members: {cpu}")
        expect(cpu["cpu-index"] == index and cpu["target"] == "x86_64", f"query-cpus-fast: {cpu}")
        expect(isinstance(cpu["thread-id"], int) and cpu["thread-id"] > 0, f"thread-id: {cpu}")
        expect(re.fullmatch(r"/machine/unattached/device\[\d+\]", cpu["qom-path"]), f"qom-path: {cpu}")
        expect(set(cpu["props"]) == {"core-id", "thread-id", "socket-id"} and
               all(isinstance(v, int) for v in cpu["props"].values()), f"props: {cpu}")
        expect(os.path.isdir(f"/proc/{vmm.process.pid}/task/{cpu['thread-id']}"),
               f"thread-id {cpu['thread-id']} is not a thread of the VMM")

    expect(check_return(client.execute("query-name"), "query-name") == {}, "query-name without a name: not {}")
    hmp = check_return(client.execute("human-monitor-command", {"command-line": "info status"}), "info status")
    expect(hmp == "VM status: running\r\n", f"info status: {hmp!r}")

    # Bad input: errors, and the connection stays.
    check_error(client.execute("no-such-command"), "CommandNotFound", "an unknown command")
    check_error(client.execute("human-monitor-command", {"command-line": 5}), "GenericError", "a wrong type")
    check_error(client.execute("human-monitor-command"), "GenericError", "a missing argument")
    check_error(client.execute("stop", {"force": True}), "GenericError", "an unexpected argument")
    client.send_raw(b"{\"execute\": }\n")
    check_error(client.reply(), "GenericError", "garbage")
    client.send_raw(b"[1, 2]\n")
    check_error(client.reply(), "GenericError", "not an object")
    reply = client.execute("query-status", id={"n": [1, "x"]})
    expect(reply.get("id") == {"n": [1, "x"]}, f"the id was not echoed: {reply}")
    check_status(client, "running", True)

    # quit: as QEMU 7.2, SHUTDOWN (host-qmp-quit) comes before the {} reply; exit 0.
    expect(check_return(client.execute("quit"), "quit") == {}, "quit: not {}")
    expect([e.get("event") for e in client.events] == ["SHUTDOWN"],
           f"quit: expected SHUTDOWN before the reply, got {client.events}")
    try:
        while True:
            client.events.append(client.read())
    except (Failure, OSError):
        pass
    shutdown = [e for e in client.events if e.get("event") == "SHUTDOWN"]
    expect(len(shutdown) == 1, f"quit: expected one SHUTDOWN event, got {client.events}")
    check_event(shutdown[0], "SHUTDOWN")
    expect(shutdown[0].get("data") == {"guest": False, "reason": "host-qmp-quit"}, f"SHUTDOWN: {shutdown[0]}")
    status = vmm.process.wait(timeout=STEP_TIMEOUT)
    expect(status == 0, f"quit: exit status {status}, expected 0")


def wait_for_client(vmm, path):
    """server=on (wait=on): nothing runs until a client connects; then the
    guest starts, and quit ends it with status 0."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while not os.path.exists(path):
        expect(time.monotonic() < deadline and vmm.process.poll() is None, "the QMP socket never appeared")
        time.sleep(0.1)
    time.sleep(3.0)  # the guest would have printed by now on keel (a few hundred ms) if it ran
    expect(vmm.process.poll() is None, f"the VMM ended while waiting for a client: {vmm.tail()}")
    expect(vmm.last_tick() == 0, f"the guest ran before a QMP client connected: {vmm.tail()}")
    client = Client(path, STEP_TIMEOUT)
    try:
        expect("QMP" in client.read(), "no greeting")
        check_return(client.execute("qmp_capabilities"), "qmp_capabilities")
        vmm.wait_for_tick(0, STEP_TIMEOUT)
        check_return(client.execute("quit"), "quit")
    finally:
        client.close()
    status = vmm.process.wait(timeout=STEP_TIMEOUT)
    expect(status == 0, f"quit: exit status {status}, expected 0")


def on_signal(vmm, client):
    """SIGTERM: a SHUTDOWN event (guest false, host-signal) before the
    connection closes. keel exits 143, QEMU 0."""
    expect("QMP" in client.read(), "no greeting")
    check_return(client.execute("qmp_capabilities"), "qmp_capabilities")
    vmm.wait_for_tick(0, STEP_TIMEOUT)
    vmm.process.send_signal(signal.SIGTERM)
    events = read_until_closed(client)
    shutdown = [e for e in events if e.get("event") == "SHUTDOWN"]
    expect(len(shutdown) == 1, f"SIGTERM: expected one SHUTDOWN event, got {events}")
    check_event(shutdown[0], "SHUTDOWN")
    expect(shutdown[0].get("data") == {"guest": False, "reason": "host-signal"}, f"SHUTDOWN: {shutdown[0]}")
    status = vmm.process.wait(timeout=STEP_TIMEOUT)
    expect(status in (0, 143), f"SIGTERM: exit status {status}")


def run_fd(args):
    """keel --qmp-fd N: the parent hands keel one end of a socketpair."""
    require_kvm()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    argv = [args.keel, "run", "--kernel", args.probe, "--cmdline", "tests=ticker ticks=0", "--serial", "stdio",
            "--qmp-fd", str(theirs.fileno()), "--name", "probe-vm"]
    vmm = Vmm(argv, pass_fds=(theirs.fileno(),))
    theirs.close()
    client = Client(None, STEP_TIMEOUT, connected=ours)
    try:
        expect("QMP" in client.read(), "no greeting")
        check_return(client.execute("qmp_capabilities"), "qmp_capabilities")
        vmm.wait_for_tick(0, STEP_TIMEOUT)
        check_status(client, "running", True)
        name = check_return(client.execute("query-name"), "query-name")
        expect(name == {"name": "probe-vm"}, f"query-name: {name}")
        check_return(client.execute("quit"), "quit")
        status = vmm.process.wait(timeout=STEP_TIMEOUT)
        expect(status == 0, f"quit: exit status {status}, expected 0")
    except (OSError, ValueError, subprocess.TimeoutExpired) as error:
        raise Failure(f"{type(error).__name__}: {error}; output: {vmm.tail()}")
    finally:
        client.close()
        vmm.kill()


def run(args):
    if args.mode == "fd":
        return run_fd(args)
    require_kvm()
    if args.vmm == "qemu" and not shutil.which(args.qemu):
        raise Skip(f"{args.qemu} not installed")
    with tempfile.TemporaryDirectory(prefix="keel-qmp-") as scratch:
        path = os.path.join(scratch, "qmp.sock")
        vmm = Vmm(vmm_argv(args, path))
        client = None
        try:
            if args.mode == "wait":
                wait_for_client(vmm, path)
            elif args.mode == "signal":
                client = Client(path, STEP_TIMEOUT)
                on_signal(vmm, client)
            else:
                client = Client(path, STEP_TIMEOUT)
                conversation(vmm, client, args)
        except (OSError, ValueError, subprocess.TimeoutExpired) as error:
            raise Failure(f"{type(error).__name__}: {error}; output: {vmm.tail()}")
        finally:
            if client:
                client.close()
            vmm.kill()
        if args.vmm == "keel":
            expect(not os.path.exists(path), "keel left its QMP socket behind")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["conversation", "wait", "fd", "signal"], default="conversation")
    parser.add_argument("--vmm", choices=["keel", "qemu"], default="keel")
    parser.add_argument("--keel", default="build/keel")
    parser.add_argument("--qemu", default="qemu-system-x86_64")
    parser.add_argument("--probe", required=True)
    parser.add_argument("--cpus", type=int, default=1)
    return run_and_report(run, parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
