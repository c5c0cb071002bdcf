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

def blk_request_ram():
    """RAM with a 16-entry ring (desc 0x100, avail 0x200, used 0x300) holding
    read, write, flush, get-id and discard requests; returns the Ram."""
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
    return ram

def blk_seeds():
    ram = blk_request_ram()
    notify, complete, cfg, reset = b'\x00', b'\x02', b'\x04', b'\x05'
    script = notify + complete + notify + complete + cfg + b'\x00\x08' + notify + reset + notify + complete
    script += b'\0' * ((-len(script)) % 4)
    write('virtio_blk', 'seed-requests', blk_seed(0x3, script, ram))
    write('virtio_blk', 'seed-requests-eio', blk_seed(0x8, script, ram))
    write('virtio_blk', 'seed-readonly', blk_seed(0x4, script, ram))
    write('virtio_blk', 'seed-empty', b'')

# --- pci_msix ---------------------------------------------------------------
def pci_op(kind, operands=b''):
    assert len(operands) <= 15
    return u8(kind) + operands + b'\0' * (15 - len(operands))

def pci_msix_seed(ops, ram, capacity=64):
    header = u16(len(ram.b) - 1) + u8(0) + u16(capacity) + u8(len(ops))
    return header + b''.join(ops) + bytes(ram.b)

def pci_msix_seeds():
    ram = blk_request_ram()
    CFG_W, CFG_R, BAR_W, BAR_R, ENTRY, CONTROL, QUEUE, STATUS, FEATURES, DOORBELL, COMPLETE = range(11)
    ENABLE, FMASK = 2, 1  # CONTROL operand bits: (bits & 3) << 14
    def entry(index, data, masked=False, qword=False):
        return pci_op(ENTRY, u8(index) + u16(0) + u32(data) + u8((1 if masked else 0) | (2 if qword else 0)))
    bring_up = [
        pci_op(CONTROL, u8(ENABLE)),
        entry(0, 0x20), entry(1, 0x21, qword=True),
        pci_op(STATUS, u8(1)), pci_op(STATUS, u8(3)),
        pci_op(FEATURES, u64(1 << 32) + u8(0)),  # VERSION_1; config changes on vector 0
        pci_op(STATUS, u8(0xB)),
        pci_op(QUEUE, u8(0) + u8(4) + u16(0x100) + u16(0x200) + u16(0x300) + u8(1) + u8(1)),
        pci_op(STATUS, u8(0xF)),
    ]
    RAM_W = 11
    traffic = [
        pci_op(DOORBELL, u8(0)),
        pci_op(CONTROL, u8(ENABLE | FMASK)),  # completions now go pending
        pci_op(COMPLETE),
        pci_op(BAR_R, u8(0) + u16(0x20) + u8(3)),  # the PBA
        pci_op(CONTROL, u8(ENABLE)),  # ... and are delivered once
        entry(1, 0x21, masked=True),
        pci_op(RAM_W, u16(0x202) + u8(6)),  # the driver offers head 0 again (avail idx 6)
        pci_op(DOORBELL, u8(0)), pci_op(COMPLETE),
        entry(1, 0x22),  # unmask with a new message: the pending vector is delivered
        pci_op(BAR_R, u8(1) + u16(0x1000) + u8(0)),  # the ISR
        pci_op(STATUS, u8(0)),
    ]
    write('pci_msix', 'seed-bring-up', pci_msix_seed(bring_up + traffic, ram))
    config = [
        pci_op(CFG_R, u16(0) + u8(2)),
        pci_op(CFG_W, u16(4) + u8(1) + u64(0x406)),  # command: memory, bus master, INTx disable
        pci_op(CFG_W, u16(0x10) + u8(2) + u64(0xFFFFFFFF)),  # BAR0 sizing
        pci_op(CFG_R, u16(0x10) + u8(2)),
        pci_op(CFG_W, u16(0x18) + u8(3) + u64(0xFFFFFFFFFFFFFFFF)),  # BAR2/3 sizing, one qword
        pci_op(CFG_R, u16(0x34) + u8(0)),  # capabilities pointer
        pci_op(CFG_W, u16(0xFFC) + u8(2) + u64(0x12345678)),  # the last dword of extended space
        pci_op(BAR_W, u8(0) + u16(0x0C) + u8(2) + u64(0)),  # unmask entry 0 with MSI-X off
        pci_op(BAR_W, u8(1) + u16(0x14) + u8(0) + u64(3)),  # status via BAR2, one byte
    ]
    write('pci_msix', 'seed-config', pci_msix_seed(config, Ram(0x100)))
    write('pci_msix', 'seed-empty', b'')

