// place_high(): the initrd placement rule shared by every format.
#include <gtest/gtest.h>

#include <array>

#include "src/boot/boot_memory.h"

namespace keel::boot {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

TEST(PlaceHigh, HighestPageAlignedSlotBelowTheLimit) {
  EXPECT_EQ(place_high(0x1801, kMiB, 64 * kMiB, {}), 64 * kMiB - 0x2000);
  EXPECT_EQ(place_high(0x1000, kMiB, 64 * kMiB + 0xFFF, {}), 64 * kMiB - 0x1000 + 0x0);
}

TEST(PlaceHigh, SkipsBelowBlockedRanges) {
  const std::array avoid{GuestRange{48 * kMiB, 60 * kMiB}, GuestRange{40 * kMiB, 44 * kMiB}};
  // [56, 64) overlaps the first range, [40, 48) the second; [34, 40) is free.
  EXPECT_EQ(place_high(8 * kMiB, kMiB, 64 * kMiB, avoid), 32 * kMiB);
  EXPECT_EQ(place_high(4 * kMiB, kMiB, 64 * kMiB, avoid), 60 * kMiB);
  EXPECT_EQ(place_high(2 * kMiB, kMiB, 60 * kMiB, avoid), 46 * kMiB);
}

TEST(PlaceHigh, FailsWhenNothingFits) {
  EXPECT_EQ(place_high(0, kMiB, 64 * kMiB, {}), std::nullopt);
  EXPECT_EQ(place_high(64 * kMiB, kMiB, 64 * kMiB, {}), std::nullopt);  // would start below `lowest`
  EXPECT_EQ(place_high(65 * kMiB, kMiB, 64 * kMiB, {}), std::nullopt);
  const std::array avoid{GuestRange{2 * kMiB, 64 * kMiB}};
  EXPECT_EQ(place_high(2 * kMiB, kMiB, 64 * kMiB, avoid), std::nullopt);
  EXPECT_EQ(place_high(kMiB, kMiB, 64 * kMiB, avoid), kMiB);
  EXPECT_EQ(place_high(~0ull, 0, ~0ull, {}), 0u);
}

}  // namespace
}  // namespace keel::boot
