/* Application-processor start-up code (smp suite).
 *
 * ap_trampoline_start..end is copied to AP_TRAMPOLINE_ADDRESS (0x8000) and
 * entered there by a Startup IPI with vector 0x08: the AP begins in real
 * mode with CS = 0x0800, IP = 0. It loads the BSP's GDT, switches to
 * protected mode (no paging, as everywhere in the probe) and jumps to
 * ap_entry32 in the main image, which takes a stack slot and calls
 * ap_main(slot). Only absolute addresses in the main image and offsets
 * relative to the trampoline are used, so the copy runs anywhere. */

#define AP_MAX 16
#define AP_STACK_SIZE 4096

    .section .text
    .code16
    .global ap_trampoline_start, ap_trampoline_end
ap_trampoline_start:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl trampoline_gdtr - ap_trampoline_start
    movl %cr0, %eax
    orl $1, %eax                    /* CR0.PE */
    movl %eax, %cr0
    ljmpl $0x08, $ap_entry32

    .balign 4
trampoline_gdtr:
    .word 3 * 8 - 1                 /* probe_gdt in entry.S: null, code, data */
    .long probe_gdt
ap_trampoline_end:

    .code32
ap_entry32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl $1, %eax
    lock xaddl %eax, ap_next_slot   /* eax = our slot */
    cmpl $AP_MAX, %eax
    jae 1f                          /* more APs than stacks: stay parked */
    movl %eax, %ebx
    incl %eax
    shll $12, %eax                  /* (slot + 1) * AP_STACK_SIZE */
    addl $ap_stacks, %eax
    movl %eax, %esp
    pushl %ebx
    call ap_main
1:  cli
    hlt
    jmp 1b

    .section .bss
    .balign 16
ap_stacks:
    .skip AP_MAX * AP_STACK_SIZE

    .section .note.GNU-stack, "", @progbits
