// The transmit ring (manual 3.3): legacy descriptors, context descriptors
// and data descriptors, gathered into whole packets, offloads applied
// (tx_offload), then handed to the backend with an all-zero VnetHeader.
// A kick processes at most one ring's length of descriptors; a packet the
// backend cannot take yet waits in a backlog and the ring stops until
// send_possible(). Every guest value is checked: ring geometry, head and
// tail, buffer ranges (through GuestMemory), packet size, TSO layout.
#include <sys/uio.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "devices/e1000/e1000.h"
#include "devices/e1000/e1000_regs.h"

namespace keel::devices {

using namespace e1000;

namespace {
// Descriptor command bits (legacy CMD and data DCMD share them).
constexpr uint8_t kCmdEop = 0x01;
constexpr uint8_t kCmdIc = 0x04;  // legacy: insert checksum
constexpr uint8_t kCmdTse = 0x04; // data: TCP segmentation
constexpr uint8_t kCmdRs = 0x08;
constexpr uint8_t kCmdDext = 0x20;
constexpr uint8_t kCmdVle = 0x40;
constexpr uint8_t kStatusDd = 0x01;
constexpr uint8_t kPoptsIxsm = 0x01;
constexpr uint8_t kPoptsTxsm = 0x02;
constexpr uint8_t kDtypContext = 0;
constexpr uint8_t kDtypData = 1;
// Largest packet gathered: a plain frame as the 82540 allows with jumbo
// frames, or a TSO packet of 64 KiB payload plus its headers.
constexpr size_t kMaxPlainPacket = kMaxSegmentFrame;
constexpr size_t kMinFrame = 60;  // without FCS; TCTL.PSP pads to it

const net::VnetHeader kZeroHeader{};
}  // namespace

void E1000::tx_reset_packet() noexcept {
  tx_packet_.clear();
  tx_in_packet_ = false;
  tx_dropping_ = false;
  tx_tse_ = false;
  tx_ixsm_ = false;
  tx_txsm_ = false;
  tx_extended_ = false;
}

void E1000::process_tx() noexcept {
  if (!(reg(reg::kTctl) & tctl::kEn)) return;
  if (!flush_tx_backlog()) return;  // the backend is full: wait for send_possible
  const uint32_t head = reg(reg::kTdh);
  const uint32_t tail = reg(reg::kTdt);
  if (head == tail) return;
  auto ring = ring_geometry(reg(reg::kTdbal), reg(reg::kTdbah), reg(reg::kTdlen), memory_);
  if (!ring || head >= ring->size || tail >= ring->size) {
    ++counters_.tx_ring_errors;
    log_unknown(ring ? "e1000: transmit head or tail beyond the ring" : ring.error().what, reg::kTdlen);
    return;
  }
  bool report_done = false;
  uint32_t index = head;
  // At most one ring's length per kick, so a guest that keeps moving the
  // tail cannot hold this thread.
  for (uint32_t budget = ring->size; index != tail && budget != 0; --budget) {
    std::array<uint8_t, 16> descriptor{};
    const Gpa address = ring->descriptor(index);
    if (!memory_.read(address, std::as_writable_bytes(std::span(descriptor)))) break;
    tx_descriptor(address, descriptor, report_done);
    index = ring->next(index);
    if (!tx_backlog_empty()) break;
  }
  reg(reg::kTdh) = index;
  uint32_t causes = report_done ? irq::kTxdw : 0;
  if (index == tail) causes |= irq::kTxqe;
  if (causes) set_cause(causes);
}

void E1000::tx_descriptor(Gpa address, std::span<const uint8_t, 16> d, bool& report_done) noexcept {
  uint64_t buffer = 0;
  std::memcpy(&buffer, d.data(), 8);
  const uint8_t cmd = d[11];
  if (cmd & kCmdDext) {
    const uint8_t dtyp = (d[10] >> 4) & 0x0F;
    if (dtyp == kDtypContext) {
      const TxContext context = decode_context(d);
      (context.tse ? tx_tso_context_ : tx_checksum_context_) = context;
    } else if (dtyp == kDtypData) {
      const uint32_t length = d[8] | d[9] << 8 | (d[10] & 0x0F) << 16;
      if (!tx_in_packet_) {
        // POPTS and TSE are taken from a packet's first data descriptor.
        tx_in_packet_ = true;
        tx_extended_ = true;
        tx_tse_ = cmd & kCmdTse;
        tx_ixsm_ = d[13] & kPoptsIxsm;
        tx_txsm_ = d[13] & kPoptsTxsm;
      }
      tx_append(buffer, length);
      if (cmd & kCmdEop) tx_finish_packet(cmd & kCmdVle, static_cast<uint16_t>(d[14] | d[15] << 8));
    } else {
      log_unknown("e1000: transmit descriptor of unknown type skipped", dtyp);
    }
  } else {
    const uint32_t length = d[8] | d[9] << 8;
    if (!tx_in_packet_) {
      tx_in_packet_ = true;
      tx_extended_ = false;
    }
    tx_append(buffer, length);
    if (cmd & kCmdEop) {
      // CSO/CSS are taken from the descriptor that ends the packet.
      if ((cmd & kCmdIc) && !tx_dropping_) insert_legacy_checksum(tx_packet_, /*css=*/d[13], /*cso=*/d[10]);
      tx_finish_packet(cmd & kCmdVle, static_cast<uint16_t>(d[14] | d[15] << 8));
    }
  }
  if (cmd & kCmdRs) {
    // Report Status: DD in the status byte (offset 12), written after the
    // data was read so the guest may reuse the buffer.
    const uint8_t status = static_cast<uint8_t>(d[12] | kStatusDd);
    std::atomic_thread_fence(std::memory_order_release);
    if (auto where = checked_add(address, 12)) (void)memory_.write_obj(*where, status);
    report_done = true;
  }
}

void E1000::tx_append(uint64_t buffer, uint32_t length) noexcept {
  if (tx_dropping_ || length == 0) return;
  const size_t limit = tx_tse_ ? kMaxTsoPacket : kMaxPlainPacket;
  const size_t used = tx_packet_.size();
  if (length > limit - used) {
    tx_dropping_ = true;  // oversized: dropped when its EOP arrives
    return;
  }
  tx_packet_.resize(used + length);
  auto destination = std::as_writable_bytes(std::span(tx_packet_).subspan(used));
  if (!memory_.read(Gpa{buffer}, destination)) tx_dropping_ = true;  // buffer outside guest RAM
}

void E1000::tx_finish_packet(bool vlan, uint16_t vlan_tag) noexcept {
  const bool insert_vlan = vlan && (reg(reg::kCtrl) & ctrl::kVme);
  if (tx_dropping_ || tx_packet_.empty()) {
    ++counters_.tx_dropped;
    tx_reset_packet();
    return;
  }
  if (tx_extended_ && tx_tse_) {
    if (!validate_tso(tx_tso_context_, tx_packet_.size())) {
      ++counters_.tx_bad_tso;
      add_stat(stat::kTsctfc, 1);
      log_unknown("e1000: TSO context does not fit the packet, dropped", tx_tso_context_.hdr_len);
      tx_reset_packet();
      return;
    }
    add_stat(stat::kTsctc, 1);
    auto emit = [&](std::span<const uint8_t> segment) { tx_emit(segment, insert_vlan, vlan_tag); };
    segment_tso(tx_packet_, tx_tso_context_, tx_ixsm_, tx_txsm_, tx_segment_, SegmentSink(emit));
  } else {
    if (tx_extended_) insert_context_checksums(tx_packet_, tx_checksum_context_, tx_ixsm_, tx_txsm_);
    tx_emit(tx_packet_, insert_vlan, vlan_tag);
  }
  tx_reset_packet();
}

void E1000::tx_emit(std::span<const uint8_t> frame, bool vlan, uint16_t vlan_tag) noexcept {
  // Build the frame as the wire sees it when it differs from the gathered
  // bytes (802.1Q tag inserted after the addresses, short-frame padding).
  const bool pad = (reg(reg::kTctl) & tctl::kPsp) && frame.size() + (vlan ? 4 : 0) < kMinFrame;
  if ((vlan && frame.size() >= 12) || pad) {
    tx_frame_.clear();
    if (vlan && frame.size() >= 12) {
      const uint16_t type = static_cast<uint16_t>(reg(reg::kVet));
      const uint8_t tag[4] = {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type),
                              static_cast<uint8_t>(vlan_tag >> 8), static_cast<uint8_t>(vlan_tag)};
      // resize + memcpy rather than range inserts: GCC 12 at -O3 reports a
      // false overflow in the inlined inserts.
      tx_frame_.resize(frame.size() + 4);
      std::memcpy(tx_frame_.data(), frame.data(), 12);
      std::memcpy(tx_frame_.data() + 12, tag, 4);
      std::memcpy(tx_frame_.data() + 16, frame.data() + 12, frame.size() - 12);
    } else {
      tx_frame_.assign(frame.begin(), frame.end());
    }
    if (pad && tx_frame_.size() < kMinFrame) tx_frame_.resize(kMinFrame, 0);
    frame = tx_frame_;
  }
  count_tx(frame.size(), frame.size() >= 6 ? frame.data() : nullptr);
  if (!tx_backlog_empty()) {
    tx_backlog_push(frame);
    return;
  }
  const iovec iov[2] = {{const_cast<net::VnetHeader*>(&kZeroHeader), net::kVnetHeaderSize},
                        {const_cast<uint8_t*>(frame.data()), frame.size()}};
  Result<net::SendStatus> sent;
  {
    BackendCall call(*this);
    sent = backend_->send(iov);
  }
  if (!sent) {
    ++counters_.tx_dropped;
  } else if (*sent == net::SendStatus::would_block) {
    tx_backlog_push(frame);
  } else {
    ++counters_.tx_frames;
  }
}

