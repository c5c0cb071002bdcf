// Local APIC set-up on the register page KVM_GET_LAPIC returns: the boot
// processor's LINT0 delivers ExtINT (the 8259 PIC's output, so legacy
// interrupts work before the guest programs the IOAPIC) and LINT1 delivers
// NMI, as a PC BIOS leaves them. Pure, so it is unit-tested without KVM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace keel::kvm {

inline constexpr size_t kLapicRegisterPageSize = 1024;  // KVM_APIC_REG_SIZE
inline constexpr size_t kLapicLvtLint0 = 0x350;
inline constexpr size_t kLapicLvtLint1 = 0x360;

enum class LapicDeliveryMode : uint32_t { fixed = 0, nmi = 4, ext_int = 7 };

uint32_t lapic_register(std::span<const std::byte, kLapicRegisterPageSize> page, size_t offset) noexcept;
void set_lapic_register(std::span<std::byte, kLapicRegisterPageSize> page, size_t offset, uint32_t value) noexcept;

// LVT delivery mode is bits 10:8; other bits (mask, trigger mode) are kept.
uint32_t with_delivery_mode(uint32_t lvt, LapicDeliveryMode mode) noexcept;

// LINT0 = ExtINT, LINT1 = NMI.
void configure_bsp_lint(std::span<std::byte, kLapicRegisterPageSize> page) noexcept;

}  // namespace keel::kvm
