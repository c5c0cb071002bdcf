#!/usr/bin/env python3
"""Writes the hand-made seed inputs of each fuzz target into corpus/<target>/.

Seeds are well-formed requests the fuzzer starts mutating from; they are
committed, and so is this script, so a change to a target's input format
can regenerate them. The byte layout of each target's input is described
at the top of its harness. Run: python3 tests/fuzz/make_seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

def u8(v): return struct.pack('<B', v & 0xFF)
def u16(v): return struct.pack('<H', v & 0xFFFF)
def u32(v): return struct.pack('<I', v & 0xFFFFFFFF)
def u64(v): return struct.pack('<Q', v)

NEXT, WRITE, INDIRECT = 1, 2, 4

def desc(addr, length, flags=0, nxt=0):
    return u64(addr) + u32(length) + u16(flags) + u16(nxt)

class Ram:
    def __init__(self, size):
        self.b = bytearray(size)
    def put(self, off, data):
        self.b[off:off + len(data)] = data

def split_ring(ram, size, desc_at, avail_at, heads, descriptors, tables=()):
    """Descriptors (list of desc bytes), avail ring with `heads`."""
    for i, d in enumerate(descriptors):
        ram.put(desc_at + 16 * i, d)
    ram.put(avail_at, u16(0) + u16(len(heads)) + b''.join(u16(h) for h in heads))
    for at, entries in tables:
        ram.put(at, b''.join(entries))

def write(target, name, data):
    folder = os.path.join(HERE, 'corpus', target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), 'wb') as f:
        f.write(data)

# --- virtqueue ------------------------------------------------------------
def virtqueue_seed(features, script, ram, size_log2=3, base_sel=0):
    header = u16(len(ram.b) - 1) + u8(base_sel) + u8(size_log2)
    base = base_sel << 16
    for addr in (0x100, 0x200, 0x300):
        header += u8(0) + u32(addr)
    header += u8(features) + u8(len(script) // 4)
    return header + script + bytes(ram.b)

def virtqueue_seeds():
    # Small RAM keeps executions fast: rings at 0x100/0x200/0x300, buffers above.
    ram = Ram(0x800)
    split_ring(ram, 8, 0x100, 0x200, [0, 2],
               [desc(0x400, 16, NEXT, 1), desc(0x500, 256, WRITE), desc(0x600, 32, INDIRECT)],
               [(0x600, [desc(0x680, 16, NEXT, 1), desc(0x700, 64, WRITE)])])
    pop, push_known, irq, notif = b'\x00', b'\x01', b'\x03', b'\x04'
    script = (pop + b'\0\0\0' + pop + b'\0\0\0' + push_known + b'\0\0\0' + irq + b'\0\0\0'
              + push_known + b'\0\0\0' + notif + b'\x01\0\0' + pop + b'\0\0\0' + irq + b'\0\0\0')
    write('virtqueue', 'seed-direct-and-indirect', virtqueue_seed(0x3, script, ram))
    write('virtqueue', 'seed-plain', virtqueue_seed(0x0, script, ram))
    write('virtqueue', 'seed-empty', b'')

# --- virtio_blk -------------------------------------------------------------
def blk_seed(choices, script, ram, feature_mask=0xFFFFFFFF, capacity=64):
    header = u16(len(ram.b) - 1) + u8(0) + u8(4)  # a 16-entry queue
    for addr in (0x100, 0x200, 0x300):
        header += u8(0) + u16(addr)
    header += u8(choices) + u16(capacity)
    if choices & 8:
        header += u8(5)  # -EIO
    header += u32(feature_mask) + u8(len(script) // 4)
    return header + script + bytes(ram.b)

def blk_seeds():
    IN, OUT, FLUSH, GET_ID, DISCARD = 0, 1, 4, 8, 11
    ram = Ram(0x1000)
    descriptors = []
    heads = []
    # read 512 bytes of sector 1; write 512 bytes at sector 2; flush; get-id
    # (each: header, optional data, status byte at 0x?F0)
    requests = [(IN, 1, 512, True), (OUT, 2, 512, False), (FLUSH, 0, 0, False), (GET_ID, 0, 20, True),
                (DISCARD, 0, 16, False)]
    at = 0x400
    for type_, sector, length, writable in requests:
        head = len(descriptors)
        heads.append(head)
        ram.put(at, u32(type_) + u32(0) + u64(sector))
        if type_ == DISCARD:
            ram.put(at + 0x10, u64(8) + u32(8) + u32(0))
        descriptors.append(desc(at, 16, NEXT, head + 1))
        if length:
            descriptors.append(desc(at + 0x10, length, NEXT | (WRITE if writable else 0), head + 2))
        descriptors.append(desc(at + 0x10 + 512, 1, WRITE))
        at += 0x10 + 512 + 16
        at = (at + 0xF) & ~0xF
    ram.b = bytearray(max(len(ram.b), at + 0x10))
    split_ring(ram, 16, 0x100, 0x200, heads, descriptors)
    notify, complete, cfg, reset = b'\x00', b'\x02', b'\x04', b'\x05'
    script = notify + complete + notify + complete + cfg + b'\x00\x08' + notify + reset + notify + complete
    script += b'\0' * ((-len(script)) % 4)
    write('virtio_blk', 'seed-requests', blk_seed(0x3, script, ram))
    write('virtio_blk', 'seed-requests-eio', blk_seed(0x8, script, ram))
    write('virtio_blk', 'seed-readonly', blk_seed(0x4, script, ram))
    write('virtio_blk', 'seed-empty', b'')

if __name__ == '__main__':
    virtqueue_seeds()
    blk_seeds()
