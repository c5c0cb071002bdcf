// A PS/2 mouse as the 8042's auxiliary device sees it: a plain 3-byte mouse
// that becomes an IntelliMouse (ID 3, 4-byte packets with a wheel byte that
// stays 0) after the 200,100,80 sample-rate knock. Stream and remote modes,
// 1:1 and 2:1 scaling, wrap mode. Not thread-safe: the controller's lock
// covers it. Internal to devices/i8042.
#pragma once

#include <cstdint>
#include <optional>

#include "keel/byte_fifo.h"

namespace keel::devices::i8042_detail {

class Ps2Mouse {
 public:
  // Motion not yet sent is kept up to this many counts per axis; beyond it
  // the motion is lost and the next packet has the axis' overflow bit set.
  static constexpr int kMaxPendingCounts = 4096;

  Ps2Mouse() noexcept { reset(); }

  // A byte the host sent with controller command 0xD4.
  void receive(uint8_t byte) noexcept;

  // Relative motion in counts, PS/2 orientation (positive y is up), and the
  // button state (bit 0 left, 1 right, 2 middle).
  void motion(int dx, int dy, uint8_t buttons) noexcept;

  [[nodiscard]] bool has_output() const noexcept { return !replies_.empty() || !packets_.empty(); }
  // The next byte toward the controller: replies before movement packets.
  std::optional<uint8_t> transmit() noexcept;

  [[nodiscard]] bool reporting_enabled() const noexcept { return reporting_; }
  [[nodiscard]] uint8_t device_id() const noexcept { return device_id_; }
  [[nodiscard]] uint8_t sample_rate() const noexcept { return sample_rate_; }
  [[nodiscard]] uint8_t resolution() const noexcept { return resolution_; }

 private:
  enum class AwaitedParameter : uint8_t { none, sample_rate, resolution };

  void reset() noexcept;
  void set_defaults() noexcept;
  void run_command(uint8_t command) noexcept;
  void take_parameter(uint8_t parameter) noexcept;
  void reply(uint8_t byte) noexcept;
  void clear_motion() noexcept;
  void abandon_partial_packet() noexcept;
  void flush_stream() noexcept;
  void reply_with_packet() noexcept;
  void note_sample_rate(uint8_t rate) noexcept;
  [[nodiscard]] uint8_t packet_size() const noexcept { return device_id_ == 3 ? 4 : 3; }
  [[nodiscard]] uint8_t status_byte() const noexcept;

  struct Packet {
    uint8_t bytes[4];
  };
  // Takes up to one packet's worth of the pending motion.
  Packet take_packet(int limit_low, int limit_high, bool apply_scaling) noexcept;

  keel::ByteFifo<16> replies_;
  keel::ByteFifo<64> packets_;       // whole packets only
  uint8_t packet_offset_ = 0;  // bytes of the head packet already sent

  AwaitedParameter awaited_ = AwaitedParameter::none;
  bool reporting_ = false;
  bool remote_mode_ = false;
  bool wrap_mode_ = false;
  bool scaling_2to1_ = false;
  uint8_t sample_rate_ = 100;
  uint8_t resolution_ = 2;
  uint8_t device_id_ = 0;
  uint8_t recent_rates_[3] = {};
  uint8_t last_transmitted_ = 0;

  uint8_t buttons_ = 0;
  bool buttons_changed_ = false;
  int pending_dx_ = 0;
  int pending_dy_ = 0;
  bool overflow_x_ = false;
  bool overflow_y_ = false;
};

}  // namespace keel::devices::i8042_detail
