// virtio_net_bench: keel's own cost per virtio-net frame, without KVM or an
// emulated guest, against the limit set by the TAP itself.
//
// keel: the unit tests' fake driver (tests/unit/virtio/core/fake_driver.h,
// the queues laid out as in tests/unit/virtio/net/net_fixture.h) writes real
// split rings into guest RAM seen through keel's checked GuestMemory; a real
// VirtioNet serves them over a real TapBackend on a real TAP, created in a
// private network namespace (unshare(CLONE_NEWNET): nothing touches the
// host's network). Needs root; prints SKIPPED with the reason otherwise.
//
//  tx: the driver makes 128 frames (header + Ethernet frame in one buffer,
//      as Linux and the probe guest send them) available; the timed part is
//      the doorbell (VirtioNet::queue_notified under the context lock, as the
//      transport calls it, repeated while VirtioNet asks to be rescheduled):
//      pop, header check, the frame to the TAP (a small frame copied into
//      one keel buffer and write()n), used ring. The kernel then
//      drops the frames (no protocol takes EtherType 0x88b5).
//  rx: 256 frames are injected into the TAP from the host side (an AF_PACKET
//      socket bound to it, outside the timed part) and the driver posts 256
//      2 KiB buffers; the timed part is the rx doorbell plus the event loop's
//      dispatch of the TAP's readiness (FakeFdPoller::fire -> TapBackend ->
//      VirtioNet::frames_waiting) until every frame is in the used ring:
//      read() straight into the posted buffer, vetting, used ring.
//
// limit: the same TAP fd driven by a raw loop, no device model: tx writes
// the same vnet header + frame with write(); rx reads frames injected the
// same way with read(). keel/limit is keel's packets/s over the raw loop's.
//
// Not included on either side: interrupt delivery (an irqfd write per batch;
// the fake context counts signal_used() calls) and epoll_wait itself.
//
// Usage: virtio_net_bench [--packets N] [--runs R] [--clock cpu|wall]
// (medians of R runs; the thread's CPU time by default, see Clock below)
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "keel/config_error.h"
#include "src/net/tap_backend.h"
#include "tests/support/fake_interrupts.h"
#include "tests/unit/virtio/net/net_fixture.h"

namespace {

using keel::net::kVnetHeaderSize;
using keel::net::TapBackend;
using keel::virtio::net::kRxQueue;
using keel::virtio::net::kTxQueue;
using keel::virtio::net::NetOptions;
using keel::virtio::net::NetStats;
using keel::virtio::net::VirtioNet;
using keel::virtio::net::testing::ethernet_frame;
using keel::virtio::net::testing::Frame;
using keel::virtio::net::testing::kBaseFeatures;
using keel::virtio::net::testing::kOwnMac;
using keel::virtio::net::testing::NetContext;
using keel::virtio::testing::FakeDriver;
using keel::virtio::testing::GuardedGuestMemory;
using keel::virtio::testing::Segment;

// What a timed section is measured with: the bench thread's CPU time by
// default (user + system: every system call and the kernel's in-context
// packet processing run on this one thread), so that other processes on a
// loaded host, which preempt either side at random, do not land in the
// figures; or wall-clock time (--clock wall), as before 2026-12-03.
bool g_wall_clock = false;

struct Clock {
  using time_point = double;  // seconds
  static time_point now() noexcept {
    timespec ts{};
    clock_gettime(g_wall_clock ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
};

constexpr const char* kTapName = "kbench0";
constexpr uint16_t kQueueSize = 256;
constexpr uint32_t kTxBatch = VirtioNet::kTxBudget;  // one doorbell's worth
// A full ring of rx buffers; below the TAP's 500-frame queue, so no
// injected frame is dropped before it is read.
constexpr uint32_t kRxBatch = kQueueSize;
constexpr uint32_t kRxBufferBytes = 2048;  // >= 12 + 1514, as the probe guest posts
constexpr uint64_t kRamBytes = 4 << 20;
constexpr uint16_t kUsedNoNotify = 1;  // VIRTQ_USED_F_NO_NOTIFY
constexpr size_t kSizes[] = {64, 1500};  // Ethernet frame bytes (no vnet header, no FCS)

double seconds_since(Clock::time_point start) {
  return Clock::now() - start;
}

// Moves the whole process into a new network namespace (the bench is single
// threaded). Returns why it could not, or "".
std::string enter_private_netns() {
  if (geteuid() != 0) return "needs root (CAP_NET_ADMIN) for a TAP in a private network namespace";
  if (access("/dev/net/tun", R_OK | W_OK) != 0) return "/dev/net/tun is not available";
  if (unshare(CLONE_NEWNET) != 0) return std::string("unshare(CLONE_NEWNET) failed: ") + std::strerror(errno);
  // No IPv6 autoconfiguration chatter on the TAP: the rx loops count frames.
  std::ofstream("/proc/sys/net/ipv6/conf/default/disable_ipv6") << "1";
  std::ofstream("/proc/sys/net/ipv6/conf/all/disable_ipv6") << "1";
  return "";
}

// The host side of the TAP: what it sends, the TAP's fd reads. Send only
// (protocol 0: it receives nothing), bypassing the qdisc so that a frame is
// in the TAP's queue when send() returns.
class Injector {
 public:
  explicit Injector(const std::string& tap) {
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("AF_PACKET socket: ") + std::strerror(errno));
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_ifindex = static_cast<int>(if_nametoindex(tap.c_str()));
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
      throw std::runtime_error(std::string("binding to ") + tap + ": " + std::strerror(errno));
    int bypass = 1;
    setsockopt(fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &bypass, sizeof(bypass));
  }
  ~Injector() { close(fd_); }
  Injector(const Injector&) = delete;
  Injector& operator=(const Injector&) = delete;

  void send(const Frame& frame, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) {
      if (::send(fd_, frame.data(), frame.size(), 0) != static_cast<ssize_t>(frame.size()))
        throw std::runtime_error(std::string("injecting a frame: ") + std::strerror(errno));
    }
  }

