// The receive path of VirtioNet: backend frames into the guest's rx queue,
// with back-pressure instead of loss when the guest is slow.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "virtio/net/net_header.h"
#include "virtio/net/net_spec.h"
#include "virtio/net/virtio_net.h"

namespace keel::virtio::net {

using keel::net::kVnetHeaderSize;
using keel::net::VnetHeader;

namespace {
constexpr size_t kNumBuffersOffset = offsetof(VnetHeader, num_buffers);
}  // namespace

void VirtioNet::frames_waiting() noexcept {
  VirtioContext* context = context_.load(std::memory_order_acquire);
  if (context == nullptr) {
    // Not active: nothing can take frames. The first rx doorbell after
    // (re)activation turns interest back on.
    backend_->set_receive_interest(false);
    return;
  }
  std::lock_guard guard(context->lock());
  if (!active_ || broken_) {
    backend_->set_receive_interest(false);
    return;
  }
  receive_frames(*context);
}

void VirtioNet::receive_frames(VirtioContext& context) noexcept {
  Virtqueue* queue = context.queue(kRxQueue);
  if (queue == nullptr) {
    // The driver did not enable its rx queue: leave frames with the host.
    backend_->set_receive_interest(false);
    return;
  }
  rx_pushed_ = false;
  // Frames read and dropped count against the budget too, so a flood of
  // unwanted frames cannot hold the loop either.
  for (int handled = 0; handled < kRxBudget && !broken_; ++handled) {
    if (rx_pending_ == 0) {
      // Straight into the guest's next buffer when it can take any frame
      // the backend delivers; otherwise through the bounce buffer.
      if (std::optional<bool> direct = receive_direct(context, *queue)) {
        if (!*direct) break;  // nothing waiting
        continue;             // delivered or dropped
      }
      if (broken_) break;
      if (!read_frame(context.negotiated_features())) break;
      if (rx_pending_ == 0) continue;  // read and dropped
    }
    if (deliver_pending(context, *queue) == Delivery::starved) {
      // Back-pressure: the frame waits here, the rest in the host, until
      // the guest posts buffers and rings (rx_doorbell).
      backend_->set_receive_interest(false);
      break;
    }
  }
  // Budget used with frames left: the backend is level-triggered and calls
  // frames_waiting() again.
  if (rx_pushed_ && !broken_) context.signal_used(kRxQueue);
}

void VirtioNet::rx_doorbell(VirtioContext& context) noexcept {
  Virtqueue* queue = context.queue(kRxQueue);
  if (queue == nullptr) return;
  rx_pushed_ = false;
  Delivery delivery = Delivery::delivered;
  if (rx_pending_ > 0) delivery = deliver_pending(context, *queue);
  if (rx_pushed_ && !broken_) context.signal_used(kRxQueue);
  if (delivery == Delivery::starved || delivery == Delivery::broken) return;
  // Buffers are there: no doorbell needed for each refill until they run
  // out again (pop_chain turns notifications back on then).
  if (rx_notifications_on_) {
    if (!queue->set_notifications(false)) {
      mark_broken(context, "virtio-net: cannot update notification suppression");
      return;
    }
    rx_notifications_on_ = false;
  }
  // Always, not only after our own back-pressure: a callback that raced
  // with activation may have turned it off.
  backend_->set_receive_interest(true);
}

bool VirtioNet::read_frame(uint64_t features) noexcept {
  const iovec buffer{rx_bounce_.data(), rx_bounce_.size()};
  auto received = backend_->receive(std::span(&buffer, 1));
  if (!received) {
    ++stats_.rx_backend_errors;
    auto decision = log_limiter_.admit();
    if (decision.log) spdlog::warn("virtio-net: backend receive failed: {}", received.error().what);
    return true;  // maybe the next one is fine; the budget bounds this
  }
  const size_t length = *received;
  if (length == 0) return false;
  if (length > rx_bounce_.size()) {
    ++stats_.rx_dropped_malformed;
    return true;
  }
  VnetHeader header;
  if (!vet_frame(std::span<const std::byte>(rx_bounce_.data(), length), features, header)) return true;
  header.num_buffers = 1;  // set again by copy_to_chains for MRG_RXBUF
  std::memcpy(rx_bounce_.data(), &header, kVnetHeaderSize);
  rx_pending_ = length;
  return true;
}

bool VirtioNet::vet_frame(std::span<const std::byte> frame, uint64_t features, VnetHeader& header) noexcept {
  const size_t length = frame.size();
  if (length < kVnetHeaderSize + kEthernetHeaderBytes) {
    ++stats_.rx_dropped_malformed;
    return false;
  }
  // Each field is read once, into keel's copies: on the direct path
  // `frame` is guest memory the guest may be rewriting meanwhile.
  std::array<std::byte, kMacBytes> destination;
  std::memcpy(&header, frame.data(), kVnetHeaderSize);
  std::memcpy(destination.data(), frame.data() + kVnetHeaderSize, kMacBytes);
  if (!fit_rx_header(header, guest_offloads_, length - kVnetHeaderSize)) {
    ++stats_.rx_dropped_offload;
    return false;
  }
  // 5.1.6.3.1: with MTU negotiated, no unsegmented frame above it (plus
  // the Ethernet header and a VLAN tag).
  constexpr size_t kVlanTagBytes = 4;
  if ((features & feature::kMtu) != 0 && header.gso_type == VnetHeader::kGsoNone &&
      length - kVnetHeaderSize > size_t{options_.mtu} + kEthernetHeaderBytes + kVlanTagBytes) {
    ++stats_.rx_dropped_over_mtu;
    return false;
  }
  if (!filter_.accepts(mac_, std::span<const std::byte, kMacBytes>(destination))) {
    ++stats_.rx_dropped_filtered;
    return false;
  }
  return true;
}

std::optional<bool> VirtioNet::receive_direct(VirtioContext& context, Virtqueue& queue) noexcept {
  const uint64_t features = context.negotiated_features();
  // MRG_RXBUF may spread a frame over several chains, which one read()
  // into one buffer cannot do: those frames go through the bounce buffer.
  if ((features & feature::kMrgRxbuf) != 0) return std::nullopt;
  if (rx_held_.empty()) {
    // No buffer, no read: the bounce path then reads the frame and holds
    // it (back-pressure) exactly as before.
    if (gather_rx_chains(context, queue, 1, false) != Delivery::delivered) return std::nullopt;
  }
  DescriptorChain& chain = rx_held_.front();
  // A frame goes into one chain; a chain of several buffers would need
  // readv(), dearer than read() + the copy from the bounce buffer.
  if (chain.writable.size() != 1) return std::nullopt;
  const GuestBuffer& buffer = chain.writable.front();
  auto target = context.memory().host_span(buffer.address, buffer.length);  // checked again
  if (!target) return std::nullopt;
  // The backend writes into the guest's buffer before keel has looked at
  // the frame. Nothing of a frame keel then drops is visible to the guest:
  // the chain is not returned (no used entry), so a correct driver does
  // not read the buffer, and the next frame delivered into it comes with
  // a used length covering only its own bytes. What a driver that reads
  // beyond that length might find are bytes of a frame addressed to its
  // own TAP, which it could have asked for (promiscuous mode, offloads).
  // A frame longer than the buffer fails as out_of_bounds (the backend
  // detects truncation) and is dropped as the bounce path drops a frame
  // too big for the next chain.
  const iovec piece{target->data(), target->size()};
  auto received = backend_->receive(std::span(&piece, 1));
  if (!received) {
    if (received.error().code == Errc::out_of_bounds) {
      ++stats_.rx_dropped_no_room;
    } else {
      ++stats_.rx_backend_errors;
      auto decision = log_limiter_.admit();
      if (decision.log) spdlog::warn("virtio-net: backend receive failed: {}", received.error().what);
    }
    return true;
  }
  const size_t length = *received;
  if (length == 0) return false;
  if (length > target->size()) {  // a backend that broke its contract
    ++stats_.rx_dropped_malformed;
    return true;
  }
  VnetHeader header;
  if (!vet_frame(target->first(length), features, header)) return true;  // the chain stays held
  header.num_buffers = 1;
  // The header the guest gets is keel's vetted copy, not what the backend
  // (or a racing guest) left in the buffer.
  std::memcpy(target->data(), &header, kVnetHeaderSize);
  rx_held_bytes_ -= buffer.length;
  rx_pushed_ = true;
  const uint16_t head = chain.head;
  rx_spare_.push_back(std::move(chain));
  rx_held_.erase(rx_held_.begin());
  ++stats_.rx_frames;
  stats_.rx_bytes += length - kVnetHeaderSize;
  (void)push(context, queue, head, static_cast<uint32_t>(length));
  return true;
}

VirtioNet::Delivery VirtioNet::deliver_pending(VirtioContext& context, Virtqueue& queue) noexcept {
  const bool mergeable = (context.negotiated_features() & feature::kMrgRxbuf) != 0;
  const Delivery gathered = gather_rx_chains(context, queue, rx_pending_, mergeable);
  if (gathered == Delivery::starved || gathered == Delivery::broken) return gathered;
  if (gathered == Delivery::dropped ||
      (!mergeable && rx_held_.front().writable_length() < rx_pending_)) {
    // More than every buffer the guest can post at once, or (without
    // MRG_RXBUF, 5.1.6.3.1) more than the next buffer: the guest cannot
    // take it. The held chains stay for the next frame.
    ++stats_.rx_dropped_no_room;
    rx_pending_ = 0;
    return Delivery::dropped;
  }
  size_t chains = 1;
  if (mergeable) {
    uint64_t room = 0;
    chains = 0;
    while (room < rx_pending_) room += rx_held_[chains++].writable_length();
  }
  copy_to_chains(context, queue, chains);
  return broken_ ? Delivery::broken : Delivery::delivered;
}

VirtioNet::Delivery VirtioNet::gather_rx_chains(VirtioContext& context, Virtqueue& queue, uint64_t length,
                                                bool mergeable) noexcept {
  // A guest that keeps posting useless buffers cannot keep us here: after
  // a ring's worth, come back later from the loop.
  for (uint32_t useless = 0; mergeable ? rx_held_bytes_ < length : rx_held_.empty();) {
    if (useless == queue.size()) {
      context.reschedule(kRxQueue);
      return Delivery::starved;
    }
    // Every descriptor the guest has is held and still not enough: nothing
    // more can come (and pop() would call one more a broken driver).
    if (queue.in_flight() >= queue.size()) return Delivery::dropped;
    // A spare chain's vectors take the descriptors: no allocation. There is
    // one (see rx_spare_); were there none, the frame is dropped, nothing grows.
    if (rx_spare_.empty()) return Delivery::dropped;
    DescriptorChain& chain = rx_spare_.back();
    switch (pop_chain(context, queue, rx_notifications_on_, chain)) {
      case Pop::broken: return Delivery::broken;
      case Pop::empty: return Delivery::starved;
      case Pop::chain: break;
    }
    if (rx_notifications_on_) {
      // Buffers came after all: back to no doorbell per refill.
      if (!queue.set_notifications(false)) {
        mark_broken(context, "virtio-net: cannot update notification suppression");
        return Delivery::broken;
      }
      rx_notifications_on_ = false;
    }
    // Every rx buffer must hold at least the header (5.1.6.3.1); one that
    // cannot, or a chain with no writable part, goes back empty.
    if (chain.writable_length() < kVnetHeaderSize) {
      ++stats_.rx_bad_buffers;
      ++useless;
      rx_pushed_ = true;
      if (!push(context, queue, chain.head, 0)) return Delivery::broken;
      continue;  // `chain` stays a spare
    }
    rx_held_bytes_ += chain.writable_length();
    rx_held_.push_back(std::move(chain));
    rx_spare_.pop_back();
  }
  return Delivery::delivered;
}

void VirtioNet::copy_to_chains(VirtioContext& context, Virtqueue& queue, size_t chains) noexcept {
  // 5.1.6.4: num_buffers says how many used entries the frame spans.
  const auto count = static_cast<uint16_t>(chains);
  std::memcpy(rx_bounce_.data() + kNumBuffersOffset, &count, sizeof(count));
  const std::span<const std::byte> frame(rx_bounce_.data(), rx_pending_);
  size_t offset = 0;
  for (size_t i = 0; i < chains; ++i) {
    const DescriptorChain& chain = rx_held_[i];
    const uint64_t room = chain.writable_length();
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(room, frame.size() - offset));
    // pop() checked every buffer, and the copy goes through GuestMemory's
    // checks again; a failed copy would be a bug, and the used length then
    // says how much arrived (nothing, for the one-buffer case).
    uint64_t written = 0;
    if (chain.writable.size() == 1) {
      // The usual rx chain, one buffer: one checked copy, no cursor.
      if (context.memory().write(chain.writable.front().address, frame.subspan(offset, chunk))) written = chunk;
    } else {
      ChainWriter writer(context.memory(), chain.writable);
      (void)writer.write(frame.subspan(offset, chunk));
      written = writer.written();
    }
    offset += chunk;
    rx_held_bytes_ -= room;
    rx_pushed_ = true;
    if (!push(context, queue, chain.head, static_cast<uint32_t>(written))) break;
  }
  // The used chains become spares (their vectors keep their capacity).
  for (size_t i = 0; i < chains; ++i) rx_spare_.push_back(std::move(rx_held_[i]));
  rx_held_.erase(rx_held_.begin(), rx_held_.begin() + static_cast<ptrdiff_t>(chains));
  ++stats_.rx_frames;
  stats_.rx_bytes += rx_pending_ - kVnetHeaderSize;
  rx_pending_ = 0;
}

}  // namespace keel::virtio::net
