// The receive ring (manual 3.2): frames from the backend are filtered
// (rx_filter), VLAN-stripped when CTRL.VME says so, padded to 60 bytes,
// given a 4-byte FCS unless RCTL.SECRC strips it, and written across as
// many legacy descriptors as the RCTL buffer size needs. When the ring has
// no room the frame is held and the backend stops being read
// (back-pressure) until the driver writes RDT; frames are dropped only when
// the receiver is disabled (RCTL.EN clear, as on hardware), when they are
// not for us, or when they could never fit.
#include <algorithm>
#include <atomic>
#include <cstring>

#include "devices/e1000/checksum.h"
#include "devices/e1000/e1000.h"
#include "devices/e1000/e1000_regs.h"
#include "devices/e1000/rx_filter.h"

namespace keel::devices {

using namespace e1000;

namespace {
constexpr size_t kMinFrame = 60;          // without FCS
constexpr size_t kMaxStandardFrame = 1514; // without FCS; +4 with a VLAN tag
constexpr size_t kMaxJumboFrame = 16384 - 4;

// The fields the device writes back into a legacy receive descriptor
// (bytes 8..15: length, packet checksum, status, errors, special).
struct RxWriteBack {
  uint16_t length;
  uint16_t checksum;
  uint8_t status;
  uint8_t errors;
  uint16_t special;
};
static_assert(sizeof(RxWriteBack) == 8);

bool header_needs_offloads(std::span<const uint8_t> header) noexcept {
  net::VnetHeader vnet;
  std::memcpy(&vnet, header.data(), sizeof(vnet));
  // DATA_VALID only says the checksum is known good: harmless. Anything
  // else asks for work the guest was told it cannot do.
  return (vnet.flags & ~net::VnetHeader::kDataValid) != 0 || vnet.gso_type != net::VnetHeader::kGsoNone;
}
}  // namespace

uint32_t E1000::rx_buffer_size() const noexcept {
  const uint32_t rctl = reg(reg::kRctl);
  const uint32_t code = (rctl >> rctl::kBsizeShift) & 3;
  if (rctl & rctl::kBsex) {
    static constexpr uint32_t kExtended[4] = {2048, 16384, 8192, 4096};  // 00 is reserved
    return kExtended[code];
  }
  static constexpr uint32_t kStandard[4] = {2048, 1024, 512, 256};
  return kStandard[code];
}

void E1000::drain_rx() noexcept {
  for (int budget = kRxBudget; budget > 0; --budget) {
    if (rx_has_held_) {
      if (!rx_frame(rx_held_)) {
        rx_out_of_buffers();
        return;
      }
      rx_has_held_ = false;
      continue;
    }
    if (!receive_interest_) return;  // a stale wake-up under back-pressure
    const bool enabled = reg(reg::kRctl) & rctl::kEn;
    const iovec iov{rx_buffer_.data(), rx_buffer_.size()};
    Result<size_t> received;
    {
      BackendCall call(*this);
      received = backend_->receive(std::span(&iov, 1));
    }
    if (!received) continue;  // the backend dropped a frame too long for any buffer
    if (*received == 0) return;
    if (*received < net::kVnetHeaderSize) {
      ++counters_.rx_dropped_bad_header;
      continue;
    }
    if (!enabled) {
      ++counters_.rx_dropped_disabled;
      continue;
    }
    add_stat(stat::kTpr, 1);
    const std::span<const uint8_t> whole(rx_buffer_.data(), *received);
    if (header_needs_offloads(whole.first(net::kVnetHeaderSize))) {
      ++counters_.rx_dropped_bad_header;
      continue;
    }
    const auto frame = whole.subspan(net::kVnetHeaderSize);
    if (!rx_frame(frame)) {
      rx_held_.assign(frame.begin(), frame.end());
      rx_has_held_ = true;
      rx_out_of_buffers();
      return;
    }
  }
}

bool E1000::rx_frame(std::span<const uint8_t> frame) noexcept {
  const uint32_t rctl = reg(reg::kRctl);
  const RxFilterRegisters filter{
      .rctl = rctl,
      .vet = static_cast<uint16_t>(reg(reg::kVet)),
      .ra = std::span<const uint32_t, 32>(&regs_[reg::kRa / 4], 32),
      .mta = std::span<const uint32_t, 128>(&regs_[reg::kMta / 4], 128),
      .vfta = std::span<const uint32_t, 128>(&regs_[reg::kVfta / 4], 128),
  };
  const RxFilterResult verdict = filter_frame(frame, filter);
  if (!verdict.accept) {
    ++counters_.rx_filtered;
    return true;
  }
  const bool tagged = frame.size() >= 18 && load_be16(frame, 12) == static_cast<uint16_t>(reg(reg::kVet));
  const size_t limit = (rctl & rctl::kLpe) ? kMaxJumboFrame : kMaxStandardFrame + (tagged ? 4 : 0);
  if (frame.size() > limit) {
    add_stat(stat::kRoc, 1);
    ++counters_.rx_dropped_oversize;
    return true;
  }
  auto ring = ring_geometry(reg(reg::kRdbal), reg(reg::kRdbah), reg(reg::kRdlen), memory_);
  if (!ring || reg(reg::kRdh) >= ring->size || reg(reg::kRdt) >= ring->size) {
    ++counters_.rx_ring_errors;
    log_unknown(ring ? "e1000: receive head or tail beyond the ring" : ring.error().what, reg::kRdlen);
    return false;  // held until the driver fixes the ring
  }

  // The frame as the guest sees it: VLAN tag moved into the descriptor
  // when CTRL.VME is set, padded, FCS appended unless SECRC.
  const bool strip = tagged && (reg(reg::kCtrl) & ctrl::kVme);
  rx_out_.clear();
  uint16_t tci = 0;
  if (strip) {
    tci = load_be16(frame, 14);
    // resize + memcpy rather than two range inserts: GCC 12 at -O3 reports
    // a false overflow in the inlined inserts. `tagged` means >= 18 bytes.
    rx_out_.resize(frame.size() - 4);
    std::memcpy(rx_out_.data(), frame.data(), 12);
    std::memcpy(rx_out_.data() + 12, frame.data() + 16, frame.size() - 16);
  } else {
    rx_out_.assign(frame.begin(), frame.end());
  }
  if (rx_out_.size() < kMinFrame) rx_out_.resize(kMinFrame, 0);
  if (!(rctl & rctl::kSecrc)) {
    const uint32_t crc = ethernet_crc32(rx_out_);
    for (int i = 0; i < 4; ++i) rx_out_.push_back(static_cast<uint8_t>(crc >> (8 * i)));
  }
  if (!rx_write(rx_out_, strip, tci, *ring)) return false;
  count_rx(rx_out_.size() + ((rctl & rctl::kSecrc) ? 4 : 0), verdict.broadcast, verdict.multicast);
  return true;
}

bool E1000::rx_write(std::span<const uint8_t> bytes, bool vlan, uint16_t tci, const RingGeometry& ring) noexcept {
  const uint32_t buffer_size = rx_buffer_size();
  const uint32_t needed = static_cast<uint32_t>((bytes.size() + buffer_size - 1) / buffer_size);
  uint32_t head = reg(reg::kRdh);
  const uint32_t tail = reg(reg::kRdt);
  if (needed > ring.size - 1) {
    // Could never fit, however many buffers the driver posts.
    ++counters_.rx_dropped_oversize;
    return true;
  }
  if (ring.pending(head, tail) < needed) return false;

  const bool keep_fcs = !(reg(reg::kRctl) & rctl::kSecrc);
  const auto checked = rx_checksum_status(bytes.first(bytes.size() - (keep_fcs ? 4 : 0)), reg(reg::kRxcsum));
  const uint32_t pcss = reg(reg::kRxcsum) & 0xFF;
  const uint16_t packet_checksum = pcss < bytes.size() ? fold(ones_sum(bytes.subspan(pcss))) : 0;
  bool buffer_error = false;
  size_t offset = 0;
  for (uint32_t i = 0; i < needed; ++i) {
    const Gpa descriptor = ring.descriptor(head);
    const size_t chunk = std::min<size_t>(buffer_size, bytes.size() - offset);
    auto buffer = memory_.read_obj<uint64_t>(descriptor);
    if (!buffer || !memory_.write(Gpa{*buffer}, std::as_bytes(bytes.subspan(offset, chunk)))) {
      buffer_error = true;  // outside guest RAM: nothing written, the frame is marked bad
      ++counters_.rx_buffer_errors;
    }
    const bool last = i + 1 == needed;
    RxWriteBack done{
        .length = static_cast<uint16_t>(chunk),
        .checksum = last ? packet_checksum : uint16_t{0},
        .status = static_cast<uint8_t>(kRxStatusDd | (last ? kRxStatusEop | checked.status : 0) |
                                       (last && vlan ? kRxStatusVp : 0)),
        .errors = static_cast<uint8_t>((buffer_error ? kRxErrorRxe : 0) | (last ? checked.errors : 0)),
        .special = last && vlan ? tci : uint16_t{0},
    };
    // The data must be visible before DD is.
    std::atomic_thread_fence(std::memory_order_release);
    (void)memory_.write_obj(Gpa{raw(descriptor) + 8}, done);
    head = ring.next(head);
    offset += chunk;
  }
  reg(reg::kRdh) = head;
  ++counters_.rx_frames;

  uint32_t causes = 0;
  const uint32_t small = reg(reg::kRsrpd) & 0xFFF;
  if (small != 0 && bytes.size() <= small) causes |= irq::kSrpd;
  // RDMTS: free descriptors at or below 1/2, 1/4 or 1/8 of the ring.
  const uint32_t shift = ((reg(reg::kRctl) >> rctl::kRdmtsShift) & 3) + 1;
  if (ring.pending(head, tail) <= (ring.size >> std::min<uint32_t>(shift, 3))) causes |= irq::kRxdmt0;
  if (causes) set_cause(causes);
  receive_done();
  return true;
}

void E1000::rx_out_of_buffers() noexcept {
  set_receive_interest(false);
  if (!rxo_signalled_) {
    // Tell the driver once per stall, so it refills the ring; nothing is
    // lost: the frame is held and the backend keeps the rest.
    rxo_signalled_ = true;
    add_stat(stat::kRnbc, 1);
    set_cause(irq::kRxo);
  }
}

void E1000::rx_tail_written() noexcept {
  rxo_signalled_ = false;
  if (!(reg(reg::kRctl) & rctl::kEn)) {
    set_receive_interest(true);  // a disabled receiver drains and drops
    return;
  }
  if (rx_has_held_) {
    if (!rx_frame(rx_held_)) return;  // still no room
    rx_has_held_ = false;
  }
  auto ring = ring_geometry(reg(reg::kRdbal), reg(reg::kRdbah), reg(reg::kRdlen), memory_);
  const bool room = ring && reg(reg::kRdh) < ring->size && reg(reg::kRdt) < ring->size &&
                    ring->pending(reg(reg::kRdh), reg(reg::kRdt)) > 0;
  set_receive_interest(room);
}

void E1000::count_rx(size_t wire, bool broadcast, bool multicast) noexcept {
  add_stat(stat::kGprc, 1);
  add_stat64(stat::kGorcl, wire);
  add_stat64(stat::kTorl, wire);
  if (broadcast) add_stat(stat::kBprc, 1);
  if (multicast) add_stat(stat::kMprc, 1);
  const uint32_t bin = wire <= 64 ? 0 : wire <= 127 ? 1 : wire <= 255 ? 2 : wire <= 511 ? 3 : wire <= 1023 ? 4 : 5;
  add_stat(stat::kPrc64 + 4 * bin, 1);
}

}  // namespace keel::devices
