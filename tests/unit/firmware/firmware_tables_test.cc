// Reads the tables back the way a guest does: scan for the RSDP and the MP
// floating pointer, follow the pointers, check every signature, length and
// checksum, and decode the entries.
#include "src/firmware/firmware_tables.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <ostream>
#include <string>

#include "devices/acpi/pm_registers.h"
#include "devices/pci/pci_layout.h"
#include "keel/config_error.h"
#include "tests/support/fakes.h"

namespace keel::firmware {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

class GuestView {
 public:
  explicit GuestView(GuestMemory& memory) : memory_(memory) {}
  uint8_t u8(uint64_t gpa) const { return value<uint8_t>(gpa); }
  uint16_t u16(uint64_t gpa) const { return value<uint16_t>(gpa); }
  uint32_t u32(uint64_t gpa) const { return value<uint32_t>(gpa); }
  uint64_t u64(uint64_t gpa) const { return value<uint64_t>(gpa); }
  std::string text(uint64_t gpa, size_t length) const {
    std::string out(length, '\0');
    EXPECT_TRUE(memory_.read(Gpa{gpa}, std::as_writable_bytes(std::span(out))));
    return out;
  }
  std::vector<uint8_t> bytes(uint64_t gpa, size_t length) const {
    std::vector<uint8_t> out(length);
    EXPECT_TRUE(memory_.read(Gpa{gpa}, std::as_writable_bytes(std::span(out))));
    return out;
  }
  uint8_t sum(uint64_t gpa, size_t length) const {
    uint8_t total = 0;
    for (uint8_t b : bytes(gpa, length)) total = static_cast<uint8_t>(total + b);
    return total;
  }

 private:
  template <class T>
  T value(uint64_t gpa) const {
    auto result = memory_.read_obj<T>(Gpa{gpa});
    EXPECT_TRUE(result) << std::hex << gpa;
    return result ? *result : T{};
  }
  GuestMemory& memory_;
};

// What a guest's RSDP search does: 16-byte steps over 0xE0000-0xFFFFF,
// signature plus a valid checksum.
std::optional<uint64_t> scan_for_rsdp(const GuestView& view) {
  for (uint64_t gpa = 0xE0000; gpa < 0x100000; gpa += 16) {
    if (view.text(gpa, 8) == "RSD PTR " && view.sum(gpa, 20) == 0) return gpa;
  }
  return std::nullopt;
}

std::optional<uint64_t> scan_for_mp(const GuestView& view) {
  for (uint64_t gpa = 0xF0000; gpa < 0x100000; gpa += 16) {
    if (view.text(gpa, 4) == "_MP_" && view.sum(gpa, 16) == 0) return gpa;
  }
  return std::nullopt;
}

class FirmwareTablesTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override {
    // Garbage first: the tables must not depend on zeroed memory.
    ASSERT_TRUE(guest_.memory().fill(Gpa{0}, 2 * kMiB, std::byte{0xA5}));
    tables_ = write_firmware_tables(guest_.memory(), cpus());
  }
  uint32_t cpus() const { return GetParam(); }

  // Checks the common header of the table at `gpa` and returns its length.
  uint32_t check_table(uint64_t gpa, const std::string& signature) {
    EXPECT_EQ(view_.text(gpa, 4), signature);
    const uint32_t length = view_.u32(gpa + 4);
    EXPECT_GE(length, 36u);
    EXPECT_LE(gpa + length, 0x100000u);
    EXPECT_EQ(view_.sum(gpa, length), 0) << signature << " checksum";
    EXPECT_EQ(view_.text(gpa + 10, 6), "KEEL  ");
    return length;
  }

  // Signature -> address, from the XSDT.
  std::map<std::string, uint64_t> xsdt_tables() {
    const uint64_t rsdp = tables_.rsdp_address;
    const uint64_t xsdt = view_.u64(rsdp + 24);
    const uint32_t length = check_table(xsdt, "XSDT");
    std::map<std::string, uint64_t> out;
    for (uint64_t entry = xsdt + 36; entry < xsdt + length; entry += 8) {
      const uint64_t table = view_.u64(entry);
      out[view_.text(table, 4)] = table;
    }
    return out;
  }

  testing::TestGuestMemory guest_{2 * kMiB};
  GuestView view_{guest_.memory()};
  FirmwareTables tables_{};
};

TEST_P(FirmwareTablesTest, RsdpFoundByScanWithBothChecksums) {
  const auto rsdp = scan_for_rsdp(view_);
  ASSERT_TRUE(rsdp);
  EXPECT_EQ(*rsdp, tables_.rsdp_address);
  EXPECT_EQ(*rsdp % 16, 0u);
  EXPECT_EQ(view_.u8(*rsdp + 15), 2);  // revision
  EXPECT_EQ(view_.u32(*rsdp + 20), 36u);
  EXPECT_EQ(view_.sum(*rsdp, 36), 0);  // extended checksum
  EXPECT_EQ(view_.text(*rsdp + 9, 6), "KEEL  ");
  check_table(view_.u32(*rsdp + 16), "RSDT");
  check_table(view_.u64(*rsdp + 24), "XSDT");
}

