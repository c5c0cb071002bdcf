/* The probe guest's bytes, linked into keel (see default_guest.h). */
    .section .rodata
    .balign 16
    .global keel_default_guest_start
    .global keel_default_guest_end
keel_default_guest_start:
    .incbin KEEL_PROBE_ELF
keel_default_guest_end:
    .section .note.GNU-stack,"",@progbits
