// A NetBackend decorator that records every frame the NIC sends and receives
// to a pcap file (the classic libpcap format: LINKTYPE_ETHERNET, microsecond
// timestamps, snaplen 65535), without the virtio-net header. Each record is
// written with one write(2), unbuffered, so tcpdump/Wireshark can read the
// file while keel runs (`tail -c +1 -f FILE | tcpdump -r -`).
//
// GSO frames are recorded as the one large frame the guest or host handed
// over, not as the segments that go on the wire (as tcpdump on a tap shows).
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "keel/clock.h"
#include "keel/net_backend.h"

namespace keel::net {

inline constexpr uint32_t kPcapSnaplen = 65535;
inline constexpr uint32_t kLinktypeEthernet = 1;

class PcapRecorder final : public NetBackend {
 public:
  // Creates (truncates) `path` and writes the pcap file header. Throws
  // keel::ConfigError naming the path when it cannot (missing directory,
  // permissions). `clock` gives the timestamps (realtime) and must outlive
  // the recorder.
  static std::unique_ptr<PcapRecorder> create(std::unique_ptr<NetBackend> inner, const std::filesystem::path& path,
                                              const Clock& clock = system_clock());
  ~PcapRecorder() override;
  PcapRecorder(const PcapRecorder&) = delete;
  PcapRecorder& operator=(const PcapRecorder&) = delete;

  BackendCapabilities capabilities() const noexcept override { return inner_->capabilities(); }
  void attach(NetBackendListener& listener) noexcept override { inner_->attach(listener); }
  void set_receive_interest(bool interested) noexcept override { inner_->set_receive_interest(interested); }
  [[nodiscard]] Result<SendStatus> send(std::span<const iovec> frame) noexcept override;
  [[nodiscard]] Result<size_t> receive(std::span<const iovec> buffer) noexcept override;
  void set_guest_offloads(const Offloads& offloads) noexcept override { inner_->set_guest_offloads(offloads); }

  uint64_t frames_recorded() const noexcept { return frames_recorded_; }

 private:
  PcapRecorder(std::unique_ptr<NetBackend> inner, int fd, std::filesystem::path path, const Clock& clock);
  // Records the bytes of `parts` after the vnet header, `length` bytes in
  // all (header included). Send and receive are serialised by the model, so
  // the record buffer needs no lock.
  void record(std::span<const iovec> parts, size_t length) noexcept;

  std::unique_ptr<NetBackend> inner_;
  int fd_;
  std::filesystem::path path_;
  const Clock& clock_;
  std::vector<std::byte> record_;  // sized once for the largest record
  bool write_failed_ = false;
  uint64_t frames_recorded_ = 0;
};

}  // namespace keel::net
