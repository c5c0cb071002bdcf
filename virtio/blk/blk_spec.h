// virtio-blk constants and the device configuration layout (virtio 1.2,
// 5.2). Names follow the spec.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel::virtio::blk {

// 5.2.3 Feature bits
namespace feature {
inline constexpr uint64_t kSizeMax = 1ull << 1;
inline constexpr uint64_t kSegMax = 1ull << 2;
inline constexpr uint64_t kRo = 1ull << 5;
inline constexpr uint64_t kBlkSize = 1ull << 6;
inline constexpr uint64_t kFlush = 1ull << 9;
inline constexpr uint64_t kDiscard = 1ull << 13;
inline constexpr uint64_t kWriteZeroes = 1ull << 14;
}  // namespace feature

// 5.2.6 Device Operation: request types
namespace request_type {
inline constexpr uint32_t kIn = 0;
inline constexpr uint32_t kOut = 1;
inline constexpr uint32_t kFlush = 4;
inline constexpr uint32_t kGetId = 8;
inline constexpr uint32_t kDiscard = 11;
inline constexpr uint32_t kWriteZeroes = 13;
}  // namespace request_type

// 5.2.6 status byte values
namespace status {
inline constexpr uint8_t kOk = 0;
inline constexpr uint8_t kIoErr = 1;
inline constexpr uint8_t kUnsupp = 2;
}  // namespace status

inline constexpr uint64_t kSectorSize = 512;
inline constexpr uint32_t kSectorShift = 9;
inline constexpr size_t kIdBytes = 20;  // VIRTIO_BLK_ID_BYTES
// 5.2.6: flags of a discard / write-zeroes segment.
inline constexpr uint32_t kSegmentFlagUnmap = 1;

// 5.2.6: struct virtio_blk_req's leading part, all little-endian (keel
// only runs on x86-64, so host order is the wire order).
struct RequestHeader {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};
static_assert(sizeof(RequestHeader) == 16);

// 5.2.6: struct virtio_blk_discard_write_zeroes.
struct DiscardWriteZeroesSegment {
  uint64_t sector;
  uint32_t num_sectors;
  uint32_t flags;
};
static_assert(sizeof(DiscardWriteZeroesSegment) == 16);

// 5.2.4 Device configuration layout (struct virtio_blk_config).
#pragma pack(push, 1)
struct Config {
  uint64_t capacity;  // in 512-byte sectors
  uint32_t size_max;
  uint32_t seg_max;
  uint16_t geometry_cylinders;
  uint8_t geometry_heads;
  uint8_t geometry_sectors;
  uint32_t blk_size;
  uint8_t topology_physical_block_exp;
  uint8_t topology_alignment_offset;
  uint16_t topology_min_io_size;
  uint32_t topology_opt_io_size;
  uint8_t writeback;
  uint8_t unused0;
  uint16_t num_queues;
  uint32_t max_discard_sectors;
  uint32_t max_discard_seg;
  uint32_t discard_sector_alignment;
  uint32_t max_write_zeroes_sectors;
  uint32_t max_write_zeroes_seg;
  uint8_t write_zeroes_may_unmap;
  uint8_t unused1[3];
  uint32_t max_secure_erase_sectors;
  uint32_t max_secure_erase_seg;
  uint32_t secure_erase_sector_alignment;
};
#pragma pack(pop)
static_assert(offsetof(Config, seg_max) == 12);
static_assert(offsetof(Config, blk_size) == 20);
static_assert(offsetof(Config, writeback) == 32);
static_assert(offsetof(Config, num_queues) == 34);
static_assert(offsetof(Config, max_discard_sectors) == 36);
static_assert(offsetof(Config, max_write_zeroes_sectors) == 48);
static_assert(offsetof(Config, write_zeroes_may_unmap) == 56);
static_assert(sizeof(Config) == 72);

}  // namespace keel::virtio::blk
