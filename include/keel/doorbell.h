// Doorbells: a guest write to a register that only says "look at queue N"
// signals an eventfd inside KVM (KVM_IOEVENTFD) instead of exiting to keel's
// vCPU loop. The device watches the eventfd on the event loop (FdPoller).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

namespace keel {

struct DoorbellSpec {
  bool io = false;          // PIO port; else MMIO
  uint64_t address = 0;     // guest-physical address or port
  uint32_t length = 0;      // access size that matches: 1, 2, 4 or 8
  int eventfd = -1;         // signalled on each matching write
  std::optional<uint64_t> datamatch;  // only writes of this value
};

// A registration; destroying it unregisters the doorbell.
class Doorbell {
 public:
  virtual ~Doorbell() = default;
};

class DoorbellRegistrar {
 public:
  virtual ~DoorbellRegistrar() = default;
  // Registers `spec`. Guest-driven (BAR moves), so it never throws: on host
  // failure it logs (rate-limited) and returns nullptr, and the write then
  // reaches the device's own bar_write as an ordinary MMIO exit, which must
  // treat it as the same doorbell.
  virtual std::unique_ptr<Doorbell> register_doorbell(const DoorbellSpec& spec) noexcept = 0;
};

}  // namespace keel
