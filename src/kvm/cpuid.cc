#include "src/kvm/cpuid.h"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::kvm {

namespace {

constexpr uint32_t kLeafFeatures = 1;
constexpr uint32_t kLeafCacheParams = 4;
constexpr uint32_t kLeafExtTopology = 0xB;
constexpr uint32_t kLeafV2ExtTopology = 0x1F;
constexpr uint32_t kLeafHypervisorBase = 0x4000'0000;
constexpr uint32_t kLeafKvmFeatures = 0x4000'0001;

constexpr uint32_t kEcxHypervisor = 1u << 31;
constexpr uint32_t kEdxHtt = 1u << 28;

// Topology level types (leaf 0xB/0x1F ECX[15:8]).
constexpr uint32_t kLevelInvalid = 0;
constexpr uint32_t kLevelSmt = 1;
constexpr uint32_t kLevelCore = 2;

// "KVMKVMKVM\0\0\0" as EBX, ECX, EDX (little-endian).
constexpr uint32_t kKvmSignatureEbx = 0x4b4d564b;  // "KVMK"
constexpr uint32_t kKvmSignatureEcx = 0x564b4d56;  // "VMKV"
constexpr uint32_t kKvmSignatureEdx = 0x0000004d;  // "M\0\0\0"

void set_bits(uint32_t& reg, unsigned low, unsigned width, uint32_t value) {
  uint32_t mask = (width >= 32 ? ~0u : ((1u << width) - 1)) << low;
  reg = (reg & ~mask) | ((value << low) & mask);
}

// Bits of the x2APIC ID that number the cores within the package.
uint32_t core_id_bits(uint32_t cpu_count) {
  return cpu_count <= 1 ? 0 : static_cast<uint32_t>(std::bit_width(cpu_count - 1));
}

void patch_features(CpuidEntry& entry, const CpuTopology& topo) {
  set_bits(entry.ebx, 24, 8, topo.apic_id);
  set_bits(entry.ebx, 16, 8, topo.cpu_count);
  if (topo.cpu_count > 1) {
    entry.edx |= kEdxHtt;
  } else {
    entry.edx &= ~kEdxHtt;
  }
  entry.ecx |= kEcxHypervisor;
}

void patch_cache_params(CpuidEntry& entry, const CpuTopology& topo) {
  uint32_t cache_type = entry.eax & 0x1f;
  if (cache_type == 0) return;  // no more caches: the subleaf stays all-zero
  uint32_t level = (entry.eax >> 5) & 0x7;
  uint32_t sharing = level <= 2 ? 1 : topo.cpu_count;
  set_bits(entry.eax, 14, 12, sharing - 1);
  set_bits(entry.eax, 26, 6, topo.cpu_count - 1);
}

void append_topology_leaf(std::vector<CpuidEntry>& out, uint32_t function, const CpuTopology& topo) {
  // Subleaf 0: SMT level, one thread per core, no bits for the thread ID.
  out.push_back(CpuidEntry{.function = function,
                           .index = 0,
                           .flags = kCpuidSignificantIndex,
                           .eax = 0,
                           .ebx = 1,
                           .ecx = (kLevelSmt << 8) | 0,
                           .edx = topo.apic_id});
  // Subleaf 1: core level; shifting the x2APIC ID right by EAX[4:0] gives
  // the package ID.
  out.push_back(CpuidEntry{.function = function,
                           .index = 1,
                           .flags = kCpuidSignificantIndex,
                           .eax = core_id_bits(topo.cpu_count),
                           .ebx = topo.cpu_count,
                           .ecx = (kLevelCore << 8) | 1,
                           .edx = topo.apic_id});
  // Subleaf 2: level type 0 ends the enumeration.
  out.push_back(CpuidEntry{.function = function,
                           .index = 2,
                           .flags = kCpuidSignificantIndex,
                           .eax = 0,
                           .ebx = 0,
                           .ecx = (kLevelInvalid << 8) | 2,
                           .edx = topo.apic_id});
}

}  // namespace

std::optional<CpuidEntry> find_cpuid(std::span<const CpuidEntry> entries, uint32_t function,
                                     uint32_t index) noexcept {
  for (const CpuidEntry& e : entries) {
    if (e.function != function) continue;
    if ((e.flags & kCpuidSignificantIndex) && e.index != index) continue;
    return e;
  }
  return std::nullopt;
}

