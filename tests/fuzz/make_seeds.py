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

# --- boot loaders (bzimage, pvh_elf, multiboot) -------------------------------
def boot_seed(image, ram_size=0x120000, layout=0, high=0, cpus=1, initrd=0, cmdline=b'console=ttyS0'):
    """The machine prefix of tests/fuzz/boot_check.h, then the image."""
    out = u32(ram_size - 1) + u8(layout)
    if layout & 8:
        out += u16(high - 1)
    out += u8(cpus)
    if layout & 16:
        out += u16(initrd - 1)
    return out + u16(len(cmdline)) + cmdline + image

def pattern(size, seed):
    return bytes(((i * 7 + seed + (i >> 8)) & 0xFF) for i in range(size))

def bzimage(version=0x020F, relocatable=1, pref=0x100000, init_size=0x10000, kernel_size=0x1000, setup_sects=1):
    setup = bytearray((setup_sects + 1) * 512)
    def put(at, data): setup[at:at + len(data)] = data
    put(0x1F1, u8(setup_sects)); put(0x1FE, u16(0xAA55)); put(0x200, u8(0xEB)); put(0x201, u8(0x6A))
    put(0x202, b'HdrS'); put(0x206, u16(version)); put(0x211, u8(0x01)); put(0x214, u32(0x100000))
    put(0x22C, u32(0x37FFFFFF)); put(0x230, u32(0x1000)); put(0x234, u8(relocatable)); put(0x236, u16(0x3))
    put(0x238, u32(2047)); put(0x258, u64(pref)); put(0x260, u32(init_size))
    return bytes(setup) + pattern(kernel_size, 0x5A)

def elf(is64, entry, segments, machine=None):
    """segments: (type, paddr, data, memsz, align); data follows the headers."""
    header_size, phdr_size = (64, 56) if is64 else (52, 32)
    offset = header_size + phdr_size * len(segments)
    offset = (offset + 3) & ~3
    head = bytearray(b'\x7fELF' + bytes([2 if is64 else 1, 1, 1]) + bytes(9))
    head += u16(2) + u16(machine if machine is not None else (62 if is64 else 3)) + u32(1)
    if is64:
        head += u64(entry) + u64(header_size) + u64(0) + u32(0) + u16(64) + u16(56) + u16(len(segments)) + u16(0) * 3
    else:
        head += u32(entry) + u32(header_size) + u32(0) + u32(0) + u16(52) + u16(32) + u16(len(segments)) + u16(0) * 3
    phdrs, body = b'', b''
    for type_, paddr, data, memsz, align in segments:
        at = offset + len(body)
        if is64:
            phdrs += u32(type_) + u32(7) + u64(at) + u64(paddr) + u64(paddr) + u64(len(data)) + u64(memsz) + u64(align)
        else:
            phdrs += u32(type_) + u32(at) + u32(paddr) + u32(paddr) + u32(len(data)) + u32(memsz) + u32(7) + u32(align)
        body += data + b'\0' * ((-len(data)) % 4)
    image = bytes(head) + phdrs
    return image + b'\0' * (offset - len(image)) + body

def xen_note(entry, width=4):
    desc = u32(entry) if width == 4 else u64(entry)
    return u32(4) + u32(len(desc)) + u32(18) + b'Xen\0' + desc

def multiboot_header(flags, addresses=None):
    out = u32(0x1BADB002) + u32(flags) + u32(-(0x1BADB002 + flags))
    if addresses:
        out += b''.join(u32(a) for a in addresses)
    return out

