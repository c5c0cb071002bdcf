#include "keel/guest_memory.h"

#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/statfs.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <cstdint>
#include <string>
#include <vector>

#include "keel/config_error.h"

namespace keel {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

MemoryConfig ram(uint64_t size, MemoryBacking backing = MemoryBacking::anonymous, std::string hugetlbfs_path = {}) {
  MemoryConfig config;
  config.size_bytes = size;
  config.backing = backing;
  config.hugetlbfs_path = std::move(hugetlbfs_path);
  return config;
}

// Two test regions with a gap: [0x1000, 0x2000) and [0x3000, 0x4000).
class TwoRegions : public ::testing::Test {
 protected:
  std::vector<std::byte> low_ = std::vector<std::byte>(0x1000);
  std::vector<std::byte> high_ = std::vector<std::byte>(0x1000);
  GuestMemory memory_{std::vector<MemoryRegion>{{Gpa{0x1000}, 0x1000, low_.data()},
                                                {Gpa{0x3000}, 0x1000, high_.data()}}};
};

TEST_F(TwoRegions, LastByteIsAccessibleOnePastIsNot) {
  std::array<std::byte, 1> byte{std::byte{0x7e}};
  EXPECT_TRUE(memory_.write(Gpa{0x1FFF}, byte));
  EXPECT_EQ(low_[0xFFF], std::byte{0x7e});
  auto past = memory_.write(Gpa{0x2000}, byte);
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code, Errc::out_of_bounds);
  EXPECT_FALSE(memory_.read(Gpa{0xFFF}, byte));  // one before the first byte
  EXPECT_TRUE(memory_.read(Gpa{0x1000}, byte));

  std::array<std::byte, 2> two{};
  EXPECT_FALSE(memory_.read(Gpa{0x1FFF}, two));  // runs one byte past the end
  EXPECT_TRUE(memory_.read(Gpa{0x1FFE}, two));
}

TEST_F(TwoRegions, AccessCrossingTheGapFails) {
  std::vector<std::byte> data(0x1800);
  EXPECT_FALSE(memory_.read(Gpa{0x1800}, data));  // would span [0x1800, 0x3000)
  EXPECT_FALSE(memory_.contains(Gpa{0x1800}, 0x1801));
  EXPECT_FALSE(memory_.contains(Gpa{0x2000}, 1));
  EXPECT_TRUE(memory_.contains(Gpa{0x3000}, 0x1000));
}

TEST_F(TwoRegions, RangesThatWrapPast2To64Fail) {
  std::array<std::byte, 16> data{};
  auto wrap = memory_.read(Gpa{UINT64_MAX - 7}, data);
  ASSERT_FALSE(wrap);
  EXPECT_EQ(wrap.error().code, Errc::overflow);
  // A length so large that gpa + length wraps back into the region.
  auto span = memory_.host_span(Gpa{0x1000}, UINT64_MAX - 0x800);
  ASSERT_FALSE(span);
  EXPECT_EQ(span.error().code, Errc::overflow);
  EXPECT_FALSE(memory_.fill(Gpa{0x3000}, UINT64_MAX, std::byte{0}));
  EXPECT_FALSE(memory_.contains(Gpa{0x1000}, UINT64_MAX));
  // Huge but non-wrapping length: out of bounds, not overflow.
  auto big = memory_.host_span(Gpa{0x1000}, 0x1001);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, Errc::out_of_bounds);
}

TEST_F(TwoRegions, ZeroLengthAccessesAtValidAddressesSucceed) {
  EXPECT_TRUE(memory_.read(Gpa{0x1000}, std::span<std::byte>{}));
  EXPECT_TRUE(memory_.write(Gpa{0x3FFF}, std::span<const std::byte>{}));
  EXPECT_TRUE(memory_.fill(Gpa{0x1800}, 0, std::byte{1}));
  auto span = memory_.host_span(Gpa{0x3800}, 0);
  ASSERT_TRUE(span);
  EXPECT_TRUE(span->empty());
  // ...but not where there is no RAM.
  EXPECT_FALSE(memory_.read(Gpa{0x2800}, std::span<std::byte>{}));
}

TEST_F(TwoRegions, HostSpanPointsAtTheRightBytes) {
  auto span = memory_.host_span(Gpa{0x3010}, 4);
  ASSERT_TRUE(span);
  EXPECT_EQ(span->data(), high_.data() + 0x10);
  EXPECT_EQ(span->size(), 4u);
}

