// Byte cursors over a chain's buffers (see chain_io.h). The buffers were
// validated by Virtqueue::pop(); every access still goes through
// GuestMemory's checked API, so a corrupted GuestBuffer can only fail, never
// reach outside guest RAM.
#include "virtio/core/chain_io.h"

#include <algorithm>

namespace keel::virtio {

namespace {

uint64_t total_length(std::span<const GuestBuffer> buffers) noexcept {
  uint64_t total = 0;
  for (const GuestBuffer& buffer : buffers) total += buffer.length;
  return total;
}

// A position in a list of buffers taken as one byte stream. `visit` is
// called for each contiguous piece of the next `count` bytes with the
// piece's guest address, its offset within those `count` bytes and length.
struct Cursor {
  std::span<const GuestBuffer> buffers;
  size_t& index;
  uint64_t& offset;

  template <class Visit>
  Result<void> advance(uint64_t count, Visit&& visit) noexcept {
    uint64_t done = 0;
    while (done < count) {
      if (index >= buffers.size()) return fail(Errc::out_of_bounds, "descriptor chain is shorter than the access");
      const GuestBuffer& buffer = buffers[index];
      if (offset >= buffer.length) {
        ++index;
        offset = 0;
        continue;
      }
      const uint64_t piece = std::min<uint64_t>(buffer.length - offset, count - done);
      auto address = checked_add(buffer.address, offset);
      if (!address) return fail(Errc::overflow, "descriptor buffer wraps past 2^64");
      if (auto ok = visit(*address, done, piece); !ok) return ok;
      offset += piece;
      done += piece;
    }
    return {};
  }
};

}  // namespace

ChainReader::ChainReader(const GuestMemory& memory, std::span<const GuestBuffer> buffers) noexcept
    : memory_(memory), buffers_(buffers), remaining_(total_length(buffers)) {}

Result<void> ChainReader::read(std::span<std::byte> out) noexcept {
  if (out.size() > remaining_) return fail(Errc::out_of_bounds, "read past the end of the readable buffers");
  Cursor cursor{buffers_, index_, offset_};
  uint64_t copied = 0;
  auto ok = cursor.advance(out.size(), [&](Gpa address, uint64_t at, uint64_t piece) {
    auto read = memory_.read(address, out.subspan(at, piece));
    if (read) copied += piece;
    return read;
  });
  // On a (never expected) mid-way failure the cursor has moved by `copied`.
  remaining_ -= copied;
  return ok;
}

Result<void> ChainReader::skip(uint64_t count) noexcept {
  if (count > remaining_) return fail(Errc::out_of_bounds, "skip past the end of the readable buffers");
  Cursor cursor{buffers_, index_, offset_};
  auto ok = cursor.advance(count, [](Gpa, uint64_t, uint64_t) -> Result<void> { return {}; });
  if (ok) remaining_ -= count;
  return ok;
}

uint64_t ChainReader::remaining() const noexcept { return remaining_; }

ChainWriter::ChainWriter(const GuestMemory& memory, std::span<const GuestBuffer> buffers) noexcept
    : memory_(memory), buffers_(buffers), remaining_(total_length(buffers)) {}

Result<void> ChainWriter::write(std::span<const std::byte> in) noexcept {
  if (in.size() > remaining_) return fail(Errc::out_of_bounds, "write past the end of the writable buffers");
  Cursor cursor{buffers_, index_, offset_};
  uint64_t copied = 0;
  auto ok = cursor.advance(in.size(), [&](Gpa address, uint64_t at, uint64_t piece) {
    auto written = memory_.write(address, in.subspan(at, piece));
    if (written) copied += piece;
    return written;
  });
  remaining_ -= copied;
  written_ += copied;
  return ok;
}

Result<void> ChainWriter::skip(uint64_t count) noexcept {
  if (count > remaining_) return fail(Errc::out_of_bounds, "skip past the end of the writable buffers");
  Cursor cursor{buffers_, index_, offset_};
  auto ok = cursor.advance(count, [](Gpa, uint64_t, uint64_t) -> Result<void> { return {}; });
  if (ok) {
    remaining_ -= count;
    written_ += count;
  }
  return ok;
}

uint64_t ChainWriter::remaining() const noexcept { return remaining_; }

Result<size_t> host_iovecs(const GuestMemory& memory, std::span<const GuestBuffer> buffers, uint64_t offset,
                           uint64_t length, std::span<iovec> out) noexcept {
  uint64_t end = 0;
  if (__builtin_add_overflow(offset, length, &end)) return fail(Errc::overflow, "iovec range wraps");
  if (end > total_length(buffers)) return fail(Errc::out_of_bounds, "descriptor chain is shorter than the iovec range");
  size_t count = 0;
  size_t index = 0;
  uint64_t position = 0;
  Cursor cursor{buffers, index, position};
  if (auto skipped = cursor.advance(offset, [](Gpa, uint64_t, uint64_t) -> Result<void> { return {}; }); !skipped)
    return std::unexpected(skipped.error());
  auto ok = cursor.advance(length, [&](Gpa address, uint64_t, uint64_t piece) -> Result<void> {
    // The caller's array, never a growing vector: nothing allocated per request.
    if (count == out.size()) return fail(Errc::overflow, "more iovecs than the caller has room for");
    auto span = memory.host_span(address, piece);
    if (!span) return std::unexpected(span.error());
    out[count++] = iovec{span->data(), span->size()};
    return {};
  });
  if (!ok) return std::unexpected(ok.error());
  return count;
}

}  // namespace keel::virtio
