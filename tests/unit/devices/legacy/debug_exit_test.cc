#include "devices/legacy/debug_exit.h"

#include <gtest/gtest.h>

#include <array>

#include "tests/support/fakes.h"

namespace keel::devices {
namespace {

using testing::FakeVmControl;

TEST(DebugExit, ByteWriteStopsWithThatStatus) {
  FakeVmControl vm;
  DebugExit port(vm);
  port.write(0, std::array<std::byte, 1>{std::byte{42}});
  ASSERT_TRUE(vm.stop());
  EXPECT_EQ(vm.stop()->reason, StopReason::debug_exit);
  EXPECT_EQ(vm.stop()->exit_status, 42);
}

TEST(DebugExit, ZeroMeansSuccess) {
  FakeVmControl vm;
  DebugExit port(vm);
  port.write(0, std::array<std::byte, 1>{std::byte{0}});
  ASSERT_TRUE(vm.stop());
  EXPECT_EQ(vm.stop()->exit_status, 0);
}

TEST(DebugExit, WordWriteUsesTheLowByte) {
  FakeVmControl vm;
  DebugExit port(vm);
  port.write(0, std::array<std::byte, 2>{std::byte{0x34}, std::byte{0x12}});
  ASSERT_TRUE(vm.stop());
  EXPECT_EQ(vm.stop()->exit_status, 0x34);
}

TEST(DebugExit, WriteToTheSecondPortAlsoExitsAsInQemu) {
  FakeVmControl vm;
  DebugExit port(vm);
  port.write(1, std::array<std::byte, 1>{std::byte{0xff}});
  ASSERT_TRUE(vm.stop());
  EXPECT_EQ(vm.stop()->reason, StopReason::debug_exit);
  EXPECT_EQ(vm.stop()->exit_status, 255);
}

TEST(DebugExit, ReadsReturnZeroAndDoNotStop) {
  FakeVmControl vm;
  DebugExit port(vm);
  std::array<std::byte, 2> data{std::byte{0xaa}, std::byte{0xbb}};
  port.read(0, data);
  EXPECT_EQ(data[0], std::byte{0});
  EXPECT_EQ(data[1], std::byte{0});
  EXPECT_FALSE(vm.stop());
}

TEST(DebugExit, EmptyWriteIsIgnored) {
  FakeVmControl vm;
  DebugExit port(vm);
  port.write(0, {});
  EXPECT_FALSE(vm.stop());
}

}  // namespace
}  // namespace keel::devices
