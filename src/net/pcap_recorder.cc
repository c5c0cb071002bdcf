#include "src/net/pcap_recorder.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "keel/config_error.h"

namespace keel::net {
namespace {

// The classic pcap file header (not pcapng), in host byte order: readers
// tell the order from the magic.
struct PcapFileHeader {
  uint32_t magic = 0xa1b2c3d4;  // microsecond timestamps
  uint16_t version_major = 2;
  uint16_t version_minor = 4;
  int32_t thiszone = 0;
  uint32_t sigfigs = 0;
  uint32_t snaplen = kPcapSnaplen;
  uint32_t linktype = kLinktypeEthernet;
};
static_assert(sizeof(PcapFileHeader) == 24);

struct PcapRecordHeader {
  uint32_t ts_sec;
  uint32_t ts_usec;
  uint32_t incl_len;
  uint32_t orig_len;
};
static_assert(sizeof(PcapRecordHeader) == 16);

bool write_all(int fd, const void* data, size_t size) noexcept {
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd, bytes, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes += written;
    size -= static_cast<size_t>(written);
  }
  return true;
}

}  // namespace

std::unique_ptr<PcapRecorder> PcapRecorder::create(std::unique_ptr<NetBackend> inner,
                                                   const std::filesystem::path& path, const Clock& clock) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) {
      const std::filesystem::path parent = path.has_parent_path() ? path.parent_path() : ".";
      throw ConfigError(fmt::format("--net pcap={}: the directory '{}' does not exist", path.string(),
                                    parent.string()));
    }
    throw ConfigError(fmt::format("--net pcap={}: cannot create it: {}", path.string(),
                                  std::generic_category().message(error)));
  }
  std::unique_ptr<PcapRecorder> recorder(new PcapRecorder(std::move(inner), fd, path, clock));
  const PcapFileHeader header;
  if (!write_all(fd, &header, sizeof(header))) {
    throw ConfigError(fmt::format("--net pcap={}: cannot write it: {}", path.string(),
                                  std::generic_category().message(errno)));
  }
  spdlog::info("recording network frames to {}", path.string());
  return recorder;
}

PcapRecorder::PcapRecorder(std::unique_ptr<NetBackend> inner, int fd, std::filesystem::path path,
                           const Clock& clock)
    : inner_(std::move(inner)), fd_(fd), path_(std::move(path)), clock_(clock),
      record_(sizeof(PcapRecordHeader) + kPcapSnaplen) {}

PcapRecorder::~PcapRecorder() { close(fd_); }

Result<SendStatus> PcapRecorder::send(std::span<const iovec> frame) noexcept {
  Result<SendStatus> status = inner_->send(frame);
  // Only frames that went out: a would_block send is retried (and recorded
  // then), a refused one never reached the network.
  if (status && *status == SendStatus::sent) {
    size_t length = 0;
    for (const iovec& part : frame) length += part.iov_len;  // bounded: the backend accepted it
    record(frame, length);
  }
  return status;
}

Result<size_t> PcapRecorder::receive(std::span<const iovec> buffer) noexcept {
  Result<size_t> got = inner_->receive(buffer);
  if (got && *got > 0) record(buffer, *got);
  return got;
}

void PcapRecorder::record(std::span<const iovec> parts, size_t length) noexcept {
  if (write_failed_ || length <= kVnetHeaderSize) return;
  const size_t frame_length = length - kVnetHeaderSize;
  const size_t captured = std::min<size_t>(frame_length, kPcapSnaplen);
  // Gather bytes [kVnetHeaderSize, kVnetHeaderSize + captured) of the frame.
  std::byte* out = record_.data() + sizeof(PcapRecordHeader);
  size_t skip = kVnetHeaderSize;
  size_t wanted = captured;
  for (const iovec& part : parts) {
    if (wanted == 0) break;
    size_t offset = std::min(skip, part.iov_len);
    skip -= offset;
    const size_t take = std::min(part.iov_len - offset, wanted);
    if (take == 0) continue;
    std::memcpy(out, static_cast<const std::byte*>(part.iov_base) + offset, take);
    out += take;
    wanted -= take;
  }
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(clock_.realtime());
  const PcapRecordHeader header{
      .ts_sec = static_cast<uint32_t>(now.count() / 1'000'000),
      .ts_usec = static_cast<uint32_t>(now.count() % 1'000'000),
      .incl_len = static_cast<uint32_t>(captured - wanted),  // `wanted` is 0 unless parts were short
      .orig_len = static_cast<uint32_t>(frame_length),
  };
  std::memcpy(record_.data(), &header, sizeof(header));
  if (!write_all(fd_, record_.data(), sizeof(header) + header.incl_len)) {
    // A full disk must not stop the network: stop recording, say so once.
    write_failed_ = true;
    spdlog::error("pcap {}: write failed ({}); recording stopped", path_.string(),
                  std::generic_category().message(errno));
    return;
  }
  ++frames_recorded_;
}

}  // namespace keel::net