TEST_P(FirmwareTablesTest, RsdtAndXsdtListTheSameValidTables) {
  const uint64_t rsdp = tables_.rsdp_address;
  const uint64_t rsdt = view_.u32(rsdp + 16);
  const uint64_t xsdt = view_.u64(rsdp + 24);
  const uint32_t rsdt_entries = (check_table(rsdt, "RSDT") - 36) / 4;
  const uint32_t xsdt_entries = (check_table(xsdt, "XSDT") - 36) / 8;
  ASSERT_EQ(rsdt_entries, xsdt_entries);
  ASSERT_GE(xsdt_entries, 2u);
  for (uint32_t i = 0; i < xsdt_entries; ++i) {
    const uint64_t table = view_.u64(xsdt + 36 + 8 * i);
    EXPECT_EQ(table, view_.u32(rsdt + 36 + 4 * i));
    check_table(table, view_.text(table, 4));
  }
  auto tables = xsdt_tables();
  EXPECT_TRUE(tables.contains("FACP"));
  EXPECT_TRUE(tables.contains("APIC"));
}

// A Generic Address Structure as the FADT holds it.
struct Gas {
  uint8_t space;
  uint8_t bit_width;
  uint8_t bit_offset;
  uint8_t access_size;
  uint64_t address;
  bool operator==(const Gas&) const = default;
};

Gas read_gas(const GuestView& view, uint64_t gpa) {
  return Gas{view.u8(gpa), view.u8(gpa + 1), view.u8(gpa + 2), view.u8(gpa + 3), view.u64(gpa + 4)};
}

std::ostream& operator<<(std::ostream& out, const Gas& gas) {
  return out << "{space " << int(gas.space) << ", width " << int(gas.bit_width) << ", offset " << int(gas.bit_offset)
             << ", access " << int(gas.access_size) << ", address 0x" << std::hex << gas.address << std::dec << "}";
}

TEST_P(FirmwareTablesTest, FadtDescribesFixedHardwareAcpi) {
  const uint64_t fadt = xsdt_tables().at("FACP");
  EXPECT_EQ(check_table(fadt, "FACP"), 276u);
  EXPECT_EQ(view_.u8(fadt + 8), 6);    // revision
  EXPECT_EQ(view_.u8(fadt + 131), 3);  // minor version: ACPI 6.3

  // WBINVD, PROC_C1, SLP_BUTTON (no sleep button), RESET_REG_SUP, and
  // nothing else: in particular not HW_REDUCED_ACPI (bit 20), not PWR_BUTTON
  // (bit 4: the fixed-feature power button exists), not TMR_VAL_EXT (bit 8:
  // 24-bit timer).
  EXPECT_EQ(view_.u32(fadt + 112), (1u << 0) | (1u << 2) | (1u << 5) | (1u << 10));
  EXPECT_EQ(view_.u16(fadt + 109), 0x3) << "IAPC_BOOT_ARCH legacy devices + 8042";

  EXPECT_EQ(view_.u16(fadt + 46), 9) << "SCI_INT";
  EXPECT_EQ(view_.u32(fadt + 48), 0u) << "SMI_CMD: no SMM, always in ACPI mode";
  EXPECT_EQ(view_.u8(fadt + 52), 0) << "ACPI_ENABLE";
  EXPECT_EQ(view_.u8(fadt + 53), 0) << "ACPI_DISABLE";

  // 32-bit register blocks and their lengths.
  EXPECT_EQ(view_.u32(fadt + 56), 0x600u) << "PM1a_EVT_BLK";
  EXPECT_EQ(view_.u32(fadt + 60), 0u) << "PM1b_EVT_BLK";
  EXPECT_EQ(view_.u32(fadt + 64), 0x604u) << "PM1a_CNT_BLK";
  EXPECT_EQ(view_.u32(fadt + 68), 0u) << "PM1b_CNT_BLK";
  EXPECT_EQ(view_.u32(fadt + 72), 0u) << "PM2_CNT_BLK";
  EXPECT_EQ(view_.u32(fadt + 76), 0x608u) << "PM_TMR_BLK";
  EXPECT_EQ(view_.u32(fadt + 80), 0u) << "GPE0_BLK";
  EXPECT_EQ(view_.u32(fadt + 84), 0u) << "GPE1_BLK";
  EXPECT_EQ(view_.u8(fadt + 88), 4) << "PM1_EVT_LEN";
  EXPECT_EQ(view_.u8(fadt + 89), 2) << "PM1_CNT_LEN";
  EXPECT_EQ(view_.u8(fadt + 90), 0) << "PM2_CNT_LEN";
  EXPECT_EQ(view_.u8(fadt + 91), 4) << "PM_TMR_LEN";
  EXPECT_EQ(view_.u8(fadt + 92), 0) << "GPE0_BLK_LEN";
  EXPECT_EQ(view_.u8(fadt + 93), 0) << "GPE1_BLK_LEN";
  EXPECT_GT(view_.u16(fadt + 96), 100) << "P_LVL2_LAT: no C2";
  EXPECT_GT(view_.u16(fadt + 98), 1000) << "P_LVL3_LAT: no C3";
  EXPECT_EQ(view_.u8(fadt + 108), 0x32) << "CENTURY: CMOS index of the century byte";

  // The same blocks as Generic Address Structures (system I/O), with the
  // same addresses so ACPICA sees no 32/64-bit mismatch.
  EXPECT_EQ(read_gas(view_, fadt + 148), (Gas{1, 32, 0, 2, 0x600})) << "X_PM1a_EVT_BLK";
  EXPECT_EQ(read_gas(view_, fadt + 172), (Gas{1, 16, 0, 2, 0x604})) << "X_PM1a_CNT_BLK";
  EXPECT_EQ(read_gas(view_, fadt + 208), (Gas{1, 32, 0, 3, 0x608})) << "X_PM_TMR_BLK";
  for (uint64_t absent : {160, 184, 196, 220, 232, 244, 256}) {  // PM1b x2, PM2, GPE0, GPE1, sleep regs
    EXPECT_EQ(read_gas(view_, fadt + absent), (Gas{0, 0, 0, 0, 0})) << "offset " << absent;
  }

  // RESET_REG: one byte at the PIIX reset control register 0xCF9, value 6
  // (SRST | RCPU).
  EXPECT_EQ(read_gas(view_, fadt + 116), (Gas{1, 8, 0, 1, 0xCF9})) << "RESET_REG";
  EXPECT_EQ(view_.u8(fadt + 128), 0x06) << "RESET_VALUE";

  // DSDT and X_DSDT agree and point at a valid DSDT.
  const uint64_t dsdt = view_.u64(fadt + 140);
  EXPECT_EQ(dsdt, view_.u32(fadt + 40));
  check_table(dsdt, "DSDT");
}

