// Constants and layouts of the virtio network device (virtio 1.2, 5.1):
// feature bits (5.1.3), the configuration structure (5.1.4) and the control
// queue's classes, commands and acks (5.1.6.5). Names follow the spec.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel::virtio::net {

// 5.1.3 Feature bits.
namespace feature {
inline constexpr uint64_t kCsum = 1ull << 0;
inline constexpr uint64_t kGuestCsum = 1ull << 1;
inline constexpr uint64_t kCtrlGuestOffloads = 1ull << 2;
inline constexpr uint64_t kMtu = 1ull << 3;
inline constexpr uint64_t kMac = 1ull << 5;
inline constexpr uint64_t kGuestTso4 = 1ull << 7;
inline constexpr uint64_t kGuestTso6 = 1ull << 8;
inline constexpr uint64_t kGuestEcn = 1ull << 9;
inline constexpr uint64_t kGuestUfo = 1ull << 10;
inline constexpr uint64_t kHostTso4 = 1ull << 11;
inline constexpr uint64_t kHostTso6 = 1ull << 12;
inline constexpr uint64_t kHostEcn = 1ull << 13;
inline constexpr uint64_t kHostUfo = 1ull << 14;
inline constexpr uint64_t kMrgRxbuf = 1ull << 15;
inline constexpr uint64_t kStatus = 1ull << 16;
inline constexpr uint64_t kCtrlVq = 1ull << 17;
inline constexpr uint64_t kCtrlRx = 1ull << 18;
inline constexpr uint64_t kCtrlVlan = 1ull << 19;
inline constexpr uint64_t kCtrlRxExtra = 1ull << 20;
inline constexpr uint64_t kGuestAnnounce = 1ull << 21;
inline constexpr uint64_t kMq = 1ull << 22;
inline constexpr uint64_t kCtrlMacAddr = 1ull << 23;
// The receive offloads CTRL_GUEST_OFFLOADS_SET may switch (5.1.6.5.6.1).
inline constexpr uint64_t kGuestOffloadMask = kGuestCsum | kGuestTso4 | kGuestTso6 | kGuestEcn | kGuestUfo;
}  // namespace feature

// 5.1.4 status field.
inline constexpr uint16_t kStatusLinkUp = 1;

// 5.1.4 struct virtio_net_config, the part keel exposes (mac, status,
// max_virtqueue_pairs, mtu); later fields read as zero.
namespace config {
inline constexpr uint32_t kMac = 0;
inline constexpr uint32_t kStatus = 6;
inline constexpr uint32_t kMaxVirtqueuePairs = 8;
inline constexpr uint32_t kMtu = 10;
inline constexpr uint32_t kSize = 12;
}  // namespace config

// Queues (5.1.2) of a device without VIRTIO_NET_F_MQ.
inline constexpr uint16_t kRxQueue = 0;
inline constexpr uint16_t kTxQueue = 1;
inline constexpr uint16_t kCtrlQueue = 2;
inline constexpr uint16_t kQueueCount = 3;

// 5.1.6.5 control queue.
namespace ctrl {
inline constexpr uint8_t kOk = 0;
inline constexpr uint8_t kErr = 1;

inline constexpr uint8_t kClassRx = 0;
inline constexpr uint8_t kRxPromisc = 0;
inline constexpr uint8_t kRxAllmulti = 1;
inline constexpr uint8_t kRxAlluni = 2;  // CTRL_RX_EXTRA from here on
inline constexpr uint8_t kRxNomulti = 3;
inline constexpr uint8_t kRxNouni = 4;
inline constexpr uint8_t kRxNobcast = 5;

inline constexpr uint8_t kClassMac = 1;
inline constexpr uint8_t kMacTableSet = 0;
inline constexpr uint8_t kMacAddrSet = 1;

inline constexpr uint8_t kClassGuestOffloads = 5;
inline constexpr uint8_t kGuestOffloadsSet = 0;
}  // namespace ctrl

inline constexpr size_t kMacBytes = 6;
inline constexpr size_t kEthernetHeaderBytes = 14;  // destination, source, EtherType

}  // namespace keel::virtio::net
