// TapBackend against the real kernel: each test runs on a thread that moved
// into a fresh network namespace (unshare(CLONE_NEWNET) affects only the
// calling thread), so taps, names and traffic never touch the host's.
// Needs root and /dev/net/tun; skipped with the reason otherwise.
#include "src/net/tap_backend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <fstream>
#include <functional>
#include <thread>
#include <vector>

#include "keel/config_error.h"
#include "tests/support/fake_interrupts.h"

namespace keel::net {
namespace {

constexpr uint16_t kTestEtherType = 0x88b5;  // IEEE "local experimental"

// Runs `body` on a thread inside a new network namespace. Returns an empty
// string, or why it could not (then the caller skips).
std::string in_fresh_netns(const std::function<void()>& body) {
  if (geteuid() != 0) return "needs root (CAP_NET_ADMIN) to create taps and network namespaces";
  if (access("/dev/net/tun", R_OK | W_OK) != 0) return "/dev/net/tun is not available";
  std::string why;
  std::thread thread([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      why = std::string("unshare(CLONE_NEWNET) failed: ") + strerror(errno);
      return;
    }
    // Quiet links: no IPv6 autoconfiguration chatter on the taps.
    std::ofstream("/proc/sys/net/ipv6/conf/default/disable_ipv6") << "1";
    std::ofstream("/proc/sys/net/ipv6/conf/all/disable_ipv6") << "1";
    body();
  });
  thread.join();
  return why;
}

#define RUN_IN_FRESH_NETNS(...)                                    \
  do {                                                             \
    const std::string why_not = in_fresh_netns(__VA_ARGS__);       \
    if (!why_not.empty()) GTEST_SKIP() << why_not;                 \
  } while (0)

std::string config_error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << "no ConfigError";
  return {};
}

// Makes a persistent tap (or tun) the way `ip tuntap add` does.
void make_persistent(const char* name, short type, bool persistent) {
  const int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ifreq request{};
  std::strncpy(request.ifr_name, name, IFNAMSIZ - 1);
  request.ifr_flags = static_cast<short>(type | IFF_NO_PI | IFF_VNET_HDR);
  ASSERT_EQ(ioctl(fd, TUNSETIFF, &request), 0) << strerror(errno);
  ASSERT_EQ(ioctl(fd, TUNSETPERSIST, persistent ? 1 : 0), 0) << strerror(errno);
  close(fd);
}

struct CountingListener final : NetBackendListener {
  void frames_waiting() noexcept override { ++waiting; }
  void send_possible() noexcept override { ++possible; }
  int waiting = 0;
  int possible = 0;
};