TEST_P(FirmwareTablesTest, FacsIsPresentAlignedAndPointedAtOnce) {
  const uint64_t fadt = xsdt_tables().at("FACP");
  // FIRMWARE_CTRL holds it; X_FIRMWARE_CTRL must then be 0 (ACPI 5.2.9:
  // at most one of the two is non-zero).
  const uint64_t facs = view_.u32(fadt + 36);
  EXPECT_EQ(view_.u64(fadt + 132), 0u) << "X_FIRMWARE_CTRL";
  ASSERT_NE(facs, 0u);
  EXPECT_EQ(tables_.facs_address, facs) << "the address the S3 wake path reads";
  EXPECT_EQ(facs % 64, 0u) << "64-byte aligned";
  EXPECT_EQ(view_.text(facs, 4), "FACS");
  EXPECT_EQ(view_.u32(facs + 4), 64u) << "length";
  EXPECT_EQ(view_.u32(facs + 12), 0u) << "firmware waking vector: none until the guest sets one";
  EXPECT_EQ(view_.u32(facs + 16), 0u) << "global lock: free";
  EXPECT_EQ(view_.u32(facs + 20), 0u) << "flags: no S4BIOS, no 64-bit wake";
  EXPECT_EQ(view_.u64(facs + 24), 0u) << "X firmware waking vector";
  EXPECT_EQ(view_.u8(facs + 32), 2) << "version";
  // It does not overlap the tables around it.
  for (const auto& [signature, table] : xsdt_tables()) {
    const uint64_t length = view_.u32(table + 4);
    EXPECT_TRUE(table + length <= facs || table >= facs + 64) << signature;
  }
  const uint64_t dsdt = view_.u64(fadt + 140);
  EXPECT_TRUE(dsdt + view_.u32(dsdt + 4) <= facs || dsdt >= facs + 64);
}

TEST_P(FirmwareTablesTest, FacsWakingVectorIsGuestRamBelowOneMiB) {
  // S3: the guest writes its waking vector into the FACS and the machine
  // reads it back on wake, so the FACS must be ordinary guest RAM (the
  // E820-reserved BIOS area, not a ROM or MMIO hole) that a 32-bit
  // FIRMWARE_CTRL reaches.
  const uint64_t fadt = xsdt_tables().at("FACP");
  const uint64_t facs = view_.u32(fadt + 36);
  EXPECT_GE(facs, 0xE0000u);
  EXPECT_LE(facs + 64, 0x100000u);
  const std::vector<uint8_t> before = view_.bytes(facs, 64);
  const uint32_t vector = 0x9000;
  ASSERT_TRUE(guest_.memory().write(Gpa{facs + 12}, std::as_bytes(std::span(&vector, 1))));
  EXPECT_EQ(view_.u32(facs + 12), vector);
  EXPECT_EQ(view_.text(facs, 4), "FACS") << "the write touched only its field";
  // The FACS has no checksum (5.2.10), so a guest-written vector keeps it
  // valid; the FADT's checksum does not cover it either.
  EXPECT_EQ(view_.sum(fadt, view_.u32(fadt + 4)), 0);
  const std::vector<uint8_t> after = view_.bytes(facs, 64);
  for (size_t i = 0; i < 64; ++i) {
    if (i < 12 || i >= 16) {
      EXPECT_EQ(before[i], after[i]) << i;
    }
  }
}

