#include "virtio/blk/virtio_blk.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "keel/config_error.h"
#include "virtio/blk/disk_image.h"
#include "virtio/blk/uring_backend.h"
#include "virtio/core/chain_io.h"
#include "virtio/core/virtio_spec.h"

namespace keel::virtio::blk {
namespace {

// Drop the first `count` bytes of iov[first, first + size) (after a short
// read or write).
void advance_iovecs(iovec* iov, size_t& first, size_t& size, uint64_t count) noexcept {
  while (size > 0 && count >= iov[first].iov_len) {
    count -= iov[first].iov_len;
    ++first;
    --size;
  }
  if (size > 0 && count > 0) {
    iov[first].iov_base = static_cast<std::byte*>(iov[first].iov_base) + count;
    iov[first].iov_len -= count;
  }
}

}  // namespace

std::shared_ptr<VirtioBlk> VirtioBlk::open(const DiskSpec& spec, FdPoller& poller) {
  if (spec.serial.size() > kIdBytes) {
    throw ConfigError(fmt::format("disk '{}': serial is longer than {} bytes", spec.path, kIdBytes));
  }
  DiskImage image = DiskImage::open(spec);
  BlkOptions options{image.sectors(), spec.readonly, spec.serial};
  auto backend = UringBackend::create(std::move(image), kQueueMaxSize);
  return std::make_shared<VirtioBlk>(std::move(backend), std::move(options), poller);
}

VirtioBlk::VirtioBlk(std::unique_ptr<BlockBackend> backend, BlkOptions options, FdPoller& poller)
    : backend_(std::move(backend)),
      options_(std::move(options)),
      poller_(poller),
      slots_(kQueueMaxSize),
      // Not value-initialised: untouched pages of the 1 MiB cost nothing.
      iov_pool_(new iovec[size_t{kQueueMaxSize} * kSegMax]) {
  free_slots_.reserve(kQueueMaxSize);
  for (size_t slot = kQueueMaxSize; slot > 0; --slot) {
    slots_[slot - 1].iov = &iov_pool_[(slot - 1) * kSegMax];
    free_slots_.push_back(static_cast<uint16_t>(slot - 1));
  }
  completions_.reserve(kQueueMaxSize);
  chain_.reserve(kMaxChainBuffers);
  // 5.2.6 GET_ID: the serial, zero padded (no terminator when 20 bytes long).
  std::memcpy(id_.data(), options_.serial.data(), std::min(options_.serial.size(), id_.size()));
  poller_.add(backend_->event_fd(), EPOLLIN, [this](uint32_t) { on_completions(); });
}

VirtioBlk::~VirtioBlk() {
  // After remove() the handler cannot run; the backend then waits for its
  // in-flight operations as it is destroyed.
  poller_.remove(backend_->event_fd());
}

uint16_t VirtioBlk::device_type() const noexcept { return kDeviceTypeBlock; }

uint64_t VirtioBlk::device_features() const noexcept {
  uint64_t features = feature::kSegMax | feature::kSizeMax | feature::kBlkSize | feature::kFlush;
  // A read-only disk offers RO and none of the commands that change it.
  if (options_.readonly) return features | feature::kRo;
  return features | feature::kDiscard | feature::kWriteZeroes;
}

Config VirtioBlk::make_config() const noexcept {
  Config config{};
  config.capacity = options_.capacity_sectors;
  config.size_max = kSizeMax;
  config.seg_max = kSegMax;
  config.blk_size = kSectorSize;
  config.num_queues = 1;
  config.max_discard_sectors = kMaxDiscardSectors;
  config.max_discard_seg = 1;
  config.discard_sector_alignment = kDiscardSectorAlignment;
  config.max_write_zeroes_sectors = kMaxWriteZeroesSectors;
  config.max_write_zeroes_seg = 1;
  config.write_zeroes_may_unmap = 1;  // with the unmap flag we punch holes
  return config;
}

void VirtioBlk::config_read(uint32_t offset, std::span<std::byte> data) noexcept {
  Config config = make_config();
  auto bytes = std::as_bytes(std::span(&config, 1));
  for (size_t i = 0; i < data.size(); ++i) {
    uint64_t position = uint64_t{offset} + i;
    data[i] = position < bytes.size() ? bytes[position] : std::byte{0};
  }
}

void VirtioBlk::config_write(uint32_t, std::span<const std::byte>) noexcept {
  // Nothing is writable: `writeback` only with VIRTIO_BLK_F_CONFIG_WCE, which
  // is not offered.
}

bool VirtioBlk::activate(VirtioContext& context) noexcept {
  // The transport refuses DRIVER_OK until a pending reset has finished;
  // refusing here too keeps old slots from being reused while in flight.
  if (resetting_) return false;
  context_.store(&context, std::memory_order_release);
  active_ = true;
  broken_ = false;
  return true;
}

void VirtioBlk::queue_notified(uint16_t queue_index) noexcept {
  VirtioContext* context = context_.load(std::memory_order_acquire);
  if (!active_ || broken_ || queue_index != 0 || context == nullptr) return;
  Virtqueue* queue = context->queue(0);
  if (queue == nullptr) return;
  process_queue(*context, *queue);
}

void VirtioBlk::process_queue(VirtioContext& context, Virtqueue& queue) noexcept {
  bool pushed = false;
  const auto set_notifications = [&](bool enabled) {
    if (queue.set_notifications(enabled)) return true;
    context.needs_reset("virtio-blk: cannot update notification suppression");
    broken_ = true;
    return false;
  };
  // Drain with driver notifications off. When the ring is empty, turn them
  // back on and look once more: a chain made available in between would
  // otherwise wait for a doorbell that never comes (2.7.10). When we stop
  // early they stay off, and someone is sure to come back: reschedule()
  // for the chain budget, the completion handler for the byte cap.
  throttled_ = false;
  bool notifications_on = false;
  unsigned served = 0;
  if (!set_notifications(false)) return;
  while (!broken_) {
    if (!room_for_a_request()) {
      throttled_ = true;  // bytes_in_flight_ > 0, so a completion will come
      break;
    }
    if (served == kChainBudget) {
      context.reschedule(0);  // bounded work per wake-up: the rest after the others
      break;
    }
    // Into the reserved scratch chain: no allocation per request.
    auto popped = queue.pop_into(chain_);
    if (!popped) {
      context.needs_reset("virtio-blk: bad descriptor chain");
      broken_ = true;
      break;
    }
    if (!*popped) {
      if (notifications_on || !set_notifications(true)) break;
      notifications_on = true;
      continue;
    }
    pushed |= start_request(context, queue, chain_);
    ++served;
  }
  // One system call for the whole batch. On failure the operations stay in
  // the submission queue and go with the next submit (or reset's wait).
  if (!backend_->submit()) {
    auto decision = log_limiter_.admit();
    if (decision.log) spdlog::warn("virtio-blk: io_uring submit failed; retrying with the next request");
  }
  if (pushed && !broken_) context.signal_used(0);
}

bool VirtioBlk::room_for_a_request() const noexcept {
  return bytes_in_flight_ == 0 ||
         (bytes_in_flight_ <= options_.max_bytes_in_flight &&
          kMaxRequestBytes <= options_.max_bytes_in_flight - bytes_in_flight_);
}

bool VirtioBlk::start_request(VirtioContext& context, Virtqueue& queue, const DescriptorChain& chain) noexcept {
  // Virtqueue lets no more chains be outstanding than the queue size, so a
  // slot is always free; answering IOERR otherwise keeps that an assumption
  // the guest cannot turn into a crash.
  if (free_slots_.empty()) {
    if (!queue.push_used(chain.head, 0)) {
      context.needs_reset("virtio-blk: push_used failed");
      broken_ = true;
    }
    return true;
  }
  InFlight& slot = slots_[free_slots_.back()];
  RequestLimits limits{options_.capacity_sectors, options_.readonly, context.negotiated_features(),
                       kMaxDiscardSectors, kMaxWriteZeroesSectors, kSegMax, kSizeMax};
  ParsedRequest parsed = parse_request(context.memory(), chain, limits, std::span(slot.iov, kSegMax));
  switch (parsed.verdict) {
    case Verdict::malformed: {
      auto decision = log_limiter_.admit();
      if (decision.log) spdlog::warn("virtio-blk: request without a header or status byte; dropped");
      if (!queue.push_used(chain.head, 0)) {
        context.needs_reset("virtio-blk: push_used failed");
        broken_ = true;
      }
      return true;
    }
    case Verdict::complete:
      complete(context, queue, chain.head, parsed.status_byte, parsed.status, 1);
      return true;
    case Verdict::execute:
      break;
  }
  if (parsed.operation == Operation::get_id) {
    // Up to 20 bytes of id into the data area (QEMU: as many as fit).
    uint64_t count = std::min<uint64_t>(parsed.data_area, kIdBytes);
    ChainWriter writer(context.memory(), chain.writable);
    uint8_t status = writer.write(std::span(id_).first(count)) ? status::kOk : status::kIoErr;
    complete(context, queue, chain.head, parsed.status_byte, status,
             status == status::kOk ? static_cast<uint32_t>(count) + 1 : 1);
    return true;
  }
  const uint16_t index = free_slots_.back();
  free_slots_.pop_back();
  slot.tag = next_sequence_++ << 16 | index;
  slot.head = chain.head;
  slot.status_byte = parsed.status_byte;
  slot.operation = parsed.operation;
  slot.offset = parsed.offset;
  slot.remaining = parsed.length;
  // The length of a read fits: a chain carries at most 4 GiB (Virtqueue).
  slot.used_on_success = parsed.operation == Operation::read ? static_cast<uint32_t>(parsed.length + 1) : 1;
  slot.iov_first = 0;
  slot.iov_count = parsed.iov_count;
  // What touches guest RAM or writes the disk counts against the cap;
  // discard and flush move no data.
  const bool moves_data = parsed.operation == Operation::read || parsed.operation == Operation::write ||
                          parsed.operation == Operation::write_zeroes;
  slot.charged = moves_data ? parsed.length : 0;
  bytes_in_flight_ += slot.charged;
  ++requests_in_flight_;
  if (!queue_operation(slot, parsed)) {
    release(slot);
    complete(context, queue, chain.head, parsed.status_byte, status::kIoErr, 1);
    return true;
  }
  return false;
}

VirtioBlk::InFlight* VirtioBlk::find_slot(uint64_t tag) noexcept {
  const uint64_t index = tag & 0xFFFF;
  if (tag == 0 || index >= slots_.size() || slots_[index].tag != tag) return nullptr;
  return &slots_[index];
}

void VirtioBlk::release(InFlight& request) noexcept {
  bytes_in_flight_ -= request.charged;
  --requests_in_flight_;
  request.tag = 0;
  request.charged = 0;
  // Never more than kQueueMaxSize entries: the capacity was reserved.
  free_slots_.push_back(static_cast<uint16_t>(&request - slots_.data()));
}

bool VirtioBlk::write_through() const noexcept {
  VirtioContext* context = context_.load(std::memory_order_acquire);
  return context == nullptr || (context->negotiated_features() & feature::kFlush) == 0;
}

bool VirtioBlk::queue_operation(InFlight& request, const ParsedRequest& parsed) noexcept {
  const uint64_t tag = request.tag;
  const std::span<const iovec> iov(request.iov + request.iov_first, request.iov_count);
  switch (request.operation) {
    case Operation::read:
      return backend_->read(tag, iov, request.offset).has_value();
    case Operation::write:
      return backend_->write(tag, iov, request.offset, write_through()).has_value();
    case Operation::flush:
      return backend_->flush(tag).has_value();
    case Operation::discard:
      return backend_->discard(tag, parsed.offset, parsed.length).has_value();
    case Operation::write_zeroes:
      return backend_->write_zeroes(tag, parsed.offset, parsed.length, parsed.may_unmap).has_value();
    case Operation::get_id:
      break;
  }
  return false;
}

void VirtioBlk::complete(VirtioContext& context, Virtqueue& queue, uint16_t head, Gpa status_byte,
                         uint8_t status, uint32_t used) noexcept {
  // The status byte was checked to lie in guest RAM by pop(); a failed
  // write here could only mean a bug, and the request is answered anyway.
  (void)context.memory().write_obj(status_byte, status);
  if (!queue.push_used(head, used)) {
    context.needs_reset("virtio-blk: push_used failed");
    broken_ = true;
  }
}

void VirtioBlk::on_completions() noexcept {
  // Before the first activate() nothing was submitted, so nothing can be
  // waiting (and there is no lock to take yet).
  VirtioContext* context = context_.load(std::memory_order_acquire);
  if (context == nullptr) return;
  std::lock_guard guard(context->lock());
  completions_.clear();
  backend_->reap(completions_);
  Virtqueue* queue = active_ ? context->queue(0) : nullptr;
  bool pushed = false;
  bool requeued = false;
  for (const BackendCompletion& completion : completions_) {
    InFlight* request = find_slot(completion.tag);
    if (request == nullptr) continue;  // cannot happen: tags are never reused
    if (queue == nullptr || broken_) {
      // Never touch the guest after NEEDS_RESET, nor the used ring of a
      // reset (pending or done) queue; see drop_completions() on the data.
      release(*request);
      continue;
    }
    uint8_t status = status::kOk;
    if (completion.result < 0) {
      status = status::kIoErr;
      auto decision = log_limiter_.admit();
      if (decision.log) spdlog::warn("virtio-blk: I/O error: {}", std::strerror(-completion.result));
    } else if ((request->operation == Operation::read || request->operation == Operation::write) &&
               static_cast<uint64_t>(completion.result) < request->remaining) {
      // Short transfer: go on with the rest; no progress at all (the image
      // shrank under us) is an error.
      if (completion.result > 0) {
        auto done = static_cast<uint64_t>(completion.result);
        advance_iovecs(request->iov, request->iov_first, request->iov_count, done);
        request->offset += done;
        request->remaining -= done;
        const std::span<const iovec> rest(request->iov + request->iov_first, request->iov_count);
        bool again = request->operation == Operation::read
                         ? backend_->read(request->tag, rest, request->offset).has_value()
                         : backend_->write(request->tag, rest, request->offset, write_through()).has_value();
        if (again) {
          requeued = true;
          continue;
        }
      }
      status = status::kIoErr;
    }
    uint32_t used = status == status::kOk ? request->used_on_success : 1;
    complete(*context, *queue, request->head, request->status_byte, status, used);
    release(*request);
    pushed = true;
  }
  completions_.clear();
  if (resetting_) {
    // A pending reset (reset() returned false): nothing above reached the
    // guest. When the last old request is in, the reset is done.
    if (backend_->in_flight() == 0) {
      finish_reset();
      context->reset_finished();
    }
    return;
  }
  if (requeued) (void)backend_->submit();
  if (pushed && !broken_) context->signal_used(0);
  // Requests left in the ring for the byte cap: room was made, serve them
  // (at most a budget's worth; process_queue reschedules the rest).
  if (throttled_ && queue != nullptr && !broken_ && room_for_a_request()) process_queue(*context, *queue);
}

bool VirtioBlk::reset() noexcept {
  // The queues are the old driver's: from here on nothing is popped from
  // or pushed to them (queue_notified and on_completions see !active_).
  active_ = false;
  broken_ = false;
  throttled_ = false;
  // Ask the backend to stop what it can, once per reset (a driver writing
  // 0 again and again costs no further cancel requests), and never block:
  // the caller holds the device lock, and through the PCI_CFG window the
  // host bridge's. What could not be stopped (a read already copying into
  // guest RAM) completes later and is dropped by on_completions().
  if (!resetting_ && backend_->in_flight() > 0) backend_->cancel_all();
  completions_.clear();
  backend_->reap(completions_);
  drop_completions();
  if (backend_->in_flight() > 0) {
    resetting_ = true;
    return false;
  }
  finish_reset();
  return true;
}

void VirtioBlk::wait_for_reset() noexcept {
  if (!resetting_) return;
  // Teardown: the transport is going away, so wait here. Bounded by what
  // may be in flight (max_bytes_in_flight bytes, kQueueMaxSize requests),
  // after cancel_all() stopped what it could.
  while (backend_->in_flight() > 0) {
    completions_.clear();
    backend_->wait(completions_);
    drop_completions();
  }
  finish_reset();
  VirtioContext* context = context_.load(std::memory_order_acquire);
  if (context != nullptr) context->reset_finished();
}

void VirtioBlk::drop_completions() noexcept {
  // Results of the old generation go nowhere: not to the status bytes, not
  // to the used ring (its queue is gone). A read that finished has already
  // written its data into the buffers the old driver gave us. That is safe:
  // they are guest RAM (checked when the chain was popped), so only the
  // guest's own memory changed, and it happened before device_status reads
  // 0 — the point until which a device may still touch driver memory
  // (virtio 1.2, 2.4; a driver waits for 0 before reusing it, 4.1.4.3.2).
  for (const BackendCompletion& completion : completions_) {
    if (InFlight* request = find_slot(completion.tag)) release(*request);
  }
  completions_.clear();
}

void VirtioBlk::finish_reset() noexcept {
  // Nothing is in flight: every slot and its iovecs may be used again.
  for (InFlight& request : slots_) {
    if (request.tag != 0) release(request);
  }
  resetting_ = false;
}

}  // namespace keel::virtio::blk