def boot_seeds():
    PT_LOAD, PT_NOTE = 1, 4
    write('bzimage', 'seed-minimal', boot_seed(bzimage()))
    write('bzimage', 'seed-initrd-high-ram', boot_seed(bzimage(), layout=8 | 16, high=0x1000, cpus=4, initrd=0x2000))
    write('bzimage', 'seed-fixed-2.12', boot_seed(bzimage(version=0x020C, relocatable=0, init_size=0x2000)))
    write('bzimage', 'seed-pref-above', boot_seed(bzimage(pref=0x110000, kernel_size=0x800), ram_size=0x140000))
    write('bzimage', 'seed-empty', b'')

    code = pattern(0x200, 0x33)
    for is64 in (False, True):
        name = 'elf64' if is64 else 'elf32'
        image = elf(is64, 0x100000, [(PT_LOAD, 0x100000, code, 0x400, 0x1000), (PT_NOTE, 0, xen_note(0x100010), 0, 4)])
        write('pvh_elf', 'seed-' + name, boot_seed(image, ram_size=0x110000))
        write('pvh_elf', 'seed-' + name + '-initrd', boot_seed(image, ram_size=0x118000, layout=16, initrd=0x3000))
    two = elf(True, 0x100000, [(PT_LOAD, 0x100000, code, 0x200, 8), (PT_LOAD, 0x101000, code, 0x800, 8),
                               (PT_NOTE, 0, xen_note(0x100000, 8), 0, 8)])
    write('pvh_elf', 'seed-two-segments-note8', boot_seed(two, ram_size=0x110000, layout=8, high=0x800, cpus=2))
    write('pvh_elf', 'seed-empty', b'')

    # a.out kludge: the header at file offset 0, the file loaded at 1 MiB.
    body = pattern(0x200, 0x44)
    kludge = multiboot_header(0x10003, [0x100000, 0x100000, 0, 0x100000 + 32 + len(body) + 0x100, 0x100020]) + body
    write('multiboot', 'seed-aout-kludge', boot_seed(kludge, ram_size=0x110000))
    write('multiboot', 'seed-aout-kludge-initrd', boot_seed(kludge, ram_size=0x118000, layout=16, initrd=0x2000, cpus=3))
    partial = multiboot_header(0x10000, [0x100000, 0x100000, 0x100000 + 0x100, 0, 0x100004]) + body
    write('multiboot', 'seed-aout-load-end', boot_seed(partial, ram_size=0x110000))
    elf32 = elf(False, 0x100000, [(PT_LOAD, 0x100000, multiboot_header(0x3) + body, 0x400, 0x1000)])
    write('multiboot', 'seed-elf32', boot_seed(elf32, ram_size=0x110000))
    write('multiboot', 'seed-elf32-high-ram', boot_seed(elf32, ram_size=0x110000, layout=8, high=0x1000))
    write('multiboot', 'seed-empty', b'')

# --- firmware ---------------------------------------------------------------
def firmware_seed(cpus, below=0, end_delta=0x800, kind=0, size=64 << 20, pages=1, contents=b''):
    """cpus, tables RAM [0xE0000 - below, 1 MiB - 2 KiB + end_delta), machine, RAM contents."""
    return u8(cpus) + u16(below) + u16(end_delta) + u8(kind) + u64(size) + u8(pages) + contents

def firmware_seeds():
    write('firmware', 'seed-1-cpu', firmware_seed(1))
    write('firmware', 'seed-64-cpus-hole', firmware_seed(64, below=0x1000, kind=1, size=0x1000000))
    write('firmware', 'seed-8-cpus-4g', firmware_seed(8, kind=2, size=0x800000, contents=b'\xff' * 64))
    write('firmware', 'seed-short-area', firmware_seed(2, end_delta=0x7FF, kind=3, size=(1 << 40) - 1, pages=0))
    write('firmware', 'seed-no-cpus', firmware_seed(0))
    write('firmware', 'seed-empty', b'')

# --- cli_specs --------------------------------------------------------------
def cli_seeds():
    specs = [(0, b'512M'), (0, b'4g'), (0, b'17'), (1, b'/tmp/out.log,max-size=64K'), (2, b'file:/tmp/serial.log,max-size=1M'),
             (2, b'unix:/tmp/keel.sock'), (2, b'stdio'), (3, b'path=disk.img,readonly=on,direct=off,serial=ABC123'),
             (4, b'tap=tap0,model=e1000,mac=02:00:00:00:00:01,pcap=/tmp/x.pcap'),
             (4, b'user,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-10.0.2.20:53,net=10.0.2.0/24,restrict=on'),
             (4, b'user,net=192.168.7.0/28,host=192.168.7.1,dns=192.168.7.2,dhcpstart=192.168.7.4'),
             (5, b'52:54:00:12:34:56'), (6, b'1.5s'), (6, b'250ms'), (6, b'2m'), (7, b'1T'), (8, b'hugetlbfs:/dev/hugepages'),
             (8, b'memfd'), (9, b'a,shift-b,ret,ctrl-alt-delete'), (10, b'-cx16,-tsc-deadline,-xsave'),
             (11, b'hostfwd=tcp:0.0.0.0:8080-:80'), (12, b'tap0,mac=02-00-00-00-00-02')]
    for i, (parser, text) in enumerate(specs):
        write('cli_specs', 'seed-%02d' % i, u8(parser) + text)
    # A whole command line: [flag index][value] pieces separated by NULs
    # (flag indices as in cli_specs.cc's kFlags).
    line = b'\0'.join([b'\x00' + b'2G', b'\x02' + b'file:/tmp/s.log,max-size=8M', b'\x03' + b'path=a.img',
                       b'\x04' + b'user,hostfwd=tcp::2222-:22', b'\x05' + b'30s', b'\x06' + b'a,b',
                       b'\x07' + b'-rdrand', b'\x08' + b'4'])
    write('cli_specs', 'seed-command-line', u8(13) + line)
    write('cli_specs', 'seed-empty', b'')

