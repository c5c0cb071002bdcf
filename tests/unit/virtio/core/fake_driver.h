// Test helpers for the virtqueue tests: guest RAM with guard bytes on both
// sides, and a "fake driver" that lays out a split virtqueue (virtio 1.2,
// 2.7) in that RAM the way a guest driver would and makes chains available.
// The driver writes raw bytes, so tests can also write anything a hostile
// guest could.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "keel/guest_memory.h"
#include "virtio/core/virtqueue.h"

namespace keel::virtio::testing {

// One region [0, size) with kGuardBytes of a known pattern before and after
// it, so a test can prove nothing outside guest RAM was written.
class GuardedGuestMemory {
 public:
  static constexpr size_t kGuardBytes = 4096;
  static constexpr std::byte kGuardPattern{0xA5};

  explicit GuardedGuestMemory(uint64_t size);
  GuestMemory& memory() { return *memory_; }
  std::byte* host() { return storage_.data() + kGuardBytes; }
  uint64_t size() const { return size_; }
  bool guards_intact() const;
  // A copy of guest RAM, to compare before and after an operation.
  std::vector<std::byte> snapshot() const;

  template <class T>
  void poke(uint64_t gpa, const T& value) {
    std::memcpy(host() + gpa, &value, sizeof(T));
  }
  template <class T>
  T peek(uint64_t gpa) {
    T value;
    std::memcpy(&value, host() + gpa, sizeof(T));
    return value;
  }

 private:
  uint64_t size_;
  std::vector<std::byte> storage_;
  std::unique_ptr<GuestMemory> memory_;
};

struct Segment {
  uint64_t addr;
  uint32_t len;
  bool writable = false;
};

struct Descriptor {
  uint64_t addr = 0;
  uint32_t len = 0;
  uint16_t flags = 0;
  uint16_t next = 0;
};

// The driver side of one queue. The rings start at 4 KiB, each on its own
// page(s): below 16 KiB for queues up to 256 entries, so tests keep their
// buffers at kDataStart and above.
class FakeDriver {
 public:
  static constexpr uint64_t kDataStart = 0x10000;

  // `ring_base` (page aligned) lets several queues share one RAM: a
  // 256-entry queue takes 3 pages from it.
  FakeDriver(GuardedGuestMemory& ram, uint16_t size, uint64_t ring_base = 0x1000);

  QueueConfig config() const { return config_; }
  uint16_t size() const { return config_.size; }

  // Descriptor table entry `index` (raw; no checks, like a guest).
  void write_descriptor(uint16_t index, const Descriptor& descriptor);
  Descriptor read_descriptor(uint16_t index);
  // Writes an indirect table of `entries` at `table`.
  void write_table(uint64_t table, const std::vector<Descriptor>& entries);

  // Lays out `segments` as one chain from the next free descriptors, makes
  // it available and returns its head.
  uint16_t add_chain(const std::vector<Segment>& segments);
  // One INDIRECT descriptor pointing at `table`, holding `segments`.
  uint16_t add_indirect_chain(uint64_t table, const std::vector<Segment>& segments);
  // Puts `head` in the next avail ring slot and bumps avail.idx.
  void publish(uint16_t head);

  // Raw ring fields.
  uint16_t avail_idx();
  void set_avail_idx(uint16_t idx);
  void set_avail_flags(uint16_t flags);
  void set_used_event(uint16_t event);
  uint16_t used_idx();
  uint16_t used_flags();
  uint16_t avail_event();
  struct UsedElement {
    uint32_t id;
    uint32_t len;
  };
  UsedElement used_element(uint16_t ring_slot);

 private:
  GuardedGuestMemory& ram_;
  QueueConfig config_;
  uint16_t next_free_ = 0;
};

}  // namespace keel::virtio::testing
