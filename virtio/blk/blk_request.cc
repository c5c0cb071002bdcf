#include "virtio/blk/blk_request.h"

#include <algorithm>
#include <climits>
#include <optional>

#include "virtio/blk/blk_spec.h"
#include "virtio/core/chain_io.h"

namespace keel::virtio::blk {
namespace {

ParsedRequest finish(ParsedRequest request, uint8_t status) noexcept {
  request.verdict = Verdict::complete;
  request.status = status;
  request.iov_count = 0;
  return request;
}

// [sector, sector + sectors) inside the disk, without wrapping.
bool in_range(uint64_t sector, uint64_t sectors, uint64_t capacity) noexcept {
  return sector <= capacity && sectors <= capacity - sector;
}

// The status byte is the last byte of the writable half (5.2.6); zero-length
// writable descriptors at the end do not count.
std::optional<Gpa> find_status_byte(const DescriptorChain& chain) noexcept {
  for (auto it = chain.writable.rbegin(); it != chain.writable.rend(); ++it) {
    if (it->length > 0) return checked_add(it->address, it->length - 1);
  }
  return std::nullopt;
}

// [skip, skip + length) of `buffers` taken as one byte stream, as host
// iovecs in `out`, one per guest buffer touched. Fails (nullopt) when a
// piece is larger than `size_max`, when more than min(seg_max, out.size())
// pieces are needed, or when a piece is not inside one guest RAM region.
std::optional<size_t> data_iovecs(const GuestMemory& memory, std::span<const GuestBuffer> buffers, uint64_t skip,
                                  uint64_t length, const RequestLimits& limits, std::span<iovec> out) noexcept {
  const size_t max_pieces = std::min<size_t>(limits.seg_max, out.size());
  size_t count = 0;
  for (const GuestBuffer& buffer : buffers) {
    if (length == 0) break;
    if (skip >= buffer.length) {
      skip -= buffer.length;
      continue;
    }
    const uint64_t piece = std::min<uint64_t>(buffer.length - skip, length);
    if (piece > limits.size_max || count == max_pieces) return std::nullopt;
    auto address = checked_add(buffer.address, skip);
    if (!address) return std::nullopt;
    auto span = memory.host_span(*address, piece);
    if (!span) return std::nullopt;
    out[count++] = iovec{span->data(), span->size()};
    length -= piece;
    skip = 0;
  }
  if (length != 0) return std::nullopt;  // cannot happen: the lengths were taken from the chain
  return count;
}

// Read / write: the data buffers as host iovecs.
ParsedRequest parse_data(const GuestMemory& memory, const DescriptorChain& chain, const RequestLimits& limits,
                         const RequestHeader& header, ParsedRequest request, std::span<iovec> iov_storage) noexcept {
  bool is_read = request.operation == Operation::read;
  // IN: data is the writable half before the status byte; OUT: the readable
  // half after the header. Anything else in the chain is ignored.
  uint64_t length = is_read ? request.data_area : chain.readable_length() - sizeof(RequestHeader);
  if (length % kSectorSize != 0) return finish(std::move(request), status::kIoErr);
  if (!in_range(header.sector, length >> kSectorShift, limits.capacity_sectors)) {
    return finish(std::move(request), status::kIoErr);
  }
  if (length == 0) return finish(std::move(request), status::kOk);
  // More segments than seg_max or one larger than size_max: the driver
  // ignored what we advertised (5.2.4). The spec names no status for it;
  // IOERR, as for any request we cannot carry out. (seg_max is below
  // IOV_MAX, which preadv/pwritev and io_uring's readv also demand.)
  static_assert(IOV_MAX >= 1024);
  auto count = is_read ? data_iovecs(memory, chain.writable, 0, length, limits, iov_storage)
                       : data_iovecs(memory, chain.readable, sizeof(RequestHeader), length, limits, iov_storage);
  if (!count) return finish(std::move(request), status::kIoErr);
  request.offset = header.sector << kSectorShift;
  request.length = length;
  request.iov_count = *count;
  request.verdict = Verdict::execute;
  return request;
}

// Discard / write-zeroes: one struct virtio_blk_discard_write_zeroes after
// the header (we offer max_discard_seg = max_write_zeroes_seg = 1).
ParsedRequest parse_segment(const GuestMemory& memory, const DescriptorChain& chain, const RequestLimits& limits,
                            ParsedRequest request) noexcept {
  bool discard = request.operation == Operation::discard;
  uint64_t feature = discard ? feature::kDiscard : feature::kWriteZeroes;
  if ((limits.negotiated_features & feature) == 0) return finish(std::move(request), status::kUnsupp);

  uint64_t segment_bytes = chain.readable_length() - sizeof(RequestHeader);
  if (segment_bytes == 0 || segment_bytes % sizeof(DiscardWriteZeroesSegment) != 0) {
    return finish(std::move(request), status::kIoErr);
  }
  // More segments than max_*_seg (QEMU answers UNSUPP as well).
  if (segment_bytes > sizeof(DiscardWriteZeroesSegment)) return finish(std::move(request), status::kUnsupp);

  DiscardWriteZeroesSegment segment{};
  ChainReader reader(memory, chain.readable);
  if (!reader.skip(sizeof(RequestHeader)) || !reader.read(std::as_writable_bytes(std::span(&segment, 1)))) {
    return finish(std::move(request), status::kIoErr);
  }
  // 5.2.6.2: UNSUPP for unknown flags, and for discard with unmap set.
  if ((segment.flags & ~kSegmentFlagUnmap) != 0) return finish(std::move(request), status::kUnsupp);
  if (discard && (segment.flags & kSegmentFlagUnmap) != 0) return finish(std::move(request), status::kUnsupp);

  uint32_t max_sectors = discard ? limits.max_discard_sectors : limits.max_write_zeroes_sectors;
  if (segment.num_sectors > max_sectors || !in_range(segment.sector, segment.num_sectors, limits.capacity_sectors)) {
    return finish(std::move(request), status::kIoErr);
  }
  if (segment.num_sectors == 0) return finish(std::move(request), status::kOk);
  request.offset = segment.sector << kSectorShift;
  request.length = static_cast<uint64_t>(segment.num_sectors) << kSectorShift;
  request.may_unmap = (segment.flags & kSegmentFlagUnmap) != 0;
  request.verdict = Verdict::execute;
  return request;
}

}  // namespace

ParsedRequest parse_request(const GuestMemory& memory, const DescriptorChain& chain, const RequestLimits& limits,
                            std::span<iovec> iov_storage) noexcept {
  ParsedRequest request;
  // A chain without a whole header or without a status byte cannot carry a
  // request or an answer: the driver broke 5.2.6.1. Give it back unexecuted.
  auto status_byte = find_status_byte(chain);
  if (!status_byte || chain.readable_length() < sizeof(RequestHeader)) return request;
  RequestHeader header{};
  ChainReader reader(memory, chain.readable);
  if (!reader.read(std::as_writable_bytes(std::span(&header, 1)))) return request;
  request.status_byte = *status_byte;
  request.data_area = chain.writable_length() - 1;

  switch (header.type) {
    case request_type::kIn:
      request.operation = Operation::read;
      return parse_data(memory, chain, limits, header, std::move(request), iov_storage);
    case request_type::kOut:
      request.operation = Operation::write;
      // 5.2.6.2: IOERR for a write to a read-only device, and no data written.
      if (limits.readonly) return finish(std::move(request), status::kIoErr);
      return parse_data(memory, chain, limits, header, std::move(request), iov_storage);
    case request_type::kFlush:
      // Executed even if FLUSH was not negotiated: syncing is always safe.
      request.operation = Operation::flush;
      request.verdict = Verdict::execute;
      return request;
    case request_type::kGetId:
      request.operation = Operation::get_id;
      request.verdict = Verdict::execute;
      return request;
    case request_type::kDiscard:
    case request_type::kWriteZeroes:
      request.operation = header.type == request_type::kDiscard ? Operation::discard : Operation::write_zeroes;
      if (limits.readonly) return finish(std::move(request), status::kIoErr);
      return parse_segment(memory, chain, limits, std::move(request));
    default:
      return finish(std::move(request), status::kUnsupp);
  }
}

}  // namespace keel::virtio::blk
