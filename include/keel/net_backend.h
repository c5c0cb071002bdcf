// What a NIC model (virtio/net, devices/e1000) sees of the host side of its
// network: a backend that takes and gives whole Ethernet frames. The models
// never open a socket or a TAP themselves; src/net builds the backends (TAP,
// user-mode networking with libslirp, a pcap recorder around either).
//
// Frame format on both directions: a 12-byte virtio_net_hdr_v1 (VnetHeader,
// little-endian, virtio 1.2 5.1.6), then the Ethernet frame without its FCS.
// This is the TAP's own IFF_VNET_HDR format, so virtio-net passes headers
// through and a TAP backend needs no conversion; a model without offloads
// (or a backend without them) uses an all-zero header.
//
// Threads: the model serialises its calls (its own lock); they come from
// the event loop (doorbells, backend callbacks) or a vCPU thread (device
// activation and reset). No call blocks. Listener callbacks run on the
// event loop thread with no backend lock held, so the model takes its own
// lock inside them. The listener is attached once, for the backend's life:
// a model that is not active answers a callback by turning receive interest
// off, and back on when the driver posts receive buffers.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "keel/result.h"

namespace keel::net {

// virtio_net_hdr_v1 (virtio 1.2, 5.1.6). Always 12 bytes here: with
// VIRTIO_F_VERSION_1 the header has num_buffers whether or not MRG_RXBUF is
// negotiated, and the TAP is set to the same size (TUNSETVNETHDRSZ).
struct VnetHeader {
  static constexpr uint8_t kNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
  static constexpr uint8_t kDataValid = 2;  // VIRTIO_NET_HDR_F_DATA_VALID
  static constexpr uint8_t kGsoNone = 0;
  static constexpr uint8_t kGsoTcpv4 = 1;
  static constexpr uint8_t kGsoUdp = 3;
  static constexpr uint8_t kGsoTcpv6 = 4;
  static constexpr uint8_t kGsoEcn = 0x80;

  uint8_t flags = 0;
  uint8_t gso_type = kGsoNone;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
  uint16_t num_buffers = 0;
};
static_assert(sizeof(VnetHeader) == 12);
inline constexpr size_t kVnetHeaderSize = sizeof(VnetHeader);

// Largest frame either direction carries after the header: a 64 KiB GSO
// frame plus an Ethernet and VLAN header (as the TAP driver's limit).
inline constexpr size_t kMaxFrameSize = 65535 + 14 + 4;

// Offloads, named after the virtio-net features that need them. For a
// backend: what it can accept from the guest (`tx_*`: frames that still need
// a checksum or segmentation) and deliver to it (`rx_*`). For
// set_guest_offloads(): what the guest accepts, so the backend may hand it
// such frames (the TAP's TUNSETOFFLOAD).
struct Offloads {
  bool csum = false;  // partial checksums (NEEDS_CSUM)
  bool tso4 = false;
  bool tso6 = false;
  bool ecn = false;
  bool ufo = false;
  friend bool operator==(const Offloads&, const Offloads&) = default;
};

struct BackendCapabilities {
  Offloads tx;  // the backend finishes checksums / segments guest frames
  Offloads rx;  // the backend can deliver frames that still need it
};

enum class SendStatus {
  sent,         // the frame is gone (or was dropped by the host: counted)
  would_block,  // nothing was sent; the listener's send_possible() follows
};

class NetBackendListener {
 public:
  virtual ~NetBackendListener() = default;
  // Frames may be waiting: call receive() until it returns 0 (or until the
  // model's per-wake-up budget is used, then return: level-triggered, this
  // is called again).
  virtual void frames_waiting() noexcept = 0;
  // A send() that returned would_block may now be retried.
  virtual void send_possible() noexcept = 0;
};

class NetBackend {
 public:
  virtual ~NetBackend() = default;

  virtual BackendCapabilities capabilities() const noexcept = 0;

  // Start calling `listener`, once, before anything else; it must outlive
  // the backend (the model owns its backend).
  virtual void attach(NetBackendListener& listener) noexcept = 0;

  // Back-pressure: with interest off the backend does not read the host
  // side and does not call frames_waiting() (a TAP leaves frames in the
  // kernel's queue instead of dropping them). On by default.
  virtual void set_receive_interest(bool interested) noexcept = 0;

  // One frame (VnetHeader + Ethernet frame) gathered from `frame`.
  // Errc::invalid_argument for a frame the host refuses (bad offload
  // header, too long): the model drops it and counts it.
  [[nodiscard]] virtual Result<SendStatus> send(std::span<const iovec> frame) noexcept = 0;

  // Scatters the next frame (VnetHeader + Ethernet frame) into `buffer`,
  // returning its length; 0 when none is waiting. A frame longer than the
  // buffer is dropped (Errc::out_of_bounds); size buffers for
  // kVnetHeaderSize + kMaxFrameSize to receive everything.
  [[nodiscard]] virtual Result<size_t> receive(std::span<const iovec> buffer) noexcept = 0;

  // What the guest accepts on receive (a subset of capabilities().rx).
  virtual void set_guest_offloads(const Offloads& offloads) noexcept = 0;
};

}  // namespace keel::net
