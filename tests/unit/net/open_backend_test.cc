#include "src/net/open_backend.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "src/net/pcap_recorder.h"
#include "src/net/tap_backend.h"
#include "tests/support/fake_interrupts.h"
#include "tests/support/fakes.h"

namespace keel::net {
namespace {

// A tap spec with pcap= gives a recorder around the tap: a frame sent
// through it reaches the tap and the file. Runs in a fresh network
// namespace (see tap_backend_test.cc); needs root.
TEST(OpenBackend, TapWithPcapIsRecorded) {
  if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "needs root and /dev/net/tun to create a tap";
  }
  char pattern[] = "/tmp/keel-open-backend-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = pattern;
  std::string skip;
  std::thread thread([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      skip = std::string("unshare(CLONE_NEWNET): ") + strerror(errno);
      return;
    }
    NetSpec spec = parse_net_spec("tap=keelob0,pcap=" + (dir / "t.pcap").string());
    testing::FakeFdPoller poller;
    testing::FakeClock timers;
    std::unique_ptr<NetBackend> backend = open_backend(spec, poller, timers);
    auto* recorder = dynamic_cast<PcapRecorder*>(backend.get());
    ASSERT_NE(recorder, nullptr);
    EXPECT_TRUE(backend->capabilities().tx.tso4) << "the tap's capabilities show through";
    std::vector<uint8_t> frame(kVnetHeaderSize + 60, 0);
    std::memset(frame.data() + kVnetHeaderSize, 0xff, 6);
    const iovec whole{frame.data(), frame.size()};
    ASSERT_EQ(backend->send({&whole, 1}).value(), SendStatus::sent);
    EXPECT_EQ(recorder->frames_recorded(), 1u);
    EXPECT_EQ(std::filesystem::file_size(dir / "t.pcap"), 24u + 16 + 60);
  });
  thread.join();
  std::filesystem::remove_all(dir);
  if (!skip.empty()) GTEST_SKIP() << skip;
}

TEST(OpenBackend, PlainTapIsNotWrapped) {
  if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "needs root and /dev/net/tun to create a tap";
  }
  std::string skip;
  std::thread thread([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      skip = std::string("unshare(CLONE_NEWNET): ") + strerror(errno);
      return;
    }
    testing::FakeFdPoller poller;
    testing::FakeClock timers;
    std::unique_ptr<NetBackend> backend = open_backend(parse_net_spec("tap=keelob1"), poller, timers);
    EXPECT_NE(dynamic_cast<TapBackend*>(backend.get()), nullptr);
  });
  thread.join();
  if (!skip.empty()) GTEST_SKIP() << skip;
}

}  // namespace
}  // namespace keel::net