TEST_P(FirmwareTablesTest, FadtMatchesTheDevicesItDescribes) {
  // The firmware and the device models share one header; this pins the
  // FADT to the device side's constants as well.
  const uint64_t fadt = xsdt_tables().at("FACP");
  EXPECT_EQ(view_.u16(fadt + 46), devices::acpi_pm::kSciIrq);
  EXPECT_EQ(view_.u32(fadt + 56), devices::acpi_pm::kBasePort);
  EXPECT_EQ(view_.u32(fadt + 56), devices::acpi_pm::kPm1EventBlock);
  EXPECT_EQ(view_.u32(fadt + 64), devices::acpi_pm::kPm1ControlBlock);
  EXPECT_EQ(view_.u32(fadt + 76), devices::acpi_pm::kPmTimerBlock);
  EXPECT_LE(devices::acpi_pm::kPmTimerBlock + view_.u8(fadt + 91),
            devices::acpi_pm::kBasePort + devices::acpi_pm::kPortCount);
  EXPECT_EQ(view_.u64(fadt + 116 + 4), devices::acpi_pm::kResetRegisterPort);
  EXPECT_EQ(view_.u8(fadt + 128), devices::acpi_pm::kResetValue);
}

TEST_P(FirmwareTablesTest, MadtDescribesCpusIoApicAndOverrides) {
  const uint64_t madt = xsdt_tables().at("APIC");
  const uint32_t length = check_table(madt, "APIC");
  EXPECT_EQ(view_.u32(madt + 36), 0xFEE00000u);
  EXPECT_EQ(view_.u32(madt + 40) & 1, 1u) << "PCAT_COMPAT";

  std::vector<uint8_t> apic_ids;
  int ioapics = 0;
  bool irq0_to_gsi2 = false, sci_level_high = false, nmi_lint1 = false;
  for (uint64_t entry = madt + 44; entry < madt + length;) {
    const uint8_t type = view_.u8(entry);
    const uint8_t entry_length = view_.u8(entry + 1);
    ASSERT_GE(entry_length, 2);
    ASSERT_LE(entry + entry_length, madt + length);
    switch (type) {
      case 0:
        ASSERT_EQ(entry_length, 8);
        EXPECT_EQ(view_.u8(entry + 2), view_.u8(entry + 3)) << "UID = APIC ID";
        EXPECT_EQ(view_.u32(entry + 4) & 1, 1u) << "enabled";
        apic_ids.push_back(view_.u8(entry + 3));
        break;
      case 1:
        ASSERT_EQ(entry_length, 12);
        ++ioapics;
        EXPECT_EQ(view_.u8(entry + 2), cpus()) << "IOAPIC ID";
        EXPECT_EQ(view_.u32(entry + 4), 0xFEC00000u);
        EXPECT_EQ(view_.u32(entry + 8), 0u) << "GSI base";
        break;
      case 2:
        ASSERT_EQ(entry_length, 10);
        EXPECT_EQ(view_.u8(entry + 2), 0) << "ISA bus";
        if (view_.u8(entry + 3) == 0 && view_.u32(entry + 4) == 2 && view_.u16(entry + 8) == 0) irq0_to_gsi2 = true;
        if (view_.u8(entry + 3) == 9 && view_.u32(entry + 4) == 9 && view_.u16(entry + 8) == 0xD) sci_level_high = true;
        break;
      case 4:
        ASSERT_EQ(entry_length, 6);
        if (view_.u8(entry + 2) == 0xFF && view_.u8(entry + 5) == 1) nmi_lint1 = true;
        break;
      default:
        ADD_FAILURE() << "unexpected MADT entry type " << int(type);
    }
    entry += entry_length;
  }
  ASSERT_EQ(apic_ids.size(), cpus());
  for (uint32_t i = 0; i < cpus(); ++i) EXPECT_EQ(apic_ids[i], i);
  EXPECT_EQ(ioapics, 1);
  EXPECT_TRUE(irq0_to_gsi2);
  EXPECT_TRUE(sci_level_high);
  EXPECT_TRUE(nmi_lint1);
}