 private:
  int fd_ = -1;
};

// Guest RAM with the three queues, a VirtioNet on the TAP, and the buffers.
class Rig {
 public:
  Rig() {
    std::unique_ptr<TapBackend> tap = TapBackend::open(kTapName, poller_);
    tap_ = tap.get();
    net_ = std::make_unique<VirtioNet>(std::move(tap), NetOptions{kOwnMac, 1500});
    // What the fixture negotiates (VERSION_1, MAC, STATUS, the control
    // queue features): no offloads, no MRG_RXBUF, no EVENT_IDX, as the
    // probe guest.
    context_.features = kBaseFeatures;
    for (uint16_t q = 0; q < keel::virtio::net::kQueueCount; ++q) {
      auto queue = keel::virtio::Virtqueue::create(ram_.memory(), drivers_[q].config(), {}, kQueueSize);
      if (!queue) throw std::runtime_error("Virtqueue::create failed");
      context_.queues[q].emplace(std::move(*queue));
    }
    std::lock_guard guard(context_.lock());
    if (!net_->activate(context_)) throw std::runtime_error("VirtioNet::activate refused");
  }
  ~Rig() { net_.reset(); }  // the backend (and its poller registration) first

  int tap_fd() const { return tap_->fd(); }

  // `packets` frames of `size` bytes through keel's tx path; seconds spent
  // in the doorbell handler.
  double tx(size_t size, uint32_t packets) {
    const uint64_t frame = tx_frame(size);
    const auto length = static_cast<uint32_t>(kVnetHeaderSize + size);
    const NetStats before = net_->stats();
    double seconds = 0;
    for (uint32_t done = 0; done < packets; done += kTxBatch) {
      const uint32_t batch = std::min(kTxBatch, packets - done);
      for (uint32_t i = 0; i < batch; ++i) drivers_[kTxQueue].add_chain({Segment{frame, length, false}});
      tx_target_ = static_cast<uint16_t>(tx_target_ + batch);
      const auto start = Clock::now();
      for (int rounds = 0; drivers_[kTxQueue].used_idx() != tx_target_; ++rounds) {
        if (rounds > 4) throw std::runtime_error("tx: frames not used after 4 doorbells");
        notify(kTxQueue);
      }
      seconds += seconds_since(start);
    }
    const NetStats after = net_->stats();
    if (after.tx_frames - before.tx_frames != packets || after.tx_dropped_backend != before.tx_dropped_backend ||
        after.tx_dropped_bad_header != before.tx_dropped_bad_header)
      throw std::runtime_error("tx: not every frame reached the TAP");
    return seconds;
  }

