// Fuzz target: the firmware builders (src/firmware): the E820 map for random
// machine descriptions, and the ACPI + MP tables for any vCPU count written
// into a RAM region that may or may not hold the whole BIOS area.
//
// Input: [cpus u8 (% 72: 0 and 65..71 are refused)]
//        [tables RAM: start = 0xE0000 - range(0, 8 KiB), end = 1 MiB - 2 KiB + range(0, 4 KiB)]
//        [machine: kind u8, size u64 (% a range per kind: small, around the
//         3 GiB PCI hole, around 4 GiB, anything up to 1 TiB), flag u8 (bit 0:
//         whole pages)]
//        [the tables RAM's previous contents: the rest]
//
// Invariants, beyond "no crash":
// - E820 (for the described machine, split like GuestMemory: RAM below the
//   PCI hole at 0, the rest at 4 GiB; and for the tables RAM region): at
//   most 128 entries, sorted, non-empty, non-overlapping, not wrapping; the
//   RAM entries lie inside guest RAM, outside [EBDA, 1 MiB), and add up to
//   exactly the RAM outside that hole (so they cover it exactly); the EBDA,
//   BIOS area, ECAM window and APIC pages are reserved.
// - write_firmware_tables() fails (ConfigError, one line) exactly when the
//   vCPU count is out of range or the BIOS area is not all RAM, and then
//   writes nothing. On success: a 16-byte-step scan of the BIOS area finds
//   the RSDP where it was returned (both checksums valid, revision 2), the
//   RSDT and XSDT list the same tables, every ACPI table (root tables, FADT,
//   MADT, MCFG, DSDT) has its signature, a valid checksum and lies inside
//   the ACPI part [0xE0000, 0xF0000); the FADT's DSDT pointers agree and its
//   FACS is 64-byte aligned; the MADT lists one enabled Local APIC per vCPU
//   (IDs 0..n-1) and the IOAPIC with ID n; a scan of [0xF0000, 1 MiB) finds
//   the MP floating pointer (valid checksum) whose configuration table lies
//   in that area with valid checksums and one processor entry per vCPU, the
//   first alone flagged as the BSP. Nothing outside the BIOS area changes
//   and nothing outside guest RAM is touched.
#include <algorithm>
#include <array>
#include <optional>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "devices/pci/pci_layout.h"
#include "keel/config_error.h"
#include "src/firmware/firmware_tables.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/guarded_ram.h"