void E1000::tx_backlog_push(std::span<const uint8_t> frame) noexcept {
  // Within the reserved capacity (see e1000.h): push_back/insert never
  // reallocate here.
  if (tx_backlog_lengths_.size() == kTxBacklogFrames || frame.size() > kTxBacklogBytes - tx_backlog_bytes_.size()) {
    ++counters_.tx_dropped;
    return;
  }
  const size_t at = tx_backlog_bytes_.size();
  tx_backlog_bytes_.resize(at + frame.size());
  std::memcpy(tx_backlog_bytes_.data() + at, frame.data(), frame.size());
  tx_backlog_lengths_.push_back(static_cast<uint32_t>(frame.size()));
}

void E1000::tx_backlog_clear() noexcept {
  tx_backlog_bytes_.clear();
  tx_backlog_lengths_.clear();
  tx_backlog_next_ = 0;
  tx_backlog_offset_ = 0;
}

bool E1000::flush_tx_backlog() noexcept {
  while (!tx_backlog_empty()) {
    const uint32_t length = tx_backlog_lengths_[tx_backlog_next_];
    const iovec iov[2] = {{const_cast<net::VnetHeader*>(&kZeroHeader), net::kVnetHeaderSize},
                          {tx_backlog_bytes_.data() + tx_backlog_offset_, length}};
    Result<net::SendStatus> sent;
    {
      BackendCall call(*this);
      sent = backend_->send(iov);
    }
    if (sent && *sent == net::SendStatus::would_block) return false;
    if (sent) {
      ++counters_.tx_frames;
    } else {
      ++counters_.tx_dropped;
    }
    ++tx_backlog_next_;
    tx_backlog_offset_ += length;
  }
  tx_backlog_clear();  // drained: the next frames start at the front again
  return true;
}

void E1000::count_tx(size_t length, const uint8_t* destination) noexcept {
  const uint64_t wire = length + 4;  // octet counters include the FCS
  add_stat(stat::kGptc, 1);
  add_stat(stat::kTpt, 1);
  add_stat64(stat::kGotcl, wire);
  add_stat64(stat::kTotl, wire);
  if (destination && (destination[0] & 1)) {
    const bool broadcast = std::all_of(destination, destination + 6, [](uint8_t b) { return b == 0xFF; });
    add_stat(broadcast ? stat::kBptc : stat::kMptc, 1);
  }
  // PTC64..PTC1522 by wire size, as the PRC counters on receive.
  const uint32_t bin = wire <= 64 ? 0 : wire <= 127 ? 1 : wire <= 255 ? 2 : wire <= 511 ? 3 : wire <= 1023 ? 4 : 5;
  add_stat(stat::kPtc64 + 4 * bin, 1);
}

}  // namespace keel::devices