  // `packets` frames of `size` bytes injected into the TAP and received by
  // keel into posted buffers; seconds spent in the doorbell and dispatch.
  double rx(size_t size, uint32_t packets, Injector& injector) {
    const Frame frame = ethernet_frame(kOwnMac, size, 7);
    const NetStats before = net_->stats();
    double seconds = 0;
    for (uint32_t done = 0; done < packets; done += kRxBatch) {
      const uint32_t batch = std::min(kRxBatch, packets - done);
      for (uint32_t i = 0; i < batch; ++i)
        drivers_[kRxQueue].add_chain({Segment{rx_buffer(i), kRxBufferBytes, true}});
      injector.send(frame, batch);
      rx_target_ = static_cast<uint16_t>(rx_target_ + batch);
      const auto start = Clock::now();
      // The driver rings only when the device asks for it, as Linux does.
      if ((drivers_[kRxQueue].used_flags() & kUsedNoNotify) == 0) notify(kRxQueue);
      // Each wake-up serves at most kRxBudget frames; a few spare rounds
      // before calling the injected frames lost.
      const uint32_t max_rounds = batch / VirtioNet::kRxBudget + 4;
      for (uint32_t rounds = 0; drivers_[kRxQueue].used_idx() != rx_target_; ++rounds) {
        if (rounds > max_rounds) throw std::runtime_error("rx: injected frames never reached the ring");
        poller_.fire(tap_fd());
      }
      seconds += seconds_since(start);
      const auto last = drivers_[kRxQueue].used_element(static_cast<uint16_t>(rx_target_ - 1));
      if (last.len != kVnetHeaderSize + size) throw std::runtime_error("rx: a frame arrived with the wrong length");
    }
    if (net_->stats().rx_frames - before.rx_frames != packets) throw std::runtime_error("rx: frames lost in keel");
    return seconds;
  }

 private:
  void notify(uint16_t queue) {
    std::lock_guard guard(context_.lock());
    net_->queue_notified(queue);
  }
  // Guest RAM above the rings: rx buffers first, then one tx frame per size.
  static uint64_t rx_buffer(uint32_t i) { return FakeDriver::kDataStart + uint64_t{i} * kRxBufferBytes; }
  uint64_t tx_frame(size_t size) {
    const uint64_t gpa = rx_buffer(kRxBatch) + (size == kSizes[0] ? 0 : 4096);
    const Frame ethernet = ethernet_frame(kOwnMac, size, 3);
    std::memset(ram_.host() + gpa, 0, kVnetHeaderSize);  // no offloads
    std::memcpy(ram_.host() + gpa + kVnetHeaderSize, ethernet.data(), ethernet.size());
    return gpa;
  }

