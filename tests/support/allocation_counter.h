// Counts heap allocations (global operator new) made by the calling thread
// while an AllocationCounter is alive, so a test can show a guest-driven
// device path allocates nothing however the guest behaves.
//
// Only test binaries that compile allocation_counter.cc (target_sources,
// not keel_test_support) get the replaced operator new; the replacement
// forwards to malloc/free and counts nothing unless a counter is alive on
// the thread, so the rest of such a binary is unaffected.
#pragma once

#include <cstdint>
#include <utility>

#include <spdlog/spdlog.h>

namespace keel::testing {

class AllocationCounter {
 public:
  AllocationCounter() noexcept;
  ~AllocationCounter();
  AllocationCounter(const AllocationCounter&) = delete;
  AllocationCounter& operator=(const AllocationCounter&) = delete;

  // operator new calls on this thread since construction.
  uint64_t count() const noexcept;

 private:
  uint64_t start_;
  bool outer_;
};

// The allocations `call` makes on this thread, with logging off while it
// runs: a device's rate-limited warnings go through spdlog's own buffers,
// which are not the device's.
template <class Call>
uint64_t allocations_in(Call&& call) {
  const spdlog::level::level_enum level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  uint64_t count = 0;
  {
    AllocationCounter allocations;
    std::forward<Call>(call)();
    count = allocations.count();
  }
  spdlog::set_level(level);
  return count;
}

}  // namespace keel::testing
