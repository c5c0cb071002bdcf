#include "devices/e1000/e1000.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "devices/e1000/e1000_regs.h"
#include "keel/config_error.h"

namespace keel::devices {

using namespace e1000;

namespace {
constexpr uint32_t kClassEthernet = 0x020000;
constexpr uint8_t kRevision = 0x03;

std::unique_ptr<net::NetBackend> checked(std::unique_ptr<net::NetBackend> backend) {
  if (!backend) throw ConfigError("e1000: no network backend");
  return backend;
}

std::array<uint8_t, 6> checked_mac(const std::array<uint8_t, 6>& mac) {
  if (mac[0] & 1) {
    throw ConfigError(fmt::format("e1000: MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} is a multicast address; "
                                  "the first byte must be even",
                                  mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]));
  }
  return mac;
}

PciIdentity identity() noexcept {
  return PciIdentity{
      .vendor_id = kVendorIntel,
      .device_id = kDevice82540Em,
      .revision = kRevision,
      .class_code = kClassEthernet,
      .subsystem_vendor_id = kVendorIntel,
      .subsystem_id = kSubsystemId,
      .interrupt_pin = 1,  // INTA#
  };
}

uint32_t load_le(std::span<const std::byte> data) noexcept {
  uint32_t value = 0;
  for (size_t i = 0; i < data.size() && i < 4; ++i) value |= std::to_integer<uint32_t>(data[i]) << (8 * i);
  return value;
}

void store_le(std::span<std::byte> data, uint64_t value) noexcept {
  for (size_t i = 0; i < data.size(); ++i) data[i] = i < 8 ? std::byte(value >> (8 * i)) : std::byte{0};
}
}  // namespace

E1000::E1000(std::unique_ptr<net::NetBackend> backend, std::array<uint8_t, 6> mac, const GuestMemory& memory,
             TimerFactory& timers, const Clock& clock)
    : memory_(memory),
      clock_(clock),
      mac_(checked_mac(mac)),
      config_(identity()),
      intx_(config_),
      eeprom_(mac_),
      rx_buffer_(net::kVnetHeaderSize + net::kMaxFrameSize),
      backend_(checked(std::move(backend))) {
  config_.add_bar(kMmioBar, PciBarInfo{PciBarKind::memory32, kMmioBarSize, false});
  config_.add_bar(kIoBar, PciBarInfo{PciBarKind::io, kIoBarSize, false});
  // Every buffer a guest's traffic fills, at its bound: nothing on the
  // register and ring paths allocates (issue 9).
  tx_packet_.reserve(kMaxTsoPacket);          // tx_append() caps a packet at this
  tx_segment_.reserve(kMaxSegmentFrame);      // validate_tso(): header + MSS
  tx_frame_.reserve(kMaxSegmentFrame + 4);    // a frame with an 802.1Q tag inserted
  tx_backlog_bytes_.reserve(kTxBacklogBytes);
  tx_backlog_lengths_.reserve(kTxBacklogFrames);
  rx_out_.reserve(kMaxSegmentFrame + 64);     // a jumbo frame, padded, with its FCS
  rx_held_.reserve(kMaxSegmentFrame + 64);    // a frame rx_frame() accepted, waiting
  rx_delay_timer_ = timers.create_timer([this] { rx_timer_expired(); });
  rx_absolute_timer_ = timers.create_timer([this] { rx_timer_expired(); });
  itr_timer_ = timers.create_timer([this] { itr_timer_expired(); });
  {
    std::lock_guard guard(lock_);
    reset_locked();
  }
  // keel computes checksums and segments itself: the backend must never
  // hand over a frame that still needs either.
  backend_->set_guest_offloads(net::Offloads{});
  backend_->attach(*this);
}

E1000::~E1000() {
  // The backend goes first (its callbacks stop), then the timers.
  backend_.reset();
  rx_delay_timer_.reset();
  rx_absolute_timer_.reset();
  itr_timer_.reset();
}

void E1000::reset() noexcept {
  {
    std::lock_guard guard(config_lock_);
    config_.reset();
  }
  intx_.reset();
  std::lock_guard guard(lock_);
  reset_locked();
  run_deferred();
}

// --- PCI configuration space ---------------------------------------------

void E1000::config_read(uint16_t offset, std::span<std::byte> data) noexcept {
  std::lock_guard guard(config_lock_);
  config_.read(offset, data);
}

void E1000::config_write(uint16_t offset, std::span<const std::byte> data) noexcept {
  {
    std::lock_guard guard(config_lock_);
    config_.write(offset, data);
  }
  intx_.config_written();  // Interrupt Disable may have changed
}

std::array<PciBarInfo, kPciBarCount> E1000::bar_layout() const noexcept {
  std::lock_guard guard(config_lock_);
  return config_.bar_layout();
}

PciBarRegions E1000::decoded_bars() const noexcept {
  std::lock_guard guard(config_lock_);
  return config_.decoded_bars();
}

void E1000::connect_intx(std::shared_ptr<IrqLine> line) noexcept { intx_.connect(std::move(line)); }

// --- BARs ---------------------------------------------------------------------

