// Split virtqueue, device side (virtio 1.2, 2.7). See virtqueue.h for the
// contract. Every ring field is read ONCE into a local and only the local is
// validated and used: the guest may rewrite ring memory from another vCPU at
// any moment, so a second read could see a different, unchecked value.
#include "virtio/core/virtqueue.h"

#include <atomic>
#include <bit>
#include <cstddef>

#include "virtio/core/virtio_spec.h"

namespace keel::virtio {

namespace {

static_assert(std::endian::native == std::endian::little,
              "virtio 1.x rings are little-endian; keel reads them as host integers");

// 2.7.5 The Virtqueue Descriptor Table: one entry, as laid out in guest memory.
struct RawDescriptor {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(RawDescriptor) == 16);

// 2.7.8 The Virtqueue Used Ring: one entry.
struct RawUsedElement {
  uint32_t id;
  uint32_t len;
};
static_assert(sizeof(RawUsedElement) == 8);

// 2.7.4 Message Framing: a chain's buffers together may not exceed 4 GiB - 1
// (the used ring's len is a u32).
constexpr uint64_t kMaxChainLength = 0xFFFF'FFFF;

// Ring layouts (2.7.6, 2.7.8): flags and idx (u16 each), then the ring, then
// the event-index field when VIRTIO_F_RING_EVENT_IDX was negotiated.
constexpr uint64_t kRingHeader = 4;
constexpr uint64_t desc_table_bytes(uint64_t size) noexcept { return sizeof(RawDescriptor) * size; }
constexpr uint64_t avail_ring_bytes(uint64_t size, bool event_idx) noexcept {
  return kRingHeader + 2 * size + (event_idx ? 2 : 0);
}
constexpr uint64_t used_ring_bytes(uint64_t size, bool event_idx) noexcept {
  return kRingHeader + sizeof(RawUsedElement) * size + (event_idx ? 2 : 0);
}

// Offsets of the individual fields inside the rings.
constexpr uint64_t kAvailFlags = 0;
constexpr uint64_t kAvailIdx = 2;
constexpr uint64_t avail_entry(uint64_t slot) noexcept { return kRingHeader + 2 * slot; }
constexpr uint64_t used_event(uint64_t size) noexcept { return kRingHeader + 2 * size; }
constexpr uint64_t kUsedFlags = 0;
constexpr uint64_t kUsedIdx = 2;
constexpr uint64_t used_entry(uint64_t slot) noexcept { return kRingHeader + sizeof(RawUsedElement) * slot; }
constexpr uint64_t avail_event(uint64_t size) noexcept { return kRingHeader + sizeof(RawUsedElement) * size; }

// An address inside a ring that create() already checked lies wholly in RAM,
// so the sum cannot wrap.
Gpa at(uint64_t base, uint64_t offset) noexcept { return Gpa{base + offset}; }

Result<void> check_ring(const GuestMemory& memory, uint64_t address, uint64_t alignment, uint64_t length) noexcept {
  if (address % alignment != 0) return fail(Errc::invalid_argument, "virtqueue ring is misaligned");
  if (!checked_add(Gpa{address}, length)) return fail(Errc::overflow, "virtqueue ring wraps past 2^64");
  if (!memory.contains(Gpa{address}, length)) return fail(Errc::out_of_bounds, "virtqueue ring is outside guest RAM");
  return {};
}

// 2.7.10: "vring_need_event": did new_idx move past event_idx since old_idx?
constexpr bool need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx) noexcept {
  return static_cast<uint16_t>(new_idx - event_idx - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

// Walks one descriptor chain and collects its buffers. The walk has a
// time-to-live (the number of descriptors it may visit) so a looping chain
// ends in an error instead of a hang.
class ChainWalker {
 public:
  ChainWalker(const GuestMemory& memory, QueueFeatures features, DescriptorChain& chain) noexcept
      : memory_(memory), features_(features), chain_(chain) {}

  // The chain starting at `head` in the descriptor table at `table` with
  // `table_size` entries (2.7.5.2). May end in one indirect descriptor.
  Result<void> walk_direct(uint64_t table, uint16_t table_size, uint16_t head) noexcept {
    uint32_t index = head;
    uint32_t visited = 0;
    for (;;) {
      // 2.7.5.2: "A driver MUST NOT create a descriptor chain longer than the Queue Size".
      if (++visited > table_size) return fail(Errc::malformed, "descriptor chain loops or is longer than the queue");
      auto descriptor = memory_.read_obj<RawDescriptor>(at(table, sizeof(RawDescriptor) * index));
      if (!descriptor) return std::unexpected(descriptor.error());
      const RawDescriptor copy = *descriptor;  // the only read of this entry
      if (copy.flags & ring::kDescFlagIndirect) return walk_indirect(copy);
      if (auto added = add_buffer(copy); !added) return added;
      if (!(copy.flags & ring::kDescFlagNext)) return {};
      if (copy.next >= table_size) return fail(Errc::out_of_bounds, "descriptor next index is out of range");
      index = copy.next;
    }
  }

 private:
  // 2.7.5.3: an indirect descriptor points at a table of descriptors that
  // make up the rest of the chain ("zero or more normal chained descriptors
  // followed by a single descriptor with VIRTQ_DESC_F_INDIRECT", 2.7.5.3.2).
  Result<void> walk_indirect(const RawDescriptor& indirect) noexcept {
    if (!features_.indirect) return fail(Errc::malformed, "indirect descriptor without VIRTIO_F_RING_INDIRECT_DESC");
    if (in_indirect_) return fail(Errc::malformed, "nested indirect descriptor");
    // 2.7.5.3.1: "MUST NOT set both VIRTQ_DESC_F_INDIRECT and VIRTQ_DESC_F_NEXT".
    if (indirect.flags & ring::kDescFlagNext) return fail(Errc::malformed, "indirect descriptor with NEXT set");
    if (indirect.len == 0 || indirect.len % sizeof(RawDescriptor) != 0)
      return fail(Errc::malformed, "indirect table length is zero or not a multiple of 16");
    const uint64_t count = indirect.len / sizeof(RawDescriptor);
    // The spec bounds a chain by the queue size; no queue is larger than
    // 32768, so neither is any sane indirect table (512 KiB).
    if (count > ring::kMaxQueueSize) return fail(Errc::malformed, "indirect table has more than 32768 entries");
    if (!checked_add(Gpa{indirect.addr}, indirect.len)) return fail(Errc::overflow, "indirect table wraps past 2^64");
    if (!memory_.contains(Gpa{indirect.addr}, indirect.len))
      return fail(Errc::out_of_bounds, "indirect table is outside guest RAM");
    // The WRITE flag of the indirect descriptor itself is ignored (2.7.5.3.2).
    in_indirect_ = true;
    uint32_t index = 0;
    uint32_t visited = 0;
    for (;;) {
      if (++visited > count) return fail(Errc::malformed, "indirect chain loops");
      auto descriptor = memory_.read_obj<RawDescriptor>(at(indirect.addr, sizeof(RawDescriptor) * index));
      if (!descriptor) return std::unexpected(descriptor.error());
      const RawDescriptor copy = *descriptor;
      if (copy.flags & ring::kDescFlagIndirect) return fail(Errc::malformed, "nested indirect descriptor");
      if (auto added = add_buffer(copy); !added) return added;
      if (!(copy.flags & ring::kDescFlagNext)) return {};
      if (copy.next >= count) return fail(Errc::out_of_bounds, "indirect descriptor next index is out of range");
      index = copy.next;
    }
  }

  // One buffer: ordering (2.7.4.2 "device-readable before device-writable"),
  // range inside RAM without wrapping, and the running total length.
  Result<void> add_buffer(const RawDescriptor& descriptor) noexcept {
    const bool writable = (descriptor.flags & ring::kDescFlagWrite) != 0;
    if (!writable && seen_writable_) return fail(Errc::malformed, "readable descriptor after a writable one");
    seen_writable_ = seen_writable_ || writable;
    // A zero-length buffer carries no bytes: keel drops it (and does not look
    // at its address), so devices never see an empty GuestBuffer.
    if (descriptor.len == 0) return {};
    if (!checked_add(Gpa{descriptor.addr}, descriptor.len))
      return fail(Errc::overflow, "descriptor buffer wraps past 2^64");
    if (!memory_.contains(Gpa{descriptor.addr}, descriptor.len))
      return fail(Errc::out_of_bounds, "descriptor buffer is outside guest RAM");
    total_length_ += descriptor.len;
    if (total_length_ > kMaxChainLength) return fail(Errc::overflow, "descriptor chain is longer than 4 GiB");
    // A device's reserved chain is never grown (DescriptorChain::reserve).
    const uint32_t cap = chain_.max_buffers();
    if (cap != 0 && chain_.readable.size() + chain_.writable.size() >= cap)
      return fail(Errc::malformed, "descriptor chain has more buffers than the device takes");
    GuestBuffer buffer{Gpa{descriptor.addr}, descriptor.len};
    (writable ? chain_.writable : chain_.readable).push_back(buffer);
    return {};
  }

  const GuestMemory& memory_;
  QueueFeatures features_;
  DescriptorChain& chain_;
  bool in_indirect_ = false;
  bool seen_writable_ = false;
  uint64_t total_length_ = 0;
};

}  // namespace

uint64_t DescriptorChain::readable_length() const noexcept {
  uint64_t total = 0;
  for (const GuestBuffer& buffer : readable) total += buffer.length;
  return total;
}

uint64_t DescriptorChain::writable_length() const noexcept {
  uint64_t total = 0;
  for (const GuestBuffer& buffer : writable) total += buffer.length;
  return total;
}

void DescriptorChain::reserve(uint32_t max_buffers) {
  readable.reserve(max_buffers);
  writable.reserve(max_buffers);
  max_buffers_ = max_buffers;
}

Result<Virtqueue> Virtqueue::create(const GuestMemory& memory, const QueueConfig& config, QueueFeatures features,
                                    uint16_t max_size) noexcept {
  if (max_size == 0 || max_size > ring::kMaxQueueSize || !std::has_single_bit(max_size))
    return fail(Errc::invalid_argument, "virtqueue maximum size is not a power of two in 1..32768");
  // 2.7: "Queue Size value is always a power of 2".
  if (config.size == 0 || config.size > max_size || !std::has_single_bit(config.size))
    return fail(Errc::invalid_argument, "virtqueue size is not a power of two in 1..max");
  // 2.7 table "Virtqueue Part Alignment Size".
  if (auto ok = check_ring(memory, config.desc, ring::kDescAlign, desc_table_bytes(config.size)); !ok)
    return std::unexpected(ok.error());
  if (auto ok = check_ring(memory, config.driver, ring::kAvailAlign, avail_ring_bytes(config.size, features.event_idx));
      !ok)
    return std::unexpected(ok.error());
  if (auto ok = check_ring(memory, config.device, ring::kUsedAlign, used_ring_bytes(config.size, features.event_idx));
      !ok)
    return std::unexpected(ok.error());
  return Virtqueue(memory, config, features);
}

Result<std::optional<DescriptorChain>> Virtqueue::pop() noexcept {
  DescriptorChain chain;
  auto popped = pop_into(chain);
  if (!popped) return std::unexpected(popped.error());
  if (!*popped) return std::optional<DescriptorChain>{};
  return std::optional<DescriptorChain>(std::move(chain));
}

Result<bool> Virtqueue::pop_into(DescriptorChain& chain) noexcept {
  chain.readable.clear();
  chain.writable.clear();
  const uint16_t size = config_.size;
  auto avail_idx = memory_->read_obj<uint16_t>(at(config_.driver, kAvailIdx));
  if (!avail_idx) return std::unexpected(avail_idx.error());
  // 2.7.13.4: the ring entries and descriptors the driver wrote before
  // publishing avail.idx must not be read before it (acquire).
  std::atomic_thread_fence(std::memory_order_acquire);
  const uint16_t pending = static_cast<uint16_t>(*avail_idx - last_avail_);
  if (pending > size) return fail(Errc::malformed, "avail.idx is more than the queue size ahead");
  if (pending == 0) return false;
  // Every chain uses at least one descriptor of the table until it is
  // returned, so a driver cannot have more than `size` chains outstanding.
  if (in_flight_ >= size) return fail(Errc::malformed, "more chains available than the queue has descriptors");

  auto head = memory_->read_obj<uint16_t>(at(config_.driver, avail_entry(last_avail_ & (size - 1))));
  if (!head) return std::unexpected(head.error());
  const uint16_t head_index = *head;
  if (head_index >= size) return fail(Errc::out_of_bounds, "avail ring head index is out of range");

  chain.head = head_index;
  ChainWalker walker(*memory_, features_, chain);
  if (auto walked = walker.walk_direct(config_.desc, size, head_index); !walked) return std::unexpected(walked.error());

  ++last_avail_;
  ++in_flight_;
  if (features_.event_idx && notifications_enabled_) {
    if (auto published = publish_avail_event(); !published) return std::unexpected(published.error());
  }
  return true;
}

Result<void> Virtqueue::push_used(uint16_t head, uint32_t written) noexcept {
  if (head >= config_.size) return fail(Errc::invalid_argument, "push_used head index is out of range");
  if (in_flight_ == 0) return fail(Errc::invalid_argument, "push_used without a chain in flight");
  const RawUsedElement element{head, written};
  if (auto ok = memory_->write_obj(at(config_.device, used_entry(used_idx_ & (config_.size - 1))), element); !ok)
    return ok;
  // 2.7.8.2 / 2.7.13.4: the entry must be visible before the new used.idx.
  std::atomic_thread_fence(std::memory_order_release);
  const uint16_t next = static_cast<uint16_t>(used_idx_ + 1);
  if (auto ok = memory_->write_obj(at(config_.device, kUsedIdx), next); !ok) return ok;
  used_idx_ = next;
  --in_flight_;
  return {};
}

bool Virtqueue::needs_interrupt() noexcept {
  const uint16_t old_idx = signalled_used_;
  const uint16_t new_idx = used_idx_;
  signalled_used_ = new_idx;
  if (old_idx == new_idx) return false;  // nothing pushed since the last signal
  // The used.idx store must be ordered before the read of the driver's
  // suppression field, or driver and device can each miss the other (2.7.10).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (features_.event_idx) {
    auto event = memory_->read_obj<uint16_t>(at(config_.driver, used_event(config_.size)));
    if (!event) return true;  // cannot happen (checked at create); err towards an interrupt
    return need_event(*event, new_idx, old_idx);
  }
  auto flags = memory_->read_obj<uint16_t>(at(config_.driver, kAvailFlags));
  if (!flags) return true;
  return (*flags & ring::kAvailFlagNoInterrupt) == 0;
}

Result<void> Virtqueue::set_notifications(bool enabled) noexcept {
  notifications_enabled_ = enabled;
  if (features_.event_idx) {
    // 2.7.10: with EVENT_IDX the device ignores used.flags; avail_event
    // says "notify me once you make this index available". Disabling just
    // stops moving it forward, which the spec allows.
    if (enabled) {
      if (auto ok = publish_avail_event(); !ok) return ok;
    }
  } else {
    const uint16_t flags = enabled ? 0 : ring::kUsedFlagNoNotify;
    if (auto ok = memory_->write_obj(at(config_.device, kUsedFlags), flags); !ok) return ok;
  }
  // Order the write before the device's final re-check of avail.idx.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return {};
}

Result<void> Virtqueue::publish_avail_event() noexcept {
  return memory_->write_obj(at(config_.device, avail_event(config_.size)), last_avail_);
}

}  // namespace keel::virtio
