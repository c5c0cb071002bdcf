#include "virtio/net/virtio_net.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "keel/config_error.h"
#include "virtio/core/virtio_spec.h"
#include "virtio/net/net_header.h"
#include "virtio/net/net_spec.h"

namespace keel::virtio::net {

using keel::net::kMaxFrameSize;
using keel::net::kVnetHeaderSize;
using keel::net::SendStatus;
using keel::net::VnetHeader;

namespace {

// The features every virtio-net of keel offers; offloads come on top when
// the backend can do them.
constexpr uint64_t kBaseFeatures = feature::kMac | feature::kStatus | feature::kMtu | feature::kMrgRxbuf |
                                   feature::kCtrlVq | feature::kCtrlRx | feature::kCtrlRxExtra |
                                   feature::kCtrlMacAddr | feature::kCtrlGuestOffloads;

// RFC 791's minimum; the largest an Ethernet frame of kMaxFrameSize carries.
constexpr uint32_t kMinMtu = 68;
constexpr uint32_t kMaxMtu = 65535;

void store_le16(std::span<std::byte> bytes, uint32_t offset, uint16_t value) noexcept {
  bytes[offset] = std::byte(value & 0xFF);
  bytes[offset + 1] = std::byte(value >> 8);
}

}  // namespace

VirtioNet::VirtioNet(std::unique_ptr<keel::net::NetBackend> backend, NetOptions options)
    : backend_(std::move(backend)), options_(options), mac_(options.mac) {
  if (!backend_) throw ConfigError("virtio-net: no network backend");
  if (options_.mtu < kMinMtu || options_.mtu > kMaxMtu) {
    throw ConfigError(fmt::format("virtio-net: mtu {} is outside {}..{}", options_.mtu, kMinMtu, kMaxMtu));
  }
  if ((options_.mac[0] & 1) != 0) {
    throw ConfigError(fmt::format("virtio-net: mac {:02x} is a multicast address; the first byte must be even",
                                  fmt::join(options_.mac, ":")));
  }
  caps_ = backend_->capabilities();
  rx_bounce_.resize(kVnetHeaderSize + kMaxFrameSize);
  tx_linear_.resize(kTxCopyLimit);
  // Everything a guest's chains can fill is made here, at its bound.
  tx_iov_.resize(kMaxChainBuffers + 1);  // keel's header + one iovec per buffer
  tx_chain_.reserve(kMaxChainBuffers);
  ctrl_chain_.reserve(kMaxChainBuffers);
  rx_held_.reserve(kQueueMaxSize);
  rx_spare_.resize(kQueueMaxSize);
  for (DescriptorChain& spare : rx_spare_) spare.reserve(kMaxRxChainBuffers);
  backend_->attach(*this);
}

VirtioNet::~VirtioNet() { backend_.reset(); }

uint16_t VirtioNet::device_type() const noexcept { return kDeviceTypeNet; }

uint64_t VirtioNet::device_features() const noexcept { return kBaseFeatures | offload_features(caps_); }

uint16_t VirtioNet::queue_count() const noexcept { return kQueueCount; }

void VirtioNet::config_read(uint32_t offset, std::span<std::byte> data) noexcept {
  std::array<std::byte, config::kSize> bytes{};
  std::memcpy(bytes.data() + config::kMac, mac_.data(), kMacBytes);
  store_le16(bytes, config::kStatus, kStatusLinkUp);
  store_le16(bytes, config::kMaxVirtqueuePairs, 1);
  store_le16(bytes, config::kMtu, options_.mtu);
  for (size_t i = 0; i < data.size(); ++i) {
    const uint64_t position = uint64_t{offset} + i;
    data[i] = position < bytes.size() ? bytes[position] : std::byte{0};
  }
}

void VirtioNet::config_write(uint32_t, std::span<const std::byte>) noexcept {
  // 5.1.4: a modern driver does not write the config space; the MAC
  // changes through CTRL_MAC_ADDR (5.1.6.5.2).
}

bool VirtioNet::accept_features(uint64_t features) noexcept { return features_consistent(features); }

bool VirtioNet::activate(VirtioContext& context) noexcept {
  context_.store(&context, std::memory_order_release);
  active_ = true;
  broken_ = false;
  // Fresh queues notify; nothing is pending after a reset.
  tx_notifications_on_ = rx_notifications_on_ = ctrl_notifications_on_ = true;
  guest_offloads_ = guest_offloads(context.negotiated_features() & feature::kGuestOffloadMask);
  backend_->set_guest_offloads(guest_offloads_);
  backend_->set_receive_interest(true);
  return true;
}

bool VirtioNet::reset() noexcept {
  // Pending frames belong to the old driver; chains we held are gone with
  // the queues.
  active_ = false;
  broken_ = false;
  context_.store(nullptr, std::memory_order_release);
  tx_pending_ = false;
  rx_pending_ = 0;
  // Held chains become spares again (their reserved vectors with them).
  for (DescriptorChain& chain : rx_held_) rx_spare_.push_back(std::move(chain));
  rx_held_.clear();
  rx_held_bytes_ = 0;
  mac_ = options_.mac;
  filter_.reset();
  guest_offloads_ = {};
  backend_->set_receive_interest(false);
  return true;
}

void VirtioNet::queue_notified(uint16_t queue) noexcept {
  VirtioContext* context = context_.load(std::memory_order_acquire);
  if (!active_ || broken_ || context == nullptr) return;
  switch (queue) {
    case kRxQueue: rx_doorbell(*context); break;
    case kTxQueue: process_tx(*context); break;
    // The control queue exists only with CTRL_VQ (virtio 1.2, 5.1.2); a
    // driver that enables queue 2 without it gets no answers.
    case kCtrlQueue:
      if ((context->negotiated_features() & feature::kCtrlVq) != 0) process_ctrl(*context);
      break;
    default: break;
  }
}

void VirtioNet::send_possible() noexcept {
  VirtioContext* context = context_.load(std::memory_order_acquire);
  if (context == nullptr) return;
  std::lock_guard guard(context->lock());
  if (!active_ || broken_) return;
  process_tx(*context);
}

NetStats VirtioNet::stats() const noexcept {
  VirtioContext* context = context_.load(std::memory_order_acquire);
  if (context == nullptr) return stats_;
  std::lock_guard guard(context->lock());
  return stats_;
}

MacAddress VirtioNet::mac() const noexcept {
  VirtioContext* context = context_.load(std::memory_order_acquire);
  if (context == nullptr) return mac_;
  std::lock_guard guard(context->lock());
  return mac_;
}

void VirtioNet::mark_broken(VirtioContext& context, const char* why) noexcept {
  context.needs_reset(why);
  broken_ = true;
}

bool VirtioNet::push(VirtioContext& context, Virtqueue& queue, uint16_t head, uint32_t written) noexcept {
  if (queue.push_used(head, written)) return true;
  mark_broken(context, "virtio-net: push_used failed");
  return false;
}

VirtioNet::Pop VirtioNet::pop_chain(VirtioContext& context, Virtqueue& queue, bool& notifications_on,
                                    DescriptorChain& out) noexcept {
  for (;;) {
    auto popped = queue.pop_into(out);
    if (!popped) {
      mark_broken(context, "virtio-net: bad descriptor chain");
      return Pop::broken;
    }
    if (*popped) return Pop::chain;
    if (notifications_on) return Pop::empty;
    // Notifications on, then one more look: a chain made available while
    // they were off would otherwise wait for a doorbell that never comes.
    if (!queue.set_notifications(true)) {
      mark_broken(context, "virtio-net: cannot update notification suppression");
      return Pop::broken;
    }
    notifications_on = true;
  }
}

// --- tx ----------------------------------------------------------------------

void VirtioNet::process_tx(VirtioContext& context) noexcept {
  Virtqueue* queue = context.queue(kTxQueue);
  if (queue == nullptr) return;
  bool pushed = false;
  int sent = 0;
  if (tx_pending_) {
    // Retry the frame the backend could not take last time (checked
    // again: the guest may have changed its header meanwhile).
    tx_pending_ = false;
    if (transmit(context, *queue, tx_chain_) == TxResult::blocked) return;
    pushed = true;
    ++sent;
  }
  // Notifications off while draining (the guest need not ring for every
  // frame); pop_chain turns them on before it gives up.
  if (tx_notifications_on_) {
    if (!queue->set_notifications(false)) {
      mark_broken(context, "virtio-net: cannot update notification suppression");
      return;
    }
    tx_notifications_on_ = false;
  }
  while (!broken_) {
    if (sent == kTxBudget) {
      // Bounded work per wake-up: come back after the loop served others.
      context.reschedule(kTxQueue);
      break;
    }
    if (pop_chain(context, *queue, tx_notifications_on_, tx_chain_) != Pop::chain) break;
    if (transmit(context, *queue, tx_chain_) == TxResult::blocked) break;
    pushed = true;
    ++sent;
  }
  if (pushed && !broken_) context.signal_used(kTxQueue);
}

VirtioNet::TxResult VirtioNet::transmit(VirtioContext& context, Virtqueue& queue,
                                        const DescriptorChain& chain) noexcept {
  const uint64_t length = chain.readable_length();
  // A dropped frame's chain still goes back, so the driver can reuse it.
  const auto drop = [&](uint64_t& counter) {
    ++counter;
    (void)push(context, queue, chain.head, 0);
    return TxResult::done;
  };
  if (length < kVnetHeaderSize + kEthernetHeaderBytes) {
    return drop(stats_.tx_dropped_short);
  }
  if (length > kVnetHeaderSize + kMaxFrameSize) return drop(stats_.tx_dropped_oversized);
  const size_t frame_length = static_cast<size_t>(length - kVnetHeaderSize);
  ChainReader reader(context.memory(), chain.readable);
  VnetHeader header;
  size_t iov_count = 1;  // of tx_iov_
  if (length <= kTxCopyLimit) {
    // Small frame: one checked copy of header + frame into keel's buffer,
    // sent as one piece. Cheaper than gathering keel's header copy and the
    // guest's buffers (the copy costs less than the kernel's extra iovec
    // work; docs/performance.md), and the header is keel's copy all the same.
    const std::span<std::byte> linear(tx_linear_.data(), static_cast<size_t>(length));
    if (!reader.read(linear)) return drop(stats_.tx_dropped_short);  // cannot happen: pop() checked it
    std::memcpy(&header, linear.data(), kVnetHeaderSize);
    if (!valid_tx_header(header, context.negotiated_features(), frame_length)) {
      return drop(stats_.tx_dropped_bad_header);
    }
    header.num_buffers = 0;
    std::memcpy(linear.data(), &header, kVnetHeaderSize);
    tx_iov_[0] = iovec{linear.data(), linear.size()};
  } else {
    if (!reader.read(std::as_writable_bytes(std::span(&header, 1))) ||
        !valid_tx_header(header, context.negotiated_features(), frame_length)) {
      return drop(stats_.tx_dropped_bad_header);
    }
    // The backend gets keel's copy of the header: the guest may rewrite its
    // own after the check. The frame itself goes from guest memory (a
    // racing guest can only garble its own frame).
    header.num_buffers = 0;
    tx_header_ = header;
    tx_iov_[0] = iovec{&tx_header_, kVnetHeaderSize};
    // At most one iovec per buffer, and tx_chain_ holds at most
    // kMaxChainBuffers: the rest of tx_iov_ always has room.
    auto body = host_iovecs(context.memory(), chain.readable, kVnetHeaderSize, frame_length,
                            std::span(tx_iov_).subspan(1));
    if (!body) {
      return drop(stats_.tx_dropped_short);  // cannot happen: pop() checked the buffers
    }
    iov_count = 1 + *body;
  }
  auto status = backend_->send(std::span<const iovec>(tx_iov_.data(), iov_count));
  if (status && *status == SendStatus::would_block) {
    ++stats_.tx_would_block;
    tx_pending_ = true;  // `chain` is tx_chain_: it stays for the retry
    return TxResult::blocked;
  }
  if (!status) {
    ++stats_.tx_dropped_backend;
    auto decision = log_limiter_.admit();
    if (decision.log) spdlog::warn("virtio-net: backend refused a frame of {} bytes: {}", frame_length, status.error().what);
  } else {
    ++stats_.tx_frames;
    stats_.tx_bytes += frame_length;
  }
  (void)push(context, queue, chain.head, 0);
  return TxResult::done;
}

}  // namespace keel::virtio::net
