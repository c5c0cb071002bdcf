#!/usr/bin/env python3
"""`keel import-xml` end to end, no /dev/kvm needed: a libvirt domain XML
(as `virsh dumpxml` writes one, with the elements keel drops) becomes a
config that `keel run --config OUT --print-config` accepts with the same
values; `--args` becomes a command line the shell runs the same way; an
unsupported element is exit 1 and one line naming its XPath.

The element-by-element cases are in tests/unit/import_xml. Standard library only."""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

from integration_common import Failure, run_and_report

DOMAIN = """<domain type='kvm'>
  <name>web-1</name>
  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <memory unit='KiB'>1048576</memory>
  <currentMemory unit='KiB'>1048576</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <kernel>{dir}/vmlinuz</kernel>
    <initrd>{dir}/initrd.img</initrd>
    <cmdline>console=ttyS0 root=/dev/vda rw</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source file='{dir}/root.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='ethernet'>
      <mac address='52:54:00:12:34:56'/>
      <target dev='tap0' managed='no'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <input type='keyboard' bus='ps2'/>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def keel_run(keel, *args):
    done = subprocess.run([keel, *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    print(f"$ keel {shlex.join(args)}  -> {done.returncode}")
    print(done.stderr.decode("utf-8", "replace"), end="", file=sys.stderr)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def test(args):
    with tempfile.TemporaryDirectory(prefix="keel-import-xml-") as tmp:
        for name in ("vmlinuz", "initrd.img", "root.img"):
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(b"\0" * 4096)
        domain = os.path.join(tmp, "web-1.xml")
        with open(domain, "w") as f:
            f.write(DOMAIN.format(dir=tmp))

        status, out, err = keel_run(args.keel, "import-xml", domain)
        if status != 0:
            raise Failure(f"import-xml exit {status}: {err.strip()}")
        config = json.loads(out)
        want = {"name": "web-1", "kernel": f"{tmp}/vmlinuz", "initrd": f"{tmp}/initrd.img",
                "cmdline": "console=ttyS0 root=/dev/vda rw", "memory": "1G", "cpus": 2,
                "disk": [f"path={tmp}/root.img,direct=on"], "net": ["tap=tap0,model=virtio,mac=52:54:00:12:34:56"],
                "serial": "pty"}
        if config != want:
            raise Failure(f"config {config!r}, expected {want!r}")
        for dropped in ("/domain/uuid", "/domain/currentMemory", "/domain/clock", "/domain/devices/emulator"):
            if f": {dropped}: " not in err:
                raise Failure(f"no warning about {dropped} in {err!r}")
        config_path = os.path.join(tmp, "vm.json")
        with open(config_path, "w") as f:
            f.write(out)

        # What a run would check before touching /dev/kvm, and the same values back.
        status, printed, err = keel_run(args.keel, "run", "--config", config_path, "--print-config")
        if status != 0:
            raise Failure(f"keel run --config {config_path} --print-config: exit {status}: {err.strip()}")
        effective = json.loads(printed)
        for key, value in want.items():
            if effective.get(key) != value:
                raise Failure(f"--print-config {key}: {effective.get(key)!r}, expected {value!r}")

        status, line, err = keel_run(args.keel, "import-xml", "--args", domain)
        words = shlex.split(line)
        if status != 0 or words[:2] != ["keel", "run"]:
            raise Failure(f"--args: exit {status}, {line!r}")
        status, printed_args, err = keel_run(args.keel, *words[1:], "--print-config")
        if status != 0 or json.loads(printed_args) != effective:
            raise Failure(f"the --args command line gives another config: {printed_args!r} {err.strip()}")

        with open(domain, "w") as f:
            f.write(DOMAIN.format(dir=tmp).replace("bus='virtio'", "bus='ide'"))
        status, out, err = keel_run(args.keel, "import-xml", domain)
        want_err = (f"keel import-xml: {domain}: /domain/devices/disk/target/@bus: 'ide' is not supported "
                    f"(allowed: virtio)\n")
        if status != 1 or out or not err.endswith(want_err):
            raise Failure(f"bus='ide': exit {status}, stdout {out!r}, stderr {err!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keel", required=True, help="the keel binary")
    return run_and_report(test, parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