// Walks the subset of AML the DSDT uses and checks that every PkgLength
// stays inside its parent: a wrong length would derail the guest's parser.
class AmlWalker {
 public:
  explicit AmlWalker(std::vector<uint8_t> aml) : aml_(std::move(aml)) {}
  bool walk() { return terms(0, aml_.size()); }
  int devices = 0;
  std::vector<std::string> names;

 private:
  bool pkg_length(size_t& pos, size_t end, size_t& package_end) {
    if (pos >= end) return false;
    const size_t start = pos;
    const uint8_t lead = aml_[pos++];
    const size_t extra = lead >> 6;
    size_t length = extra == 0 ? (lead & 0x3F) : (lead & 0x0F);
    for (size_t i = 0; i < extra; ++i) {
      if (pos >= end) return false;
      length |= size_t{aml_[pos++]} << (4 + 8 * i);
    }
    package_end = start + length;
    return package_end <= end && package_end >= pos;
  }
  bool name_string(size_t& pos, size_t end, std::string& out) {
    if (pos < end && aml_[pos] == '\\') out += aml_[pos++];
    size_t segments = 1;
    if (pos < end && aml_[pos] == 0x2E) { segments = 2; ++pos; }
    else if (pos + 1 < end && aml_[pos] == 0x2F) { segments = aml_[pos + 1]; pos += 2; }
    for (size_t s = 0; s < segments; ++s) {
      if (pos + 4 > end) return false;
      out.append(reinterpret_cast<const char*>(&aml_[pos]), 4);
      pos += 4;
    }
    return true;
  }
  bool data(size_t& pos, size_t end) {
    if (pos >= end) return false;
    const uint8_t op = aml_[pos++];
    size_t package_end = 0;
    switch (op) {
      case 0x00: case 0x01: case 0xFF: return true;
      case 0x0A: pos += 1; return pos <= end;
      case 0x0B: pos += 2; return pos <= end;
      case 0x0C: pos += 4; return pos <= end;
      case 0x0E: pos += 8; return pos <= end;
      case 0x0D:
        while (pos < end && aml_[pos] != 0) ++pos;
        return pos++ < end;
      case 0x11:  // Buffer: size then bytes
        if (!pkg_length(pos, end, package_end) || !data(pos, package_end)) return false;
        pos = package_end;
        return true;
      case 0x12: {  // Package
        if (!pkg_length(pos, end, package_end) || pos >= package_end) return false;
        const uint8_t count = aml_[pos++];
        for (uint8_t i = 0; i < count; ++i) {
          if (!data(pos, package_end)) return false;
        }
        return pos == package_end;
      }
      default: return false;
    }
  }
  bool terms(size_t pos, size_t end) {
    while (pos < end) {
      const uint8_t op = aml_[pos++];
      std::string name;
      size_t package_end = 0;
      if (op == 0x08) {
        if (!name_string(pos, end, name) || !data(pos, end)) return false;
        names.push_back(name);
      } else if (op == 0x10 || (op == 0x5B && pos < end && aml_[pos] == 0x82)) {
        if (op == 0x5B) { ++pos; ++devices; }
        if (!pkg_length(pos, end, package_end) || !name_string(pos, package_end, name)) return false;
        names.push_back(name);
        if (!terms(pos, package_end)) return false;
        pos = package_end;
      } else {
        return false;
      }
    }
    return pos == end;
  }
  std::vector<uint8_t> aml_;
};

// How AML encodes an integer below 256: ZeroOp, OneOp or BytePrefix n.
std::vector<uint8_t> aml_small_integer(uint8_t value) {
  if (value <= 1) return {value};
  return {0x0A, value};
}