TEST_F(TwoRegions, ObjectRoundTrip) {
  struct Descriptor {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
  };
  const Descriptor written{0x1234'5678'9abc'def0, 0x200, 3, 7};
  ASSERT_TRUE(memory_.write_obj(Gpa{0x3ff0}, written));
  auto read = memory_.read_obj<Descriptor>(Gpa{0x3ff0});
  ASSERT_TRUE(read);
  EXPECT_EQ(read->addr, written.addr);
  EXPECT_EQ(read->len, written.len);
  EXPECT_EQ(read->flags, written.flags);
  EXPECT_EQ(read->next, written.next);
  EXPECT_FALSE(memory_.read_obj<Descriptor>(Gpa{0x3ff8}));  // crosses the end
  EXPECT_FALSE(memory_.write_obj(Gpa{0x1ffc}, uint64_t{1}));
  // Little-endian in guest memory, as on x86.
  ASSERT_TRUE(memory_.write_obj(Gpa{0x1000}, uint32_t{0x11223344}));
  EXPECT_EQ(low_[0], std::byte{0x44});
  EXPECT_EQ(low_[3], std::byte{0x11});
}

TEST_F(TwoRegions, FillWritesOnlyTheRange) {
  ASSERT_TRUE(memory_.fill(Gpa{0x1010}, 0x10, std::byte{0xcc}));
  EXPECT_EQ(low_[0x0f], std::byte{0});
  EXPECT_EQ(low_[0x10], std::byte{0xcc});
  EXPECT_EQ(low_[0x1f], std::byte{0xcc});
  EXPECT_EQ(low_[0x20], std::byte{0});
}

TEST_F(TwoRegions, ReportsRegionsAndTotal) {
  EXPECT_EQ(memory_.regions().size(), 2u);
  EXPECT_EQ(memory_.total_size(), 0x2000u);
}

TEST(GuestMemoryRegions, RejectsOverlappingOrWrappingRegions) {
  std::vector<std::byte> a(0x1000), b(0x1000);
  EXPECT_THROW(GuestMemory(std::vector<MemoryRegion>{{Gpa{0}, 0x1000, a.data()}, {Gpa{0x800}, 0x1000, b.data()}}),
               ConfigError);
  EXPECT_THROW(GuestMemory(std::vector<MemoryRegion>{{Gpa{UINT64_MAX - 0xFFF}, 0x1000, a.data()}}), ConfigError);
}

TEST(GuestMemoryConfig, SmallMemoryIsOneLowRegion) {
  GuestMemory memory(ram(512 * kMiB));
  ASSERT_EQ(memory.regions().size(), 1u);
  EXPECT_EQ(raw(memory.regions()[0].guest_base), 0u);
  EXPECT_EQ(memory.regions()[0].size, 512 * kMiB);
  EXPECT_EQ(memory.total_size(), 512 * kMiB);
  ASSERT_TRUE(memory.write_obj(Gpa{512 * kMiB - 8}, uint64_t{42}));
  EXPECT_EQ(*memory.read_obj<uint64_t>(Gpa{512 * kMiB - 8}), 42u);
  EXPECT_FALSE(memory.read_obj<uint8_t>(Gpa{512 * kMiB}));
  // Fresh anonymous memory reads as zeros.
  EXPECT_EQ(*memory.read_obj<uint64_t>(Gpa{0x1000}), 0u);
}

TEST(GuestMemoryConfig, ExactlyThreeGiBHasNoHighRegion) {
  GuestMemory memory(ram(3 * kGiB));
  ASSERT_EQ(memory.regions().size(), 1u);
  EXPECT_EQ(memory.regions()[0].size, layout::kPciHoleStart);
}

TEST(GuestMemoryConfig, FourGiBSplitsAroundThePciHole) {
  GuestMemory memory(ram(4 * kGiB));
  ASSERT_EQ(memory.regions().size(), 2u);
  EXPECT_EQ(raw(memory.regions()[0].guest_base), 0u);
  EXPECT_EQ(memory.regions()[0].size, 3 * kGiB);
  EXPECT_EQ(raw(memory.regions()[1].guest_base), 4 * kGiB);
  EXPECT_EQ(memory.regions()[1].size, 1 * kGiB);
  EXPECT_EQ(memory.total_size(), 4 * kGiB);

  EXPECT_TRUE(memory.write_obj(Gpa{3 * kGiB - 4}, uint32_t{1}));
  EXPECT_FALSE(memory.write_obj(Gpa{3 * kGiB - 4}, uint64_t{1}));  // runs into the hole
  EXPECT_FALSE(memory.read_obj<uint8_t>(Gpa{layout::kIoApicBase}));
  EXPECT_TRUE(memory.write_obj(Gpa{4 * kGiB}, uint32_t{0xfeedbeef}));
  EXPECT_EQ(*memory.read_obj<uint32_t>(Gpa{4 * kGiB}), 0xfeedbeefu);
  EXPECT_TRUE(memory.read_obj<uint8_t>(Gpa{5 * kGiB - 1}));
  EXPECT_FALSE(memory.read_obj<uint8_t>(Gpa{5 * kGiB}));
  // The high region is backed by different host bytes than the low one.
  EXPECT_EQ(*memory.read_obj<uint32_t>(Gpa{0}), 0u);
}

TEST(GuestMemoryConfig, RejectsBadSizes) {
  EXPECT_THROW(GuestMemory(ram(0)), ConfigError);
  EXPECT_THROW(GuestMemory(ram(3)), ConfigError);
  EXPECT_THROW(GuestMemory(ram(64 * kMiB + 512)), ConfigError);
  EXPECT_THROW(GuestMemory(ram((1ull << 40) + 4096)), ConfigError);
  EXPECT_THROW(GuestMemory(ram(UINT64_MAX & ~0xFFFull)), ConfigError);
  try {
    GuestMemory memory(ram(3));
    FAIL() << "no exception";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("multiple of 4 KiB"), std::string::npos) << error.what();
    EXPECT_EQ(std::string(error.what()).find('\n'), std::string::npos);
  }
}