// A raw socket on the tap's host side: what it sends, the tap's fd reads,
// and it sees what the tap's fd writes.
class HostSide {
 public:
  explicit HostSide(const std::string& tap) {
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    EXPECT_GE(fd_, 0) << strerror(errno);
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = static_cast<int>(if_nametoindex(tap.c_str()));
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0) << strerror(errno);
    timeval timeout{.tv_sec = 2, .tv_usec = 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~HostSide() { close(fd_); }
  void send(const std::vector<uint8_t>& frame) {
    EXPECT_EQ(::send(fd_, frame.data(), frame.size(), 0), static_cast<ssize_t>(frame.size())) << strerror(errno);
  }
  // The next frame of our test EtherType (others are skipped); empty on timeout.
  std::vector<uint8_t> receive_test_frame() {
    for (int tries = 0; tries < 100; ++tries) {
      std::vector<uint8_t> frame(2048);
      const ssize_t got = recv(fd_, frame.data(), frame.size(), 0);
      if (got < 0) return {};
      frame.resize(static_cast<size_t>(got));
      if (frame.size() >= 14 && (frame[12] << 8 | frame[13]) == kTestEtherType) return frame;
    }
    return {};
  }

 private:
  int fd_ = -1;
};

std::vector<uint8_t> test_frame(size_t length, uint8_t seed) {
  std::vector<uint8_t> frame{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x6b, 0x65, 0x65, 0x00, 0x01,
                             kTestEtherType >> 8, kTestEtherType & 0xff};
  while (frame.size() < length) frame.push_back(static_cast<uint8_t>(seed + frame.size()));
  return frame;
}

// Receives from the backend until a frame of our EtherType comes (waiting
// for the fd); returns vnet header + frame, or empty.
std::vector<uint8_t> receive_test_frame(TapBackend& tap) {
  for (int tries = 0; tries < 100; ++tries) {
    pollfd ready{.fd = tap.fd(), .events = POLLIN, .revents = 0};
    if (poll(&ready, 1, 2000) != 1) return {};
    std::vector<uint8_t> buffer(kVnetHeaderSize + kMaxFrameSize);
    const iovec whole{buffer.data(), buffer.size()};
    Result<size_t> got = tap.receive({&whole, 1});
    if (!got) return {};
    if (*got == 0) continue;
    buffer.resize(*got);
    if (buffer.size() >= kVnetHeaderSize + 14 &&
        (buffer[kVnetHeaderSize + 12] << 8 | buffer[kVnetHeaderSize + 13]) == kTestEtherType) {
      return buffer;
    }
  }
  return {};
}

TEST(TapBackend, CreatesATapThatVanishesWithIt) {
  RUN_IN_FRESH_NETNS([] {
    testing::FakeFdPoller poller;
    {
      auto tap = TapBackend::open("keeltest0", poller);
      EXPECT_TRUE(tap->created());
      EXPECT_EQ(tap->name(), "keeltest0");
      EXPECT_NE(if_nametoindex("keeltest0"), 0u);
      ifreq request{};
      std::strcpy(request.ifr_name, "keeltest0");
      const int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      ASSERT_EQ(ioctl(sock, SIOCGIFFLAGS, &request), 0);
      close(sock);
      EXPECT_NE(request.ifr_flags & IFF_UP, 0) << "a tap keel creates is brought up";
      EXPECT_TRUE(poller.watching(tap->fd()));
      EXPECT_EQ(poller.events(tap->fd()), 0u) << "nothing watched before attach()";
    }
    EXPECT_EQ(if_nametoindex("keeltest0"), 0u);
    EXPECT_EQ(poller.size(), 0u);
  });
}

TEST(TapBackend, AttachesToAPersistentTapAndLeavesIt) {
  RUN_IN_FRESH_NETNS([] {
    make_persistent("keelpers0", IFF_TAP, true);
    testing::FakeFdPoller poller;
    {
      auto tap = TapBackend::open("keelpers0", poller);
      EXPECT_FALSE(tap->created());
    }
    EXPECT_NE(if_nametoindex("keelpers0"), 0u);
    make_persistent("keelpers0", IFF_TAP, false);
    EXPECT_EQ(if_nametoindex("keelpers0"), 0u);
  });
}

TEST(TapBackend, ErrorsNameTheFix) {
  RUN_IN_FRESH_NETNS([] {
    testing::FakeFdPoller poller;
    auto first = TapBackend::open("keelbusy0", poller);
    std::string message = config_error_of([&] { TapBackend::open("keelbusy0", poller); });
    EXPECT_NE(message.find("keelbusy0"), std::string::npos) << message;
    EXPECT_NE(message.find("in use by another process"), std::string::npos) << message;

    message = config_error_of([&] { TapBackend::open("lo", poller); });
    EXPECT_NE(message.find("'lo' exists and is not a tap"), std::string::npos) << message;

    make_persistent("keeltun0", IFF_TUN, true);
    message = config_error_of([&] { TapBackend::open("keeltun0", poller); });
    EXPECT_NE(message.find("is a tun (layer 3) device"), std::string::npos) << message;
    make_persistent("keeltun0", IFF_TUN, false);

    message = config_error_of([&] { TapBackend::open("a-name-far-too-long", poller); });
    EXPECT_NE(message.find("a-name-far-too-long"), std::string::npos) << message;
    EXPECT_NE(message.find("at most 15"), std::string::npos) << message;
    message = config_error_of([&] { TapBackend::open("bad:name", poller); });
    EXPECT_NE(message.find("bad:name"), std::string::npos) << message;

    // Without CAP_NET_ADMIN (capabilities are per thread: this one drops
    // it for good, the test's other threads keep theirs).
    __user_cap_header_struct header{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    __user_cap_data_struct data[2]{};
    ASSERT_EQ(syscall(SYS_capget, &header, data), 0);
    data[0].effective &= ~(1u << CAP_NET_ADMIN);
    data[0].permitted &= ~(1u << CAP_NET_ADMIN);
    ASSERT_EQ(syscall(SYS_capset, &header, data), 0) << strerror(errno);
    message = config_error_of([&] { TapBackend::open("keelnoperm", poller); });
    EXPECT_NE(message.find("needs CAP_NET_ADMIN, or create it first: ip tuntap add dev keelnoperm mode tap user"),
              std::string::npos)
        << message;
  });
}

TEST(TapBackend, SendsAndReceivesFramesWithTheVnetHeader) {
  RUN_IN_FRESH_NETNS([] {
    testing::FakeFdPoller poller;
    auto tap = TapBackend::open("keelio0", poller);
    HostSide host("keelio0");

    // Guest to host: the header is consumed by the kernel, the frame arrives.
    const std::vector<uint8_t> out = test_frame(100, 3);
    const VnetHeader header{};
    const iovec pieces[] = {{const_cast<VnetHeader*>(&header), sizeof(header)},
                            {const_cast<uint8_t*>(out.data()), 20},
                            {const_cast<uint8_t*>(out.data()) + 20, out.size() - 20}};
    ASSERT_EQ(tap->send(pieces).value(), SendStatus::sent);
    EXPECT_EQ(host.receive_test_frame(), out);

    // Host to guest: a vnet header, then the frame as sent.
    const std::vector<uint8_t> in = test_frame(200, 9);
    host.send(in);
    const std::vector<uint8_t> got = receive_test_frame(*tap);
    ASSERT_EQ(got.size(), kVnetHeaderSize + in.size());
    VnetHeader got_header;
    std::memcpy(&got_header, got.data(), sizeof(got_header));
    EXPECT_EQ(got_header.gso_type, VnetHeader::kGsoNone);
    EXPECT_TRUE(std::equal(in.begin(), in.end(), got.begin() + kVnetHeaderSize));

    // Nothing waiting: 0, not an error (EAGAIN).
    std::vector<uint8_t> buffer(kVnetHeaderSize + kMaxFrameSize);
    const iovec whole{buffer.data(), buffer.size()};
    Result<size_t> empty = tap->receive({&whole, 1});
    ASSERT_TRUE(empty.has_value());
    EXPECT_EQ(*empty, 0u);

    // A frame longer than the buffer is dropped, reported out_of_bounds.
    host.send(test_frame(300, 1));
    pollfd ready{.fd = tap->fd(), .events = POLLIN, .revents = 0};
    ASSERT_EQ(poll(&ready, 1, 2000), 1);
    const iovec small{buffer.data(), kVnetHeaderSize + 50};
    Result<size_t> cut = tap->receive({&small, 1});
    ASSERT_FALSE(cut.has_value());
    EXPECT_EQ(cut.error().code, Errc::out_of_bounds);
    EXPECT_EQ(tap->receive({&whole, 1}).value(), 0u) << "the long frame was consumed";
    // A buffer without room for the header is refused before reading.
    const iovec tiny{buffer.data(), kVnetHeaderSize - 1};
    EXPECT_EQ(tap->receive({&tiny, 1}).error().code, Errc::invalid_argument);
  });
}

TEST(TapBackend, RefusesFramesTheKernelOrTheLimitsReject) {
  RUN_IN_FRESH_NETNS([] {
    testing::FakeFdPoller poller;
    auto tap = TapBackend::open("keelbad0", poller);
    std::vector<uint8_t> frame = test_frame(60, 0);
    // A checksum request that points past the frame: the kernel says EINVAL.
    VnetHeader header{.flags = VnetHeader::kNeedsCsum, .gso_type = 0, .hdr_len = 0, .gso_size = 0,
                      .csum_start = 1000, .csum_offset = 16, .num_buffers = 0};
    const iovec pieces[] = {{&header, sizeof(header)}, {frame.data(), frame.size()}};
    Result<SendStatus> refused = tap->send(pieces);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, Errc::invalid_argument);
    // Shorter than a vnet header, or longer than any frame: refused unsent.
    const iovec short_frame{frame.data(), kVnetHeaderSize - 1};
    EXPECT_EQ(tap->send({&short_frame, 1}).error().code, Errc::invalid_argument);
    std::vector<uint8_t> huge(kVnetHeaderSize + kMaxFrameSize + 1);
    const iovec huge_frame{huge.data(), huge.size()};
    EXPECT_EQ(tap->send({&huge_frame, 1}).error().code, Errc::invalid_argument);
    // Offloads the guest accepts are handed to the kernel (no error to see;
    // a TUNSETOFFLOAD failure would only be logged).
    tap->set_guest_offloads(Offloads{.csum = true, .tso4 = true, .tso6 = true, .ecn = true});
    tap->set_guest_offloads(Offloads{});
  });
}

TEST(TapBackend, BackPressureSwitchesTheWatchedEvents) {
  RUN_IN_FRESH_NETNS([] {
    testing::FakeFdPoller poller;
    auto tap = TapBackend::open("keelbp0", poller);
    const int fd = tap->fd();
    CountingListener listener;
    EXPECT_EQ(poller.events(fd), 0u);
    tap->attach(listener);
    EXPECT_EQ(poller.events(fd), static_cast<uint32_t>(EPOLLIN));
    tap->set_receive_interest(false);
    EXPECT_EQ(poller.events(fd), 0u) << "under back-pressure the tap is not read";
    tap->set_receive_interest(true);
    EXPECT_EQ(poller.events(fd), static_cast<uint32_t>(EPOLLIN));

    ASSERT_TRUE(poller.fire(fd, EPOLLIN));
    EXPECT_EQ(listener.waiting, 1);
    // EPOLLOUT without a blocked send is not passed on.
    ASSERT_TRUE(poller.fire(fd, EPOLLOUT));
    EXPECT_EQ(listener.possible, 0);

    // The device disappearing (EPOLLERR) stops the watching instead of spinning.
    ASSERT_TRUE(poller.fire(fd, EPOLLERR));
    EXPECT_FALSE(poller.watching(fd));
  });
}

// A real tap never refuses a write with EAGAIN on demand (the kernel frees
// each frame at once), so the would-block and short-write paths run on
// adopted fds: a datagram socketpair whose peer does not read, and a pipe.
TEST(TapBackend, WouldBlockWatchesForWritableAndResumes) {
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), 0);
  testing::FakeFdPoller poller;
  auto tap = TapBackend::adopt(pair[0], "pair", poller);
  CountingListener listener;
  tap->attach(listener);
  std::vector<uint8_t> frame(kVnetHeaderSize, 0);
  const std::vector<uint8_t> body = test_frame(1500, 0);
  frame.insert(frame.end(), body.begin(), body.end());
  const iovec whole{frame.data(), frame.size()};
  int sent = 0;
  for (; sent < 100000; ++sent) {
    Result<SendStatus> status = tap->send({&whole, 1});
    ASSERT_TRUE(status.has_value());
    if (*status == SendStatus::would_block) break;
  }
  ASSERT_LT(sent, 100000) << "the socket never filled";
  EXPECT_EQ(poller.events(pair[0]), static_cast<uint32_t>(EPOLLIN | EPOLLOUT));
  tap->set_receive_interest(false);  // back-pressure keeps EPOLLOUT while a send waits
  EXPECT_EQ(poller.events(pair[0]), static_cast<uint32_t>(EPOLLOUT));
  tap->set_receive_interest(true);

  std::vector<uint8_t> drain(4096);
  while (recv(pair[1], drain.data(), drain.size(), 0) > 0) {
  }
  ASSERT_TRUE(poller.fire(pair[0], EPOLLOUT));
  EXPECT_EQ(listener.possible, 1);
  EXPECT_EQ(poller.events(pair[0]), static_cast<uint32_t>(EPOLLIN)) << "EPOLLOUT only while a send waits";
  EXPECT_EQ(tap->send({&whole, 1}).value(), SendStatus::sent);
  tap.reset();
  close(pair[1]);
}