TEST_P(FirmwareTablesTest, DsdtIsWellFormedAml) {
  const uint64_t fadt = xsdt_tables().at("FACP");
  const uint64_t dsdt = view_.u64(fadt + 140);
  const uint32_t length = check_table(dsdt, "DSDT");
  EXPECT_EQ(view_.u8(dsdt + 8), 2) << "revision 2: 64-bit integers";
  const auto aml = view_.bytes(dsdt + 36, length - 36);

  // Name(_S5, Package(){S5, S5, 0, 0}), with S5 the SLP_TYP the PM device
  // powers off on, and Name(_S3, ...) likewise with the type it suspends on.
  auto sleep_package = [](char state, uint8_t type) {
    const std::vector<uint8_t> encoded = aml_small_integer(type);
    std::vector<uint8_t> out{0x08, '_', 'S', static_cast<uint8_t>(state), '_', 0x12,
                             static_cast<uint8_t>(4 + 2 * encoded.size()), 0x04};
    out.insert(out.end(), encoded.begin(), encoded.end());
    out.insert(out.end(), encoded.begin(), encoded.end());
    out.insert(out.end(), {0x00, 0x00});
    return out;
  };
  const std::vector<uint8_t> s5 = sleep_package('5', devices::acpi_pm::kS5SleepType);
  const std::vector<uint8_t> s3 = sleep_package('3', devices::acpi_pm::kS3SleepType);
  const auto s5_at = std::search(aml.begin(), aml.end(), s5.begin(), s5.end());
  const auto s3_at = std::search(aml.begin(), aml.end(), s3.begin(), s3.end());
  EXPECT_NE(s5_at, aml.end());
  ASSERT_NE(s3_at, aml.end());
  EXPECT_LT(s3_at, s5_at) << "\\_S3 first, as in QEMU's DSDT";
  // {1, 1, 0, 0}: QEMU's pc value, so a guest sees one platform on both.
  EXPECT_EQ(std::vector<uint8_t>(s3_at, s3_at + 12),
            (std::vector<uint8_t>{0x08, '_', 'S', '3', '_', 0x12, 0x06, 0x04, 0x01, 0x01, 0x00, 0x00}));
  // No S1, S2 or S4: the PM device handles only S3 and S5.
  for (const char* absent : {"_S1_", "_S2_", "_S4_"}) {
    EXPECT_EQ(std::search(aml.begin(), aml.end(), absent, absent + 4), aml.end()) << absent;
  }

  AmlWalker walker(aml);
  ASSERT_TRUE(walker.walk());
  EXPECT_EQ(walker.devices, static_cast<int>(cpus()) + 6);  // CPUs, COM1, RTC, KBD, MOU, PCI0, MRES
  for (const char* expected : {"\\_SB_", "COM1", "RTC_", "KBD_", "MOU_", "PCI0", "MRES", "_HID", "_CID", "_CRS",
                               "_SEG", "_BBN"}) {
    EXPECT_NE(std::find(walker.names.begin(), walker.names.end(), expected), walker.names.end()) << expected;
  }
  // EisaId("PNP0501"), ("PNP0B00"), ("PNP0303")
  for (std::vector<uint8_t> id : {std::vector<uint8_t>{0x0C, 0x41, 0xD0, 0x05, 0x01},
                                  std::vector<uint8_t>{0x0C, 0x41, 0xD0, 0x0B, 0x00},
                                  std::vector<uint8_t>{0x0C, 0x41, 0xD0, 0x03, 0x03},
                                  std::vector<uint8_t>{0x0C, 0x41, 0xD0, 0x0A, 0x08},    // PNP0A08
                                  std::vector<uint8_t>{0x0C, 0x41, 0xD0, 0x0A, 0x03},    // PNP0A03
                                  std::vector<uint8_t>{0x0C, 0x41, 0xD0, 0x0C, 0x02}}) {  // PNP0C02
    EXPECT_NE(std::search(aml.begin(), aml.end(), id.begin(), id.end()), aml.end());
  }
  // The host bridge's MMIO window [0xC0000000, 0xDFFFFFFF] and the
  // motherboard resource covering the ECAM window.
  const std::vector<uint8_t> mmio_window{0x87, 0x17, 0x00, 0x00, 0x0C, 0x03, 0, 0, 0, 0,
                                         0x00, 0x00, 0x00, 0xC0, 0xFF, 0xFF, 0xFF, 0xDF,
                                         0, 0, 0, 0, 0x00, 0x00, 0x00, 0x20};
  EXPECT_NE(std::search(aml.begin(), aml.end(), mmio_window.begin(), mmio_window.end()), aml.end());
  const std::vector<uint8_t> ecam{0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xE0, 0x00, 0x00, 0x10, 0x00};
  EXPECT_NE(std::search(aml.begin(), aml.end(), ecam.begin(), ecam.end()), aml.end());
}

// Reads an AML integer (ZeroOp, OneOp, Byte/Word/DWord/QWordConst) at `pos`.
std::optional<uint64_t> aml_integer(const std::vector<uint8_t>& aml, size_t& pos) {
  if (pos >= aml.size()) return std::nullopt;
  const uint8_t op = aml[pos++];
  if (op == 0x00 || op == 0x01) return op;
  const size_t width = op == 0x0A ? 1 : op == 0x0B ? 2 : op == 0x0C ? 4 : op == 0x0E ? 8 : 0;
  if (width == 0 || pos + width > aml.size()) return std::nullopt;
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= uint64_t{aml[pos + i]} << (8 * i);
  pos += width;
  return value;
}

// Skips a PkgLength at `pos` and returns where the package ends.
size_t aml_package_end(const std::vector<uint8_t>& aml, size_t& pos) {
  const size_t start = pos;
  const uint8_t lead = aml.at(pos++);
  const size_t extra = lead >> 6;
  size_t length = extra == 0 ? (lead & 0x3F) : (lead & 0x0F);
  for (size_t i = 0; i < extra; ++i) length |= size_t{aml.at(pos++)} << (4 + 8 * i);
  return start + length;
}