  keel::testing::FakeFdPoller poller_;
  GuardedGuestMemory ram_{kRamBytes};
  std::array<FakeDriver, keel::virtio::net::kQueueCount> drivers_{
      FakeDriver(ram_, kQueueSize, 0x1000), FakeDriver(ram_, kQueueSize, 0x4000),
      FakeDriver(ram_, kQueueSize, 0x7000)};
  NetContext context_{ram_.memory()};
  TapBackend* tap_ = nullptr;  // owned by net_
  std::unique_ptr<VirtioNet> net_;
  uint16_t tx_target_ = 0;
  uint16_t rx_target_ = 0;
};

// The limit: the same frames through the same TAP fd with no device model.
// `gather`: writev() of a separate header and frame, the shape TapBackend
// sends (keel's checked copy of the header + the guest's buffer), to tell
// the cost of that system call shape from the device model's.
double raw_tx(int fd, size_t size, uint32_t packets, bool gather) {
  std::vector<std::byte> buffer(kVnetHeaderSize);  // an all-zero vnet header
  const Frame ethernet = ethernet_frame(kOwnMac, size, 3);
  buffer.insert(buffer.end(), ethernet.begin(), ethernet.end());
  const std::byte header[kVnetHeaderSize] = {};
  const iovec parts[2] = {{const_cast<std::byte*>(header), kVnetHeaderSize},
                          {buffer.data() + kVnetHeaderSize, size}};
  const auto start = Clock::now();
  for (uint32_t i = 0; i < packets; ++i) {
    const ssize_t put = gather ? writev(fd, parts, 2) : write(fd, buffer.data(), buffer.size());
    if (put != static_cast<ssize_t>(buffer.size()))
      throw std::runtime_error(std::string("raw tx: write: ") + std::strerror(errno));
  }
  return seconds_since(start);
}

// `scatter`: readv() of one iovec, as TapBackend::receive does into
// VirtioNet's bounce buffer.
double raw_rx(int fd, size_t size, uint32_t packets, Injector& injector, bool scatter) {
  const Frame frame = ethernet_frame(kOwnMac, size, 7);
  // As large as keel's bounce buffer: a tap read truncates silently.
  std::vector<std::byte> buffer(kVnetHeaderSize + keel::net::kMaxFrameSize);
  double seconds = 0;
  for (uint32_t done = 0; done < packets; done += kRxBatch) {
    const uint32_t batch = std::min(kRxBatch, packets - done);
    injector.send(frame, batch);
    const auto start = Clock::now();
    for (uint32_t i = 0; i < batch; ++i) {
      const iovec whole{buffer.data(), buffer.size()};
      const ssize_t got = scatter ? readv(fd, &whole, 1) : read(fd, buffer.data(), buffer.size());
      if (got != static_cast<ssize_t>(kVnetHeaderSize + size))
        throw std::runtime_error(got < 0 ? std::string("raw rx: read: ") + std::strerror(errno)
                                         : "raw rx: a frame of the wrong length");
    }
    seconds += seconds_since(start);
  }
  return seconds;
}

struct Options {
  uint32_t packets = 20480;
  int runs = 5;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--packets" && has_value) {
      options.packets = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if (arg == "--runs" && has_value) {
      options.runs = std::atoi(argv[++i]);
    } else if (arg == "--clock" && has_value && (std::strcmp(argv[i + 1], "cpu") == 0 ||
                                                  std::strcmp(argv[i + 1], "wall") == 0)) {
      g_wall_clock = std::strcmp(argv[++i], "wall") == 0;
    } else {
      std::fprintf(stderr, "usage: %s [--packets N] [--runs R] [--clock cpu|wall]\n", argv[0]);
      std::exit(2);
    }
  }
  options.packets = std::clamp<uint32_t>(options.packets / kRxBatch * kRxBatch, kRxBatch, 10'000'000);
  options.runs = std::clamp(options.runs, 1, 100);
  return options;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

struct Row {
  const char* path;
  size_t size;
  double keel_seconds;  // medians over the runs
  double raw_seconds;
  double vectored_seconds;  // the raw loop with readv()/writev()
};

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  if (const std::string why = enter_private_netns(); !why.empty()) {
    std::printf("virtio_net_bench: SKIPPED: %s\n", why.c_str());
    return 0;
  }
  spdlog::set_level(spdlog::level::warn);  // no "tap created" line in the table
  std::vector<Row> rows;
  try {
    Rig rig;
    Injector injector(kTapName);
    // Warm-up: page cache of the skb allocator, branch predictors, the ring.
    rig.tx(64, 4 * kTxBatch);
    rig.rx(64, kRxBatch, injector);
    std::vector<double> samples[4][3];  // [tx64, tx1500, rx64, rx1500][keel, raw, raw vectored]
    for (int run = 0; run < options.runs; ++run) {
      // keel and the raw loop alternate, so a change in the host's load
      // hits both alike.
      for (int s = 0; s < 2; ++s) {
        samples[s][0].push_back(rig.tx(kSizes[s], options.packets));
        samples[s][1].push_back(raw_tx(rig.tap_fd(), kSizes[s], options.packets, false));
        samples[s][2].push_back(raw_tx(rig.tap_fd(), kSizes[s], options.packets, true));
        samples[2 + s][0].push_back(rig.rx(kSizes[s], options.packets, injector));
        samples[2 + s][1].push_back(raw_rx(rig.tap_fd(), kSizes[s], options.packets, injector, false));
        samples[2 + s][2].push_back(raw_rx(rig.tap_fd(), kSizes[s], options.packets, injector, true));
      }
    }
    for (int r = 0; r < 4; ++r)
      rows.push_back({r < 2 ? "tx" : "rx", kSizes[r % 2], median(samples[r][0]), median(samples[r][1]),
                      median(samples[r][2])});
  } catch (const keel::ConfigError& error) {
    std::printf("virtio_net_bench: SKIPPED: %s\n", error.what());
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "virtio_net_bench: FAILED: %s\n", error.what());
    return 1;
  }
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::printf("virtio-net in-process frame path (no KVM, no guest) vs a raw write()/read() loop on the same TAP "
              "(private netns): %u frames per run, median of %d, %s clock, %s\n",
              options.packets, options.runs, g_wall_clock ? "wall" : "thread CPU", date);
  std::printf("%-4s %6s %12s %12s %12s %12s %10s %15s\n", "path", "bytes", "keel ns/pkt", "keel pkts/s",
              "raw ns/pkt", "raw pkts/s", "keel/raw", "raw readv/writev");
  for (const Row& row : rows) {
    const double keel_rate = options.packets / row.keel_seconds;
    const double raw_rate = options.packets / row.raw_seconds;
    std::printf("%-4s %6zu %12.0f %12.0f %12.0f %12.0f %9.0f%% %12.0f ns\n", row.path, row.size,
                row.keel_seconds / options.packets * 1e9, keel_rate, row.raw_seconds / options.packets * 1e9,
                raw_rate, 100.0 * keel_rate / raw_rate, row.vectored_seconds / options.packets * 1e9);
  }
  std::printf("raw: write()/read() of header + frame in one buffer (the limit); raw readv/writev: the same loop "
              "in TapBackend's system call shape (writev of header + frame, readv of one iovec)\n");
  return 0;
}
