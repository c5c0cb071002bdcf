// The control queue of VirtioNet (virtio 1.2, 5.1.6.5): receive modes, the
// MAC filter table, the MAC address and the guest's receive offloads.
// Each command is class + command, then its data (device-readable), then
// one writable ack byte. A chain without the two-byte header or without a
// writable byte goes back with used length 0; anything else is answered,
// VIRTIO_NET_ERR for what is unknown, not negotiated or malformed.
#include <cstring>

#include "virtio/net/net_header.h"
#include "virtio/net/net_spec.h"
#include "virtio/net/virtio_net.h"

namespace keel::virtio::net {

using keel::net::kVnetHeaderSize;
using keel::net::VnetHeader;

namespace {

struct CtrlHeader {
  uint8_t command_class;
  uint8_t command;
};

bool read_mac(ChainReader& reader, MacAddress& mac) noexcept {
  return reader.read(std::as_writable_bytes(std::span(mac))).has_value();
}

bool read_u32(ChainReader& reader, uint32_t& value) noexcept {
  return reader.read(std::as_writable_bytes(std::span(&value, 1))).has_value();  // little-endian, as the host
}

}  // namespace

void VirtioNet::process_ctrl(VirtioContext& context) noexcept {
  Virtqueue* queue = context.queue(kCtrlQueue);
  if (queue == nullptr) return;
  if (ctrl_notifications_on_) {
    if (!queue->set_notifications(false)) {
      mark_broken(context, "virtio-net: cannot update notification suppression");
      return;
    }
    ctrl_notifications_on_ = false;
  }
  bool pushed = false;
  for (int handled = 0; !broken_; ++handled) {
    if (handled == kCtrlBudget) {
      context.reschedule(kCtrlQueue);
      break;
    }
    DescriptorChain& chain = ctrl_chain_;  // reserved: no allocation per command
    if (pop_chain(context, *queue, ctrl_notifications_on_, chain) != Pop::chain) break;
    pushed = true;
    if (chain.readable_length() < sizeof(CtrlHeader) || chain.writable_length() < 1) {
      ++stats_.ctrl_malformed;
      if (!push(context, *queue, chain.head, 0)) break;
      continue;
    }
    const uint8_t ack = execute_command(context, chain);
    ++stats_.ctrl_commands;
    if (ack != ctrl::kOk) ++stats_.ctrl_errors;
    ChainWriter writer(context.memory(), chain.writable);
    (void)writer.write(std::as_bytes(std::span(&ack, 1)));  // checked by pop()
    if (!push(context, *queue, chain.head, static_cast<uint32_t>(writer.written()))) break;
  }
  if (pushed && !broken_) context.signal_used(kCtrlQueue);
}

uint8_t VirtioNet::execute_command(VirtioContext& context, const DescriptorChain& chain) noexcept {
  ChainReader reader(context.memory(), chain.readable);
  CtrlHeader header;
  if (!reader.read(std::as_writable_bytes(std::span(&header, 1)))) return ctrl::kErr;
  const uint64_t features = context.negotiated_features();
  switch (header.command_class) {
    case ctrl::kClassRx: return rx_mode_command(features, header.command, reader);
    case ctrl::kClassMac: return mac_command(features, header.command, reader);
    case ctrl::kClassGuestOffloads: return offloads_command(features, header.command, reader);
    default: return ctrl::kErr;  // VLAN, ANNOUNCE, MQ, ...: not offered
  }
}

uint8_t VirtioNet::rx_mode_command(uint64_t features, uint8_t command, ChainReader& reader) noexcept {
  // 5.1.6.5.1: PROMISC/ALLMULTI with CTRL_RX, the others with CTRL_RX_EXTRA.
  if ((features & feature::kCtrlRx) == 0 || command > ctrl::kRxNobcast) return ctrl::kErr;
  if (command > ctrl::kRxAllmulti && (features & feature::kCtrlRxExtra) == 0) return ctrl::kErr;
  uint8_t on = 0;
  if (reader.remaining() != sizeof(on) || !reader.read(std::as_writable_bytes(std::span(&on, 1)))) return ctrl::kErr;
  return filter_.set_mode(command, on != 0) ? ctrl::kOk : ctrl::kErr;
}

uint8_t VirtioNet::mac_command(uint64_t features, uint8_t command, ChainReader& reader) noexcept {
  if (command == ctrl::kMacAddrSet) {
    if ((features & feature::kCtrlMacAddr) == 0 || reader.remaining() != kMacBytes) return ctrl::kErr;
    MacAddress mac;
    if (!read_mac(reader, mac)) return ctrl::kErr;
    mac_ = mac;  // the config space's mac follows (as QEMU)
    return ctrl::kOk;
  }
  if (command != ctrl::kMacTableSet || (features & feature::kCtrlRx) == 0) return ctrl::kErr;
  // 5.1.6.5.2: u32 entries + entries * 6 bytes, unicast then multicast; the
  // counts must match the data exactly. Entries beyond the table are
  // skipped, not read: the chain may be gigabytes long.
  RxFilter::TableBuilder table;
  uint32_t unicast = 0;
  if (!read_u32(reader, unicast)) return ctrl::kErr;
  if (reader.remaining() < sizeof(uint32_t) ||
      uint64_t{unicast} * kMacBytes > reader.remaining() - sizeof(uint32_t)) {
    return ctrl::kErr;
  }
  table.add_unicast_count(unicast);
  const uint32_t unicast_read = table.unicast_overflow() ? 0 : unicast;
  for (uint32_t i = 0; i < unicast_read; ++i) {
    MacAddress mac;
    if (!read_mac(reader, mac)) return ctrl::kErr;
    table.add_unicast(mac);
  }
  if (!reader.skip(uint64_t{unicast - unicast_read} * kMacBytes)) return ctrl::kErr;
  uint32_t multicast = 0;
  if (!read_u32(reader, multicast) || uint64_t{multicast} * kMacBytes != reader.remaining()) return ctrl::kErr;
  table.add_multicast_count(multicast);
  if (!table.multicast_overflow()) {
    for (uint32_t i = 0; i < multicast; ++i) {
      MacAddress mac;
      if (!read_mac(reader, mac)) return ctrl::kErr;
      table.add_multicast(mac);
    }
  }
  filter_.commit_table(table);
  return ctrl::kOk;
}

uint8_t VirtioNet::offloads_command(uint64_t features, uint8_t command, ChainReader& reader) noexcept {
  if ((features & feature::kCtrlGuestOffloads) == 0 || command != ctrl::kGuestOffloadsSet) return ctrl::kErr;
  uint64_t offloads = 0;
  if (reader.remaining() != sizeof(offloads) || !reader.read(std::as_writable_bytes(std::span(&offloads, 1)))) {
    return ctrl::kErr;
  }
  // 5.1.6.5.6.1: only receive offloads, and only ones negotiated.
  if ((offloads & ~(features & feature::kGuestOffloadMask)) != 0) return ctrl::kErr;
  guest_offloads_ = guest_offloads(offloads);
  backend_->set_guest_offloads(guest_offloads_);
  // A frame already waiting was fitted to the old set.
  if (rx_pending_ > 0) {
    VnetHeader header;
    std::memcpy(&header, rx_bounce_.data(), kVnetHeaderSize);
    if (fit_rx_header(header, guest_offloads_, rx_pending_ - kVnetHeaderSize)) {
      std::memcpy(rx_bounce_.data(), &header, kVnetHeaderSize);
    } else {
      ++stats_.rx_dropped_offload;
      rx_pending_ = 0;
    }
  }
  return ctrl::kOk;
}

}  // namespace keel::virtio::net