TEST(GuestMemoryConfig, MemfdBackingWorks) {
  GuestMemory memory(ram(16 * kMiB, MemoryBacking::memfd));
  ASSERT_EQ(memory.regions().size(), 1u);
  ASSERT_TRUE(memory.write_obj(Gpa{16 * kMiB - 4}, uint32_t{0xabcd}));
  EXPECT_EQ(*memory.read_obj<uint32_t>(Gpa{16 * kMiB - 4}), 0xabcdu);
  EXPECT_FALSE(memory.read_obj<uint32_t>(Gpa{16 * kMiB}));
}

TEST(GuestMemoryConfig, MemfdAboveThePciHole) {
  GuestMemory memory(ram(3 * kGiB + 2 * kMiB, MemoryBacking::memfd));
  ASSERT_EQ(memory.regions().size(), 2u);
  EXPECT_EQ(memory.regions()[1].size, 2 * kMiB);
  ASSERT_TRUE(memory.write_obj(Gpa{4 * kGiB + 8}, uint64_t{7}));
  EXPECT_EQ(*memory.read_obj<uint64_t>(Gpa{4 * kGiB + 8}), 7u);
}

TEST(GuestMemoryConfig, HostMappingIsTwoMiBAligned) {
  GuestMemory memory(ram(8 * kMiB));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(memory.regions()[0].host) % (2 * kMiB), 0u);
}

TEST(GuestMemoryConfig, HugetlbfsRejectsANonHugetlbfsDirectory) {
  EXPECT_THROW(GuestMemory(ram(2 * kMiB, MemoryBacking::hugetlbfs, "/tmp")),
               ConfigError);
  EXPECT_THROW(GuestMemory(ram(2 * kMiB, MemoryBacking::hugetlbfs, "/nonexistent/keel")),
               ConfigError);
  EXPECT_THROW(GuestMemory(ram(2 * kMiB, MemoryBacking::hugetlbfs)), ConfigError);
}

// HugePages_Free from /proc/meminfo (pages of the default size, 2 MiB on x86).
long free_default_huge_pages() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  long value = 0;
  while (meminfo >> key >> value) {
    if (key == "HugePages_Free:") return value;
    meminfo.ignore(256, '\n');
  }
  return 0;
}

// Runs only where a hugetlbfs with a free 2 MiB page is mounted at
// $KEEL_TEST_HUGETLBFS (default /dev/hugepages); not the case on the
// project's CI machines.
TEST(GuestMemoryConfig, HugetlbfsBackingWorksWhenAvailable) {
  const char* env = std::getenv("KEEL_TEST_HUGETLBFS");
  const std::string dir = env != nullptr ? env : "/dev/hugepages";
  struct statfs fs {};
  if (statfs(dir.c_str(), &fs) != 0 || static_cast<uint64_t>(fs.f_type) != HUGETLBFS_MAGIC ||
      fs.f_bsize != static_cast<long>(2 * kMiB) || free_default_huge_pages() < 1) {
    GTEST_SKIP() << "no hugetlbfs with a free 2 MiB page at " << dir;
  }
  EXPECT_THROW(GuestMemory(ram(kMiB, MemoryBacking::hugetlbfs, dir)), ConfigError);
  GuestMemory memory(ram(2 * kMiB, MemoryBacking::hugetlbfs, dir));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(memory.regions()[0].host) % (2 * kMiB), 0u);
  ASSERT_TRUE(memory.write_obj(Gpa{2 * kMiB - 4}, uint32_t{5}));
  EXPECT_EQ(*memory.read_obj<uint32_t>(Gpa{2 * kMiB - 4}), 5u);
}

}  // namespace
}  // namespace keel
