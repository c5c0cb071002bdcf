// The Intel 82540EM "e1000" NIC (PCI 8086:100E) as a PCI function: BAR0 is
// the 128 KiB register file, BAR1 the I/O window (IOADDR at 0, IODATA at
// 4), INTA# through the framework's PciIntx. The host side of the network
// is a net::NetBackend; the model does checksums and TSO itself, so it
// sends all-zero VnetHeaders and tells the backend it accepts no offloads.
//
// Files: e1000.cc (this glue: PCI config, BAR dispatch, reset, backend
// listener), e1000_registers.cc (the register file), e1000_interrupts.cc
// (ICR/IMS and the receive delay timers), e1000_tx.cc / e1000_rx.cc (the
// rings), with pure helpers in eeprom, phy, tx_offload, rx_filter, checksum
// and ring.h.
//
// Threads and locking: vCPU threads make register accesses, the event loop
// calls the listener and the timers. One mutex (lock_) guards all device
// state; the config-space bytes have their own (config_lock_, never held
// together with lock_); PciIntx locks itself (a leaf). Backend calls are
// made with lock_ held: a backend that calls the listener back from inside
// such a call (on the same thread) is noticed and the work is done after
// the call returns, instead of deadlocking.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "devices/e1000/eeprom.h"
#include "devices/e1000/phy.h"
#include "devices/e1000/ring.h"
#include "devices/e1000/tx_offload.h"
#include "devices/pci/pci_config_space.h"
#include "devices/pci/pci_device.h"
#include "devices/pci/pci_intx.h"
#include "keel/clock.h"
#include "keel/guest_memory.h"
#include "keel/log_rate_limiter.h"
#include "keel/net_backend.h"

namespace keel::devices {

// Host-side counts of what the model refused (guest-visible statistics are
// the registers at 0x4000). For logs and tests.
struct E1000Counters {
  uint64_t tx_frames = 0;           // handed to the backend
  uint64_t tx_dropped = 0;          // oversized, empty, unreadable buffer, refused by the backend
  uint64_t tx_bad_tso = 0;          // TSO context that makes no sense for the packet
  uint64_t tx_ring_errors = 0;      // kicks refused: bad ring geometry or head/tail
  uint64_t rx_frames = 0;           // written to guest descriptors
  uint64_t rx_filtered = 0;         // not for this NIC (address / VLAN filter)
  uint64_t rx_dropped_disabled = 0; // RCTL.EN clear
  uint64_t rx_dropped_bad_header = 0;  // a VnetHeader asking for offloads
  uint64_t rx_dropped_oversize = 0; // longer than RCTL.LPE allows, or than the ring holds
  uint64_t rx_buffer_errors = 0;    // descriptor buffers outside guest RAM
  uint64_t rx_ring_errors = 0;
};

class E1000 final : public PciDevice, public net::NetBackendListener {
 public:
  // Attaches itself to `backend` (which it owns). `memory`, `timers` and
  // `clock` must outlive the device. Throws ConfigError for a null backend
  // or a multicast MAC.
  E1000(std::unique_ptr<net::NetBackend> backend, std::array<uint8_t, 6> mac, const GuestMemory& memory,
        TimerFactory& timers, const Clock& clock);
  ~E1000() override;
  E1000(const E1000&) = delete;
  E1000& operator=(const E1000&) = delete;

  // PciDevice
  void config_read(uint16_t offset, std::span<std::byte> data) noexcept override;
  void config_write(uint16_t offset, std::span<const std::byte> data) noexcept override;
  void bar_read(uint8_t bar, uint64_t offset, std::span<std::byte> data) noexcept override;
  void bar_write(uint8_t bar, uint64_t offset, std::span<const std::byte> data) noexcept override;
  std::array<PciBarInfo, kPciBarCount> bar_layout() const noexcept override;
  PciBarRegions decoded_bars() const noexcept override;
  void connect_intx(std::shared_ptr<IrqLine> line) noexcept override;
  // Machine reset: configuration space and INTx to power-on, then the same
  // reset as CTRL.RST (registers, EEPROM state, held frames, timers).
  void reset() noexcept override;