void E1000::bar_read(uint8_t bar, uint64_t offset, std::span<std::byte> data) noexcept {
  std::ranges::fill(data, std::byte{0});
  std::lock_guard guard(lock_);
  if (bar == kMmioBar && offset < kMmioBarSize) {
    if (data.size() == 8 && offset % 8 == 0) {
      const uint64_t low = read_register(static_cast<uint32_t>(offset));
      const uint64_t high = read_register(static_cast<uint32_t>(offset + 4));
      store_le(data, low | high << 32);
    } else if (!data.empty() && data.size() <= 4 && offset % 4 + data.size() <= 4) {
      // Narrow reads see their bytes of the register (with its read side
      // effects, as on hardware).
      const uint32_t value = read_register(static_cast<uint32_t>(offset & ~uint64_t{3}));
      store_le(data, value >> (8 * (offset % 4)));
    } else {
      log_unknown("e1000: unaligned register read", static_cast<uint32_t>(offset));
    }
  } else if (bar == kIoBar && data.size() == 4) {
    if (offset == 0) store_le(data, io_address_);
    if (offset == 4) store_le(data, io_address_ < kMmioBarSize ? read_register(io_address_ & ~3u) : 0);
  }
  run_deferred();
}

void E1000::bar_write(uint8_t bar, uint64_t offset, std::span<const std::byte> data) noexcept {
  std::lock_guard guard(lock_);
  if (bar == kMmioBar && offset < kMmioBarSize) {
    if (data.size() == 4 && offset % 4 == 0) {
      write_register(static_cast<uint32_t>(offset), load_le(data));
    } else if (data.size() == 8 && offset % 8 == 0) {
      write_register(static_cast<uint32_t>(offset), load_le(data.first(4)));
      write_register(static_cast<uint32_t>(offset + 4), load_le(data.subspan(4)));
    } else {
      // Registers are 32 bits wide; narrower writes would need a
      // read-modify-write that some registers (ICR, stats) make wrong.
      log_unknown("e1000: register write not 32 bits wide, ignored", static_cast<uint32_t>(offset));
    }
  } else if (bar == kIoBar && data.size() == 4) {
    if (offset == 0) io_address_ = load_le(data) & 0x1FFFF;
    if (offset == 4 && io_address_ < kMmioBarSize) write_register(io_address_ & ~3u, load_le(data));
  }
  run_deferred();
}

// --- Reset, back-pressure, backend callbacks ---------------------------------

void E1000::reset_locked() noexcept {
  regs_.fill(0);
  reg(reg::kCtrl) = ctrl::kSlu | ctrl::kFd | ctrl::kSpeed1000;
  reg(reg::kVet) = 0x8100;
  reg(reg::kPba) = 0x00100030;     // 48 KiB receive, 16 KiB transmit packet buffer
  reg(reg::kLedctl) = 0x07068302;  // the EEPROM's default LED modes
  reg(reg::kRxcsum) = 0x00000300;  // IPOFL | TUOFL
  reg(reg::kRdtr) = 0;
  // The EEPROM MAC is loaded into RAL0/RAH0 with Address Valid.
  reg(reg::kRa) = uint32_t{mac_[0]} | uint32_t{mac_[1]} << 8 | uint32_t{mac_[2]} << 16 | uint32_t{mac_[3]} << 24;
  reg(reg::kRa + 4) = uint32_t{mac_[4]} | uint32_t{mac_[5]} << 8 | kRahAv;
  eeprom_.reset();
  io_address_ = 0;
  tx_reset_packet();
  tx_checksum_context_ = {};
  tx_tso_context_ = {};
  tx_backlog_clear();
  rx_has_held_ = false;
  rx_held_.clear();
  rxo_signalled_ = false;
  disarm_rx_timers();
  if (itr_armed_) itr_timer_->disarm();
  itr_armed_ = false;
  last_interrupt_ = std::chrono::nanoseconds::min() / 2;
  update_intx();
  // RCTL.EN is clear: frames are read and dropped, as a real port does.
  set_receive_interest(true);
}

bool E1000::in_backend_call() const noexcept { return backend_caller_.load() == std::this_thread::get_id(); }

void E1000::set_receive_interest(bool interested) noexcept {
  if (interested == receive_interest_) return;
  receive_interest_ = interested;
  BackendCall call(*this);
  backend_->set_receive_interest(interested);
}

void E1000::frames_waiting() noexcept {
  if (in_backend_call()) {
    deferred_rx_ = true;
    return;
  }
  std::lock_guard guard(lock_);
  drain_rx();
  run_deferred();
}

void E1000::send_possible() noexcept {
  if (in_backend_call()) {
    deferred_tx_ = true;
    return;
  }
  std::lock_guard guard(lock_);
  process_tx();
  run_deferred();
}

void E1000::run_deferred() noexcept {
  // Bounded: each round does a budget of work, and a backend that keeps
  // calling back from inside its own calls gets served on its next event.
  for (int round = 0; round < 4; ++round) {
    const bool tx = deferred_tx_.exchange(false);
    const bool rx = deferred_rx_.exchange(false);
    if (!tx && !rx) return;
    if (tx) process_tx();
    if (rx) drain_rx();
  }
}

E1000Counters E1000::counters() const noexcept {
  std::lock_guard guard(lock_);
  return counters_;
}

}  // namespace keel::devices
