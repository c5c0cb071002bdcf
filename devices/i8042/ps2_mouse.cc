#include "devices/i8042/ps2_mouse.h"

#include <algorithm>
#include <cstdint>

namespace keel::devices::i8042_detail {
namespace {

constexpr uint8_t kAck = 0xFA;
constexpr uint8_t kResend = 0xFE;
constexpr uint8_t kSelfTestPassed = 0xAA;
// Mouse commands are 0xE6 and up; no valid parameter (resolution 0-3, rate
// up to 200) is that high, so such a byte starts a new command.
constexpr uint8_t kFirstCommand = 0xE6;

enum Command : uint8_t {
  kScaling1to1 = 0xE6,
  kScaling2to1 = 0xE7,
  kSetResolution = 0xE8,
  kStatusRequest = 0xE9,
  kStreamMode = 0xEA,
  kReadData = 0xEB,
  kResetWrapMode = 0xEC,
  kWrapMode = 0xEE,
  kRemoteMode = 0xF0,
  kGetDeviceId = 0xF2,
  kSetSampleRate = 0xF3,
  kEnableReporting = 0xF4,
  kDisableReporting = 0xF5,
  kSetDefaults = 0xF6,
  kResendCommand = 0xFE,
  kReset = 0xFF,
};

bool valid_sample_rate(uint8_t rate) {
  switch (rate) {
    case 10: case 20: case 40: case 60: case 80: case 100: case 200: return true;
    default: return false;
  }
}

// 2:1 scaling as the PS/2 mouse applies it to each reported count.
int scale_2to1(int counts) {
  const int magnitude = counts < 0 ? -counts : counts;
  int scaled;
  switch (magnitude) {
    case 0: scaled = 0; break;
    case 1: case 2: scaled = 1; break;
    case 3: scaled = 3; break;
    case 4: scaled = 6; break;
    case 5: scaled = 9; break;
    default: scaled = 2 * magnitude; break;
  }
  return counts < 0 ? -scaled : scaled;
}

// Adds `delta` to a pending counter without overflowing an int; returns false
// when the counter saturated (motion was lost).
bool accumulate(int& counter, int delta, int bound) {
  const int64_t sum = int64_t{counter} + delta;
  counter = static_cast<int>(std::clamp<int64_t>(sum, -bound, bound));
  return sum >= -bound && sum <= bound;
}

}  // namespace

void Ps2Mouse::reset() noexcept {
  replies_.clear();
  awaited_ = AwaitedParameter::none;
  wrap_mode_ = false;
  device_id_ = 0;
  std::fill(std::begin(recent_rates_), std::end(recent_rates_), uint8_t{0});
  set_defaults();
}

void Ps2Mouse::set_defaults() noexcept {
  sample_rate_ = 100;
  resolution_ = 2;  // 4 counts/mm
  scaling_2to1_ = false;
  remote_mode_ = false;
  reporting_ = false;
  clear_motion();
}

void Ps2Mouse::clear_motion() noexcept {
  packets_.clear();
  packet_offset_ = 0;
  pending_dx_ = 0;
  pending_dy_ = 0;
  overflow_x_ = false;
  overflow_y_ = false;
  buttons_changed_ = false;
}

void Ps2Mouse::reply(uint8_t byte) noexcept { (void)replies_.push(byte); }

void Ps2Mouse::receive(uint8_t byte) noexcept {
  // Any byte from the host interrupts a packet in transmission; the rest of
  // that packet is not sent, so replies never land inside a packet.
  abandon_partial_packet();
  if (wrap_mode_) {
    // Wrap (echo) mode: everything comes back except these two.
    if (byte == kResetWrapMode) {
      wrap_mode_ = false;
      reply(kAck);
      return;
    }
    if (byte != kReset) {
      reply(byte);
      return;
    }
  }
  if (awaited_ != AwaitedParameter::none && byte < kFirstCommand) {
    take_parameter(byte);
    return;
  }
  awaited_ = AwaitedParameter::none;
  run_command(byte);
}

void Ps2Mouse::run_command(uint8_t command) noexcept {
  switch (command) {
    case kScaling1to1:
    case kScaling2to1:
      scaling_2to1_ = command == kScaling2to1;
      reply(kAck);
      break;
    case kSetResolution:
      reply(kAck);
      awaited_ = AwaitedParameter::resolution;
      break;
    case kStatusRequest:
      reply(kAck);
      reply(status_byte());
      reply(resolution_);
      reply(sample_rate_);
      break;
    case kStreamMode:
    case kRemoteMode:
      remote_mode_ = command == kRemoteMode;
      clear_motion();
      reply(kAck);
      break;
    case kReadData:
      reply(kAck);
      reply_with_packet();
      break;
    case kResetWrapMode:  // not in wrap mode: nothing to leave
      reply(kAck);
      break;
    case kWrapMode:
      wrap_mode_ = true;
      clear_motion();
      reply(kAck);
      break;
    case kGetDeviceId:
      clear_motion();
      reply(kAck);
      reply(device_id_);
      break;
    case kSetSampleRate:
      reply(kAck);
      awaited_ = AwaitedParameter::sample_rate;
      break;
    case kEnableReporting:
    case kDisableReporting:
      reporting_ = command == kEnableReporting;
      clear_motion();
      reply(kAck);
      break;
    case kSetDefaults:
      set_defaults();
      reply(kAck);
      break;
    case kResendCommand:
      reply(last_transmitted_);
      break;
    case kReset:
      reset();
      reply(kAck);
      reply(kSelfTestPassed);
      reply(device_id_);
      break;
    default:
      reply(kResend);
      break;
  }
}

void Ps2Mouse::take_parameter(uint8_t parameter) noexcept {
  const AwaitedParameter awaited = awaited_;
  awaited_ = AwaitedParameter::none;
  if (awaited == AwaitedParameter::resolution) {
    if (parameter > 3) {
      reply(kResend);
      return;
    }
    resolution_ = parameter;
    reply(kAck);
  } else if (awaited == AwaitedParameter::sample_rate) {
    if (!valid_sample_rate(parameter)) {
      reply(kResend);
      return;
    }
    sample_rate_ = parameter;
    reply(kAck);
    note_sample_rate(parameter);
  }
}

void Ps2Mouse::note_sample_rate(uint8_t rate) noexcept {
  recent_rates_[0] = recent_rates_[1];
  recent_rates_[1] = recent_rates_[2];
  recent_rates_[2] = rate;
  // The IntelliMouse knock: drivers set 200, 100, 80 and then read the ID.
  if (recent_rates_[0] == 200 && recent_rates_[1] == 100 && recent_rates_[2] == 80 && device_id_ != 3) {
    device_id_ = 3;
    clear_motion();  // queued packets have the old size
  }
}

uint8_t Ps2Mouse::status_byte() const noexcept {
  const uint8_t left = buttons_ & 0x01;
  const uint8_t right = (buttons_ >> 1) & 0x01;
  const uint8_t middle = (buttons_ >> 2) & 0x01;
  return static_cast<uint8_t>((remote_mode_ ? 0x40 : 0) | (reporting_ ? 0x20 : 0) |
                              (scaling_2to1_ ? 0x10 : 0) | (left << 2) | (middle << 1) | right);
}

void Ps2Mouse::motion(int dx, int dy, uint8_t buttons) noexcept {
  buttons &= 0x07;
  if (buttons != buttons_) {
    buttons_ = buttons;
    buttons_changed_ = true;
  }
  // In stream mode with reporting off the mouse measures nothing for the
  // host; remote mode always keeps counting for the next Read Data.
  if (!remote_mode_ && !reporting_) {
    buttons_changed_ = false;
    return;
  }
  if (!accumulate(pending_dx_, dx, kMaxPendingCounts)) overflow_x_ = true;
  if (!accumulate(pending_dy_, dy, kMaxPendingCounts)) overflow_y_ = true;
  flush_stream();
}

Ps2Mouse::Packet Ps2Mouse::take_packet(int limit_low, int limit_high, bool apply_scaling) noexcept {
  int x = std::clamp(pending_dx_, limit_low, limit_high);
  int y = std::clamp(pending_dy_, limit_low, limit_high);
  pending_dx_ -= x;
  pending_dy_ -= y;
  if (apply_scaling) {
    x = scale_2to1(x);
    y = scale_2to1(y);
  }
  Packet packet{};
  packet.bytes[0] = static_cast<uint8_t>(0x08 | buttons_ | (x < 0 ? 0x10 : 0) | (y < 0 ? 0x20 : 0) |
                                         (overflow_x_ ? 0x40 : 0) | (overflow_y_ ? 0x80 : 0));
  packet.bytes[1] = static_cast<uint8_t>(x & 0xFF);  // low 8 bits; bit 8 is the sign above
  packet.bytes[2] = static_cast<uint8_t>(y & 0xFF);
  packet.bytes[3] = 0;  // IntelliMouse wheel: never moves
  overflow_x_ = false;
  overflow_y_ = false;
  buttons_changed_ = false;
  return packet;
}

void Ps2Mouse::flush_stream() noexcept {
  if (remote_mode_ || !reporting_) return;
  // Large moves go out as several packets, as many as fit; the rest waits
  // until the guest has read some (transmit() calls back in here).
  while ((pending_dx_ != 0 || pending_dy_ != 0 || buttons_changed_ || overflow_x_ || overflow_y_) &&
         packets_.free() >= packet_size()) {
    // With 2:1 scaling a packet carries at most 127 counts so the doubled
    // value still fits the 9-bit field.
    const Packet packet = scaling_2to1_ ? take_packet(-127, 127, true) : take_packet(-256, 255, false);
    for (uint8_t i = 0; i < packet_size(); ++i) (void)packets_.push(packet.bytes[i]);
  }
}

void Ps2Mouse::reply_with_packet() noexcept {
  // Read Data reports everything counted so far in one packet: what does
  // not fit the 9-bit fields is flagged as overflow. Counters then restart.
  if (pending_dx_ < -256 || pending_dx_ > 255) overflow_x_ = true;
  if (pending_dy_ < -256 || pending_dy_ > 255) overflow_y_ = true;
  const Packet packet = take_packet(-256, 255, false);
  pending_dx_ = 0;
  pending_dy_ = 0;
  for (uint8_t i = 0; i < packet_size(); ++i) reply(packet.bytes[i]);
}

void Ps2Mouse::abandon_partial_packet() noexcept {
  if (packet_offset_ == 0) return;
  for (uint8_t i = packet_offset_; i < packet_size(); ++i) (void)packets_.pop();
  packet_offset_ = 0;
}

std::optional<uint8_t> Ps2Mouse::transmit() noexcept {
  if (auto byte = replies_.pop()) {
    last_transmitted_ = *byte;
    return byte;
  }
  auto byte = packets_.pop();
  if (!byte) return std::nullopt;
  packet_offset_ = static_cast<uint8_t>((packet_offset_ + 1) % packet_size());
  last_transmitted_ = *byte;
  flush_stream();
  return byte;
}

}  // namespace keel::devices::i8042_detail