TEST(TapBackend, AShortWriteIsAnError) {
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC), 0);
  const int pipe_size = fcntl(pipe_fds[1], F_GETPIPE_SZ);
  ASSERT_GT(pipe_size, 8192);
  std::vector<uint8_t> filler(static_cast<size_t>(pipe_size) - 4096, 0);
  ASSERT_EQ(write(pipe_fds[1], filler.data(), filler.size()), static_cast<ssize_t>(filler.size()));
  testing::FakeFdPoller poller;
  auto tap = TapBackend::adopt(pipe_fds[1], "pipe", poller);
  std::vector<uint8_t> frame(kVnetHeaderSize + 8000, 0);  // more than PIPE_BUF: written in part
  const iovec whole{frame.data(), frame.size()};
  Result<SendStatus> status = tap->send({&whole, 1});
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, Errc::io_error);
  tap.reset();
  close(pipe_fds[0]);
}

void set_mtu(const char* name, int mtu) {
  const int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  ifreq request{};
  std::strncpy(request.ifr_name, name, IFNAMSIZ - 1);
  request.ifr_mtu = mtu;
  EXPECT_EQ(ioctl(sock, SIOCSIFMTU, &request), 0) << strerror(errno);
  close(sock);
}

// One buffer above the MTU bound is read with read() straight into it,
// and a read that fills it counts as truncated; at or below the bound the
// overflow area tells an exact fit from a truncation.
TEST(TapBackend, ReadsStraightIntoABufferAboveTheMtuBound) {
  RUN_IN_FRESH_NETNS([] {
    testing::FakeFdPoller poller;
    auto tap = TapBackend::open("keeldir0", poller);
    HostSide host("keeldir0");
    std::vector<uint8_t> buffer(2048);
    const iovec guest_sized{buffer.data(), buffer.size()};
    const auto receive_one = [&]() -> Result<size_t> {
      for (int tries = 0; tries < 100; ++tries) {
        pollfd ready{.fd = tap->fd(), .events = POLLIN, .revents = 0};
        if (poll(&ready, 1, 2000) != 1) return size_t{0};
        Result<size_t> got = tap->receive({&guest_sized, 1});
        if (!got || *got == 0) return got;
        if ((buffer[kVnetHeaderSize + 12] << 8 | buffer[kVnetHeaderSize + 13]) == kTestEtherType) return got;
      }
      return size_t{0};
    };
    // MTU 1500: any frame fits 2048 bytes; the largest arrives whole.
    const std::vector<uint8_t> largest = test_frame(1514, 5);
    host.send(largest);
    ASSERT_EQ(receive_one().value(), kVnetHeaderSize + largest.size());
    EXPECT_TRUE(std::equal(largest.begin(), largest.end(), buffer.begin() + kVnetHeaderSize));

    // MTU 2100 (seen at the next refresh): 2048 bytes may now be an exact
    // fit, so the overflow area decides.
    set_mtu("keeldir0", 2100);
    tap->set_guest_offloads(Offloads{});
    host.send(test_frame(2048 - kVnetHeaderSize, 6));
    EXPECT_EQ(receive_one().value(), 2048u) << "an exact fit is delivered";
    host.send(test_frame(2060, 7));
    Result<size_t> longer = receive_one();
    ASSERT_FALSE(longer.has_value());
    EXPECT_EQ(longer.error().code, Errc::out_of_bounds);

    // A long frame queued before the MTU went down: read() fills the
    // buffer, which can only be a truncation.
    host.send(test_frame(2060, 8));
    set_mtu("keeldir0", 1500);
    tap->set_guest_offloads(Offloads{});
    Result<size_t> truncated = receive_one();
    ASSERT_FALSE(truncated.has_value());
    EXPECT_EQ(truncated.error().code, Errc::out_of_bounds);
  });
}

}  // namespace
}  // namespace keel::net
