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

// Drop the first `count` bytes of `iov` (after a short read or write).
void advance_iovecs(std::vector<iovec>& iov, uint64_t count) noexcept {
  size_t consumed = 0;
  while (consumed < iov.size() && count >= iov[consumed].iov_len) {
    count -= iov[consumed].iov_len;
    ++consumed;
  }
  iov.erase(iov.begin(), iov.begin() + static_cast<ptrdiff_t>(consumed));
  if (!iov.empty() && count > 0) {
    iov.front().iov_base = static_cast<std::byte*>(iov.front().iov_base) + count;
    iov.front().iov_len -= count;
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
    : backend_(std::move(backend)), options_(std::move(options)), poller_(poller) {
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
  uint64_t features = feature::kSegMax | feature::kBlkSize | feature::kFlush;
  // A read-only disk offers RO and none of the commands that change it.
  if (options_.readonly) return features | feature::kRo;
  return features | feature::kDiscard | feature::kWriteZeroes;
}

Config VirtioBlk::make_config() const noexcept {
  Config config{};
  config.capacity = options_.capacity_sectors;
  // The header and the status byte take two of a chain's descriptors.
  config.seg_max = kQueueMaxSize - 2;
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
  // Drain with driver notifications off, turn them back on, then look once
  // more: a chain made available in between would otherwise wait for a
  // doorbell that never comes (2.7.10).
  // Starts every chain available now: how many, or -1 when the ring is broken.
  const auto drain = [&]() -> int {
    for (int started = 0;; ++started) {
      auto chain = queue.pop();
      if (!chain) {
        context.needs_reset("virtio-blk: bad descriptor chain");
        return -1;
      }
      if (!*chain) return started;
      pushed |= start_request(context, queue, **chain);
    }
  };
  const auto set_notifications = [&](bool enabled) {
    if (queue.set_notifications(enabled)) return true;
    context.needs_reset("virtio-blk: cannot update notification suppression");
    return false;
  };
  for (;;) {
    if (!set_notifications(false) || drain() < 0 || !set_notifications(true)) {
      broken_ = true;
      break;
    }
    const int late = drain();  // made available while notifications were off
    if (late < 0) broken_ = true;
    if (late <= 0) break;
  }
  // One system call for the whole batch. On failure the operations stay in
  // the submission queue and go with the next submit (or reset's wait).
  if (!backend_->submit()) {
    auto decision = log_limiter_.admit();
    if (decision.log) spdlog::warn("virtio-blk: io_uring submit failed; retrying with the next request");
  }
  if (pushed) context.signal_used(0);
}

bool VirtioBlk::start_request(VirtioContext& context, Virtqueue& queue, const DescriptorChain& chain) noexcept {
  RequestLimits limits{options_.capacity_sectors, options_.readonly, context.negotiated_features(),
                       kMaxDiscardSectors, kMaxWriteZeroesSectors};
  ParsedRequest parsed = parse_request(context.memory(), chain, limits);
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
  uint64_t tag = next_tag_++;
  // The length of a read fits: a chain carries at most 4 GiB (Virtqueue).
  uint32_t used = parsed.operation == Operation::read ? static_cast<uint32_t>(parsed.length + 1) : 1;
  auto [entry, inserted] = in_flight_.emplace(
      tag, InFlight{chain.head, parsed.status_byte, parsed.operation, parsed.offset, parsed.length, used,
                    std::move(parsed.iov)});
  if (!queue_operation(tag, entry->second, parsed)) {
    in_flight_.erase(entry);
    complete(context, queue, chain.head, parsed.status_byte, status::kIoErr, 1);
    return true;
  }
  return false;
}

bool VirtioBlk::write_through() const noexcept {
  VirtioContext* context = context_.load(std::memory_order_acquire);
  return context == nullptr || (context->negotiated_features() & feature::kFlush) == 0;
}

bool VirtioBlk::queue_operation(uint64_t tag, InFlight& request, const ParsedRequest& parsed) noexcept {
  switch (request.operation) {
    case Operation::read:
      return backend_->read(tag, request.iov, request.offset).has_value();
    case Operation::write:
      return backend_->write(tag, request.iov, request.offset, write_through()).has_value();
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
    auto entry = in_flight_.find(completion.tag);
    if (entry == in_flight_.end()) continue;  // from before a reset: dropped
    if (queue == nullptr || broken_) {
      in_flight_.erase(entry);  // never touch the guest after NEEDS_RESET
      continue;
    }
    InFlight& request = entry->second;
    uint8_t status = status::kOk;
    if (completion.result < 0) {
      status = status::kIoErr;
      auto decision = log_limiter_.admit();
      if (decision.log) spdlog::warn("virtio-blk: I/O error: {}", std::strerror(-completion.result));
    } else if ((request.operation == Operation::read || request.operation == Operation::write) &&
               static_cast<uint64_t>(completion.result) < request.remaining) {
      // Short transfer: go on with the rest; no progress at all (the image
      // shrank under us) is an error.
      if (completion.result > 0) {
        auto done = static_cast<uint64_t>(completion.result);
        advance_iovecs(request.iov, done);
        request.offset += done;
        request.remaining -= done;
        bool again = request.operation == Operation::read
                         ? backend_->read(completion.tag, request.iov, request.offset).has_value()
                         : backend_->write(completion.tag, request.iov, request.offset, write_through()).has_value();
        if (again) {
          requeued = true;
          continue;
        }
      }
      status = status::kIoErr;
    }
    uint32_t used = status == status::kOk ? request.used_on_success : 1;
    complete(*context, *queue, request.head, request.status_byte, status, used);
    in_flight_.erase(entry);
    pushed = true;
  }
  completions_.clear();
  if (requeued) (void)backend_->submit();
  if (pushed && !broken_) context->signal_used(0);
}

void VirtioBlk::reset() noexcept {
  // 'Stop using guest memory before returning': wait for every operation
  // (a readv may still be writing into guest RAM) and drop the results.
  // The completion handler may be waiting for the lock we hold; afterwards
  // it finds an empty ring and no in-flight entries.
  while (backend_->in_flight() > 0) {
    backend_->wait(completions_);
    completions_.clear();
  }
  in_flight_.clear();
  active_ = false;
  broken_ = false;
}

}  // namespace keel::virtio::blk
