#include "src/vmm/exit_dispatch.h"

#include <gtest/gtest.h>

#include <array>
#include <mutex>
#include <vector>

#include "src/vmm/exit_status.h"

namespace keel::vmm {
namespace {

namespace ex = kvm::exit;

// Records accesses; reads return offset-derived bytes.
class RecordingDevice final : public BusDevice {
 public:
  struct Access {
    uint64_t offset;
    bool write;
    std::vector<std::byte> data;
  };
  void read(uint64_t offset, std::span<std::byte> data) noexcept override {
    for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte(0xA0 + reads_ * 0x10 + i);
    ++reads_;
    accesses.push_back({offset, false, {data.begin(), data.end()}});
  }
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override {
    accesses.push_back({offset, true, {data.begin(), data.end()}});
  }
  std::vector<Access> accesses;

 private:
  int reads_ = 0;
};

struct Buses {
  Bus pio{"pio"};
  Bus mmio{"mmio"};
  std::shared_ptr<RecordingDevice> port = std::make_shared<RecordingDevice>();
  std::shared_ptr<RecordingDevice> mem = std::make_shared<RecordingDevice>();
  Buses() {
    EXPECT_TRUE(pio.insert(0x3f8, 8, port));
    EXPECT_TRUE(mmio.insert(0xd000'0000, 0x1000, mem));
  }
};

TEST(ExitDispatch, OutGoesToThePioBus) {
  Buses b;
  std::array<std::byte, 1> data{std::byte{'h'}};
  auto stop = handle_exit(ex::Io{.port = 0x3f9, .size = 1, .is_write = true, .count = 1, .data = data}, b.pio, b.mmio);
  EXPECT_FALSE(stop);
  ASSERT_EQ(b.port->accesses.size(), 1u);
  EXPECT_EQ(b.port->accesses[0].offset, 1u);
  EXPECT_TRUE(b.port->accesses[0].write);
  EXPECT_EQ(b.port->accesses[0].data[0], std::byte{'h'});
}

TEST(ExitDispatch, RepOutsIsOneAccessPerElement) {
  Buses b;
  std::array<std::byte, 6> data{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}, std::byte{5}, std::byte{6}};
  EXPECT_FALSE(handle_exit(ex::Io{.port = 0x3f8, .size = 2, .is_write = true, .count = 3, .data = data}, b.pio, b.mmio));
  ASSERT_EQ(b.port->accesses.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(b.port->accesses[i].offset, 0u);
    ASSERT_EQ(b.port->accesses[i].data.size(), 2u);
    EXPECT_EQ(b.port->accesses[i].data[0], std::byte(1 + 2 * i));
  }
}

TEST(ExitDispatch, RepInsFillsEachElement) {
  Buses b;
  std::array<std::byte, 3> data{};
  EXPECT_FALSE(handle_exit(ex::Io{.port = 0x3f8, .size = 1, .is_write = false, .count = 3, .data = data}, b.pio, b.mmio));
  EXPECT_EQ(data[0], std::byte{0xA0});
  EXPECT_EQ(data[1], std::byte{0xB0});
  EXPECT_EQ(data[2], std::byte{0xC0});
}

TEST(ExitDispatch, UnclaimedInReadsAllOnes) {
  Buses b;
  std::array<std::byte, 4> data{};
  EXPECT_FALSE(handle_exit(ex::Io{.port = 0x1234, .size = 4, .is_write = false, .count = 1, .data = data}, b.pio, b.mmio));
  for (std::byte x : data) EXPECT_EQ(x, std::byte{0xff});
}

TEST(ExitDispatch, MmioReadAndWrite) {
  Buses b;
  std::array<std::byte, 4> data{std::byte{9}, std::byte{8}, std::byte{7}, std::byte{6}};
  EXPECT_FALSE(handle_exit(ex::Mmio{.address = 0xd000'0010, .is_write = true, .data = data}, b.pio, b.mmio));
  EXPECT_FALSE(handle_exit(ex::Mmio{.address = 0xd000'0020, .is_write = false, .data = data}, b.pio, b.mmio));
  ASSERT_EQ(b.mem->accesses.size(), 2u);
  EXPECT_EQ(b.mem->accesses[0].offset, 0x10u);
  EXPECT_EQ(b.mem->accesses[0].data[3], std::byte{6});
  EXPECT_EQ(b.mem->accesses[1].offset, 0x20u);
  EXPECT_EQ(data[0], std::byte{0xA0});
}

TEST(ExitDispatch, ResumableExits) {
  Buses b;
  EXPECT_FALSE(handle_exit(ex::Hlt{}, b.pio, b.mmio));
  EXPECT_FALSE(handle_exit(ex::Interrupted{}, b.pio, b.mmio));
}

TEST(ExitDispatch, TripleFaultIsAGuestReset) {
  Buses b;
  auto stop = handle_exit(ex::Shutdown{}, b.pio, b.mmio);
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->reason, StopReason::guest_reset);
  EXPECT_EQ(stop->exit_status, 0);
  EXPECT_FALSE(stop->is_error);
  EXPECT_TRUE(stop->is_warning);
  EXPECT_EQ(stop->message, "guest reset (triple fault)");
  EXPECT_EQ(stop->pvm_hint, kvm::PvmFailure::shutdown);
}

TEST(ExitDispatch, SystemEvents) {
  Buses b;
  auto off = handle_exit(ex::SystemEvent{1}, b.pio, b.mmio);
  ASSERT_TRUE(off);
  EXPECT_EQ(off->reason, StopReason::guest_poweroff);
  EXPECT_EQ(off->exit_status, 0);
  auto reset = handle_exit(ex::SystemEvent{2}, b.pio, b.mmio);
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->reason, StopReason::guest_reset);
  auto crash = handle_exit(ex::SystemEvent{3}, b.pio, b.mmio);
  ASSERT_TRUE(crash);
  EXPECT_EQ(crash->reason, StopReason::error);
  auto odd = handle_exit(ex::SystemEvent{99}, b.pio, b.mmio);
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->exit_status, kExitVmFailed);
}

TEST(ExitDispatch, InternalErrorStopsWithDumpAndPvmHint) {
  Buses b;
  ex::InternalError error{.suberror = 1, .ndata = 2, .data = {0x10, 0x20}};
  auto stop = handle_exit(error, b.pio, b.mmio);
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->reason, StopReason::error);
  EXPECT_EQ(stop->exit_status, kExitVmFailed);
  EXPECT_TRUE(stop->is_error);
  EXPECT_TRUE(stop->dump_registers);
  EXPECT_EQ(stop->pvm_hint, kvm::PvmFailure::internal_error);
  EXPECT_NE(stop->message.find("emulation failure"), std::string::npos) << stop->message;
  EXPECT_NE(stop->message.find("0x20"), std::string::npos) << stop->message;
  EXPECT_EQ(stop->message.find('\n'), std::string::npos);
}

TEST(ExitDispatch, FailEntryRunFailedAndUnknownAreErrors) {
  Buses b;
  for (kvm::VcpuExit e : {kvm::VcpuExit{ex::FailEntry{.reason = 0x21, .cpu = 0}}, kvm::VcpuExit{ex::RunFailed{EFAULT}},
                          kvm::VcpuExit{ex::Unknown{42}}}) {
    auto stop = handle_exit(e, b.pio, b.mmio);
    ASSERT_TRUE(stop);
    EXPECT_EQ(stop->reason, StopReason::error);
    EXPECT_EQ(stop->exit_status, kExitVmFailed);
    EXPECT_FALSE(stop->message.empty());
  }
  auto run_failed = handle_exit(ex::RunFailed{EFAULT}, b.pio, b.mmio);
  EXPECT_EQ(run_failed->message, "KVM_RUN: Bad address");
}

}  // namespace
}  // namespace keel::vmm
