#include "tests/unit/virtio/blk/fake_driver.h"

#include <atomic>
#include <cstring>
#include <stdexcept>

namespace keel::virtio::blk::testing {
namespace {

template <class T>
void put(std::byte* host, const T& value) {
  std::memcpy(host, &value, sizeof(T));
}
template <class T>
T get(const std::byte* host) {
  T value;
  std::memcpy(&value, host, sizeof(T));
  return value;
}

}  // namespace

uint64_t FakeDriver::alloc(uint64_t length) {
  uint64_t gpa = heap_;
  heap_ += (length + 511) / 512 * 512;
  if (heap_ > memory_.memory().total_size()) throw std::runtime_error("FakeDriver: out of guest memory");
  return gpa;
}

uint16_t FakeDriver::add_chain(const std::vector<DriverBuffer>& buffers, bool publish_now) {
  uint16_t head = next_descriptor_;
  for (size_t i = 0; i < buffers.size(); ++i) {
    uint16_t index = next_descriptor_;
    next_descriptor_ = static_cast<uint16_t>((next_descriptor_ + 1) % size_);
    bool last = i + 1 == buffers.size();
    uint16_t flags = static_cast<uint16_t>((last ? 0 : 1) | (buffers[i].writable ? 2 : 0));  // NEXT, WRITE
    std::byte* descriptor = host(kDescTable + 16ull * index);
    put<uint64_t>(descriptor, buffers[i].gpa);
    put<uint32_t>(descriptor + 8, buffers[i].length);
    put<uint16_t>(descriptor + 12, flags);
    put<uint16_t>(descriptor + 14, last ? 0 : next_descriptor_);
  }
  put<uint16_t>(host(kAvailRing + 4 + 2ull * (avail_idx_ % size_)), head);
  ++avail_idx_;
  if (publish_now) publish();
  return head;
}

void FakeDriver::make_available(uint16_t head) {
  put<uint16_t>(host(kAvailRing + 4 + 2ull * (avail_idx_ % size_)), head);
  ++avail_idx_;
  publish();
}

void FakeDriver::publish() {
  std::atomic_thread_fence(std::memory_order_release);
  put<uint16_t>(host(kAvailRing + 2), avail_idx_);
}

void FakeDriver::set_avail_idx(uint16_t index) { put<uint16_t>(host(kAvailRing + 2), index); }

void FakeDriver::restart() {
  std::memset(host(kDescTable), 0, 16ull * size_);
  std::memset(host(kAvailRing), 0, 6 + 2ull * size_);
  std::memset(host(kUsedRing), 0, 6 + 8ull * size_);
  next_descriptor_ = 0;
  avail_idx_ = 0;
  last_used_ = 0;
}

uint16_t FakeDriver::used_idx() const { return get<uint16_t>(memory_.host() + kUsedRing + 2); }

std::optional<UsedElement> FakeDriver::next_used() {
  if (used_idx() == last_used_) return std::nullopt;
  const std::byte* element = host(kUsedRing + 4 + 8ull * (last_used_ % size_));
  ++last_used_;
  return UsedElement{get<uint32_t>(element), get<uint32_t>(element + 4)};
}

}  // namespace keel::virtio::blk::testing
