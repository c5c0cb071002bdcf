// Where a guest resumes from ACPI S3 (issue 10): the FACS waking vectors
// decoded into the boot processor's registers. Pure (no KVM, no machine) so
// it is unit-tested; acpi_s3.cc reads the FACS from guest RAM and applies it.
//
// The FACS lives in guest RAM and the guest wrote the vectors: every value
// is untrusted. A vector that cannot be entered (0: the OS installed no
// resume handler; a real-mode vector at or above 1 MiB; a 32-bit one at or
// above 4 GiB; a FACS without its signature) becomes a plain system reset,
// never a jump into the void.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "keel/guest_memory.h"
#include "src/kvm/boot_registers.h"

namespace keel::vmm {

namespace facs {
// ACPI 6.3 5.2.10, table 5-37.
inline constexpr size_t kSignatureOffset = 0;          // "FACS"
inline constexpr size_t kWakingVectorOffset = 12;      // 32-bit, real-mode entry
inline constexpr size_t kXWakingVectorOffset = 24;     // 64-bit field
inline constexpr size_t kOspmFlagsOffset = 36;
inline constexpr uint32_t kOspm64BitWake = 1u << 0;    // 64BIT_WAKE_F
inline constexpr size_t kMinSize = 40;                 // through the OSPM flags
inline constexpr uint64_t kRealModeLimit = 1ull << 20; // 1 MiB
}  // namespace facs

struct WakeVector {
  enum class Mode : uint8_t {
    real_mode,     // FIRMWARE_WAKING_VECTOR: CS = address >> 4, IP = address & 0xF
    protected_32,  // X_FIRMWARE_WAKING_VECTOR with 64BIT_WAKE_F clear: flat, paging off
    reset,         // nothing enterable: a full system reset instead
  };
  Mode mode = Mode::reset;
  uint32_t address = 0;
  friend bool operator==(const WakeVector&, const WakeVector&) = default;
};

// Decodes a FACS image (at least facs::kMinSize bytes). The X vector wins
// when non-zero and 64BIT_WAKE_F is clear (keel offers no 64-bit wake, so
// with the flag set the X vector is ignored, ACPI 6.3 5.2.10).
WakeVector decode_waking_vector(std::span<const std::byte> facs) noexcept;

// Reads the FACS at `facs_address` from guest memory and decodes it; a
// FACS that is not wholly in guest RAM (or an address of 0) -> reset.
WakeVector read_waking_vector(const GuestMemory& memory, uint64_t facs_address) noexcept;

// The BSP's registers for a real_mode or protected_32 vector (as after
// INIT for real mode: CR0 = 0x60000010, EFLAGS = 0x2, segments other than
// CS at 0 with 64 KiB limits); nullopt for reset.
std::optional<kvm::BootRegisters> wake_registers(const WakeVector& vector) noexcept;

}  // namespace keel::vmm
