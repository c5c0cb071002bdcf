#!/usr/bin/env python3
"""QMP input and queries on a running VM (issue 10), held to one set of checks
on keel and on QEMU 7.2.

--mode keys: the probe's i8042-inject suite prints its ready line and waits
for a, b, Enter; they come from three QMP send-key commands (no --send-keys),
so the guest passes only if send-key reaches its PS/2 keyboard as
1e 9e 30 b0 1c 9c (press, hold, release; one combo after the other).

--mode query: the ticker probe with one raw disk; query-block (virtio0, raw,
its path and size), query-pci (bus 0: the i440FX host bridge at 00.0 and a
virtio-blk function (mass-storage class), fields and types as QEMU's), input-send-event
(rel accepted; abs refused as on a `pc` without a tablet) and send-key's
argument errors, then quit.

    run_qmp_input.py --mode keys --vmm keel --keel build/keel --probe build/tests/guest/probe.elf
    run_qmp_input.py --mode query --vmm qemu --probe build/tests/guest/probe.elf
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

from integration_common import Skip, require_kvm, run_and_report
from run_qmp import (STEP_TIMEOUT, Vmm, check_error, check_return, expect, probe_argv, qmp_session,
                     wait_for_line)

READY = "i8042-inject: ready"
DISK_SIZE = 1 << 20


def vmm_argv(args, qmp_path, cmdline, disk=None):
    qmp = f"unix:{qmp_path},server=on,wait=off"
    keel_extra = ["--disk", f"path={disk}"] if disk else []
    qemu_extra = ["-drive", f"file={disk},if=virtio,format=raw"] if disk else []
    return probe_argv(args, qmp, cmdline, keel_extra=keel_extra, qemu_extra=qemu_extra)


def guest_value(args, status):
    if args.vmm == "keel":
        return status
    return status >> 1 if status > 0 and status & 1 else None  # isa-debug-exit


def qcode(name):
    return {"type": "qcode", "data": name}


def run_keys(args, scratch):
    path = os.path.join(scratch, "qmp.sock")
    vmm = Vmm(vmm_argv(args, path, f"tests=i8042-inject now={int(time.time())}"))
    with qmp_session(vmm, path) as client:
        expect("QMP" in client.read(), "no greeting")
        check_return(client.execute("qmp_capabilities"), "qmp_capabilities")
        wait_for_line(vmm, READY, STEP_TIMEOUT)
        for key in ("a", "b", "ret"):
            expect(check_return(client.execute("send-key", {"keys": [qcode(key)]}), "send-key") == {},
                   "send-key: not {}")
        status = vmm.process.wait(timeout=STEP_TIMEOUT)
        value = guest_value(args, status)
        expect(value == 0, f"the probe did not get a, b, Enter: exit status {status}; output: {vmm.tail()}")
        with vmm.condition:
            expect(not any(line.startswith("not ok") for line in vmm.lines), f"a probe check failed: {vmm.tail()}")


def check_block(client, disk):
    blocks = check_return(client.execute("query-block"), "query-block")
    expect(isinstance(blocks, list), f"query-block: {blocks}")
    # QEMU's pc without -nodefaults adds its CD-ROM, floppy and SD slots (removable, empty).
    fixed = [block for block in blocks if block.get("removable") is False]
    expect(len(fixed) == 1, f"query-block: expected one fixed disk, got {blocks}")
    block = fixed[0]
    expect({"device", "qdev", "locked", "removable", "inserted", "type"} <= set(block), f"query-block members: {block}")
    expect(block["device"] == "virtio0" and block["locked"] is False and block["removable"] is False,
           f"query-block: {block}")
    expect(block["qdev"].startswith("/machine/peripheral-anon/device[") and block["qdev"].endswith("]/virtio-backend"),
           f"qdev: {block['qdev']}")
    inserted = block["inserted"]
    expect({"file", "ro", "drv", "image", "cache", "encrypted", "detect_zeroes", "backing_file_depth"} <= set(inserted),
           f"inserted members: {inserted}")
    expect(inserted["file"] == disk and inserted["ro"] is False and inserted["drv"] == "raw", f"inserted: {inserted}")
    image = inserted["image"]
    expect(image.get("filename") == disk and image.get("format") == "raw" and image.get("virtual-size") == DISK_SIZE,
           f"image: {image}")
    expect(set(inserted["cache"]) == {"writeback", "direct", "no-flush"}, f"cache: {inserted['cache']}")


def check_pci(client):
    buses = check_return(client.execute("query-pci"), "query-pci")
    expect(isinstance(buses, list) and len(buses) == 1 and buses[0].get("bus") == 0, f"query-pci: {buses}")
    devices = buses[0]["devices"]
    for device in devices:
        expect({"bus", "slot", "function", "class_info", "id", "irq_pin", "qdev_id", "regions"} <= set(device),
               f"query-pci device members: {device}")
        expect(set(device["id"]) == {"device", "vendor", "subsystem", "subsystem-vendor"}, f"id: {device['id']}")
        expect(isinstance(device["class_info"].get("class"), int), f"class_info: {device['class_info']}")
        expect(("irq" in device) == (device["irq_pin"] != 0), f"irq only with a pin: {device}")
        for region in device["regions"]:
            expect({"bar", "type", "address", "size"} <= set(region) and region["type"] in ("io", "memory"),
                   f"region: {region}")
            if region["type"] == "memory":
                expect(isinstance(region.get("prefetch"), bool) and isinstance(region.get("mem_type_64"), bool),
                       f"memory region: {region}")
    host = [d for d in devices if d["slot"] == 0 and d["function"] == 0]
    expect(len(host) == 1 and host[0]["id"]["vendor"] == 0x8086 and host[0]["id"]["device"] == 0x1237 and
           host[0]["class_info"] == {"class": 0x0600, "desc": "Host bridge"}, f"host bridge: {host}")
    # Mass storage: QEMU's virtio-blk says 0x0100 (SCSI), keel's 0x0180 (other).
    blk = [d for d in devices if d["id"]["vendor"] == 0x1AF4 and d["class_info"]["class"] >> 8 == 0x01]
    expect(len(blk) == 1 and isinstance(blk[0]["class_info"].get("desc"), str) and blk[0]["irq_pin"] == 1,
           f"virtio-blk function: {blk} in {devices}")
    expect(any(r["type"] == "memory" and r["address"] != -1 for r in blk[0]["regions"]),
           f"virtio-blk has no mapped memory BAR: {blk[0]['regions']}")


def run_query(args, scratch):
    path = os.path.join(scratch, "qmp.sock")
    disk = os.path.join(scratch, "disk.img")
    with open(disk, "wb") as image:
        image.truncate(DISK_SIZE)
    vmm = Vmm(vmm_argv(args, path, "tests=ticker ticks=0", disk))
    with qmp_session(vmm, path, also=(KeyError, TypeError)) as client:
        expect("QMP" in client.read(), "no greeting")
        check_return(client.execute("qmp_capabilities"), "qmp_capabilities")
        vmm.wait_for_tick(0, STEP_TIMEOUT)
        check_block(client, disk)
        check_pci(client)
        rel = {"type": "rel", "data": {"axis": "x", "value": 5}}
        expect(check_return(client.execute("input-send-event", {"events": [rel]}), "rel") == {}, "rel: not {}")
        desc = check_error(client.execute("input-send-event", {"events": [rel, {"type": "abs", "data": {
            "axis": "x", "value": 5}}]}), "GenericError", "abs")
        expect(desc == "Input handler not found for event type abs", f"abs: {desc}")
        desc = check_error(client.execute("send-key", {"keys": [qcode("no_such_key")]}), "GenericError", "bad key")
        expect(desc == "Parameter 'data' does not accept value 'no_such_key'", f"bad key: {desc}")
        desc = check_error(client.execute("send-key", {"keys": [{"data": 1}]}), "GenericError", "no type")
        expect(desc == "Parameter 'keys[0].type' is missing", f"no type: {desc}")
        expect(check_return(client.execute("send-key", {"keys": [{"type": "number", "data": 0x2A}]}), "number") == {},
               "send-key number: not {}")
        check_return(client.execute("quit"), "quit")
        status = vmm.process.wait(timeout=STEP_TIMEOUT)
        expect(status == 0, f"quit: exit status {status}")


def run(args):
    require_kvm()
    if args.vmm == "qemu" and not shutil.which(args.qemu):
        raise Skip(f"{args.qemu} not installed")
    with tempfile.TemporaryDirectory(prefix="keel-qmp-input-") as scratch:
        if args.mode == "keys":
            run_keys(args, scratch)
        else:
            run_query(args, scratch)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["keys", "query"], default="query")
    parser.add_argument("--vmm", choices=["keel", "qemu"], default="keel")
    parser.add_argument("--keel", default="build/keel")
    parser.add_argument("--qemu", default="qemu-system-x86_64")
    parser.add_argument("--probe", required=True)
    return run_and_report(run, parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