namespace {

using keel::Gpa;
using keel::GuestMemory;
using keel::MemoryRegion;
namespace firmware = keel::firmware;
namespace layout = keel::layout;

constexpr uint64_t kAreaStart = layout::kBiosRomStart;
constexpr uint64_t kMpAreaStart = 0xF'0000;
constexpr uint64_t kAreaEnd = layout::kHighMemoryStart;
constexpr uint64_t kLegacyAreaEnd = 0xA'0000;

uint64_t overlap(uint64_t a_begin, uint64_t a_end, uint64_t b_begin, uint64_t b_end) {
  const uint64_t begin = std::max(a_begin, b_begin);
  const uint64_t end = std::min(a_end, b_end);
  return end > begin ? end - begin : 0;
}

void check_e820(const GuestMemory& memory) {
  const auto map = firmware::build_e820_map(memory);
  FUZZ_CHECK(map.size() <= 128, "the map fits boot_params' 128 entries");
  uint64_t previous_end = 0;
  uint64_t ram = 0;
  std::set<std::pair<uint64_t, uint64_t>> reserved;
  for (size_t i = 0; i < map.size(); ++i) {
    const auto& entry = map[i];
    FUZZ_CHECK(entry.size > 0 && entry.address + entry.size > entry.address, "entries are non-empty, not wrapping");
    FUZZ_CHECK(i == 0 || entry.address >= previous_end, "entries are sorted and do not overlap");
    previous_end = entry.address + entry.size;
    if (entry.type == firmware::E820Type::ram) {
      FUZZ_CHECK(memory.contains(Gpa{entry.address}, entry.size), "RAM entries are guest RAM");
      FUZZ_CHECK(overlap(entry.address, previous_end, layout::kEbdaStart, kAreaEnd) == 0,
                 "no RAM entry in [EBDA, 1 MiB)");
      ram += entry.size;
    } else {
      FUZZ_CHECK(entry.type == firmware::E820Type::reserved, "only RAM and reserved entries");
      reserved.emplace(entry.address, entry.size);
    }
  }
  uint64_t expected_ram = 0;
  for (const MemoryRegion& region : memory.regions()) {
    const uint64_t begin = keel::raw(region.guest_base);
    expected_ram += region.size - overlap(begin, begin + region.size, layout::kEbdaStart, kAreaEnd);
  }
  FUZZ_CHECK(ram == expected_ram, "the RAM entries cover exactly the RAM outside [EBDA, 1 MiB)");
  namespace pci = keel::devices::pci_layout;
  for (const auto& must : {std::pair{layout::kEbdaStart, kLegacyAreaEnd - layout::kEbdaStart},
                           std::pair{kAreaStart, kAreaEnd - kAreaStart}, std::pair{pci::kEcamBase, pci::kEcamSize},
                           std::pair{layout::kIoApicBase, uint64_t{0x1000}},
                           std::pair{layout::kLocalApicBase, uint64_t{0x1000}}}) {
    FUZZ_CHECK(reserved.contains(must), "EBDA, BIOS area, ECAM and APIC pages are reserved");
  }
}

// A machine as GuestMemory(MemoryConfig) lays it out. The regions are never
// accessed (build_e820_map reads only their placement), so they share one
// dummy host pointer instead of gigabytes of mappings.
void check_described_machine(uint64_t size) {
  static std::byte dummy;
  std::vector<MemoryRegion> regions;
  const uint64_t low = std::min(size, layout::kPciHoleStart);
  regions.push_back({Gpa{0}, low, &dummy});
  if (size > low) regions.push_back({Gpa{layout::kHighRamStart}, size - low, &dummy});
  check_e820(GuestMemory(std::move(regions)));
}

uint64_t choose_machine_size(keel::fuzz::FuzzInput& in) {
  const uint8_t kind = in.u8();
  const uint64_t raw = in.u64();
  const uint64_t window = 32ull << 20;
  uint64_t size = 0;
  switch (kind % 4) {
    case 0: size = raw % (8ull << 20); break;
    case 1: size = layout::kPciHoleStart - window / 2 + raw % window; break;
    case 2: size = layout::kHighRamStart - window / 2 + raw % window; break;
    default: size = raw % (1ull << 40); break;
  }
  if ((in.u8() & 1) != 0) size &= ~uint64_t{0xFFF};
  return std::max<uint64_t>(size, 1);
}

class View {
 public:
  explicit View(const GuestMemory& memory) : memory_(memory) {}
  uint64_t le(uint64_t gpa, unsigned width) const {
    std::array<std::byte, 8> bytes{};
    FUZZ_CHECK(memory_.read(Gpa{gpa}, std::span(bytes).first(width)).has_value(), "tables are read inside RAM");
    uint64_t value = 0;
    for (unsigned i = 0; i < width; ++i) value |= std::to_integer<uint64_t>(bytes[i]) << (8 * i);
    return value;
  }
  bool text(uint64_t gpa, std::string_view expected) const {
    std::string out(expected.size(), '\0');
    return memory_.read(Gpa{gpa}, std::as_writable_bytes(std::span(out))).has_value() && out == expected;
  }
  uint8_t sum(uint64_t gpa, uint64_t length) const {
    auto bytes = memory_.host_span(Gpa{gpa}, length);
    FUZZ_CHECK(bytes.has_value(), "checksummed ranges lie inside RAM");
    uint8_t total = 0;
    for (std::byte b : *bytes) total = static_cast<uint8_t>(total + std::to_integer<uint8_t>(b));
    return total;
  }

