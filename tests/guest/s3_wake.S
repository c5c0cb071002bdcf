/* The S3 waking path of the probe guest (acpi-s3 suite; s3_wake.h).
 *
 * s3_wake_stub_start..end is a template: s3_suspend fills in its data
 * (the saved GDTR, CR0 and the far pointer to s3_resume32) and copies it to
 * S3_WAKE_STUB_ADDRESS, whose address the suite puts in the FACS firmware
 * waking vector. On wake the firmware (SeaBIOS under QEMU; the VMM itself
 * under keel) enters it in real mode with CS:IP = vector >> 4 : vector & 0xF
 * (ACPI 6.3 5.2.10). The stub uses only absolute addresses below 64 KiB
 * with DS = 0, so CS:IP = 0000:9000 works too. It switches back to the
 * probe's flat 32-bit protected mode (no paging: PVM hosts allow paging
 * only in long mode) and jumps to s3_resume32, which reloads the segments,
 * IDT, stack and callee-saved registers and returns 1 from s3_suspend. */
#include "s3_wake.h"

#define STUB(symbol) (S3_WAKE_STUB_ADDRESS + ((symbol) - s3_wake_stub_start))
#define CR0_PE 0x00000001
#define CR0_PG 0x80000000

    .section .text
    .code16
    .global s3_wake_stub_start, s3_wake_stub_end
s3_wake_stub_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl STUB(s3_stub_gdtr)
    movl STUB(s3_stub_cr0), %eax    /* the saved CR0: PE set, PG clear */
    movl %eax, %cr0
    ljmpl *STUB(s3_stub_target)     /* m16:32: s3_resume32 in the saved CS */

    .balign 4
s3_stub_cr0:
    .long 0
s3_stub_target:
    .long 0                         /* offset */
    .word 0                         /* selector */
    .word 0                         /* pad */
s3_stub_gdtr:
    .word 0                         /* limit */
    .long 0                         /* base */
s3_wake_stub_end:

    .code32
/* Entered from the stub: CS is the probe's flat code segment, every data
 * segment register still holds its real-mode cache (base 0, limit 64 KiB),
 * so the saved selector is read through CS. */
s3_resume32:
    movw %cs:s3_saved_ds, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    lidt s3_saved_idtr
    movl s3_saved_esp, %esp
    movl s3_saved_ebx, %ebx
    movl s3_saved_esi, %esi
    movl s3_saved_edi, %edi
    movl s3_saved_ebp, %ebp
    cld
    movl $1, %eax
    jmp *s3_saved_eip

/* int s3_suspend(uint16_t pm1_control_port, uint16_t control) */
    .global s3_suspend
s3_suspend:
    movl (%esp), %eax
    movl %eax, s3_saved_eip         /* return address: where the wake returns to */
    leal 4(%esp), %eax
    movl %eax, s3_saved_esp         /* ESP after that return */
    movl %ebx, s3_saved_ebx
    movl %esi, s3_saved_esi
    movl %edi, s3_saved_edi
    movl %ebp, s3_saved_ebp
    movw %ds, s3_saved_ds
    sidt s3_saved_idtr
    sgdt s3_stub_gdtr
    movw %cs, s3_stub_target + 4
    movl $s3_resume32, s3_stub_target
    movl %cr0, %eax
    andl $~CR0_PG, %eax
    orl $CR0_PE, %eax
    movl %eax, s3_stub_cr0
    /* The stub with its data, to where the waking vector points. */
    cld
    movl $s3_wake_stub_start, %esi
    movl $S3_WAKE_STUB_ADDRESS, %edi
    movl $(s3_wake_stub_end - s3_wake_stub_start), %ecx
    rep movsb
    movl s3_saved_esi, %esi
    movl s3_saved_edi, %edi
    /* No WBINVD before sleeping (ACPI asks OSPM to flush caches): under KVM
     * the caches are the host's and RAM stays powered, and KVM's emulator
     * on PVM hosts may not emulate it. */
    movl 4(%esp), %edx              /* port */
    movl 8(%esp), %eax              /* SLP_TYP | SLP_EN */
    outw %ax, %dx
    xorl %eax, %eax                 /* first return: not (yet) slept */
    ret

    .section .bss
    .balign 4
s3_saved_eip: .skip 4
s3_saved_esp: .skip 4
s3_saved_ebx: .skip 4
s3_saved_esi: .skip 4
s3_saved_edi: .skip 4
s3_saved_ebp: .skip 4
s3_saved_ds: .skip 4
    .balign 4
    .skip 2                         /* keeps the IDTR base 4-byte aligned */
s3_saved_idtr: .skip 6

    .section .note.GNU-stack, "", @progbits