  // net::NetBackendListener (event loop thread)
  void frames_waiting() noexcept override;
  void send_possible() noexcept override;

  E1000Counters counters() const noexcept;
  bool intx_asserted() const noexcept { return intx_.asserted(); }
  // Frames received per frames_waiting() call before yielding the loop.
  static constexpr int kRxBudget = 64;

 private:
  // --- e1000.cc ---
  void reset_locked() noexcept;
  void set_receive_interest(bool interested) noexcept;
  void run_deferred() noexcept;  // listener work a backend call asked for
  bool in_backend_call() const noexcept;
  // Marks the thread as inside a backend call, so a listener callback
  // made from within it is deferred instead of re-taking lock_.
  struct BackendCall {
    explicit BackendCall(E1000& device) noexcept : device_(device) {
      device_.backend_caller_.store(std::this_thread::get_id());
    }
    ~BackendCall() { device_.backend_caller_.store(std::thread::id{}); }
    BackendCall(const BackendCall&) = delete;
    BackendCall& operator=(const BackendCall&) = delete;
    E1000& device_;
  };

  // --- e1000_registers.cc (lock_ held) ---
  uint32_t read_register(uint32_t offset) noexcept;
  void write_register(uint32_t offset, uint32_t value) noexcept;
  uint32_t& reg(uint32_t offset) noexcept { return regs_[offset / 4]; }
  uint32_t reg(uint32_t offset) const noexcept { return regs_[offset / 4]; }
  uint32_t read_statistic(uint32_t offset) noexcept;
  void write_ctrl(uint32_t value) noexcept;
  void log_unknown(const char* what, uint32_t offset) noexcept;

  // --- e1000_interrupts.cc (lock_ held) ---
  void set_cause(uint32_t causes) noexcept;
  void update_intx() noexcept;
  void receive_done() noexcept;       // RXT0 now or after RDTR/RADV
  void rx_timer_expired() noexcept;   // timer callback (takes lock_)
  void itr_timer_expired() noexcept;  // timer callback (takes lock_)
  void fire_rxt0() noexcept;
  void disarm_rx_timers() noexcept;

  // --- e1000_tx.cc (lock_ held) ---
  void process_tx() noexcept;
  bool flush_tx_backlog() noexcept;  // true when the backlog is empty
  void tx_descriptor(Gpa address, std::span<const uint8_t, 16> descriptor, bool& report_done) noexcept;
  void tx_append(uint64_t buffer, uint32_t length) noexcept;
  void tx_finish_packet(bool vlan, uint16_t vlan_tag) noexcept;
  void tx_emit(std::span<const uint8_t> frame, bool vlan, uint16_t vlan_tag) noexcept;
  void tx_reset_packet() noexcept;
  void count_tx(size_t length, const uint8_t* destination) noexcept;

  // --- e1000_rx.cc (lock_ held) ---
  void drain_rx() noexcept;
  // Delivers `frame` (no VnetHeader) or drops it; false when the ring has
  // too few free descriptors right now (the frame is untouched).
  bool rx_frame(std::span<const uint8_t> frame) noexcept;
  bool rx_write(std::span<const uint8_t> frame, bool vlan, uint16_t tci, const e1000::RingGeometry& ring) noexcept;
  void rx_out_of_buffers() noexcept;
  void rx_tail_written() noexcept;
  void count_rx(size_t length, bool broadcast, bool multicast) noexcept;
  uint32_t rx_buffer_size() const noexcept;

  void add_stat(uint32_t offset, uint32_t amount) noexcept;
  void add_stat64(uint32_t low_offset, uint64_t amount) noexcept;

  const GuestMemory& memory_;
  const Clock& clock_;
  const std::array<uint8_t, 6> mac_;

  mutable std::mutex config_lock_;
  PciConfigSpace config_;
  PciIntx intx_;

