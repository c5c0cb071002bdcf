#!/usr/bin/env python3
"""keel run --user nobody --chroot <empty dir>: the probe guest still works.

Boots the probe's virtio-blk suite on a root-only (0600) disk image with
--user nobody --chroot <an empty directory> and the --result-json and
--junit reports in a directory outside the jail that only nobody may write
to, then checks:
  - a clean TAP run and keel's exit status 0 (--expect "# probe: done");
  - the image holds the guest's pattern (keel opened it as root, before the
    drop, and wrote it as nobody through the open descriptor);
  - both reports landed where the command line named them, owned by nobody
    (written after the drop), no temporary file left, the jail still empty;
  - keel said it ran as nobody in the jail, and /proc/<pid> agreed whenever
    the runner caught it after the drop (best effort: the run is short);
  - started as nobody, `keel run --user nobody` is refused in one line.

    run_privileges.py --keel build/keel --probe build/tests/guest/probe.elf

Needs root (SKIPPED otherwise), a user `nobody` and /dev/kvm.
"""

import argparse
import json
import os
import pwd
import subprocess
import sys
import tempfile
import threading
import time

from integration_common import Failure, Skip, require_kvm, run_and_report
from run_probe import DISK_SECTORS, DISK_SERIAL, SECTOR, check_tap, describe_difference, expected_image


def watch_identity(pid, seen, stop):
    """Samples /proc/<pid>/status (Uid:) and /proc/<pid>/root until `stop`."""
    while not stop.is_set():
        try:
            with open(f"/proc/{pid}/status") as status:
                uid_line = next((line for line in status if line.startswith("Uid:")), "")
            root = os.readlink(f"/proc/{pid}/root")
            seen.append((uid_line.split()[1:], root))
        except (OSError, StopIteration):
            pass
        time.sleep(0.002)


def run(args):
    if os.geteuid() != 0:
        raise Skip("needs root (keel must start as root to use --user and --chroot)")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("no user 'nobody' on this host")
    require_kvm()
    with tempfile.TemporaryDirectory(prefix="keel-priv-") as scratch:
        os.chmod(scratch, 0o755)
        jail = os.path.join(scratch, "jail")
        reports = os.path.join(scratch, "reports")
        os.mkdir(jail, 0o755)
        os.mkdir(reports, 0o700)
        os.chown(reports, nobody.pw_uid, nobody.pw_gid)
        disk = os.path.join(scratch, "disk.img")
        with open(disk, "wb") as image:
            image.truncate(DISK_SECTORS * SECTOR)
        os.chmod(disk, 0o600)  # root's only: nobody could not open it
        result_json = os.path.join(reports, "result.json")
        junit = os.path.join(reports, "junit.xml")
        cmdline = f"tests=virtio-blk virtio-irq=msix virtio-serial={DISK_SERIAL} virtio-sectors={DISK_SECTORS}"
        argv = [args.keel, "run", "--kernel", args.probe, "--cmdline", cmdline, "--serial", "stdio", "--cpus", "2",
                "--disk", f"path={disk},serial={DISK_SERIAL}", "--user", "nobody", "--chroot", jail,
                "--result-json", result_json, "--junit", junit, "--expect", "# probe: done", "--fail-on", "^not ok",
                "--log-level", "info"]
        print("# runner: " + " ".join(argv))
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        seen, stop = [], threading.Event()
        watcher = threading.Thread(target=watch_identity, args=(process.pid, seen, stop), daemon=True)
        watcher.start()
        try:
            stdout, stderr = process.communicate(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise Failure(f"timed out after {args.timeout} s")
        finally:
            stop.set()
            watcher.join()
        lines = stdout.decode("utf-8", "replace").replace("\r", "").splitlines()
        errors = stderr.decode("utf-8", "replace")
        for line in lines + errors.splitlines():
            print("# " + line)
        check_tap(lines)
        if process.returncode != 0:
            raise Failure(f"keel exited {process.returncode}, want 0")

        with open(disk, "rb") as image:
            actual = image.read()
        if actual != expected_image(DISK_SECTORS):
            raise Failure("image check: " + describe_difference(actual, expected_image(DISK_SECTORS)))

        for path in (result_json, junit):
            if not os.path.exists(path):
                raise Failure(f"report {path} was not written")
            owner = os.stat(path).st_uid
            if owner != nobody.pw_uid:
                raise Failure(f"report {path} is owned by uid {owner}, want nobody ({nobody.pw_uid})")
        leftovers = sorted(set(os.listdir(reports)) - {"result.json", "junit.xml"})
        if leftovers:
            raise Failure(f"files left next to the reports: {leftovers}")
        if os.listdir(jail):
            raise Failure(f"keel wrote into the jail: {os.listdir(jail)}")
        with open(result_json) as report:
            result = json.load(report)
        if result.get("status") != "passed":
            raise Failure(f"--result-json says {result.get('status')}: {result.get('summary')}")

        said = f"running as uid {nobody.pw_uid} gid {nobody.pw_gid} in {jail}"
        if said not in errors:
            raise Failure(f"keel's log lacks '{said}'")
        dropped = [(uids, root) for uids, root in seen if uids and uids[0] != "0"]
        for uids, root in dropped:
            if uids != [str(nobody.pw_uid)] * 4 or root != jail:
                raise Failure(f"/proc/{process.pid}: uids {uids}, root {root}; want nobody in {jail}")
        print(f"# runner: /proc/{process.pid} sampled {len(seen)} times, {len(dropped)} after the drop"
              " (all nobody, root = the jail)")

    # Started without root, --user is refused before anything is opened.
    def become_nobody():
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)

    refused = subprocess.run([args.keel, "run", "--user", "nobody"], stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=30, preexec_fn=become_nobody)
    message = refused.stderr.decode("utf-8", "replace")
    if refused.returncode != 1 or "keel must start as root" not in message or message.count("\n") != 1:
        raise Failure(f"as nobody, keel run --user nobody: exit {refused.returncode}, stderr {message!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keel", required=True)
    parser.add_argument("--probe", required=True)
    parser.add_argument("--timeout", type=float, default=150)
    args = parser.parse_args()
    return run_and_report(run, args)


if __name__ == "__main__":
    sys.exit(main())
