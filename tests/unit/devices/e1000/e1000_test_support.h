// Shared fixture for the e1000 tests: the fake backend (its own header,
// e1000_fake_backend.h, without gtest), guest memory, a fake clock, the
// device, register helpers and a small driver that lays out rings the way
// Linux's e1000 driver does.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "devices/e1000/e1000.h"
#include "devices/e1000/e1000_regs.h"
#include "keel/net_backend.h"
#include "tests/support/fakes.h"
#include "tests/unit/devices/e1000/e1000_fake_backend.h"

namespace keel::devices::e1000::test {

inline constexpr std::array<uint8_t, 6> kMac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
inline constexpr uint64_t kMemorySize = 4 << 20;

class E1000Test : public ::testing::Test {
 protected:
  E1000Test() : memory_(kMemorySize) {
    auto backend = std::make_unique<FakeBackend>();
    backend_ = backend.get();
    device_ = std::make_unique<E1000>(std::move(backend), kMac, memory_.memory(), clock_, clock_);
    line_ = std::make_shared<testing::FakeIrqLine>();
    device_->connect_intx(line_);
  }

  void write(uint32_t offset, uint32_t value) {
    device_->bar_write(kMmioBar, offset, std::as_bytes(std::span(&value, 1)));
  }
  uint32_t read(uint32_t offset) {
    uint32_t value = 0;
    device_->bar_read(kMmioBar, offset, std::as_writable_bytes(std::span(&value, 1)));
    return value;
  }

  // Guest RAM helpers.
  uint8_t* ram(uint64_t gpa) { return reinterpret_cast<uint8_t*>(memory_.host()) + gpa; }
  void put(uint64_t gpa, const Bytes& bytes) { std::memcpy(ram(gpa), bytes.data(), bytes.size()); }
  Bytes get(uint64_t gpa, size_t n) { return Bytes(ram(gpa), ram(gpa) + n); }
  template <class T>
  void put_obj(uint64_t gpa, const T& value) {
    std::memcpy(ram(gpa), &value, sizeof(T));
  }
  template <class T>
  T get_obj(uint64_t gpa) {
    T value;
    std::memcpy(&value, ram(gpa), sizeof(T));
    return value;
  }

  // Receive ring at kRxRing: `count` descriptors, buffers of 2048 bytes at
  // kRxBuffers; RDT = count - 1 (all but one posted, as Linux does).
  static constexpr uint64_t kRxRing = 0x10000;
  static constexpr uint64_t kRxBuffers = 0x100000;
  static constexpr uint64_t kTxRing = 0x20000;
  static constexpr uint64_t kTxBuffers = 0x200000;
  void setup_rx(uint32_t count, uint32_t rctl_extra = 0, uint32_t tail = UINT32_MAX) {
    for (uint32_t i = 0; i < count; ++i) {
      put_obj<uint64_t>(kRxRing + 16 * i, kRxBuffers + 2048 * i);
      put_obj<uint64_t>(kRxRing + 16 * i + 8, 0);
    }
    write(reg::kRdbal, static_cast<uint32_t>(kRxRing));
    write(reg::kRdbah, 0);
    write(reg::kRdlen, count * 16);
    write(reg::kRdh, 0);
    write(reg::kRctl, rctl::kEn | rctl::kBam | rctl::kSecrc | rctl_extra);
    write(reg::kRdt, tail == UINT32_MAX ? count - 1 : tail);
  }
  struct RxDesc {
    uint64_t buffer;
    uint16_t length;
    uint16_t checksum;
    uint8_t status;
    uint8_t errors;
    uint16_t special;
  };
  RxDesc rx_desc(uint32_t index) { return get_obj<RxDesc>(kRxRing + 16 * index); }

