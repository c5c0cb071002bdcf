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