 private:
  const GuestMemory& memory_;
};

// An ACPI table with a standard header inside [0xE0000, 0xF0000); its length.
uint64_t check_acpi_table(const View& view, uint64_t address, std::string_view signature) {
  FUZZ_CHECK(address >= kAreaStart && address + 36 <= kMpAreaStart, "ACPI tables lie in their area");
  const uint64_t length = view.le(address + 4, 4);
  FUZZ_CHECK(length >= 36 && address + length <= kMpAreaStart, "an ACPI table's length keeps it in its area");
  FUZZ_CHECK(signature.empty() || view.text(address, signature), "the ACPI table's signature");
  FUZZ_CHECK(view.sum(address, length) == 0, "the ACPI table's checksum");
  return length;
}

void check_acpi(const View& view, uint64_t rsdp_address, uint32_t cpus) {
  std::optional<uint64_t> found;
  for (uint64_t at = kAreaStart; at < kAreaEnd && !found; at += 16) {
    if (view.text(at, "RSD PTR ") && view.sum(at, 20) == 0) found = at;
  }
  FUZZ_CHECK(found == rsdp_address, "a guest's scan finds the RSDP that was returned");
  FUZZ_CHECK(view.le(rsdp_address + 15, 1) == 2 && view.le(rsdp_address + 20, 4) == 36 &&
                 view.sum(rsdp_address, 36) == 0,
             "the RSDP is revision 2 with a valid extended checksum");
  const uint64_t rsdt = view.le(rsdp_address + 16, 4);
  const uint64_t xsdt = view.le(rsdp_address + 24, 8);
  const uint64_t rsdt_entries = (check_acpi_table(view, rsdt, "RSDT") - 36) / 4;
  const uint64_t xsdt_entries = (check_acpi_table(view, xsdt, "XSDT") - 36) / 8;
  FUZZ_CHECK(rsdt_entries == xsdt_entries, "the RSDT and XSDT list as many tables");
  std::set<std::string> signatures;
  for (uint64_t i = 0; i < xsdt_entries; ++i) {
    const uint64_t table = view.le(xsdt + 36 + 8 * i, 8);
    FUZZ_CHECK(view.le(rsdt + 36 + 4 * i, 4) == table, "the RSDT and XSDT list the same tables");
    const uint64_t length = check_acpi_table(view, table, "");
    std::string signature(4, '\0');
    for (int c = 0; c < 4; ++c) signature[c] = static_cast<char>(view.le(table + c, 1));
    signatures.insert(signature);
    if (signature == "FACP") {
      const uint64_t dsdt = view.le(table + 40, 4);
      FUZZ_CHECK(view.le(table + 140, 8) == dsdt, "DSDT and X_DSDT agree");
      check_acpi_table(view, dsdt, "DSDT");
      const uint64_t facs = view.le(table + 36, 4);
      FUZZ_CHECK(facs % 64 == 0 && facs >= kAreaStart && facs + 64 <= kMpAreaStart && view.text(facs, "FACS") &&
                     view.le(facs + 4, 4) == 64,
                 "the FACS: 64 bytes, 64-byte aligned, in the ACPI area");
    } else if (signature == "APIC") {
      uint32_t local_apics = 0;
      bool ioapic = false;
      for (uint64_t at = table + 44; at < table + length;) {
        const uint64_t type = view.le(at, 1);
        const uint64_t entry_length = view.le(at + 1, 1);
        FUZZ_CHECK(entry_length >= 2 && at + entry_length <= table + length, "MADT entries fit the MADT");
        if (type == 0) {
          FUZZ_CHECK(view.le(at + 3, 1) == local_apics && (view.le(at + 4, 4) & 1) != 0,
                     "Local APIC IDs 0..n-1, enabled");
          ++local_apics;
        } else if (type == 1) {
          FUZZ_CHECK(view.le(at + 2, 1) == cpus && view.le(at + 4, 4) == layout::kIoApicBase, "the IOAPIC");
          ioapic = true;
        }
        at += entry_length;
      }
      FUZZ_CHECK(local_apics == cpus && ioapic, "one Local APIC per vCPU and an IOAPIC");
    }
  }
  FUZZ_CHECK(signatures.contains("FACP") && signatures.contains("APIC") && signatures.contains("MCFG"),
             "FADT, MADT and MCFG are listed");
}

void check_mp(const View& view, uint64_t floating_address, uint32_t cpus) {
  std::optional<uint64_t> found;
  for (uint64_t at = kMpAreaStart; at < kAreaEnd && !found; at += 16) {
    if (view.text(at, "_MP_") && view.sum(at, 16) == 0) found = at;
  }
  FUZZ_CHECK(found == floating_address, "a guest's scan finds the MP floating pointer that was returned");
  FUZZ_CHECK(view.le(floating_address + 8, 1) == 1 && view.le(floating_address + 9, 1) == 4, "16 bytes, MP 1.4");
  const uint64_t config = view.le(floating_address + 4, 4);
  FUZZ_CHECK(config >= kMpAreaStart && config + 44 <= kAreaEnd && view.text(config, "PCMP"),
             "the MP configuration table lies in the MP area");
  const uint64_t length = view.le(config + 4, 2);
  FUZZ_CHECK(length >= 44 && config + length <= kAreaEnd && view.sum(config, length) == 0,
             "the MP configuration table's length and checksum");
  const uint64_t extended = view.le(config + 40, 2);
  FUZZ_CHECK(config + length + extended <= kAreaEnd &&
                 static_cast<uint8_t>(view.sum(config + length, extended) + view.le(config + 42, 1)) == 0,
             "the extended table's checksum");
  const uint64_t entries = view.le(config + 34, 2);
  uint32_t processors = 0;
  uint64_t at = config + 44;
  for (uint64_t i = 0; i < entries; ++i) {
    const uint64_t type = view.le(at, 1);
    const uint64_t size = type == 0 ? 20 : 8;
    FUZZ_CHECK(type <= 4 && at + size <= config + length, "MP entries are known and fit the table");
    if (type == 0) {
      const uint64_t flags = view.le(at + 3, 1);
      FUZZ_CHECK(view.le(at + 1, 1) == processors && (flags & 1) != 0 && ((flags & 2) != 0) == (processors == 0),
                 "processor entries: APIC IDs 0..n-1, enabled, CPU 0 alone the BSP");
      ++processors;
    }
    at += size;
  }
  FUZZ_CHECK(at == config + length, "the entries fill the base table");
  FUZZ_CHECK(processors == cpus, "one processor entry per vCPU");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  keel::fuzz::FuzzInput in(data, size);
  const uint32_t cpus = in.u8() % 72;
  const uint64_t start = kAreaStart - in.range(0, 0x2000);
  const uint64_t end = kAreaEnd - 0x800 + in.range(0, 0x1000);
  check_described_machine(choose_machine_size(in));

  keel::fuzz::GuardedRam ram(start, end - start);
  ram.load(in.rest());
  const std::vector<std::byte> before(ram.bytes().begin(), ram.bytes().end());
  check_e820(ram.memory());

  const bool valid = cpus >= 1 && cpus <= firmware::kMaxCpus && end >= kAreaEnd;
  firmware::FirmwareTables tables{};
  try {
    tables = firmware::write_firmware_tables(ram.memory(), cpus);
  } catch (const keel::ConfigError& error) {
    const std::string_view message = error.what();
    FUZZ_CHECK(!valid, "a valid machine gets its tables");
    FUZZ_CHECK(!message.empty() && message.find('\n') == std::string_view::npos, "errors are one line");
    FUZZ_CHECK(std::memcmp(before.data(), ram.bytes().data(), before.size()) == 0, "a refused table build writes nothing");
    FUZZ_CHECK(ram.slack_intact(), "nothing written below guest RAM");
    return 0;
  }
  FUZZ_CHECK(valid, "an invalid vCPU count or a missing BIOS area is refused");
  const View view(ram.memory());
  check_acpi(view, tables.rsdp_address, cpus);
  check_mp(view, tables.mp_floating_address, cpus);
  const size_t area_offset = kAreaStart - start;
  const size_t area_end = kAreaEnd - start;
  FUZZ_CHECK(std::memcmp(before.data(), ram.bytes().data(), area_offset) == 0 &&
                 std::memcmp(before.data() + area_end, ram.bytes().data() + area_end, before.size() - area_end) == 0,
             "nothing outside the BIOS area changes");
  FUZZ_CHECK(ram.slack_intact(), "nothing written below guest RAM");
  return 0;
}