  void setup_tx(uint32_t count) {
    write(reg::kTdbal, static_cast<uint32_t>(kTxRing));
    write(reg::kTdbah, 0);
    write(reg::kTdlen, count * 16);
    write(reg::kTdh, 0);
    write(reg::kTdt, 0);
    write(reg::kTctl, tctl::kEn);
    tx_tail_ = 0;
    tx_count_ = count;
  }
  // Appends a descriptor at the software tail (not yet handed over).
  void tx_put(const std::array<uint8_t, 16>& descriptor) {
    put(kTxRing + 16 * tx_tail_, Bytes(descriptor.begin(), descriptor.end()));
    tx_tail_ = (tx_tail_ + 1) % tx_count_;
  }
  void tx_kick() { write(reg::kTdt, tx_tail_); }
  static std::array<uint8_t, 16> legacy(uint64_t buffer, uint16_t length, uint8_t cmd, uint8_t cso = 0,
                                        uint8_t css = 0) {
    std::array<uint8_t, 16> d{};
    std::memcpy(d.data(), &buffer, 8);
    d[8] = static_cast<uint8_t>(length);
    d[9] = static_cast<uint8_t>(length >> 8);
    d[10] = cso;
    d[11] = cmd;
    d[13] = css;
    return d;
  }
  static std::array<uint8_t, 16> data(uint64_t buffer, uint32_t length, uint8_t dcmd, uint8_t popts) {
    std::array<uint8_t, 16> d{};
    std::memcpy(d.data(), &buffer, 8);
    d[8] = static_cast<uint8_t>(length);
    d[9] = static_cast<uint8_t>(length >> 8);
    d[10] = static_cast<uint8_t>(((length >> 16) & 0x0F) | 0x10);  // DTYP 1
    d[11] = static_cast<uint8_t>(dcmd | 0x20);                      // DEXT
    d[13] = popts;
    return d;
  }
  static std::array<uint8_t, 16> context(uint8_t ipcss, uint8_t ipcso, uint16_t ipcse, uint8_t tucss, uint8_t tucso,
                                         uint16_t tucse, uint32_t paylen, uint8_t tucmd, uint8_t hdr_len,
                                         uint16_t mss) {
    std::array<uint8_t, 16> d{};
    d[0] = ipcss;
    d[1] = ipcso;
    d[2] = static_cast<uint8_t>(ipcse);
    d[3] = static_cast<uint8_t>(ipcse >> 8);
    d[4] = tucss;
    d[5] = tucso;
    d[6] = static_cast<uint8_t>(tucse);
    d[7] = static_cast<uint8_t>(tucse >> 8);
    d[8] = static_cast<uint8_t>(paylen);
    d[9] = static_cast<uint8_t>(paylen >> 8);
    d[10] = static_cast<uint8_t>((paylen >> 16) & 0x0F);  // DTYP 0
    d[11] = static_cast<uint8_t>(tucmd | 0x20);          // DEXT
    d[13] = hdr_len;
    d[14] = static_cast<uint8_t>(mss);
    d[15] = static_cast<uint8_t>(mss >> 8);
    return d;
  }
  uint8_t tx_status(uint32_t index) { return *ram(kTxRing + 16 * index + 12); }

  testing::TestGuestMemory memory_;
  testing::FakeClock clock_;
  FakeBackend* backend_ = nullptr;
  std::unique_ptr<E1000> device_;
  std::shared_ptr<testing::FakeIrqLine> line_;
  uint32_t tx_tail_ = 0;
  uint32_t tx_count_ = 0;
};

// --- Frames, built and checked independently of the device's helpers -----

inline uint16_t reference_checksum(const uint8_t* data, size_t length, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < length; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (length % 2) sum += static_cast<uint32_t>(data[length - 1] << 8);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}
inline uint16_t be16(const Bytes& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
inline uint32_t be32(const Bytes& b, size_t at) { return uint32_t{be16(b, at)} << 16 | be16(b, at + 2); }
inline void set_be16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

// Ethernet + IPv4 (20 bytes) + TCP (20 bytes) or UDP (8 bytes), payload of
// bytes (i * 7 + 3) & 0xFF, IP header checksum set, TCP/UDP checksum zero.
inline Bytes ipv4_frame(size_t payload, bool tcp, std::array<uint8_t, 6> dst = kMac) {
  const size_t l4 = tcp ? 20 : 8;
  Bytes f(14 + 20 + l4 + payload, 0);
  std::copy(dst.begin(), dst.end(), f.begin());
  const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x01};
  std::copy(src, src + 6, f.begin() + 6);
  set_be16(f, 12, 0x0800);
  f[14] = 0x45;
  set_be16(f, 16, static_cast<uint16_t>(20 + l4 + payload));
  set_be16(f, 18, 0x1234);  // id
  f[20] = 0x40;             // DF
  f[22] = 64;
  f[23] = tcp ? 6 : 17;
  const uint8_t addrs[8] = {10, 0, 2, 15, 10, 0, 2, 2};
  std::copy(addrs, addrs + 8, f.begin() + 26);
  set_be16(f, 34, 40000);
  set_be16(f, 36, 80);
  if (tcp) {
    f[38] = 0x10; f[39] = 0x20; f[40] = 0x30; f[41] = 0x40;  // seq 0x10203040
    f[46] = 0x50;                                            // data offset 5
    f[47] = 0x18 | 0x01;                                     // PSH ACK FIN
    set_be16(f, 48, 65535);
  } else {
    set_be16(f, 38, static_cast<uint16_t>(8 + payload));
  }
  for (size_t i = 0; i < payload; ++i) f[14 + 20 + l4 + i] = static_cast<uint8_t>((i * 7 + 3) & 0xFF);
  set_be16(f, 24, reference_checksum(&f[14], 20));  // a valid IP header
  return f;
}

inline bool ip_checksum_ok(const Bytes& f) { return reference_checksum(&f[14], 20) == 0; }
// TCP/UDP checksum over the pseudo-header computed from the frame itself.
inline bool l4_checksum_ok(const Bytes& f) {
  const size_t total = be16(f, 16);
  const size_t l4 = total - 20;
  uint32_t pseudo = 0;
  for (size_t i = 26; i < 34; i += 2) pseudo += be16(f, i);
  pseudo += f[23];
  pseudo += static_cast<uint32_t>(l4);
  return reference_checksum(&f[34], l4, pseudo) == 0;
}
// The pseudo-header sum a driver seeds: without the length for TSO.
inline uint16_t pseudo_seed(const Bytes& f, bool with_length) {
  uint32_t sum = 0;
  for (size_t i = 26; i < 34; i += 2) sum += be16(f, i);
  sum += f[23];
  if (with_length) sum += be16(f, 16) - 20u;
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

}  // namespace keel::devices::e1000::test
