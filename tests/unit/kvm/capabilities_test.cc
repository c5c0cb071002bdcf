#include "src/kvm/capabilities.h"

#include <gtest/gtest.h>

#include "src/kvm/linux_kvm.h"

#include <set>

#include "src/kvm/boot_msrs.h"
#include "src/kvm/host_error.h"
#include "src/kvm/pvm.h"

namespace keel::kvm {
namespace {

TEST(Capabilities, RequiredListNamesEachCapability) {
  std::set<int> ids;
  for (const Capability& cap : required_capabilities()) ids.insert(cap.id);
  for (int id : {KVM_CAP_IRQCHIP, KVM_CAP_USER_MEMORY, KVM_CAP_IRQ_ROUTING, KVM_CAP_PIT2, KVM_CAP_IRQFD,
                 KVM_CAP_IOEVENTFD, KVM_CAP_EXT_CPUID, KVM_CAP_SET_TSS_ADDR, KVM_CAP_IMMEDIATE_EXIT}) {
    EXPECT_TRUE(ids.count(id)) << id;
  }
}

TEST(Capabilities, MissingOnesAreNamed) {
  auto missing = missing_capabilities(required_capabilities(),
                                      [](int id) { return id != KVM_CAP_PIT2 && id != KVM_CAP_IRQFD; });
  ASSERT_EQ(missing.size(), 2u);
  std::string text = describe_missing(missing);
  EXPECT_NE(text.find("KVM_CAP_PIT2"), std::string::npos) << text;
  EXPECT_NE(text.find("KVM_CAP_IRQFD"), std::string::npos) << text;
  EXPECT_EQ(text.find('\n'), std::string::npos) << "one line";
}

TEST(Capabilities, NothingMissing) {
  EXPECT_TRUE(missing_capabilities(required_capabilities(), [](int) { return true; }).empty());
  EXPECT_EQ(describe_missing({}), "");
}

TEST(HostError, MessageCarriesIoctlNameAndStrerror) {
  try {
    throw_host_error("KVM_CREATE_VM", EBUSY);
    FAIL();
  } catch (const HostError& error) {
    EXPECT_STREQ(error.what(), "KVM_CREATE_VM: Device or resource busy");
  }
}

TEST(BootMsrs, AmdHwcrTscFreqSelOnlyWhenAsked) {
  auto has_hwcr = [](const std::vector<MsrValue>& msrs) {
    for (const MsrValue& m : msrs) {
      if (m.index == 0xC0010015) return m.value == (1ull << 24);
    }
    return false;
  };
  EXPECT_TRUE(has_hwcr(boot_msrs(true)));
  EXPECT_FALSE(has_hwcr(boot_msrs(false)));
}

TEST(BootMsrs, TscFreqSelExpectedOnAmdFamily11hAndLater) {
  const CpuidEntry amd{.function = 0, .index = 0, .flags = 0, .eax = 0x10, .ebx = 0x68747541, .ecx = 0x444D4163,
                       .edx = 0x69746E65};
  const CpuidEntry intel{.function = 0, .index = 0, .flags = 0, .eax = 0x1F, .ebx = 0x756E6547, .ecx = 0x6C65746E,
                         .edx = 0x49656E69};
  auto signature = [](uint32_t family, uint32_t extended) {
    return CpuidEntry{.function = 1, .index = 0, .flags = 0, .eax = (extended << 20) | (family << 8), .ebx = 0,
                      .ecx = 0, .edx = 0};
  };
  const CpuidEntry zen3 = signature(0xF, 0xA);  // family 19h
  const CpuidEntry k8 = signature(0xF, 0x0);    // family 0Fh (QEMU's qemu64)
  const CpuidEntry fam10 = signature(0xF, 0x1);
  EXPECT_TRUE(amd_tsc_freq_sel_expected(std::vector{amd, zen3}));
  EXPECT_FALSE(amd_tsc_freq_sel_expected(std::vector{amd, k8}));
  EXPECT_FALSE(amd_tsc_freq_sel_expected(std::vector{amd, fam10}));
  EXPECT_FALSE(amd_tsc_freq_sel_expected(std::vector{intel, zen3}));
  EXPECT_FALSE(amd_tsc_freq_sel_expected(std::vector{zen3}));
}

TEST(BootMsrs, FastStringsAndWriteBackDefault) {
  bool misc = false, mtrr = false;
  for (const MsrValue& m : boot_msrs()) {
    if (m.index == 0x1A0) misc = (m.value & 1) == 1;
    if (m.index == 0x2FF) mtrr = m.value == 0x806;
    if (m.index == 0x10 || m.index == 0xC0000102) {
      EXPECT_EQ(m.value, 0u);
    }
  }
  EXPECT_TRUE(misc);
  EXPECT_TRUE(mtrr);
}

TEST(Pvm, ExplanationsSayWhatTheEmulatorCannotDo) {
  EXPECT_NE(pvm_explanation(PvmFailure::shutdown).find("32-bit paging"), std::string::npos);
  EXPECT_NE(pvm_explanation(PvmFailure::internal_error).find("emulat"), std::string::npos);
  for (auto failure : {PvmFailure::shutdown, PvmFailure::internal_error, PvmFailure::fail_entry}) {
    EXPECT_NE(pvm_explanation(failure).find("PVM"), std::string::npos);
  }
}

}  // namespace
}  // namespace keel::kvm
