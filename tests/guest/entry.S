/* Boot entry, GDT and interrupt stubs of the probe guest.
 *
 * A Multiboot v1 loader (QEMU -kernel, keel) enters _start in 32-bit
 * protected mode with EAX = 0x2BADB002 and EBX = the info block, but the GDT
 * and stack it leaves are undefined, so we load our own at once. */

#define MULTIBOOT_MAGIC 0x1BADB002
/* Bit 1: we want the memory fields/map. Not bit 16: the loader takes the
 * load addresses from our ELF program headers. */
#define MULTIBOOT_FLAGS 0x00000002

#define CODE_SELECTOR 0x08
#define DATA_SELECTOR 0x10

    .section .multiboot, "a"
    .balign 4
    .long MULTIBOOT_MAGIC
    .long MULTIBOOT_FLAGS
    .long -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)

    .section .data
    .balign 16
    .global probe_gdt, probe_gdt_end
probe_gdt:
    .quad 0                         /* null */
    .quad 0x00CF9A000000FFFF        /* 0x08: flat 32-bit code */
    .quad 0x00CF92000000FFFF        /* 0x10: flat 32-bit data */
probe_gdt_end:

    .balign 4
    .global probe_gdt_descriptor
    .word 0                         /* pad: keeps the base 4-byte aligned */
probe_gdt_descriptor:
    .word probe_gdt_end - probe_gdt - 1
    .long probe_gdt

    .section .bss
    .balign 16
boot_stack:
    .skip 16384
boot_stack_top:

    .section .text
    .global _start
_start:
    cli
    cld
    movl $boot_stack_top, %esp
    movl %eax, %edi                 /* keep the loader's magic and info */
    movl %ebx, %esi
    lgdt probe_gdt_descriptor
    ljmp $CODE_SELECTOR, $1f
1:  movw $DATA_SELECTOR, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    pushl %esi                      /* probe_main(magic, info) */
    pushl %edi
    call probe_main
2:  cli
    hlt
    jmp 2b

/* 256 interrupt stubs, 16 bytes apart (isr_stub_table + 16 * vector), each
 * pushing a dummy error code where the CPU does not, then the vector. */
    .balign 16
    .global isr_stub_table
isr_stub_table:
    .set vector, 0
    .rept 256
    .balign 16
    .if (vector == 8) || ((vector >= 10) && (vector <= 14)) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
    .else
    pushl $0
    .endif
    pushl $vector
    jmp isr_common
    .set vector, vector + 1
    .endr

/* Saves the general registers as a struct interrupt_frame (interrupts.h)
 * and calls interrupt_dispatch(frame). All segments are flat and equal, so
 * none are saved. */
isr_common:
    pushal
    cld
    pushl %esp
    call interrupt_dispatch
    addl $4, %esp
    popal
    addl $8, %esp                   /* vector and error code */
    /* Return without IRET. On PVM hosts all guest code runs in KVM's
     * instruction emulator, which implements IRET for real mode only
     * ("iret from protected mode unimplemented yet": emulation failure).
     * Same privilege level, so IRET would only pop EIP, CS (unchanged) and
     * EFLAGS: rebuild the frame as [EFLAGS][EIP] and use POPF; RET. An
     * interrupt taken between the two nests cleanly below the EIP slot. */
    pushl %eax                      /* [eax][eip][cs][eflags] */
    movl 4(%esp), %eax              /* eax = eip */
    xchgl %eax, 12(%esp)            /* eflags slot = eip, eax = eflags */
    movl %eax, 8(%esp)              /* cs slot = eflags */
    popl %eax
    addl $4, %esp                   /* [eflags][eip] */
    popfl
    ret

    .section .note.GNU-stack, "", @progbits
