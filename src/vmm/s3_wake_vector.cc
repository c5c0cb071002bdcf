#include "src/vmm/s3_wake_vector.h"

#include <array>
#include <cstring>

#include "src/boot/boot.h"

namespace keel::vmm {

namespace {

template <class T>
T load_le(std::span<const std::byte> bytes, size_t offset) noexcept {
  T value{};
  std::memcpy(&value, bytes.data() + offset, sizeof value);  // x86 host: little-endian, as ACPI
  return value;
}

using kvm::kTypeCodeExecReadAccessed;
using kvm::kTypeDataReadWriteAccessed;

// CR0 after INIT/RESET (Intel SDM vol. 3, 9.1.1): CD | NW | ET.
constexpr uint64_t kCr0AfterInit = 0x6000'0010;

kvm::SegmentState real_mode_segment(uint16_t selector, uint8_t type) noexcept {
  return kvm::SegmentState{.base = static_cast<uint64_t>(selector) << 4,
                           .limit = 0xFFFF,
                           .selector = selector,
                           .type = type,
                           .present = 1,
                           .dpl = 0,
                           .db = 0,
                           .s = 1,
                           .l = 0,
                           .g = 0};
}

}  // namespace

WakeVector decode_waking_vector(std::span<const std::byte> facs) noexcept {
  if (facs.size() < facs::kMinSize) return {};
  if (std::memcmp(facs.data() + facs::kSignatureOffset, "FACS", 4) != 0) return {};
  const uint64_t x_vector = load_le<uint64_t>(facs, facs::kXWakingVectorOffset);
  const uint32_t ospm_flags = load_le<uint32_t>(facs, facs::kOspmFlagsOffset);
  if (x_vector != 0 && (ospm_flags & facs::kOspm64BitWake) == 0) {
    // 32-bit protected mode: the whole vector must be addressable there.
    if (x_vector > 0xFFFF'FFFFull) return {};
    return WakeVector{WakeVector::Mode::protected_32, static_cast<uint32_t>(x_vector)};
  }
  const uint32_t vector = load_le<uint32_t>(facs, facs::kWakingVectorOffset);
  if (vector == 0 || vector >= facs::kRealModeLimit) return {};
  return WakeVector{WakeVector::Mode::real_mode, vector};
}

WakeVector read_waking_vector(const GuestMemory& memory, uint64_t facs_address) noexcept {
  if (facs_address == 0) return {};
  std::array<std::byte, facs::kMinSize> image{};
  if (!memory.read(Gpa{facs_address}, image)) return {};  // not (wholly) guest RAM
  return decode_waking_vector(image);
}

std::optional<kvm::BootRegisters> wake_registers(const WakeVector& vector) noexcept {
  kvm::BootRegisters regs;
  regs.rflags = 0x2;  // IF clear
  switch (vector.mode) {
    case WakeVector::Mode::real_mode: {
      const auto selector = static_cast<uint16_t>(vector.address >> 4);
      regs.rip = vector.address & 0xF;
      regs.code = real_mode_segment(selector, kTypeCodeExecReadAccessed);
      regs.data = real_mode_segment(0, kTypeDataReadWriteAccessed);
      regs.cr0 = kCr0AfterInit;
      return regs;
    }
    case WakeVector::Mode::protected_32:
      // The boot loaders' flat selectors; the GDT stays the power-on one
      // (the hidden segment state is what counts until the OS loads its own).
      regs.rip = vector.address;
      regs.code = kvm::flat_segment(boot::BootEntry::kCodeSelector, kTypeCodeExecReadAccessed);
      regs.data = kvm::flat_segment(boot::BootEntry::kDataSelector, kTypeDataReadWriteAccessed);
      regs.cr0 = kvm::cr0::kPe | kvm::cr0::kEt;
      return regs;
    case WakeVector::Mode::reset:
      break;
  }
  return std::nullopt;
}

}  // namespace keel::vmm
