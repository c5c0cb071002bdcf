// The E820 memory map (ACPI 6.3 chapter 15, "System Address Map
// Interfaces") for the PC layout of include/keel/guest_memory.h.
#include <algorithm>

#include "devices/pci/pci_layout.h"
#include "src/firmware/firmware_tables.h"

namespace keel::firmware {

namespace {

constexpr uint64_t kLegacyAreaEnd = 0xA'0000;  // end of conventional memory
constexpr uint64_t kApicPageSize = 0x1000;

struct Span {
  uint64_t begin;
  uint64_t end;  // exclusive
};

// Adds the parts of RAM region [begin, end) that lie outside every span in
// `holes` (sorted) as usable RAM.
void add_ram_outside(std::vector<E820Entry>& map, uint64_t begin, uint64_t end, std::span<const Span> holes) {
  uint64_t cursor = begin;
  for (const Span& hole : holes) {
    if (hole.end <= cursor || hole.begin >= end) continue;
    if (hole.begin > cursor) map.push_back({cursor, hole.begin - cursor, E820Type::ram});
    cursor = std::max(cursor, hole.end);
  }
  if (cursor < end) map.push_back({cursor, end - cursor, E820Type::ram});
}

}  // namespace

std::vector<E820Entry> build_e820_map(const GuestMemory& memory) {
  // Below 1 MiB only [0, kEbdaStart) is RAM for the OS: the EBDA, the VGA
  // window / option ROMs (0xA0000-0xDFFFF, simply not listed, as on real
  // hardware), and the BIOS area holding the ACPI and MP tables are not.
  const Span holes[] = {{layout::kEbdaStart, layout::kHighMemoryStart}};

  std::vector<E820Entry> map;
  for (const MemoryRegion& region : memory.regions()) {
    const uint64_t begin = raw(region.guest_base);
    add_ram_outside(map, begin, begin + region.size, holes);
  }
  map.push_back({layout::kEbdaStart, kLegacyAreaEnd - layout::kEbdaStart, E820Type::reserved});
  map.push_back({layout::kBiosRomStart, layout::kHighMemoryStart - layout::kBiosRomStart, E820Type::reserved});
  // The PCI ECAM window (MCFG): Linux uses MMCONFIG only when it is reserved.
  map.push_back({devices::pci_layout::kEcamBase, devices::pci_layout::kEcamSize, E820Type::reserved});
  map.push_back({layout::kIoApicBase, kApicPageSize, E820Type::reserved});
  map.push_back({layout::kLocalApicBase, kApicPageSize, E820Type::reserved});
  std::sort(map.begin(), map.end(), [](const E820Entry& a, const E820Entry& b) { return a.address < b.address; });
  return map;
}

}  // namespace keel::firmware
