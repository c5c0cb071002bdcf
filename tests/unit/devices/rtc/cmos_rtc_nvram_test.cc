// NVRAM, the index port, the PC CMOS layout, and hostile guests.
#include <array>
#include <random>

#include "keel/config_error.h"
#include "tests/unit/devices/rtc/rtc_test_fixture.h"

namespace keel::devices::rtc_test {
namespace {

bool is_valid_bcd(uint8_t b) { return (b >> 4) <= 9 && (b & 0x0f) <= 9; }


class RtcNvramTest : public RtcTest {
 protected:
  uint16_t stored_checksum() { return static_cast<uint16_t>(reg(kChecksumHigh) << 8 | reg(kChecksumLow)); }
  uint16_t computed_checksum() {
    unsigned sum = 0;
    for (unsigned i = kChecksumFirst; i <= kChecksumLast; ++i) sum += reg(static_cast<uint8_t>(i));
    return static_cast<uint16_t>(sum);
  }
};

TEST_F(RtcNvramTest, NvramRoundTrip) {
  for (unsigned i = kFirstNvram; i < kCmosSize; ++i) {
    if (i == kCentury || i == kPs2Century) continue;  // clock bytes, not RAM
    set_reg(static_cast<uint8_t>(i), static_cast<uint8_t>(i * 7 + 3));
  }
  for (unsigned i = kFirstNvram; i < kCmosSize; ++i) {
    if (i == kCentury || i == kPs2Century) continue;
    EXPECT_EQ(reg(static_cast<uint8_t>(i)), static_cast<uint8_t>(i * 7 + 3)) << "index " << i;
  }
}

TEST_F(RtcNvramTest, AlarmBytesAreStoredAsWritten) {
  set_reg(kSecondsAlarm, 0xab);
  set_reg(kMinutesAlarm, 0xcd);
  set_reg(kHoursAlarm, 0xef);
  EXPECT_EQ(reg(kSecondsAlarm), 0xab);
  EXPECT_EQ(reg(kMinutesAlarm), 0xcd);
  EXPECT_EQ(reg(kHoursAlarm), 0xef);
}

TEST_F(RtcNvramTest, IndexPortMasksTheNmiBitAndReadsAllOnes) {
  select(0x80 | 0x20);  // NMI disabled, index 0x20
  write_data(0x5a);
  EXPECT_EQ(reg(0x20), 0x5a);
  select(0xa0);
  EXPECT_EQ(read_data(), 0x5a);
  select(0xff);  // wraps to 0x7f
  write_data(0x77);
  EXPECT_EQ(reg(0x7f), 0x77);
  std::byte index_read{0};
  rtc_.read(0, std::span(&index_read, 1));
  EXPECT_EQ(index_read, std::byte{0xff});
}

TEST_F(RtcNvramTest, SixteenBitAccessSpansIndexAndDataPorts) {
  const std::array<std::byte, 2> out{std::byte{0x40}, std::byte{0x99}};
  rtc_.write(0, out);
  EXPECT_EQ(reg(0x40), 0x99);
  select(0x40);
  std::array<std::byte, 2> in{};
  rtc_.read(0, in);
  EXPECT_EQ(in[0], std::byte{0xff});
  EXPECT_EQ(in[1], std::byte{0x99});
}

TEST_F(RtcNvramTest, EquipmentFloppyAndChecksumAtPowerOn) {
  EXPECT_EQ(reg(kFloppyTypes), 0x00);
  EXPECT_EQ(reg(kEquipment), 0x06);  // FPU and PS/2 mouse, as QEMU
  EXPECT_EQ(stored_checksum(), computed_checksum());
  EXPECT_NE(stored_checksum(), 0);
}

TEST_F(RtcNvramTest, MemorySize512MiB) {
  rtc_.set_memory_size(512ull << 20, 0);
  EXPECT_EQ(reg(kBaseMemoryLow), 0x80);  // 640 KiB
  EXPECT_EQ(reg(kBaseMemoryHigh), 0x02);
  EXPECT_EQ(reg(kExtendedMemoryLow), 0xff);  // 511 MiB in KiB, capped at 0xffff
  EXPECT_EQ(reg(kExtendedMemoryHigh), 0xff);
  EXPECT_EQ(reg(kExtendedMemoryCopyLow), 0xff);
  EXPECT_EQ(reg(kExtendedMemoryCopyHigh), 0xff);
  EXPECT_EQ(reg(kMemoryAbove16MLow), 0x00);  // 496 MiB / 64 KiB = 0x1f00
  EXPECT_EQ(reg(kMemoryAbove16MHigh), 0x1f);
  EXPECT_EQ(reg(kMemoryAbove4GLow), 0);
  EXPECT_EQ(reg(kMemoryAbove4GMid), 0);
  EXPECT_EQ(reg(kMemoryAbove4GHigh), 0);
  EXPECT_EQ(stored_checksum(), computed_checksum());
}

TEST_F(RtcNvramTest, MemorySize5GiBSplitAroundTheHole) {
  rtc_.set_memory_size(3ull << 30, 2ull << 30);
  EXPECT_EQ(reg(kBaseMemoryLow), 0x80);
  EXPECT_EQ(reg(kBaseMemoryHigh), 0x02);
  EXPECT_EQ(reg(kExtendedMemoryLow), 0xff);
  EXPECT_EQ(reg(kExtendedMemoryHigh), 0xff);
  EXPECT_EQ(reg(kMemoryAbove16MLow), 0x00);  // 3056 MiB / 64 KiB = 0xbf00
  EXPECT_EQ(reg(kMemoryAbove16MHigh), 0xbf);
  EXPECT_EQ(reg(kMemoryAbove4GLow), 0x00);  // 2 GiB / 64 KiB = 0x8000
  EXPECT_EQ(reg(kMemoryAbove4GMid), 0x80);
  EXPECT_EQ(reg(kMemoryAbove4GHigh), 0x00);
  EXPECT_EQ(stored_checksum(), computed_checksum());
}

TEST_F(RtcNvramTest, MemorySizeSmallAndHuge) {
  rtc_.set_memory_size(8ull << 20, 0);
  EXPECT_EQ(reg(kExtendedMemoryLow), 0x00);  // 7 MiB = 7168 KiB = 0x1c00
  EXPECT_EQ(reg(kExtendedMemoryHigh), 0x1c);
  EXPECT_EQ(reg(kMemoryAbove16MLow), 0);
  EXPECT_EQ(reg(kMemoryAbove16MHigh), 0);
  rtc_.set_memory_size(512ull << 10, 0);
  EXPECT_EQ(reg(kBaseMemoryLow), 0x00);  // 512 KiB
  EXPECT_EQ(reg(kBaseMemoryHigh), 0x02);
  EXPECT_EQ(reg(kExtendedMemoryLow), 0);
  rtc_.set_memory_size(3ull << 30, 4ull << 40);  // 4 TiB above 4 GiB: capped to 24 bits
  EXPECT_EQ(reg(kMemoryAbove4GLow), 0xff);
  EXPECT_EQ(reg(kMemoryAbove4GMid), 0xff);
  EXPECT_EQ(reg(kMemoryAbove4GHigh), 0xff);
}

TEST_F(RtcNvramTest, GarbageTimeBytesUnderSetDoNotBreakTheClock) {
  set_reg(kRegB, kRegBSet | kRegB24Hour);
  for (uint8_t r : {kSeconds, kMinutes, kHours, kDayOfWeek, kDayOfMonth, kMonth, kYear, kCentury}) {
    set_reg(r, 0xff);
  }
  EXPECT_EQ(reg(kSeconds), 0xff);  // frozen bytes read back as written
  set_reg(kRegB, kRegB24Hour);
  // Normalised to some definite time, read back as valid BCD, and ticking.
  const uint8_t before = reg(kSeconds);
  for (uint8_t r : {kSeconds, kMinutes, kHours, kDayOfWeek, kDayOfMonth, kMonth, kYear, kCentury}) {
    EXPECT_TRUE(is_valid_bcd(reg(r))) << "register " << int{r} << " = " << int{reg(r)};
  }
  clock_.advance(1s);
  EXPECT_NE(reg(kSeconds), before);

  // Month 0 and day 0 in binary mode.
  set_reg(kRegB, kRegBSet | kRegB24Hour | kRegBBinary);
  set_reg(kMonth, 0);
  set_reg(kDayOfMonth, 0);
  set_reg(kRegB, kRegB24Hour | kRegBBinary);
  EXPECT_GE(reg(kMonth), 1);
  EXPECT_LE(reg(kMonth), 12);
  EXPECT_GE(reg(kDayOfMonth), 1);
}

TEST_F(RtcNvramTest, MissingIrqLineIsAConfigError) {
  EXPECT_THROW(CmosRtc(nullptr, clock_, clock_), ConfigError);
}

TEST_F(RtcNvramTest, ReadOnlyRegistersIgnoreWrites) {
  clock_.advance(10ms);
  set_reg(kRegC, 0xff);
  EXPECT_FALSE(irq_->level());
  EXPECT_EQ(reg(kRegC), kRegCPf);  // only what really happened
  set_reg(kRegD, 0x00);
  EXPECT_EQ(reg(kRegD), 0x80);
}

// Random port traffic with time passing: nothing crashes (ASan/UBSan
// builds check the arithmetic), at most one timer is armed, register D stays
// valid and the line is high exactly while IRQF is set.
TEST_F(RtcNvramTest, RandomHostileTrafficKeepsInvariants) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> choice(0, 9);
  std::uniform_int_distribution<int64_t> delay_ns(0, 2'000'000'000);
  for (int i = 0; i < 200'000; ++i) {
    const int what = choice(rng);
    if (what < 3) {
      select(static_cast<uint8_t>(byte(rng) & 0x0f));  // favour the clock registers
    } else if (what < 4) {
      select(static_cast<uint8_t>(byte(rng)));
    } else if (what < 7) {
      write_data(static_cast<uint8_t>(byte(rng)));
    } else if (what < 9) {
      (void)read_data();
    } else {
      clock_.advance(std::chrono::nanoseconds(delay_ns(rng) >> (byte(rng) % 30)));
    }
    ASSERT_LE(clock_.armed_timers(), 1);
  }
  // The line tracks IRQF: reading C reports IRQF exactly when it was high.
  const bool was_high = irq_->level();
  EXPECT_EQ((reg(kRegC) & kRegCIrqf) != 0, was_high);
  EXPECT_FALSE(irq_->level());
  EXPECT_EQ(reg(kRegD), 0x80);
  // A sane reprogramming brings back a working clock.
  set_reg(kRegA, 0x26);
  set_reg(kRegB, 0x02);
  set_time_linux_style(0x20, 0x25, 0x06, 0x15, 0x12, 0x00, 0x00);
  clock_.advance(1500ms);  // first update 0.5 s after the divider restarts, then 1 s
  EXPECT_EQ(reg(kSeconds), 0x02);
  EXPECT_EQ(reg(kMinutes), 0x00);
  EXPECT_EQ(reg(kHours), 0x12);
  EXPECT_EQ(reg(kDayOfMonth), 0x15);
}

}  // namespace
}  // namespace keel::devices::rtc_test
