// --cpu-features: parsing the -NAME list and clearing the CPUID bits.
#include <gtest/gtest.h>

#include "keel/config_error.h"
#include "src/kvm/cpuid.h"

namespace keel::kvm {
namespace {

std::vector<CpuidEntry> sample() {
  return {
      {.function = 0, .eax = 0xD},
      {.function = 1, .eax = 0x000906EA, .ebx = 0, .ecx = 0xFFFFFFFF, .edx = 0xFFFFFFFF},
      {.function = 7, .index = 0, .flags = kCpuidSignificantIndex, .ebx = 0xFFFFFFFF, .ecx = 0xFFFFFFFF},
      {.function = 7, .index = 1, .flags = kCpuidSignificantIndex, .ebx = 0xFFFFFFFF},
      {.function = 0x8000'0001, .ecx = 0xFFFFFFFF, .edx = 0xFFFFFFFF},
  };
}

std::vector<CpuidEntry> hide(std::string_view list) {
  std::vector<CpuidEntry> entries = sample();
  hide_cpu_features(entries, parse_cpu_feature_list(list));
  return entries;
}

TEST(CpuFeatures, Cx16AndTscDeadlineClearOnlyTheirLeaf1EcxBits) {
  const auto entries = hide("-cx16,-tsc-deadline");
  EXPECT_EQ(entries[1].ecx, 0xFFFFFFFFu & ~(1u << 13) & ~(1u << 24));
  EXPECT_EQ(entries[1].edx, 0xFFFFFFFFu);
  EXPECT_EQ(entries[1].eax, 0x000906EAu);
  EXPECT_EQ(entries[2].ebx, 0xFFFFFFFFu);  // leaf 7 untouched
  EXPECT_EQ(entries[4].ecx, 0xFFFFFFFFu);
}

TEST(CpuFeatures, XsaveAlsoHidesOsxsaveAvxAndAvx2) {
  const auto entries = hide("-xsave");
  EXPECT_EQ(entries[1].ecx, 0xFFFFFFFFu & ~((1u << 26) | (1u << 27) | (1u << 28)));
  EXPECT_EQ(entries[2].ebx, 0xFFFFFFFFu & ~(1u << 5));
  EXPECT_EQ(entries[3].ebx, 0xFFFFFFFFu);  // subleaf 1 is not subleaf 0
}

TEST(CpuFeatures, SingleBitFeatures) {
  EXPECT_EQ(hide("-x2apic")[1].ecx, ~(1u << 21));
  EXPECT_EQ(hide("-pcid")[1].ecx, ~(1u << 17));
  EXPECT_EQ(hide("-rdrand")[1].ecx, ~(1u << 30));
  EXPECT_EQ(hide("-avx2")[2].ebx, ~(1u << 5));
  EXPECT_EQ(hide("-avx2")[1].ecx, 0xFFFFFFFFu);
  EXPECT_EQ(hide("-avx")[1].ecx, ~(1u << 28));
  EXPECT_EQ(hide("-avx")[2].ebx, ~(1u << 5));
  EXPECT_EQ(hide("-rdtscp")[4].edx, ~(1u << 27));
}

TEST(CpuFeatures, RepeatedNamesAreHarmless) {
  EXPECT_EQ(hide("-cx16,-cx16")[1].ecx, ~(1u << 13));
}

TEST(CpuFeatures, LeavesWithoutTheFeatureLeafAreUntouched) {
  std::vector<CpuidEntry> entries = {{.function = 0, .eax = 0}};
  hide_cpu_features(entries, parse_cpu_feature_list("-cx16,-avx2"));
  EXPECT_EQ(entries[0], (CpuidEntry{.function = 0, .eax = 0}));
}

TEST(CpuFeatures, BadListsAreOneLineConfigErrors) {
  for (const char* bad : {"", "cx16", "+cx16", "-", "-cx16,", ",-cx16", "-cx16,,-pcid", "-CX16", "-nosuch",
                          "-cx16 ", "-cx16\n"}) {
    try {
      parse_cpu_feature_list(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      EXPECT_TRUE(what.starts_with("invalid --cpu-features")) << what;
    }
  }
}

TEST(CpuFeatures, UnknownNameListsTheKnownOnes) {
  try {
    parse_cpu_feature_list("-cx16,-sse9");
    FAIL();
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("unknown feature 'sse9'"), std::string::npos) << what;
    EXPECT_NE(what.find("tsc-deadline"), std::string::npos) << what;
  }
}

TEST(CpuFeatures, EveryTableEntryHidesSomething) {
  for (const CpuFeatureName& feature : cpu_feature_names()) {
    EXPECT_FALSE(parse_cpu_feature_list(std::string("-") + feature.name).empty()) << feature.name;
  }
}

}  // namespace
}  // namespace keel::kvm