  mutable std::mutex lock_;
  // The register file below 0x5900 (everything the 82540 defines); what
  // lies above reads 0.
  static constexpr uint32_t kRegisterFileEnd = 0x5900;
  std::array<uint32_t, kRegisterFileEnd / 4> regs_{};
  e1000::Eeprom eeprom_;
  e1000::Phy phy_;
  uint32_t io_address_ = 0;  // IOADDR
  E1000Counters counters_;
  LogRateLimiter log_limit_{10};

  // Transmit: the packet being gathered, the two offload contexts (one for
  // TSO, one for plain checksums, as QEMU keeps them since guests
  // interleave both), and frames the backend could not take yet.
  std::vector<uint8_t> tx_packet_;
  std::vector<uint8_t> tx_segment_;
  std::vector<uint8_t> tx_frame_;
  bool tx_in_packet_ = false;
  bool tx_dropping_ = false;  // the current packet is being dropped up to EOP
  bool tx_tse_ = false;
  bool tx_ixsm_ = false;
  bool tx_txsm_ = false;
  bool tx_extended_ = false;
  e1000::TxContext tx_checksum_context_;
  e1000::TxContext tx_tso_context_;
  // Frames the backend could not take yet, oldest first: their bytes back
  // to back in tx_backlog_bytes_, their lengths in tx_backlog_lengths_,
  // sent from tx_backlog_next_ (tx_backlog_offset_ bytes in). Only the
  // rest of the one packet being finished can join (the ring stops while
  // frames wait), so the caps are one TSO packet's worst case: a segment
  // per MSS (>= kMinMss) of payload, each with the header (hdr_len <= 255)
  // and an 802.1Q tag. Reserved at construction (malloc maps it; pages
  // cost memory only once a backlog touches them); a frame past a cap is
  // dropped and counted, never a bigger allocation.
  static constexpr size_t kMaxTsoPacket = 65536 + 256;  // 64 KiB of payload plus headers
  static constexpr size_t kTxBacklogFrames = kMaxTsoPacket / e1000::kMinMss + 2;
  static constexpr size_t kTxBacklogBytes = kMaxTsoPacket + kTxBacklogFrames * (255 + 4);
  std::vector<uint8_t> tx_backlog_bytes_;
  std::vector<uint32_t> tx_backlog_lengths_;
  size_t tx_backlog_next_ = 0;
  size_t tx_backlog_offset_ = 0;
  bool tx_backlog_empty() const noexcept { return tx_backlog_next_ == tx_backlog_lengths_.size(); }
  void tx_backlog_push(std::span<const uint8_t> frame) noexcept;
  void tx_backlog_clear() noexcept;

  // Receive: the buffer frames arrive in, a frame waiting for descriptors,
  // the frame as written to the guest, and back-pressure state.
  std::vector<uint8_t> rx_buffer_;
  std::vector<uint8_t> rx_held_;
  bool rx_has_held_ = false;
  std::vector<uint8_t> rx_out_;
  bool receive_interest_ = true;
  bool rxo_signalled_ = false;
  bool rx_delay_armed_ = false;
  bool rx_absolute_armed_ = false;
  // ITR: when INTA# last rose, and whether a held-back rise is scheduled.
  std::chrono::nanoseconds last_interrupt_{std::chrono::nanoseconds::min() / 2};
  bool itr_armed_ = false;

  std::atomic<std::thread::id> backend_caller_{};
  std::atomic<bool> deferred_rx_{false};
  std::atomic<bool> deferred_tx_{false};

  // Destroyed first: no timer callback or backend callback runs while the
  // rest of the object goes away.
  std::unique_ptr<Timer> rx_delay_timer_;     // RDTR: restarted by every frame
  std::unique_ptr<Timer> rx_absolute_timer_;  // RADV: from the first frame
  std::unique_ptr<Timer> itr_timer_;          // ITR: the next allowed interrupt
  std::unique_ptr<net::NetBackend> backend_;
};

}  // namespace keel::devices
