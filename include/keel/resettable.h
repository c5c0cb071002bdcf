// Power-on reset for anything a machine reset must put back (issue 10):
// devices, the PCI host bridge, the in-kernel interrupt controllers. The
// machine keeps a ResetList built once by the machine builder and resets
// it in order, so a machine reset is a loop over a list, not a hand-written
// sequence of device names.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace keel {

class Resettable {
 public:
  virtual ~Resettable() = default;
  // Back to the state the device had when it was built (what the guest sees
  // at power-on; keel has no firmware, so that includes what the builder
  // programmed, e.g. PCI BARs). Called while no vCPU runs; other threads
  // (the event loop's timers and I/O completions) may still call in, so a
  // device takes its own lock. Never blocks on guest-driven work: I/O that
  // cannot be cancelled at once finishes later, as after a driver's reset.
  virtual void reset() noexcept = 0;
};

// Non-owning, in reset order. The owner (Machine) keeps every entry alive
// for as long as the list is used.
class ResetList {
 public:
  struct Entry {
    std::string_view name;  // a string literal: "COM1 UART", "i8042", ...
    Resettable* target;
  };

  // Start-up only (may allocate). A null target is ignored.
  void add(std::string_view name, Resettable* target) {
    if (target != nullptr) entries_.push_back(Entry{name, target});
  }
  void reset_all() const noexcept {
    for (const Entry& entry : entries_) entry.target->reset();
  }
  const std::vector<Entry>& entries() const noexcept { return entries_; }
  size_t size() const noexcept { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
};

}  // namespace keel