# --- device register targets -------------------------------------------------
def ops_of(width, ops):
    out = b''
    for o in ops:
        assert len(o) <= width, o
        out += o + b'\0' * (width - len(o))
    return u8(len(ops)) + out

def host_bridge_seeds():
    # ram header (2 KiB at 0), then 12-byte ops. Slot pick 1 = 00:01.0 (virtio-blk).
    ram_header = u16(0x800 - 1) + u8(0)
    CF8, PIO_R, PIO_W, ECAM_R, ECAM_W, BAR, WIDTHS, DOORBELL = range(8)
    ops = [u8(CF8) + u8(1) + u8(0),                          # CONFIG_ADDRESS = 00:01.0 reg 0
           u8(PIO_R) + u8(4) + u8(2),                        # dword at 0xCFC: ids
           u8(PIO_R) + u8(6) + u8(1),                        # word at 0xCFE: device id
           u8(WIDTHS) + u8(1) + u16(0),                      # ids/command at every width
           u8(ECAM_W) + u8(1) + u16(0x10) + u8(2) + u32(0xFFFFFFFF),  # size BAR0
           u8(ECAM_R) + u8(1) + u16(0x10) + u8(2),
           u8(ECAM_W) + u8(1) + u16(0x04) + u8(1) + u32(0x0),         # decode off: BARs leave the bus
           u8(ECAM_W) + u8(1) + u16(0x04) + u8(1) + u32(0x7),         # and back
           u8(ECAM_R) + u8(1) + u16(0xFFC) + u8(3),                   # crosses into the next function
           u8(ECAM_R) + u8(0x82) + u16(0),                            # an empty slot
           u8(PIO_W) + u8(1) + u8(0) + u64(0x00),                     # 0xCF9 reset control
           u8(PIO_R) + u8(1) + u8(0),
           u8(BAR) + u8(0) + u8(2) + u32(0),                          # MMIO window start
           u8(WIDTHS) + u8(1) + u16(0x40),                            # capabilities
           u8(DOORBELL)]
    write('host_bridge', 'seed-config', ram_header + ops_of(12, ops))
    write('host_bridge', 'seed-empty', b'')

def uart_seeds():
    RAW_W, _, RAW_R, DIVISOR, FCR, MCR, IER, INPUT, DRAIN, IIR = range(10)
    ops = [u8(DIVISOR) + u8(0x03) + u8(1) + u8(0),     # 115200 8N1
           u8(FCR) + u8(0xC7), u8(MCR) + u8(0x0B), u8(IER) + u8(0x0F),
           u8(RAW_W) + u8(0) + u8(0) + b'H', u8(RAW_W) + u8(0) + u8(0) + b'i',
           u8(IIR), u8(INPUT) + u8(20), u8(IIR), u8(DRAIN) + u8(8), u8(RAW_R) + u8(5) + u8(0),
           u8(DRAIN) + u8(32), u8(IIR), u8(MCR) + u8(0x1B),               # loopback
           u8(RAW_W) + u8(0) + u8(0) + b'L', u8(RAW_W) + u8(0) + u8(0) + b'B', u8(RAW_R) + u8(2) + u8(0), u8(DRAIN) + u8(32),
           u8(FCR) + u8(0x00), u8(RAW_W) + u8(0) + u8(0) + b'x', u8(RAW_W) + u8(0) + u8(0) + b'y',
           u8(RAW_R) + u8(5) + u8(0), u8(MCR) + u8(0x08), u8(INPUT) + u8(8), u8(DRAIN) + u8(4)]
    write('uart', 'seed-driver', ops_of(10, ops) + b'hello, keel!\r\n' * 3)
    write('uart', 'seed-empty', b'')

