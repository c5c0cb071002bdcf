#include "src/kvm/cpuid.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

namespace keel::kvm {
namespace {

constexpr uint32_t kSig = kCpuidSignificantIndex;

// A small supported list shaped like KVM's: max basic leaf 0x1F, host
// topology in 0xB/0x1F that must not leak through, two caches in leaf 4.
std::vector<CpuidEntry> synthetic_supported() {
  return {
      {.function = 0, .eax = 0x1F, .ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69},
      {.function = 1, .eax = 0x000906EA, .ebx = 0x12'34'08'00, .ecx = 0x7FFAFBFF, .edx = 0xBFEBFBFF},
      {.function = 4, .index = 0, .flags = kSig, .eax = 0x1C004121},  // L1d, type 1, level 1
      {.function = 4, .index = 1, .flags = kSig, .eax = 0x1C004143},  // L2, level 2 (0x43: type 3 level 2)
      {.function = 4, .index = 2, .flags = kSig, .eax = 0x1C03C163},  // L3, level 3
      {.function = 4, .index = 3, .flags = kSig, .eax = 0},           // end
      {.function = 0xB, .index = 0, .flags = kSig, .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 7},
      {.function = 0xB, .index = 1, .flags = kSig, .eax = 4, .ebx = 8, .ecx = 0x201, .edx = 7},
      {.function = 0x1F, .index = 0, .flags = kSig, .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 7},
      {.function = 0x4000'0000, .eax = 0x4000'0001, .ebx = 0x4b4d564b, .ecx = 0x564b4d56, .edx = 0x4d},
      {.function = 0x4000'0001, .eax = 0x01007AFB},
      {.function = 0x8000'0000, .eax = 0x8000'0008},
  };
}

CpuidEntry get(const std::vector<CpuidEntry>& entries, uint32_t function, uint32_t index = 0) {
  auto found = find_cpuid(entries, function, index);
  EXPECT_TRUE(found) << std::hex << function << "/" << index;
  return found.value_or(CpuidEntry{});
}

TEST(Cpuid, Leaf1CarriesApicIdLogicalCountHttAndHypervisorBit) {
  auto out = patch_cpuid(synthetic_supported(), {.apic_id = 5, .cpu_count = 8});
  CpuidEntry leaf1 = get(out, 1);
  EXPECT_EQ(leaf1.ebx >> 24, 5u);
  EXPECT_EQ((leaf1.ebx >> 16) & 0xff, 8u);
  EXPECT_EQ(leaf1.ebx & 0xffff, 0x0800u) << "CLFLUSH size and brand index are kept";
  EXPECT_TRUE(leaf1.edx & (1u << 28)) << "HTT with more than one logical CPU";
  EXPECT_TRUE(leaf1.ecx & (1u << 31)) << "hypervisor bit";
  EXPECT_EQ(leaf1.eax, 0x000906EAu);
}

TEST(Cpuid, SingleCpuClearsHtt) {
  auto out = patch_cpuid(synthetic_supported(), {.apic_id = 0, .cpu_count = 1});
  CpuidEntry leaf1 = get(out, 1);
  EXPECT_FALSE(leaf1.edx & (1u << 28));
  EXPECT_EQ((leaf1.ebx >> 16) & 0xff, 1u);
  EXPECT_EQ(leaf1.ebx >> 24, 0u);
}

TEST(Cpuid, Leaf4CoresPerPackageAndSharing) {
  auto out = patch_cpuid(synthetic_supported(), {.apic_id = 2, .cpu_count = 4});
  for (uint32_t sub = 0; sub < 3; ++sub) {
    CpuidEntry leaf4 = get(out, 4, sub);
    EXPECT_EQ(leaf4.eax >> 26, 3u) << "subleaf " << sub;
    uint32_t sharing = ((leaf4.eax >> 14) & 0xfff) + 1;
    EXPECT_EQ(sharing, sub < 2 ? 1u : 4u) << "subleaf " << sub;
    EXPECT_EQ(leaf4.eax & 0x3fff, synthetic_supported()[2 + sub].eax & 0x3fff) << "cache type/level kept";
  }
  EXPECT_EQ(get(out, 4, 3).eax, 0u) << "the terminating subleaf stays zero";
}

TEST(Cpuid, Leaf0BDescribesOneThreadPerCoreAndNCores) {
  auto out = patch_cpuid(synthetic_supported(), {.apic_id = 6, .cpu_count = 6});
  CpuidEntry smt = get(out, 0xB, 0);
  EXPECT_EQ(smt.eax & 0x1f, 0u);
  EXPECT_EQ(smt.ebx & 0xffff, 1u);
  EXPECT_EQ((smt.ecx >> 8) & 0xff, 1u);
  EXPECT_EQ(smt.ecx & 0xff, 0u);
  EXPECT_EQ(smt.edx, 6u);
  CpuidEntry core = get(out, 0xB, 1);
  EXPECT_EQ(core.eax & 0x1f, 3u) << "6 cores need 3 ID bits";
  EXPECT_EQ(core.ebx & 0xffff, 6u);
  EXPECT_EQ((core.ecx >> 8) & 0xff, 2u);
  EXPECT_EQ(core.ecx & 0xff, 1u);
  EXPECT_EQ(core.edx, 6u);
  CpuidEntry end = get(out, 0xB, 2);
  EXPECT_EQ((end.ecx >> 8) & 0xff, 0u);
  EXPECT_EQ(end.ecx & 0xff, 2u);
  EXPECT_EQ(end.edx, 6u);
  // Host topology entries are replaced, not duplicated.
  EXPECT_EQ(std::count_if(out.begin(), out.end(), [](const CpuidEntry& e) { return e.function == 0xB; }), 3);
  EXPECT_EQ(std::count_if(out.begin(), out.end(), [](const CpuidEntry& e) { return e.function == 0x1F; }), 3);
  EXPECT_EQ(get(out, 0x1F, 1).ebx & 0xffff, 6u);
  for (const CpuidEntry& e : out) {
    if (e.function == 0xB || e.function == 0x1F) {
      EXPECT_EQ(e.flags, kSig);
    }
  }
}

TEST(Cpuid, CoreIdBitsArePowerOfTwoCeiling) {
  struct Case {
    uint32_t count, bits;
  };
  for (Case c : {Case{1, 0}, Case{2, 1}, Case{3, 2}, Case{4, 2}, Case{5, 3}, Case{64, 6}}) {
    auto out = patch_cpuid(synthetic_supported(), {.apic_id = 0, .cpu_count = c.count});
    EXPECT_EQ(get(out, 0xB, 1).eax & 0x1f, c.bits) << c.count;
  }
}

TEST(Cpuid, TopologyLeavesOnlyWhenLeaf0ReachesThem) {
  auto supported = synthetic_supported();
  supported[0].eax = 0xD;  // max basic leaf below 0x1F
  auto out = patch_cpuid(supported, {.apic_id = 1, .cpu_count = 2});
  EXPECT_TRUE(find_cpuid(out, 0xB, 1));
  EXPECT_FALSE(find_cpuid(out, 0x1F, 0));
  supported[0].eax = 0x7;
  out = patch_cpuid(supported, {.apic_id = 1, .cpu_count = 2});
  EXPECT_FALSE(find_cpuid(out, 0xB, 0));
}

TEST(Cpuid, KvmSignatureLeaf) {
  auto supported = synthetic_supported();
  // Drop KVM's own hypervisor leaves: keel must still present them.
  std::erase_if(supported, [](const CpuidEntry& e) { return e.function >= 0x4000'0000 && e.function < 0x5000'0000; });
  auto out = patch_cpuid(supported, {.apic_id = 0, .cpu_count = 1});
  CpuidEntry base = get(out, 0x4000'0000);
  char signature[13] = {};
  std::memcpy(signature, &base.ebx, 4);
  std::memcpy(signature + 4, &base.ecx, 4);
  std::memcpy(signature + 8, &base.edx, 4);
  EXPECT_STREQ(signature, "KVMKVMKVM");
  EXPECT_EQ(std::memcmp(signature + 9, "\0\0\0", 3), 0);
  EXPECT_EQ(base.eax, 0x4000'0001u);
  EXPECT_EQ(get(out, 0x4000'0001).eax, 0u);
}

TEST(Cpuid, KvmFeaturesKeptAsSupported) {
  auto out = patch_cpuid(synthetic_supported(), {.apic_id = 0, .cpu_count = 2});
  EXPECT_EQ(get(out, 0x4000'0001).eax, 0x01007AFBu);
  EXPECT_EQ(std::count_if(out.begin(), out.end(), [](const CpuidEntry& e) { return e.function == 0x4000'0000; }), 1);
}

TEST(Cpuid, OtherLeavesUntouched) {
  auto out = patch_cpuid(synthetic_supported(), {.apic_id = 3, .cpu_count = 4});
  EXPECT_EQ(get(out, 0), synthetic_supported()[0]);
  EXPECT_EQ(get(out, 0x8000'0000), synthetic_supported().back());
}

TEST(Cpuid, HostileCountsAreClamped) {
  auto out = patch_cpuid(synthetic_supported(), {.apic_id = 0, .cpu_count = 0});
  EXPECT_EQ((get(out, 1).ebx >> 16) & 0xff, 1u);
  out = patch_cpuid(synthetic_supported(), {.apic_id = 0, .cpu_count = 1000});
  EXPECT_EQ((get(out, 1).ebx >> 16) & 0xff, 255u);
}

TEST(Cpuid, FindHonoursSignificantIndex) {
  std::vector<CpuidEntry> entries = {{.function = 7, .index = 0, .flags = kSig, .ebx = 1},
                                     {.function = 7, .index = 1, .flags = kSig, .ebx = 2},
                                     {.function = 2, .index = 0, .flags = 0, .ebx = 3}};
  EXPECT_EQ(find_cpuid(entries, 7, 1)->ebx, 2u);
  EXPECT_EQ(find_cpuid(entries, 2, 5)->ebx, 3u) << "index ignored without the flag";
  EXPECT_FALSE(find_cpuid(entries, 7, 2));
}

}  // namespace
}  // namespace keel::kvm
