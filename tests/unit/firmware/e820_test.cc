#include <gtest/gtest.h>

#include "src/firmware/firmware_tables.h"
#include "tests/support/fakes.h"

namespace keel::firmware {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

void expect_entry(const E820Entry& entry, uint64_t address, uint64_t size, E820Type type) {
  EXPECT_EQ(entry.address, address);
  EXPECT_EQ(entry.size, size);
  EXPECT_EQ(entry.type, type);
}

void expect_sorted_without_overlap(const std::vector<E820Entry>& map) {
  for (size_t i = 1; i < map.size(); ++i) EXPECT_LE(map[i - 1].address + map[i - 1].size, map[i].address);
}

MemoryConfig ram(uint64_t size) {
  MemoryConfig config;
  config.size_bytes = size;
  return config;
}

TEST(E820, FiveHundredTwelveMiB) {
  GuestMemory memory(ram(512 * kMiB));
  const auto map = build_e820_map(memory);
  ASSERT_EQ(map.size(), 7u);
  expect_entry(map[0], 0, 0x9FC00, E820Type::ram);
  expect_entry(map[1], 0x9FC00, 0x400, E820Type::reserved);
  expect_entry(map[2], 0xE0000, 0x20000, E820Type::reserved);
  expect_entry(map[3], 0x100000, 511 * kMiB, E820Type::ram);
  expect_entry(map[4], 0xE0000000, kMiB, E820Type::reserved);  // PCI ECAM (MCFG)
  expect_entry(map[5], 0xFEC00000, 0x1000, E820Type::reserved);
  expect_entry(map[6], 0xFEE00000, 0x1000, E820Type::reserved);
  expect_sorted_without_overlap(map);
}

TEST(E820, FourGiBSplitsAroundThePciHole) {
  GuestMemory memory(ram(4 * kGiB));
  const auto map = build_e820_map(memory);
  ASSERT_EQ(map.size(), 8u);
  expect_entry(map[0], 0, 0x9FC00, E820Type::ram);
  expect_entry(map[1], 0x9FC00, 0x400, E820Type::reserved);
  expect_entry(map[2], 0xE0000, 0x20000, E820Type::reserved);
  expect_entry(map[3], 0x100000, 3 * kGiB - kMiB, E820Type::ram);
  expect_entry(map[4], 0xE0000000, kMiB, E820Type::reserved);
  expect_entry(map[5], 0xFEC00000, 0x1000, E820Type::reserved);
  expect_entry(map[6], 0xFEE00000, 0x1000, E820Type::reserved);
  expect_entry(map[7], 4 * kGiB, 1 * kGiB, E820Type::ram);
  expect_sorted_without_overlap(map);
}

TEST(E820, UsableRamNeverCoversTheTablesOrEbda) {
  testing::TestGuestMemory guest(2 * kMiB);
  const auto map = build_e820_map(guest.memory());
  for (const auto& entry : map) {
    if (entry.type != E820Type::ram) continue;
    const uint64_t end = entry.address + entry.size;
    EXPECT_TRUE(end <= 0x9FC00 || entry.address >= 0x100000) << std::hex << entry.address;
  }
  expect_entry(map.back(), 0xFEE00000, 0x1000, E820Type::reserved);
  expect_entry(map[3], 0x100000, kMiB, E820Type::ram);
}

}  // namespace
}  // namespace keel::firmware
