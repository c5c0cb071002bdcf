// The virtio-net device model (virtio 1.2, 5.1) over a keel::net::NetBackend
// (TAP, user-mode networking, a pcap recorder): one rx/tx queue pair and a
// control queue.
//
// tx: a doorbell (or send_possible()) pops up to kTxBudget chains, checks
// each header against the negotiated features (net_header.h), gathers the
// frame (keel's validated copy of the header + host iovecs of the guest's
// buffers, so the guest cannot change the header after the check) and
// send()s it. would_block keeps the chain and resumes from send_possible().
// Used entries (length 0) are pushed per frame and signalled once per batch.
//
// rx: frames_waiting() reads a frame into a bounce buffer, filters it
// (rx_filter.h), fits its header to what the guest accepts, and copies it
// into one chain (or, with MRG_RXBUF, as many as it needs). A frame waits
// in the bounce buffer while the guest has posted too few buffers, and
// receive interest is then off (back-pressure) until the next rx doorbell:
// a slow guest never loses frames.
//
// Threads: transport calls (queue_notified, activate, reset, config) come
// with the context lock held; backend callbacks come on the event loop
// without it, and take it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "keel/log_rate_limiter.h"
#include "keel/net_backend.h"
#include "virtio/core/chain_io.h"
#include "virtio/core/virtio_device.h"
#include "virtio/net/rx_filter.h"

namespace keel::virtio::net {

struct NetOptions {
  std::array<uint8_t, 6> mac{};
  uint16_t mtu = 1500;
};

// Counters for tests, the benchmark and diagnostics (read with stats()).
struct NetStats {
  uint64_t tx_frames = 0;  // handed to the backend
  uint64_t tx_bytes = 0;   // Ethernet bytes, headers excluded
  uint64_t tx_dropped_bad_header = 0;  // offload header the features do not allow
  uint64_t tx_dropped_short = 0;       // less than a header + Ethernet header
  uint64_t tx_dropped_oversized = 0;   // more than kVnetHeaderSize + kMaxFrameSize
  uint64_t tx_dropped_backend = 0;     // send() refused it
  uint64_t tx_would_block = 0;         // send() said would_block (retried later)
  uint64_t rx_frames = 0;  // given to the guest
  uint64_t rx_bytes = 0;
  uint64_t rx_dropped_filtered = 0;    // destination MAC not wanted
  uint64_t rx_dropped_malformed = 0;   // shorter than header + Ethernet header
  uint64_t rx_dropped_offload = 0;     // needs an offload the guest did not accept
  uint64_t rx_dropped_no_room = 0;     // larger than the buffers can ever hold
  uint64_t rx_dropped_over_mtu = 0;    // non-gso frame above the negotiated MTU
  uint64_t rx_backend_errors = 0;      // receive() failed
  uint64_t rx_bad_buffers = 0;         // rx chains too small for a header (given back empty)
  uint64_t ctrl_commands = 0;          // answered (OK or ERR)
  uint64_t ctrl_errors = 0;            // answered ERR
  uint64_t ctrl_malformed = 0;         // no ack byte / no header: given back empty
};

class VirtioNet final : public VirtioDevice, public keel::net::NetBackendListener {
 public:
  static constexpr uint16_t kQueueMaxSize = 256;
  static constexpr int kTxBudget = 128;    // frames per wake-up (half a full ring)
  static constexpr int kRxBudget = 64;     // frames per wake-up
  static constexpr int kCtrlBudget = 64;   // commands per wake-up
  // tx frames (vnet header included) up to this size are copied into one
  // keel buffer and sent as one piece; larger ones are gathered from guest
  // memory behind keel's header copy (see transmit()).
  static constexpr size_t kTxCopyLimit = 4096;
  // Buffers per chain keel takes, so every chain it pops into was reserved
  // at construction and nothing is allocated on the guest's behalf; a
  // longer chain (only an indirect table can carry one) is a broken driver:
  // DEVICE_NEEDS_RESET. tx and ctrl: a queue's worth, the most a driver
  // without indirect descriptors could send. rx: Linux posts at most
  // MAX_SKB_FRAGS + 2 (<= 47) buffers per chain, other drivers 1 or 2; 64
  // keeps the queue's worth of spare rx chains at 512 KiB.
  static constexpr uint32_t kMaxChainBuffers = kQueueMaxSize;
  static constexpr uint32_t kMaxRxChainBuffers = 64;

  // Attaches to `backend`. Throws ConfigError for an MTU outside 68..65535
  // or a multicast MAC.
  VirtioNet(std::unique_ptr<keel::net::NetBackend> backend, NetOptions options);
  // Destroys the backend first, so its callbacks stop before the rest goes.
  ~VirtioNet() override;
  VirtioNet(const VirtioNet&) = delete;
  VirtioNet& operator=(const VirtioNet&) = delete;

  // VirtioDevice
  uint16_t device_type() const noexcept override;
  uint64_t device_features() const noexcept override;
  uint16_t queue_count() const noexcept override;
  uint16_t queue_max_size() const noexcept override { return kQueueMaxSize; }
  void config_read(uint32_t offset, std::span<std::byte> data) noexcept override;
  void config_write(uint32_t offset, std::span<const std::byte> data) noexcept override;
  bool accept_features(uint64_t features) noexcept override;
  bool activate(VirtioContext& context) noexcept override;
  void queue_notified(uint16_t queue) noexcept override;
  // Synchronous: nothing is in flight outside keel (returns true).
  bool reset() noexcept override;

