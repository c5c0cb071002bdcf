// Turning a descriptor chain into a virtio-blk request (virtio 1.2, 5.2.6),
// validating everything the guest wrote: the header, where the status byte
// is, the data direction and length, the sector range, discard / write-
// zeroes segments. Pure parsing: it reads guest memory but never writes it.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>

#include "keel/gpa.h"
#include "keel/guest_memory.h"
#include "virtio/core/virtqueue.h"

namespace keel::virtio::blk {

// What the device offers and the driver accepted.
struct RequestLimits {
  uint64_t capacity_sectors = 0;
  bool readonly = false;
  uint64_t negotiated_features = 0;
  uint32_t max_discard_sectors = 0;
  uint32_t max_write_zeroes_sectors = 0;
  // The advertised seg_max / size_max (5.2.4): a read or write whose data
  // area spans more buffers, or a buffer larger, is IOERR. Not negotiable
  // by the driver: they bound what one request can make keel do.
  uint32_t seg_max = 0;
  uint32_t size_max = 0;
};

enum class Operation { read, write, flush, get_id, discard, write_zeroes };

enum class Verdict {
  execute,    // run `operation`
  complete,   // finish now with `status` (errors, zero-length requests)
  malformed,  // no header or no status byte: give the chain back unexecuted, used length 0
};

struct ParsedRequest {
  Verdict verdict = Verdict::malformed;
  uint8_t status = 0;              // for Verdict::complete
  Operation operation = Operation::flush;
  Gpa status_byte{0};              // the chain's last writable byte
  uint64_t offset = 0;             // bytes into the disk
  uint64_t length = 0;             // bytes
  bool may_unmap = false;          // write-zeroes with VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP
  uint64_t data_area = 0;          // writable bytes before the status byte
  size_t iov_count = 0;            // read/write: host views of the data buffers, in iov_storage
};

// `chain` was validated by Virtqueue::pop() (every buffer inside guest RAM).
// A read/write's iovecs go into `iov_storage` (no allocation: the caller
// pre-allocates it, at least limits.seg_max entries; a request needing more
// is IOERR).
ParsedRequest parse_request(const GuestMemory& memory, const DescriptorChain& chain, const RequestLimits& limits,
                            std::span<iovec> iov_storage) noexcept;

}  // namespace keel::virtio::blk
