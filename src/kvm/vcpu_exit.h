// Why KVM_RUN returned, decoded from kvm_run so the VMM core never touches
// it. Spans point into the vCPU's kvm_run mapping: valid until the next
// run() on that vCPU; for an IN or an MMIO read the caller fills them and the
// next run() completes the instruction.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

namespace keel::kvm::exit {

// Port I/O. `count` > 1 for rep ins/outs: `data` holds count elements of
// `size` bytes, each one access to `port`.
struct Io {
  uint16_t port;
  uint8_t size;  // 1, 2 or 4
  bool is_write;  // OUT
  uint32_t count;
  std::span<std::byte> data;  // size * count bytes
};

// Memory-mapped I/O outside guest RAM; data.size() is the access size (1-8).
struct Mmio {
  uint64_t address;
  bool is_write;
  std::span<std::byte> data;
};

// Triple fault (or, on PVM, code the emulator refused).
struct Shutdown {};

// Values match KVM_SYSTEM_EVENT_*.
enum class SystemEventType : uint32_t { shutdown = 1, reset = 2, crash = 3 };
struct SystemEvent {
  uint32_t type;
};

struct InternalError {
  uint32_t suberror;  // KVM_INTERNAL_ERROR_*: 1 emulation, 2 simultaneous exception, 3 delivery event
  uint32_t ndata;
  std::array<uint64_t, 16> data;
};

struct FailEntry {
  uint64_t reason;  // hardware_entry_failure_reason
  uint32_t cpu;
};

// HLT without an in-kernel irqchip (keel always has one, so unexpected).
struct Hlt {};

// KVM_RUN returned EINTR: a signal or immediate_exit (a stop request).
struct Interrupted {};

// KVM_RUN itself failed (errno other than EINTR/EAGAIN).
struct RunFailed {
  int error;
};

// An exit reason keel does not handle, or an I/O exit whose geometry the
// kvm layer rejected (then `reason` is KVM_EXIT_IO/KVM_EXIT_MMIO).
struct Unknown {
  uint32_t reason;
};

}  // namespace keel::kvm::exit

namespace keel::kvm {

using VcpuExit = std::variant<exit::Io, exit::Mmio, exit::Shutdown, exit::SystemEvent, exit::InternalError,
                              exit::FailEntry, exit::Hlt, exit::Interrupted, exit::RunFailed, exit::Unknown>;

// "emulation failure" etc. for KVM_INTERNAL_ERROR_* suberrors.
const char* internal_error_name(uint32_t suberror) noexcept;

}  // namespace keel::kvm