  // NetBackendListener (event loop, without the lock).
  void frames_waiting() noexcept override;
  void send_possible() noexcept override;

  // Both take the context lock once activated: not from inside a device
  // call or callback.
  NetStats stats() const noexcept;
  // The MAC the guest uses now (MAC_ADDR_SET changes it; reset restores it).
  MacAddress mac() const noexcept;
  const RxFilter& rx_filter() const noexcept { return filter_; }

 private:
  // A popped chain, or why there is none.
  enum class Pop { chain, empty, broken };
  // Pops the next chain of `queue` into `out` (reusing its vectors: no
  // allocation per frame); with `notifications_on` false it turns driver
  // notifications back on and looks once more before saying empty.
  Pop pop_chain(VirtioContext& context, Virtqueue& queue, bool& notifications_on, DescriptorChain& out) noexcept;
  void mark_broken(VirtioContext& context, const char* why) noexcept;
  bool push(VirtioContext& context, Virtqueue& queue, uint16_t head, uint32_t written) noexcept;

  // tx (virtio_net.cc)
  void process_tx(VirtioContext& context) noexcept;
  enum class TxResult { done, blocked };
  TxResult transmit(VirtioContext& context, Virtqueue& queue, const DescriptorChain& chain) noexcept;

  // rx (net_rx.cc)
  void receive_frames(VirtioContext& context) noexcept;
  void rx_doorbell(VirtioContext& context) noexcept;
  // Reads one frame into the bounce buffer and vets it; false when the
  // backend has nothing (more) to give.
  bool read_frame(uint64_t features) noexcept;
  // Reads one frame straight into the next held chain's buffer and, if
  // vetted, returns the chain: true when a frame was handled (delivered or
  // dropped), false when the backend had none, nullopt when this path does
  // not apply (MRG_RXBUF, no buffer posted, a chain of several buffers).
  std::optional<bool> receive_direct(VirtioContext& context, Virtqueue& queue) noexcept;
  // The checks every received frame passes (length, offload header fitted
  // to the guest, MTU, destination MAC), counting a drop; on true `header`
  // is keel's fitted copy of the frame's header.
  bool vet_frame(std::span<const std::byte> frame, uint64_t features, keel::net::VnetHeader& header) noexcept;
  enum class Delivery { delivered, dropped, starved, broken };
  Delivery deliver_pending(VirtioContext& context, Virtqueue& queue) noexcept;
  // Pops rx chains until the held ones can take `length` bytes.
  Delivery gather_rx_chains(VirtioContext& context, Virtqueue& queue, uint64_t length, bool mergeable) noexcept;
  void copy_to_chains(VirtioContext& context, Virtqueue& queue, size_t chains) noexcept;

  // control queue (net_ctrl.cc)
  void process_ctrl(VirtioContext& context) noexcept;
  uint8_t execute_command(VirtioContext& context, const DescriptorChain& chain) noexcept;
  uint8_t rx_mode_command(uint64_t features, uint8_t command, ChainReader& reader) noexcept;
  uint8_t mac_command(uint64_t features, uint8_t command, ChainReader& reader) noexcept;
  uint8_t offloads_command(uint64_t features, uint8_t command, ChainReader& reader) noexcept;

  std::unique_ptr<keel::net::NetBackend> backend_;
  NetOptions options_;
  keel::net::BackendCapabilities caps_;
  // Set by activate(), cleared by reset() (under the lock): a backend
  // callback that finds it null has nothing to do and touches no state
  // but the backend's interest, so a transport being torn down after its
  // reset is never reached through it.
  std::atomic<VirtioContext*> context_{nullptr};
  // Everything below is guarded by the context lock.
  bool active_ = false;  // between activate() and reset()
  bool broken_ = false;  // NEEDS_RESET raised: leave the queues alone until reset
  MacAddress mac_{};
  RxFilter filter_;
  keel::net::Offloads guest_offloads_;  // what the guest accepts on rx now

  // tx: the chain being sent, reused for every frame; with tx_pending_ its
  // frame is one the backend could not take yet.
  DescriptorChain tx_chain_;
  bool tx_pending_ = false;
  keel::net::VnetHeader tx_header_{};  // the checked header send() gathers from
  bool tx_notifications_on_ = true;
  std::vector<iovec> tx_iov_;          // kMaxChainBuffers + 1 (keel's header): no allocation per frame
  std::vector<std::byte> tx_linear_;   // kTxCopyLimit bytes: a small frame, copied

  // rx: the frame waiting for buffers (rx_pending_ bytes of rx_bounce_),
  // and chains popped for it and not yet used.
  std::vector<std::byte> rx_bounce_;
  size_t rx_pending_ = 0;
  std::vector<DescriptorChain> rx_held_;
  // Chains not held, kept for their vectors' capacity so popping the next
  // rx chain allocates nothing. The constructor makes a queue's worth,
  // each reserved for kMaxRxChainBuffers; chains only move between the
  // two lists, so held + spare stays kQueueMaxSize and, while the guest
  // has a descriptor not held (checked before popping), a spare is there.
  std::vector<DescriptorChain> rx_spare_;
  uint64_t rx_held_bytes_ = 0;
  bool rx_notifications_on_ = true;
  bool rx_pushed_ = false;  // used entries added in this batch: signal once

  bool ctrl_notifications_on_ = true;
  DescriptorChain ctrl_chain_;  // each command is popped into it: reserved, reused

  NetStats stats_;
  LogRateLimiter log_limiter_{5};
};

}  // namespace keel::virtio::net