std::vector<CpuidEntry> patch_cpuid(std::span<const CpuidEntry> supported, const CpuTopology& topology) {
  CpuTopology topo = topology;
  topo.cpu_count = std::clamp<uint32_t>(topo.cpu_count, 1, 255);

  auto leaf0 = find_cpuid(supported, 0);
  uint32_t max_basic = leaf0 ? leaf0->eax : 0;
  auto kvm_features = find_cpuid(supported, kLeafKvmFeatures);

  std::vector<CpuidEntry> out;
  out.reserve(supported.size() + 8);
  for (CpuidEntry entry : supported) {
    switch (entry.function) {
      case kLeafFeatures:
        patch_features(entry, topo);
        break;
      case kLeafCacheParams:
        patch_cache_params(entry, topo);
        break;
      case kLeafExtTopology:
      case kLeafV2ExtTopology:
      case kLeafHypervisorBase:
      case kLeafKvmFeatures:
        continue;  // rebuilt below
      default:
        break;
    }
    out.push_back(entry);
  }
  if (max_basic >= kLeafExtTopology) append_topology_leaf(out, kLeafExtTopology, topo);
  if (max_basic >= kLeafV2ExtTopology) append_topology_leaf(out, kLeafV2ExtTopology, topo);

  out.push_back(CpuidEntry{.function = kLeafHypervisorBase,
                           .eax = kLeafKvmFeatures,
                           .ebx = kKvmSignatureEbx,
                           .ecx = kKvmSignatureEcx,
                           .edx = kKvmSignatureEdx});
  CpuidEntry features = kvm_features.value_or(CpuidEntry{});
  features.function = kLeafKvmFeatures;
  features.index = 0;
  features.flags = 0;
  out.push_back(features);
  return out;
}

}  // namespace keel::kvm

namespace keel::kvm {

// --- feature hiding ----------------------------------------------------------

namespace {

constexpr uint32_t kLeafStructuredFeatures = 7;
constexpr uint32_t kLeafExtFeatures = 0x8000'0001;

constexpr CpuidBits leaf1_ecx(unsigned bit) { return {kLeafFeatures, 0, CpuidRegister::ecx, 1u << bit}; }
constexpr CpuidBits leaf7_ebx(unsigned bit) { return {kLeafStructuredFeatures, 0, CpuidRegister::ebx, 1u << bit}; }

uint32_t& register_of(CpuidEntry& entry, CpuidRegister reg) noexcept {
  switch (reg) {
    case CpuidRegister::eax: return entry.eax;
    case CpuidRegister::ebx: return entry.ebx;
    case CpuidRegister::ecx: return entry.ecx;
    case CpuidRegister::edx: return entry.edx;
  }
  return entry.eax;
}

}  // namespace

const std::vector<CpuFeatureName>& cpu_feature_names() {
  // Bit numbers: Intel SDM vol. 2A, CPUID, tables 3-10 and 3-8 (leaf 7).
  static const std::vector<CpuFeatureName> kNames = {
      {"cx16", "CMPXCHG16B (leaf 1 ECX bit 13)", {leaf1_ecx(13)}},
      {"pcid", "process-context identifiers (leaf 1 ECX bit 17)", {leaf1_ecx(17)}},
      {"x2apic", "x2APIC mode (leaf 1 ECX bit 21)", {leaf1_ecx(21)}},
      {"tsc-deadline", "LAPIC TSC-deadline timer mode (leaf 1 ECX bit 24)", {leaf1_ecx(24)}},
      {"xsave", "XSAVE/XRSTOR (leaf 1 ECX bit 26), with OSXSAVE (27), AVX (28) and AVX2 (leaf 7 EBX bit 5)",
       {leaf1_ecx(26), leaf1_ecx(27), leaf1_ecx(28), leaf7_ebx(5)}},
      {"avx", "AVX (leaf 1 ECX bit 28), with AVX2 (leaf 7 EBX bit 5)", {leaf1_ecx(28), leaf7_ebx(5)}},
      {"rdrand", "RDRAND (leaf 1 ECX bit 30)", {leaf1_ecx(30)}},
      {"avx2", "AVX2 (leaf 7 EBX bit 5)", {leaf7_ebx(5)}},
      {"rdtscp", "RDTSCP (leaf 0x80000001 EDX bit 27)", {{kLeafExtFeatures, 0, CpuidRegister::edx, 1u << 27}}},
  };
  return kNames;
}

std::vector<CpuidBits> parse_cpu_feature_list(std::string_view text) {
  std::vector<CpuidBits> hidden;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string_view entry = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (!entry.starts_with('-') || entry.size() < 2) {
      throw ConfigError(fmt::format("invalid --cpu-features '{}': bad entry '{}' (expected -NAME entries such as "
                                    "-cx16,-tsc-deadline: keel can only hide features)",
                                    text, entry));
    }
    const std::string_view name = entry.substr(1);
    const auto& names = cpu_feature_names();
    const auto known = std::find_if(names.begin(), names.end(), [&](const CpuFeatureName& f) { return name == f.name; });
    if (known == names.end()) {
      std::string all;
      for (const auto& f : names) all += fmt::format("{}{}", all.empty() ? "" : ", ", f.name);
      throw ConfigError(fmt::format("invalid --cpu-features '{}': unknown feature '{}' (known: {})", text, name, all));
    }
    hidden.insert(hidden.end(), known->bits.begin(), known->bits.end());
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return hidden;
}

void hide_cpu_features(std::vector<CpuidEntry>& entries, std::span<const CpuidBits> hidden) noexcept {
  for (CpuidEntry& entry : entries) {
    for (const CpuidBits& bits : hidden) {
      if (entry.function != bits.function) continue;
      if ((entry.flags & kCpuidSignificantIndex) != 0 && entry.index != bits.index) continue;
      register_of(entry, bits.reg) &= ~bits.mask;
    }
  }
}

}  // namespace keel::kvm