def i8042_seeds():
    CMD, DATA, READ, KBD, MOUSE, CMDBYTE, KEY, MOTION, BAD, DRAIN, IRQ = range(11)
    ops = [u8(CMD) + u8(0xAA), u8(READ), u8(CMD) + u8(0x20), u8(READ), u8(CMDBYTE) + u8(0x47),
           u8(KBD) + u8(0) + u8(0), u8(DRAIN),                      # keyboard reset
           u8(KBD) + u8(3) + u8(1) + u8(0x20), u8(DRAIN),           # typematic
           u8(KBD) + u8(6), u8(KEY) + u8(0) + u8(1), u8(IRQ), u8(KEY) + u8(0) + u8(0), u8(IRQ),
           u8(KEY) + u8(6) + u8(1), u8(DRAIN), u8(CMD) + u8(0xA8),
           u8(MOUSE) + u8(0) + u8(0), u8(DRAIN), u8(MOUSE) + u8(3), u8(IRQ),
           u8(MOTION) + u8(0) + u16(5) + u16(0xFFFD) + u8(1), u8(DRAIN),
           u8(BAD) + u8(0x02) + u8(0x55), u8(CMD) + u8(0xD0), u8(READ),
           u8(CMD) + u8(0xD1), u8(DATA) + u8(0x03), u8(DRAIN)]
    write('i8042', 'seed-driver', ops_of(8, ops))
    write('i8042', 'seed-reset', ops_of(8, [u8(CMD) + u8(0xFE), u8(CMD) + u8(0xD1), u8(DATA) + u8(0x00)]))
    write('i8042', 'seed-empty', b'')

def rtc_seeds():
    INDEX, READ, WRITE, RAW, REG_A, REG_B, READ_C, SET_TIME, ADVANCE, STEP, OTHER = range(11)
    ops = [u8(READ_C), u8(INDEX) + u8(0x0A), u8(READ), u8(INDEX) + u8(0x8B), u8(READ),
           u8(SET_TIME) + u8(0) + u8(1) + u8(26) + u8(1) + u8(28) + u8(59) + u8(59) + u8(23),
           u8(REG_B) + u8(0x72), u8(ADVANCE) + u8(2) + u16(1500), u8(READ_C) + u8(0) + b'\1',
           u8(OTHER) + u8(1) + u8(0) + u8(0xC0), u8(OTHER) + u8(1) + u8(1) + u8(0xC0),
           u8(OTHER) + u8(1) + u8(2) + u8(0xC0), u8(REG_B) + u8(0x26), u8(ADVANCE) + u8(3) + u16(1),
           u8(READ_C), u8(REG_A) + u8(1) + u8(0x0F), u8(REG_B) + u8(0x46), u8(ADVANCE) + u8(2) + u16(600),
           u8(READ_C), u8(RAW) + u8(1) + u8(0), u8(RAW) + u8(0) + u8(1),
           u8(SET_TIME) + u8(1) + b'\x00\x30\x92\x05\x31\x12\x99\x19', u8(STEP) + u32(86400),
           u8(OTHER) + u8(0) + u8(0x40) + u8(0x5A), u8(INDEX) + u8(0x40), u8(READ) + u8(0) + b'\1']
    write('rtc', 'seed-driver', ops_of(12, ops))
    write('rtc', 'seed-empty', b'')

