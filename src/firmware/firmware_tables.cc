// Places the ACPI and MP tables in the BIOS area and writes them to guest
// memory. Layout of [kBiosRomStart, 1 MiB):
//   0xE0000  RSDP (first, 16-byte aligned: guests scan 0xE0000-0xFFFFF)
//   ...      DSDT, FACS, FADT, MADT, XSDT, RSDT (in build order)
//   0xF0000  MP floating pointer, then the MP configuration table
//            (Linux scans 0xF0000-0xFFFFF for "_MP_")
#include "src/firmware/firmware_tables.h"

#include <fmt/format.h>

#include <array>
#include <vector>

#include "keel/config_error.h"
#include "src/firmware/acpi_tables.h"
#include "src/firmware/mp_table.h"

namespace keel::firmware {

namespace {

constexpr uint64_t kAreaStart = layout::kBiosRomStart;
constexpr uint64_t kAreaEnd = layout::kHighMemoryStart;
constexpr uint64_t kMpAreaStart = 0xF'0000;

// Hands out addresses in [next, end) and copies table bytes into a host
// image of the whole BIOS area.
class TableArea {
 public:
  TableArea(std::vector<uint8_t>& image, uint64_t start, uint64_t end) : image_(image), next_(start), end_(end) {}

  uint64_t place(const Bytes& table, uint64_t alignment, const char* what) {
    const uint64_t address = (next_ + alignment - 1) & ~(alignment - 1);
    if (address > end_ || table.size() > end_ - address) {
      throw ConfigError(fmt::format("firmware tables: the {} does not fit below {:#x}", what, end_));
    }
    std::copy(table.begin(), table.end(), image_.begin() + static_cast<std::ptrdiff_t>(address - kAreaStart));
    next_ = address + table.size();
    return address;
  }

 private:
  std::vector<uint8_t>& image_;
  uint64_t next_;
  uint64_t end_;
};

}  // namespace

FirmwareTables write_firmware_tables(GuestMemory& memory, uint32_t cpu_count) {
  if (cpu_count == 0 || cpu_count > kMaxCpus) {
    throw ConfigError(fmt::format("cpu count {} is out of range (1-{})", cpu_count, kMaxCpus));
  }
  if (!memory.contains(Gpa{kAreaStart}, kAreaEnd - kAreaStart)) {
    throw ConfigError(fmt::format("firmware tables: [{:#x}, {:#x}) is not guest RAM", kAreaStart, kAreaEnd));
  }

  std::vector<uint8_t> image(kAreaEnd - kAreaStart, 0);
  TableArea acpi_area(image, kAreaStart, kMpAreaStart);
  constexpr uint64_t kTableAlignment = 16;

  // The RSDP needs the RSDT/XSDT addresses, which are known last; reserve
  // its slot at the very start so a scan finds it at 0xE0000.
  const uint64_t rsdp_address = acpi_area.place(Bytes(acpi::kRsdpSize, 0), kTableAlignment, "RSDP");

  const uint64_t dsdt = acpi_area.place(acpi::build_dsdt(cpu_count), kTableAlignment, "DSDT");
  const uint64_t facs = acpi_area.place(acpi::build_facs(), acpi::kFacsAlignment, "FACS");

  // Tables listed in the XSDT/RSDT. To add one (MCFG, HPET, ...), build and
  // place it here and push its address.
  std::vector<uint64_t> root_tables;
  root_tables.push_back(acpi_area.place(acpi::build_fadt(dsdt, facs), kTableAlignment, "FADT"));
  root_tables.push_back(acpi_area.place(acpi::build_madt(cpu_count), kTableAlignment, "MADT"));
  root_tables.push_back(acpi_area.place(acpi::build_mcfg(), kTableAlignment, "MCFG"));

  const uint64_t xsdt = acpi_area.place(acpi::build_xsdt(root_tables), kTableAlignment, "XSDT");
  const uint64_t rsdt = acpi_area.place(acpi::build_rsdt(root_tables), kTableAlignment, "RSDT");
  TableArea rsdp_slot(image, rsdp_address, rsdp_address + acpi::kRsdpSize);
  rsdp_slot.place(acpi::build_rsdp(rsdt, xsdt), 1, "RSDP");

  TableArea mp_area(image, kMpAreaStart, kAreaEnd);
  const uint64_t mp_floating = mp_area.place(Bytes(mp::kFloatingPointerSize, 0), 16, "MP floating pointer");
  const uint64_t mp_config = mp_area.place(mp::build_config_table(cpu_count), 16, "MP configuration table");
  TableArea mp_floating_slot(image, mp_floating, mp_floating + mp::kFloatingPointerSize);
  mp_floating_slot.place(mp::build_floating_pointer(mp_config), 1, "MP floating pointer");

  // One write of the whole area: it also clears whatever was there before.
  if (!memory.write(Gpa{kAreaStart}, std::as_bytes(std::span(image)))) {
    throw ConfigError("firmware tables: cannot write the BIOS area of guest memory");
  }
  return FirmwareTables{rsdp_address, mp_floating, facs};
}

}  // namespace keel::firmware