TEST_P(FirmwareTablesTest, DsdtPciRoutingTableMatchesTheBridgeWiring) {
  const uint64_t dsdt = view_.u64(xsdt_tables().at("FACP") + 140);
  const uint32_t length = check_table(dsdt, "DSDT");
  const auto aml = view_.bytes(dsdt + 36, length - 36);
  // Name(_PRT, Package(){...}), once, inside Device(PCI0).
  const std::vector<uint8_t> prt_name{0x08, '_', 'P', 'R', 'T', 0x12};
  auto at = std::search(aml.begin(), aml.end(), prt_name.begin(), prt_name.end());
  ASSERT_NE(at, aml.end());
  EXPECT_EQ(std::search(at + 1, aml.end(), prt_name.begin(), prt_name.end()), aml.end());
  const std::vector<uint8_t> pci0{'P', 'C', 'I', '0'};
  EXPECT_LT(std::search(aml.begin(), aml.end(), pci0.begin(), pci0.end()), at);

  size_t pos = static_cast<size_t>(at - aml.begin()) + prt_name.size();
  const size_t table_end = aml_package_end(aml, pos);
  ASSERT_LE(table_end, aml.size());
  constexpr size_t kEntries = 31 * 4;
  ASSERT_EQ(aml.at(pos++), kEntries);
  // ACPI 6.3, 6.2.13: {Address = device << 16 | 0xFFFF, Pin 0..3, Source
  // 0 (a GSI, no link device), Source Index = that GSI}, for every slot
  // and pin, with the GSI the host bridge wires.
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> routes;
  for (size_t i = 0; i < kEntries; ++i) {
    ASSERT_EQ(aml.at(pos++), 0x12) << "entry " << i;
    const size_t entry_end = aml_package_end(aml, pos);
    ASSERT_EQ(aml.at(pos++), 4);
    const auto address = aml_integer(aml, pos);
    const auto pin = aml_integer(aml, pos);
    const auto source = aml_integer(aml, pos);
    const auto gsi = aml_integer(aml, pos);
    ASSERT_TRUE(address && pin && source && gsi) << "entry " << i;
    ASSERT_EQ(pos, entry_end);
    EXPECT_EQ(*address & 0xFFFF, 0xFFFFu);
    EXPECT_EQ(*source, 0u);
    routes[{*address >> 16, *pin}] = *gsi;
  }
  EXPECT_EQ(pos, table_end);
  ASSERT_EQ(routes.size(), kEntries);
  for (uint8_t slot = 1; slot < 32; ++slot) {
    for (uint8_t pin = 0; pin < 4; ++pin) {
      EXPECT_EQ((routes[{slot, pin}]), devices::pci_layout::intx_gsi(slot, pin + 1)) << int(slot) << "/" << int(pin);
    }
  }
  // Spot checks with the numbers written out: slot 1 INTA# -> GSI 17, slot
  // 31 INTD# -> GSI 18.
  EXPECT_EQ((routes[{1, 0}]), 17u);
  EXPECT_EQ((routes[{31, 3}]), 18u);
}

TEST_P(FirmwareTablesTest, MadtOverridesLeaveThePciGsisAlone) {
  // The PCI INTx inputs 16..23 are level/active-low by the _PRT rule; an
  // interrupt source override naming one of them would contradict that.
  const uint64_t madt = xsdt_tables().at("APIC");
  const uint32_t length = check_table(madt, "APIC");
  for (uint64_t entry = madt + 44; entry < madt + length; entry += view_.u8(entry + 1)) {
    ASSERT_GE(view_.u8(entry + 1), 2);
    if (view_.u8(entry) == 2) {
      EXPECT_LT(view_.u32(entry + 4), devices::pci_layout::kIntxFirstGsi);
    }
    if (view_.u8(entry) == 1) {
      EXPECT_EQ(view_.u32(entry + 8), 0u) << "one IOAPIC from GSI 0 covers 0..23";
    }
  }
}

TEST_P(FirmwareTablesTest, McfgDescribesTheEcamWindow) {
  const auto tables = xsdt_tables();
  ASSERT_TRUE(tables.contains("MCFG"));
  const uint64_t mcfg = tables.at("MCFG");
  const uint32_t length = check_table(mcfg, "MCFG");
  EXPECT_EQ(view_.u8(mcfg + 8), 1) << "revision";
  ASSERT_EQ(length, 36u + 8u + 16u) << "one allocation structure";
  EXPECT_EQ(view_.u64(mcfg + 36), 0u) << "reserved";
  EXPECT_EQ(view_.u64(mcfg + 44), devices::pci_layout::kEcamBase);
  EXPECT_EQ(view_.u16(mcfg + 52), 0) << "segment";
  EXPECT_EQ(view_.u8(mcfg + 54), 0) << "start bus";
  EXPECT_EQ(view_.u8(mcfg + 55), 0) << "end bus";
  EXPECT_EQ(view_.u32(mcfg + 56), 0u);
  // The window must be reserved in E820 too, or Linux ignores it.
  bool reserved = false;
  for (const E820Entry& entry : build_e820_map(guest_.memory())) {
    if (entry.type == E820Type::reserved && entry.address <= devices::pci_layout::kEcamBase &&
        entry.address + entry.size >= devices::pci_layout::kEcamBase + devices::pci_layout::kEcamSize) {
      reserved = true;
    }
  }
  EXPECT_TRUE(reserved);
}