# --- virtio_net -------------------------------------------------------------
def net_seed(features, script, pool, ram):
    header = u16(len(ram.b) - 1) + u8(0)
    for q in range(3):  # rx, tx, control: 8 entries at 0x100 + 0x300 * q
        header += u8(3)
        for part in range(3):
            header += u8(0) + u16(0x100 + 0x300 * q + 0x100 * part)
    header += u64(features) + u16(len(pool)) + u8(len(script) // 4)
    return header + script + pool + bytes(ram.b)

def net_seeds():
    ram = Ram(0x2000)
    # rx: two 2 KiB buffers.
    split_ring(ram, 8, 0x100, 0x200, [0, 1], [desc(0x1000, 0x800, WRITE), desc(0x1800, 0x800, WRITE)])
    # tx: a 60-byte broadcast frame behind a zero header, once in one
    # descriptor, once split header / frame.
    ethernet = b'\xff' * 6 + bytes([2, 0, 0, 0, 0, 0x99]) + b'\x08\x00' + bytes(range(46))
    frame = b'\0' * 12 + ethernet
    ram.put(0xA00, frame)
    split_ring(ram, 8, 0x400, 0x500, [0, 1],
               [desc(0xA00, len(frame), 0), desc(0xA00, 12, NEXT, 2), desc(0xA0C, len(ethernet))])
    # control: RX_MODE PROMISC on, then the ack byte.
    ram.put(0xC00, bytes([0, 0]) + b'\0' * 6 + bytes([1]))
    split_ring(ram, 8, 0x700, 0x800, [0],
               [desc(0xC00, 2, NEXT, 1), desc(0xC08, 1, NEXT, 2), desc(0xC10, 1, WRITE)])
    DOORBELL, FRAME, PUMP, PRESSURE, RAM_W, CONFIG, RESCHEDULED, RESET = 0, 2, 3, 4, 5, 6, 7, 8
    def op(kind, a=0, b=0, c=0): return bytes([kind, a, b, c])
    script = (op(DOORBELL, 0) + op(FRAME, len(frame)) + op(PUMP, 1) + op(DOORBELL, 1) + op(DOORBELL, 2)
              + op(FRAME, len(frame)) + op(FRAME, 0, 1) + op(PUMP, 3) + op(CONFIG, 0, 6) + op(PRESSURE, 1)
              + op(RAM_W, 0x02, 0x05, 4) + op(DOORBELL, 1) + op(PRESSURE, 0, 1) + op(RESCHEDULED)
              + op(RESET) + op(DOORBELL, 1) + op(DOORBELL, 0) + op(PUMP, 2))
    MAC, STATUS, CTRL_VQ, CTRL_RX = 1 << 5, 1 << 16, 1 << 17, 1 << 18
    write('virtio_net', 'seed-all-features', net_seed(0xFFFFFFFFFFFFFFFF, script, frame, ram))
    write('virtio_net', 'seed-basic', net_seed(MAC | STATUS | CTRL_VQ | CTRL_RX, script, frame, ram))
    write('virtio_net', 'seed-no-ctrl', net_seed(MAC, script, frame, ram))
    write('virtio_net', 'seed-empty', b'')

# --- e1000 ------------------------------------------------------------------
E1000_REGS = ['CTRL', 'STATUS', 'EECD', 'EERD', 'MDIC', 'ICR', 'ITR', 'ICS', 'IMS', 'IMC', 'RCTL', 'TCTL',
              'RDBAL', 'RDBAH', 'RDLEN', 'RDH', 'RDT', 'RDTR', 'RADV', 'TDBAL', 'TDBAH', 'TDLEN', 'TDH', 'TDT']

def e1000_op(kind, operands=b''):
    assert len(operands) <= 7
    return u8(kind) + operands + b'\0' * (7 - len(operands))

def e1000_seed(ops, pool, ram):
    header = u16(len(ram.b) - 1) + u8(0) + u16(len(pool)) + u8(len(ops))
    return header + b''.join(ops) + pool + bytes(ram.b)

def e1000_seeds():
    ram = Ram(0x2000)
    ethernet = b'\xff' * 6 + bytes([2, 0, 0, 0, 0, 0x99]) + b'\x08\x00' + bytes(range(46))
    ram.put(0x400, ethernet)
    EOP, IFCS, RS = 0x01, 0x02, 0x08
    # tx ring at 0x100 (8 legacy descriptors): one frame, then an empty descriptor.
    ram.put(0x100, u64(0x400) + u16(len(ethernet)) + u8(0) + u8(EOP | IFCS | RS) + u32(0))
    # rx ring at 0x200: two 2 KiB buffers.
    ram.put(0x200, u64(0x800) + u64(0))
    ram.put(0x210, u64(0x1000) + u64(0))
    def w(name, value): return e1000_op(0, u8(E1000_REGS.index(name)) + u32(value))
    def ring(name, value): return e1000_op(0x80, u8(E1000_REGS.index(name)) + u32(value))
    FRAME, TIME, ANY = 4, 5, 2
    ops = [w('CTRL', 0x40), w('IMS', 0x9D),
           ring('TDBAL', 0x100), ring('TDBAH', 0), ring('TDLEN', 0), w('TDH', 0), w('TDT', 0), w('TCTL', 0x2),
           w('TDT', 1),
           ring('RDBAL', 0x200), ring('RDBAH', 0), ring('RDLEN', 0), w('RDH', 0), w('RDT', 2), w('RDTR', 4),
           w('RCTL', 0x8002),
           e1000_op(FRAME, u16(12 + len(ethernet)) + u8(0) + u8(1)),
           e1000_op(TIME, u16(1000)),
           e1000_op(ANY, u32(0xC0) + u8(2)),  # read ICR
           w('TDT', 2),
           e1000_op(FRAME, u16(12 + len(ethernet)) + u8(0) + u8(2)),
           e1000_op(ANY | 0x80, u32(0x4000) + u8(2)),  # a statistics register
           e1000_op(3 | 0x80, u8(0) + u8(2) + u32(0x8)),  # IOADDR = STATUS
           e1000_op(3, u8(4) + u8(2)),  # IODATA
           w('CTRL', 0x04000000)]  # reset
    pool = b'\0' * 12 + ethernet
    write('e1000', 'seed-rings', e1000_seed(ops, pool, ram))
    write('e1000', 'seed-empty', b'')

if __name__ == '__main__':
    virtqueue_seeds()
    blk_seeds()
    pci_msix_seeds()
    net_seeds()
    e1000_seeds()
