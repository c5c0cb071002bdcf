#include "tests/unit/virtio/core/fake_driver.h"

#include <algorithm>

#include "virtio/core/virtio_spec.h"

namespace keel::virtio::testing {

namespace {
constexpr uint64_t kPage = 0x1000;
uint64_t page_align(uint64_t value) { return (value + kPage - 1) & ~(kPage - 1); }
}  // namespace

GuardedGuestMemory::GuardedGuestMemory(uint64_t size) : size_(size), storage_(size + 2 * kGuardBytes, kGuardPattern) {
  std::fill_n(host(), size, std::byte{0});
  memory_ = std::make_unique<GuestMemory>(std::vector<MemoryRegion>{MemoryRegion{Gpa{0}, size, host()}});
}

bool GuardedGuestMemory::guards_intact() const {
  auto is_guard = [](std::byte value) { return value == kGuardPattern; };
  return std::all_of(storage_.begin(), storage_.begin() + kGuardBytes, is_guard) &&
         std::all_of(storage_.end() - kGuardBytes, storage_.end(), is_guard);
}

std::vector<std::byte> GuardedGuestMemory::snapshot() const {
  return std::vector<std::byte>(storage_.begin() + kGuardBytes, storage_.end() - kGuardBytes);
}

FakeDriver::FakeDriver(GuardedGuestMemory& ram, uint16_t size, uint64_t ring_base) : ram_(ram) {
  config_.size = size;
  config_.desc = ring_base;
  config_.driver = page_align(config_.desc + 16ull * size);
  config_.device = page_align(config_.driver + 6 + 2ull * size);
}

void FakeDriver::write_descriptor(uint16_t index, const Descriptor& descriptor) {
  const uint64_t at = config_.desc + 16ull * index;
  ram_.poke(at, descriptor.addr);
  ram_.poke(at + 8, descriptor.len);
  ram_.poke(at + 12, descriptor.flags);
  ram_.poke(at + 14, descriptor.next);
}

Descriptor FakeDriver::read_descriptor(uint16_t index) {
  const uint64_t at = config_.desc + 16ull * index;
  return Descriptor{ram_.peek<uint64_t>(at), ram_.peek<uint32_t>(at + 8), ram_.peek<uint16_t>(at + 12),
                    ram_.peek<uint16_t>(at + 14)};
}

void FakeDriver::write_table(uint64_t table, const std::vector<Descriptor>& entries) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const uint64_t at = table + 16 * i;
    ram_.poke(at, entries[i].addr);
    ram_.poke(at + 8, entries[i].len);
    ram_.poke(at + 12, entries[i].flags);
    ram_.poke(at + 14, entries[i].next);
  }
}

uint16_t FakeDriver::add_chain(const std::vector<Segment>& segments) {
  const uint16_t mask = static_cast<uint16_t>(config_.size - 1);
  const uint16_t head = next_free_ & mask;
  for (size_t i = 0; i < segments.size(); ++i) {
    const uint16_t index = (next_free_ + i) & mask;
    const bool last = i + 1 == segments.size();
    uint16_t flags = segments[i].writable ? ring::kDescFlagWrite : 0;
    if (!last) flags |= ring::kDescFlagNext;
    write_descriptor(index,
                     Descriptor{segments[i].addr, segments[i].len, flags, static_cast<uint16_t>((index + 1) & mask)});
  }
  next_free_ = static_cast<uint16_t>(next_free_ + segments.size());
  publish(head);
  return head;
}

uint16_t FakeDriver::add_indirect_chain(uint64_t table, const std::vector<Segment>& segments) {
  std::vector<Descriptor> entries;
  for (size_t i = 0; i < segments.size(); ++i) {
    uint16_t flags = segments[i].writable ? ring::kDescFlagWrite : 0;
    if (i + 1 != segments.size()) flags |= ring::kDescFlagNext;
    entries.push_back(Descriptor{segments[i].addr, segments[i].len, flags, static_cast<uint16_t>(i + 1)});
  }
  write_table(table, entries);
  const uint16_t head = next_free_ & (config_.size - 1);
  write_descriptor(head, Descriptor{table, static_cast<uint32_t>(16 * segments.size()), ring::kDescFlagIndirect, 0});
  ++next_free_;
  publish(head);
  return head;
}

void FakeDriver::publish(uint16_t head) {
  const uint16_t idx = avail_idx();
  ram_.poke(config_.driver + 4 + 2ull * (idx & (config_.size - 1)), head);
  set_avail_idx(static_cast<uint16_t>(idx + 1));
}

uint16_t FakeDriver::avail_idx() { return ram_.peek<uint16_t>(config_.driver + 2); }
void FakeDriver::set_avail_idx(uint16_t idx) { ram_.poke(config_.driver + 2, idx); }
void FakeDriver::set_avail_flags(uint16_t flags) { ram_.poke(config_.driver, flags); }
void FakeDriver::set_used_event(uint16_t event) { ram_.poke(config_.driver + 4 + 2ull * config_.size, event); }
uint16_t FakeDriver::used_idx() { return ram_.peek<uint16_t>(config_.device + 2); }
uint16_t FakeDriver::used_flags() { return ram_.peek<uint16_t>(config_.device); }
uint16_t FakeDriver::avail_event() { return ram_.peek<uint16_t>(config_.device + 4 + 8ull * config_.size); }

FakeDriver::UsedElement FakeDriver::used_element(uint16_t ring_slot) {
  const uint64_t at = config_.device + 4 + 8ull * (ring_slot & (config_.size - 1));
  return UsedElement{ram_.peek<uint32_t>(at), ram_.peek<uint32_t>(at + 4)};
}

}  // namespace keel::virtio::testing