def acpi_pm_seeds():
    READ, WRITE, REG16, TIMER, BUTTON, TIME = 0, 1, 2, 3, 4, 5
    STS, EN, CNT = 0, 1, 2
    ops = [u8(REG16) + u8(EN) + u16(0x0101), u8(TIMER), u8(TIME) + u8(3) + u16(30), u8(READ) + u8(0) + u8(1),
           u8(REG16) + u8(STS) + u16(0x0001), u8(READ) + u8(0) + u8(3), u8(BUTTON), u8(READ) + u8(0) + u8(1),
           u8(REG16) + u8(STS) + u16(0x0100), u8(TIME) + u8(2) + u16(60000), u8(READ) + u8(8) + u8(2),
           u8(WRITE) + u8(4) + u8(1) + u16((1 << 13) | (1 << 10)), u8(READ) + u8(4) + u8(1),
           u8(WRITE) + u8(1) + u8(0) + u8(0xFF), u8(READ) + u8(6) + u8(1), u8(TIMER)]
    write('acpi_pm', 'seed-driver', ops_of(12, ops))
    write('acpi_pm', 'seed-poweroff', ops_of(12, [u8(REG16) + u8(CNT) + u16(1 << 13)]))
    write('acpi_pm', 'seed-empty', b'')

def bus_seeds():
    INSERT, REMOVE, READ, WRITE = range(4)
    def near(base_sel, delta, any_=0): return u8(base_sel) + u8(delta) + u64(any_)
    ops = [u8(INSERT) + near(1, 0x10) + u8(0) + u8(16),    # [0x10, 0x20)
           u8(INSERT) + near(1, 0x18) + u8(0) + u8(16),    # overlaps: refused
           u8(INSERT) + near(1, 0x20) + u8(0) + u8(8),     # touches: accepted
           u8(READ) + near(0, 4) + u8(4), u8(WRITE) + near(0, 8) + u8(8),
           u8(READ) + near(4, 0xFE) + u8(4),               # straddles the end of the first range
           u8(READ) + near(0, 0) + u8(3),                  # a size the bus refuses
           u8(INSERT) + near(2, 0x0F) + u8(0) + u8(16),    # ends exactly at 2^64
           u8(INSERT) + near(2, 0x0F) + u8(0) + u8(17),    # runs past it
           u8(READ) + near(2, 0x07) + u8(8), u8(REMOVE) + near(1, 0x11) + u8(0),
           u8(REMOVE) + near(1, 0) + u8(1), u8(READ) + near(1, 0x14) + u8(2)]
    write('bus', 'seed-ranges', ops_of(20, ops))
    write('bus', 'seed-empty', b'')

def qmp_seed(max_value, max_depth, stream, chunk=255):
    # range(16, 4096) reads a u16, range(1, 64) a u8; then [length-1 u8][bytes] reads.
    out = u16(max_value - 16) + u8(max_depth - 1)
    for i in range(0, len(stream), chunk):
        part = stream[i:i + chunk]
        out += u8(len(part) - 1) + part
    return out

def qmp_seeds():
    hello = b'{"execute": "qmp_capabilities"}'
    write('qmp', 'seed-session', qmp_seed(4080, 64, hello + b'\n'
          b'{"execute": "query-version", "id": 1}{"execute":"query-commands","id":{"a":[1,"x"]}}\n'
          b'{"execute": "x-echo", "arguments": {"must": 3, "s": "t", "b": true, "n": 1.5, "o": {}, "a": [], "any": null}}\n'
          b'{"execute": "x-keys", "arguments": {"keys": ["ctrl", "alt", 7]}, "id": "k"}\n'
          b'{"execute": "x-throw"} {"execute": "nope"} [1, 2] "str" 12 nul {"execute": 5} {"arguments": []}\n',
          chunk=7))
    write('qmp', 'seed-negotiation', qmp_seed(4080, 64,
          b'{"execute": "query-version"}{"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}}' + hello))
    write('qmp', 'seed-limits', qmp_seed(64, 3, hello + b'{"execute": "x-echo", "arguments": {"must": 1, "s": "'
          + b'x' * 100 + b'"}} [[[[[]]]]] {"id": "\\"}\"{"} ]]} {"execute": "x-echo", "arguments": {"must": 2}}'))
    write('qmp', 'seed-empty', b'')

if __name__ == '__main__':
    virtqueue_seeds()
    blk_seeds()
    pci_msix_seeds()
    net_seeds()
    e1000_seeds()
    host_bridge_seeds()
    uart_seeds()
    i8042_seeds()
    rtc_seeds()
    acpi_pm_seeds()
    bus_seeds()
    boot_seeds()
    firmware_seeds()
    cli_seeds()
    qmp_seeds()