TEST_P(FirmwareTablesTest, MpTableFoundByScanAndValid) {
  const auto floating = scan_for_mp(view_);
  ASSERT_TRUE(floating);
  EXPECT_EQ(*floating, tables_.mp_floating_address);
  EXPECT_EQ(view_.u8(*floating + 8), 1);  // 16 bytes
  EXPECT_EQ(view_.u8(*floating + 9), 4);  // spec 1.4
  EXPECT_EQ(view_.u8(*floating + 11), 0) << "configuration table present";

  const uint64_t config = view_.u32(*floating + 4);
  EXPECT_EQ(view_.text(config, 4), "PCMP");
  const uint16_t length = view_.u16(config + 4);
  EXPECT_EQ(view_.sum(config, length), 0);
  EXPECT_EQ(view_.u32(config + 36), 0xFEE00000u);
  const uint16_t entry_count = view_.u16(config + 34);

  uint32_t processors = 0, buses = 0, ioapics = 0;
  std::map<uint8_t, uint8_t> isa_irq_to_pin;
  int lint_entries = 0;
  uint64_t entry = config + 44;
  uint8_t last_type = 0;
  for (uint16_t i = 0; i < entry_count; ++i) {
    ASSERT_LT(entry, config + length);
    const uint8_t type = view_.u8(entry);
    EXPECT_GE(type, last_type) << "entries sorted by type";
    last_type = type;
    if (type == 0) {
      EXPECT_EQ(view_.u8(entry + 1), processors) << "APIC ID";
      EXPECT_EQ(view_.u8(entry + 3), processors == 0 ? 0x3 : 0x1) << "EN, BP only on CPU 0";
      ++processors;
      entry += 20;
      continue;
    }
    if (type == 1) {
      EXPECT_EQ(view_.text(entry + 2, 6), "ISA   ");
      ++buses;
    } else if (type == 2) {
      EXPECT_EQ(view_.u8(entry + 1), cpus());
      EXPECT_EQ(view_.u8(entry + 3) & 1, 1);
      EXPECT_EQ(view_.u32(entry + 4), 0xFEC00000u);
      ++ioapics;
    } else if (type == 3) {
      EXPECT_EQ(view_.u8(entry + 6), cpus()) << "destination IOAPIC";
      isa_irq_to_pin[view_.u8(entry + 5)] = view_.u8(entry + 7);
    } else if (type == 4) {
      EXPECT_EQ(view_.u8(entry + 6), 0xFF);
      EXPECT_EQ(view_.u8(entry + 7), view_.u8(entry + 1) == 3 ? 0 : 1) << "ExtINT on LINT0, NMI on LINT1";
      ++lint_entries;
    } else {
      FAIL() << "unknown MP entry type " << int(type);
    }
    entry += 8;
  }
  EXPECT_EQ(entry, config + length);
  EXPECT_EQ(processors, cpus());
  EXPECT_EQ(buses, 1u);
  EXPECT_EQ(ioapics, 1u);
  EXPECT_EQ(lint_entries, 2);
  EXPECT_EQ(isa_irq_to_pin.size(), 15u);
  EXPECT_EQ(isa_irq_to_pin.at(0), 2);
  EXPECT_FALSE(isa_irq_to_pin.contains(2));
  for (uint8_t irq = 1; irq < 16; ++irq) {
    if (irq != 2) {
      EXPECT_EQ(isa_irq_to_pin.at(irq), irq);
    }
  }
}

TEST_P(FirmwareTablesTest, NothingWrittenOutsideTheBiosArea) {
  EXPECT_EQ(view_.u8(0xDFFFF), 0xA5);
  EXPECT_EQ(view_.u8(0x100000), 0xA5);
}

INSTANTIATE_TEST_SUITE_P(CpuCounts, FirmwareTablesTest, ::testing::Values(1u, 2u, 4u, kMaxCpus));

TEST(FirmwareTables, RejectsBadCpuCounts) {
  testing::TestGuestMemory guest(2 * kMiB);
  EXPECT_THROW(write_firmware_tables(guest.memory(), 0), ConfigError);
  EXPECT_THROW(write_firmware_tables(guest.memory(), kMaxCpus + 1), ConfigError);
}

TEST(FirmwareTables, RejectsMemoryWithoutTheBiosArea) {
  testing::TestGuestMemory guest(512 * 1024);
  EXPECT_THROW(write_firmware_tables(guest.memory(), 1), ConfigError);
}

}  // namespace
}  // namespace keel::firmware
