// The driver side of one split virtqueue (virtio 1.2, 2.7) in test guest
// memory, plus a VirtioContext whose queue is a real Virtqueue over it.
// Just enough to place virtio-blk requests and read back the used ring.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "tests/support/fakes.h"
#include "virtio/core/virtio_device.h"

namespace keel::virtio::blk::testing {

struct DriverBuffer {
  uint64_t gpa;
  uint32_t length;
  bool writable;
};

struct UsedElement {
  uint32_t id;
  uint32_t length;
};

class FakeDriver {
 public:
  static constexpr uint64_t kDescTable = 0x1000;
  static constexpr uint64_t kAvailRing = 0x3000;
  static constexpr uint64_t kUsedRing = 0x4000;
  static constexpr uint64_t kHeapStart = 0x10000;

  FakeDriver(keel::testing::TestGuestMemory& memory, uint16_t size) : memory_(memory), size_(size) {}

  QueueConfig config() const { return {size_, kDescTable, kAvailRing, kUsedRing}; }
  // Bump allocation of guest memory for buffers (512-byte aligned).
  uint64_t alloc(uint64_t length);
  // Lays out a chain and makes it available; returns its head.
  uint16_t add_chain(const std::vector<DriverBuffer>& buffers, bool publish = true);
  // Makes every chain added with publish=false available at once.
  void publish();
  // Makes chain `head` available once more (a hostile driver may offer the
  // same chain again and again).
  void make_available(uint16_t head);
  // The next used element the device has written, if any.
  std::optional<UsedElement> next_used();
  uint16_t used_idx() const;
  // Overwrite avail.idx (to play a broken driver).
  void set_avail_idx(uint16_t index);
  // A driver re-initialising the queue after a reset: zeroed rings,
  // descriptors and indices from 0 again (the buffer heap goes on).
  void restart();

  std::byte* host(uint64_t gpa) { return memory_.host() + gpa; }

 private:
  keel::testing::TestGuestMemory& memory_;
  uint16_t size_;
  uint16_t next_descriptor_ = 0;
  uint16_t avail_idx_ = 0;  // driver's private copy, published by publish()
  uint16_t last_used_ = 0;
  uint64_t heap_ = kHeapStart;
};

class FakeContext final : public VirtioContext {
 public:
  FakeContext(const GuestMemory& memory, uint64_t features) : memory_(memory), features_(features) {}
  std::mutex& lock() noexcept override { return lock_; }
  const GuestMemory& memory() const noexcept override { return memory_; }
  uint64_t negotiated_features() const noexcept override { return features_; }
  Virtqueue* queue(uint16_t index) noexcept override { return index == 0 ? queue_ : nullptr; }
  void signal_used(uint16_t) noexcept override { ++signals; }
  void needs_reset(const char* why) noexcept override { resets.push_back(why); }
  void config_changed() noexcept override {}
  void reschedule(uint16_t) noexcept override { ++reschedules; }
  void reset_finished() noexcept override { ++resets_finished; }

  void set_queue(Virtqueue* queue) { queue_ = queue; }

  int signals = 0;
  int reschedules = 0;
  int resets_finished = 0;  // pending resets the device reported done
  std::vector<const char*> resets;

 private:
  std::mutex lock_;
  const GuestMemory& memory_;
  uint64_t features_;
  Virtqueue* queue_ = nullptr;
};

}  // namespace keel::virtio::blk::testing
