/* Port I/O, MMIO and CPU helpers shared by every file of the probe guest. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t value) {
    __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t value) {
    __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}
static inline uint16_t inw(uint16_t port) {
    uint16_t value;
    __asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
static inline uint32_t inl(uint16_t port) {
    uint32_t value;
    __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
static inline uint8_t inb(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

/* A physical address as a pointer. No paging: physical == linear. The empty
 * asm hides the constant from gcc, which otherwise treats low fixed
 * addresses such as 0x40E as out-of-bounds objects (-Warray-bounds). */
static inline void *phys_to_ptr(uintptr_t address) {
    __asm__("" : "+r"(address));
    return (void *)address;
}

/* MMIO through volatile pointers: no paging, so physical == linear. */
static inline uint32_t mmio_read32(uintptr_t address) {
    return *(volatile uint32_t *)address;
}
static inline void mmio_write32(uintptr_t address, uint32_t value) {
    *(volatile uint32_t *)address = value;
}
/* Narrow accesses for registers defined with a width (virtio common config:
 * a 16-bit field must be accessed as 16 bits, virtio 1.2 4.1.3.1). */
static inline uint8_t mmio_read8(uintptr_t address) { return *(volatile uint8_t *)address; }
static inline uint16_t mmio_read16(uintptr_t address) { return *(volatile uint16_t *)address; }
static inline void mmio_write8(uintptr_t address, uint8_t value) { *(volatile uint8_t *)address = value; }
static inline void mmio_write16(uintptr_t address, uint16_t value) { *(volatile uint16_t *)address = value; }

static inline void cpu_enable_interrupts(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cpu_disable_interrupts(void) { __asm__ volatile("cli" ::: "memory"); }
/* Interrupts off for a short sequence that a handler must not split (an
 * index/data register pair); restores the previous IF. */
static inline uint32_t irq_save(void) {
    uint32_t flags;
    __asm__ volatile("pushfl; popl %0; cli" : "=r"(flags) : : "memory");
    return flags;
}
static inline void irq_restore(uint32_t flags) {
    __asm__ volatile("pushl %0; popfl" : : "r"(flags) : "memory", "cc");
}
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void compiler_barrier(void) { __asm__ volatile("" ::: "memory"); }

/* Freestanding replacements for the few libc functions gcc may emit calls to. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int value, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
