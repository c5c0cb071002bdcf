#include "src/net/tap_backend.h"

#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <utility>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "keel/config_error.h"

namespace keel::net {
namespace {

constexpr const char* kTunPath = "/dev/net/tun";

std::string errno_text(int error) { return std::generic_category().message(error); }

// Closes an fd on scope exit unless released.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

ifreq make_ifreq(std::string_view name) {
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), name.size());  // size checked: < IFNAMSIZ
  return request;
}

// What sits under an existing interface name, asked through ethtool on a
// socket so it answers for this thread's network namespace (sysfs may show
// another). The tun driver reports driver "tun" and bus "tap" or "tun".
struct ExistingInterface {
  std::string driver;
  std::string bus;
};

std::optional<ExistingInterface> existing_interface(std::string_view name) {
  const int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return std::nullopt;
  FdGuard guard{sock};
  ifreq request = make_ifreq(name);
  if (ioctl(sock, SIOCGIFINDEX, &request) != 0) return std::nullopt;  // ENODEV: no such interface
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  request.ifr_data = reinterpret_cast<char*>(&info);
  ExistingInterface found;
  if (ioctl(sock, SIOCETHTOOL, &request) == 0) {
    found.driver.assign(info.driver, strnlen(info.driver, sizeof(info.driver)));
    found.bus.assign(info.bus_info, strnlen(info.bus_info, sizeof(info.bus_info)));
  } else if (errno == EOPNOTSUPP) {
    found.driver = "none";  // tun always answers; this is something else (lo, ...)
  }
  return found;
}

void check_existing_is_tap(std::string_view name, const ExistingInterface& existing) {
  if (existing.driver.empty()) return;  // ethtool did not answer: let TUNSETIFF judge
  if (existing.driver != "tun") {
    throw ConfigError(fmt::format("--net tap={}: an interface named '{}' exists and is not a tap (driver '{}'); "
                                  "choose another name",
                                  name, name, existing.driver));
  }
  if (existing.bus == "tun") {
    throw ConfigError(fmt::format("--net tap={}: '{}' is a tun (layer 3) device, keel needs a tap: "
                                  "ip tuntap del dev {} mode tun; ip tuntap add dev {} mode tap user $USER",
                                  name, name, name, name));
  }
}

[[noreturn]] void throw_tunsetiff_error(std::string_view name, int error, bool existed) {
  switch (error) {
    case EPERM:
    case EACCES:
      if (existed) {
        throw ConfigError(fmt::format("--net tap={}: permission denied: the tap belongs to another user; "
                                      "recreate it for yours: ip tuntap del dev {} mode tap; "
                                      "ip tuntap add dev {} mode tap user $USER",
                                      name, name, name));
      }
      throw ConfigError(fmt::format("--net tap={}: creating a tap needs CAP_NET_ADMIN, or create it first: "
                                    "ip tuntap add dev {} mode tap user $USER; ip link set {} up",
                                    name, name, name));
    case EBUSY:
      throw ConfigError(fmt::format("--net tap={}: the tap is in use by another process (a tap serves one "
                                    "user at a time); stop it or use another tap",
                                    name));
    case EINVAL:
      throw ConfigError(fmt::format("--net tap={}: the kernel refused to attach (the tap's flags differ, e.g. "
                                    "multi_queue or vnet_hdr); recreate it: ip tuntap del dev {} mode tap; "
                                    "ip tuntap add dev {} mode tap user $USER",
                                    name, name, name));
    default:
      throw ConfigError(fmt::format("--net tap={}: TUNSETIFF failed: {}", name, errno_text(error)));
  }
}

int open_tun_device(std::string_view name) {
  const int fd = ::open(kTunPath, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) return fd;
  const int error = errno;
  if (error == ENOENT || error == ENXIO || error == ENODEV) {
    throw ConfigError(fmt::format("--net tap={}: {} is missing: load the tun module (modprobe tun)", name,
                                  kTunPath));
  }
  if (error == EACCES || error == EPERM) {
    throw ConfigError(fmt::format("--net tap={}: cannot open {}: {} (it must be readable and writable by "
                                  "your user, usually mode 0666)",
                                  name, kTunPath, errno_text(error)));
  }
  throw ConfigError(fmt::format("--net tap={}: cannot open {}: {}", name, kTunPath, errno_text(error)));
}

// A tap keel created starts down; bring it up so the host can address it at
// once. Best effort: a failure only means the user must run `ip link set up`.
void bring_up(const std::string& name) {
  const int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return;
  FdGuard guard{sock};
  ifreq request = make_ifreq(name);
  if (ioctl(sock, SIOCGIFFLAGS, &request) != 0) return;
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  if (ioctl(sock, SIOCSIFFLAGS, &request) != 0) {
    spdlog::warn("tap {}: could not bring it up ({}); run: ip link set {} up", name, errno_text(errno), name);
  }
}

size_t total_length(std::span<const iovec> parts) noexcept {
  size_t total = 0;
  for (const iovec& part : parts) {
    if (part.iov_len > SIZE_MAX - total) return SIZE_MAX;
    total += part.iov_len;
  }
  return total;
}

}  // namespace

void check_interface_name(std::string_view name) {
  if (name.empty()) throw ConfigError("--net tap=: the tap name is empty (expected tap=NAME, e.g. tap=tap0)");
  if (name.size() >= IFNAMSIZ) {
    throw ConfigError(fmt::format("--net tap={}: the name is {} characters, at most {} allowed", name,
                                  name.size(), IFNAMSIZ - 1));
  }
  if (name == "." || name == "..") throw ConfigError(fmt::format("--net tap={}: not a valid interface name", name));
  for (char c : name) {
    if (c == '/' || c == ':' || c == '\0' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      throw ConfigError(fmt::format("--net tap={}: interface names cannot contain '/', ':' or whitespace", name));
    }
  }
}

std::unique_ptr<TapBackend> TapBackend::open(std::string_view name, FdPoller& poller) {
  check_interface_name(name);
  std::optional<ExistingInterface> existing = existing_interface(name);
  if (existing) check_existing_is_tap(name, *existing);

  FdGuard fd{open_tun_device(name)};
  unsigned int features = 0;
  if (ioctl(fd.fd, TUNGETFEATURES, &features) != 0 || (features & IFF_VNET_HDR) == 0 || (features & IFF_TAP) == 0) {
    throw ConfigError(fmt::format("--net tap={}: this kernel's tun driver lacks IFF_VNET_HDR taps", name));
  }
  ifreq request = make_ifreq(name);
  request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (ioctl(fd.fd, TUNSETIFF, &request) != 0) throw_tunsetiff_error(name, errno, existing.has_value());
  std::string actual_name(request.ifr_name, strnlen(request.ifr_name, IFNAMSIZ));

  int header_size = static_cast<int>(kVnetHeaderSize);
  if (ioctl(fd.fd, TUNSETVNETHDRSZ, &header_size) != 0) {
    throw ConfigError(fmt::format("--net tap={}: TUNSETVNETHDRSZ {} failed: {}", name, header_size,
                                  errno_text(errno)));
  }
  // No offloads until the guest negotiates them: the kernel must not hand
  // the guest partial checksums or GSO frames it did not ask for.
  if (ioctl(fd.fd, TUNSETOFFLOAD, 0u) != 0) {
    throw ConfigError(fmt::format("--net tap={}: TUNSETOFFLOAD failed: {}", name, errno_text(errno)));
  }

  const bool created = !existing.has_value();
  if (created) {
    bring_up(actual_name);
    spdlog::info("tap {}: created by keel (it is removed when keel exits)", actual_name);
  } else {
    spdlog::info("tap {}: attached to the existing tap", actual_name);
  }
  std::unique_ptr<TapBackend> backend(new TapBackend(fd.fd, std::move(actual_name), created, poller));
  fd.release();
  backend->register_fd();
  return backend;
}

std::unique_ptr<TapBackend> TapBackend::adopt(int fd, std::string name, FdPoller& poller) {
  std::unique_ptr<TapBackend> backend(new TapBackend(fd, std::move(name), false, poller));
  backend->register_fd();
  return backend;
}

// Registered at creation (watching nothing until attach()) so a failure is
// a start-up error, not something the noexcept attach() could only log.
void TapBackend::register_fd() {
  try {
    poller_.add(fd_, 0, [this](uint32_t events) { on_events(events); });
  } catch (const std::system_error& e) {
    throw ConfigError(fmt::format("--net tap={}: cannot watch the tap: {}", name_, e.what()));
  }
}

TapBackend::TapBackend(int fd, std::string name, bool created, FdPoller& poller)
    : fd_(fd), name_(std::move(name)), created_(created), poller_(poller),
      rx_overflow_(std::make_unique<std::byte[]>(kVnetHeaderSize + kMaxFrameSize)),
      frame_bound_(kVnetHeaderSize + kMaxFrameSize),
      control_socket_(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
  rx_iov_.reserve(IOV_MAX);
  refresh_frame_bound();
}

TapBackend::~TapBackend() {
  poller_.remove(fd_);  // a no-op if open() failed to register it
  close(fd_);
  if (control_socket_ >= 0) close(control_socket_);
}

// The longest frame the tap hands us: with no GSO accepted the stack
// segments to the interface's MTU before the tap, and the bridge, IP and
// packet-socket paths refuse longer frames; the tap adds the vnet header
// and may insert a VLAN tag (8 bytes allowed, for two). Asked once per
// wake-up: the MTU can change at any time, and a change racing a read only
// makes a frame that fills the caller's buffer count as too long.
void TapBackend::refresh_frame_bound() noexcept {
  constexpr size_t kLargest = kVnetHeaderSize + kMaxFrameSize;
  size_t bound = kLargest;
  ifreq request{};
  if (control_socket_ >= 0 && name_.size() < IFNAMSIZ) {
    std::memcpy(request.ifr_name, name_.data(), name_.size());
    if (ioctl(control_socket_, SIOCGIFMTU, &request) == 0 && request.ifr_mtu > 0 &&
        !offloads_on_.load(std::memory_order_relaxed)) {
      constexpr size_t kEthernetAndTwoTags = 14 + 8;
      bound = std::min(kLargest, kVnetHeaderSize + kEthernetAndTwoTags + static_cast<size_t>(request.ifr_mtu));
    }
  }
  frame_bound_.store(bound, std::memory_order_relaxed);
}

BackendCapabilities TapBackend::capabilities() const noexcept {
  // The kernel segments and checksums what we write, and (with
  // TUNSETOFFLOAD) hands us frames that still need it. UFO stays off:
  // kernels since 4.14 refuse TUN_F_UFO.
  const Offloads all{.csum = true, .tso4 = true, .tso6 = true, .ecn = true, .ufo = false};
  return BackendCapabilities{.tx = all, .rx = all};
}

void TapBackend::attach(NetBackendListener& listener) noexcept {
  listener_.store(&listener, std::memory_order_release);
  std::lock_guard guard(lock_);
  attached_ = true;
  update_events_locked();
}

void TapBackend::set_receive_interest(bool interested) noexcept {
  std::lock_guard guard(lock_);
  if (receive_interest_ == interested) return;
  receive_interest_ = interested;
  update_events_locked();
}

void TapBackend::update_events_locked() noexcept {
  if (failed_) return;
  uint32_t events = 0;
  if (attached_ && receive_interest_) events |= EPOLLIN;
  if (waiting_for_writable_) events |= EPOLLOUT;
  if (!poller_.modify(fd_, events)) spdlog::error("tap {}: could not change the watched events", name_);
}

void TapBackend::on_events(uint32_t epoll_events) noexcept {
  NetBackendListener* listener = listener_.load(std::memory_order_acquire);
  bool writable = false;
  bool failed_now = false;
  {
    std::lock_guard guard(lock_);
    if (failed_) return;
    if ((epoll_events & (EPOLLERR | EPOLLHUP)) != 0) {
      // The interface was deleted under us (ip link del): tun reports
      // EPOLLERR forever, so stop watching rather than spin.
      failed_ = true;
      failed_now = true;
    }
    if (!failed_ && (epoll_events & EPOLLOUT) != 0 && waiting_for_writable_) {
      waiting_for_writable_ = false;
      writable = true;
      update_events_locked();
    }
  }
  if (failed_now) {
    spdlog::error("tap {}: the device reported an error (was it deleted?); the NIC is now cut off", name_);
    poller_.remove(fd_);  // allowed from the handler; the destructor's remove is then a no-op
    return;
  }
  if (listener == nullptr) return;
  // Without the lock: the listener takes the model's lock and calls back in.
  if (writable) listener->send_possible();
  if ((epoll_events & EPOLLIN) != 0) {
    refresh_frame_bound();
    listener->frames_waiting();
  }
}

Result<SendStatus> TapBackend::send(std::span<const iovec> frame) noexcept {
  const size_t length = total_length(frame);
  if (length < kVnetHeaderSize || length > kVnetHeaderSize + kMaxFrameSize) {
    return fail(Errc::invalid_argument, "frame length outside the vnet header + Ethernet frame limits");
  }
  if (frame.size() > IOV_MAX) return fail(Errc::invalid_argument, "frame in more than IOV_MAX pieces");
  // One piece (the model gathered a small frame into its own buffer) goes
  // out with write(): the kernel's iovec import and per-segment copy make
  // writev() measurably dearer per frame (docs/performance.md).
  const ssize_t written = frame.size() == 1 ? write(fd_, frame[0].iov_base, frame[0].iov_len)
                                            : writev(fd_, frame.data(), static_cast<int>(frame.size()));
  if (written < 0) {
    switch (errno) {
      case EAGAIN: {
        std::lock_guard guard(lock_);
        if (!waiting_for_writable_) {
          waiting_for_writable_ = true;
          update_events_locked();
        }
        return SendStatus::would_block;
      }
      case EINVAL:  // the kernel refused the vnet header (bad GSO fields, ...)
      case EIO:     // the interface is down
        return fail(Errc::invalid_argument, "the tap refused the frame");
      case EFAULT:
        return fail(Errc::invalid_argument, "frame buffer not readable");
      default:
        return fail(Errc::io_error, "writev to the tap failed");
    }
  }
  // A tap takes a frame whole or not at all; a short count would mean a
  // truncated frame went out, which the model should count as an error.
  if (static_cast<size_t>(written) != length) return fail(Errc::io_error, "short write to the tap");
  return SendStatus::sent;
}

Result<size_t> TapBackend::receive(std::span<const iovec> buffer) noexcept {
  constexpr size_t kLargest = kVnetHeaderSize + kMaxFrameSize;
  const size_t capacity = total_length(buffer);
  // The kernel takes the frame off its queue before it finds the buffer
  // too small for the header, so refuse such a buffer without reading.
  if (capacity < kVnetHeaderSize) return fail(Errc::invalid_argument, "receive buffer smaller than the vnet header");
  if (buffer.size() >= IOV_MAX) return fail(Errc::invalid_argument, "receive buffer in too many pieces");
  // read() on a tap returns at most the buffer's size and silently drops
  // the rest of a longer frame. To tell "fits exactly" from "truncated",
  // a buffer smaller than the largest frame gets an overflow area behind
  // it: anything landing there means the frame was too long.
  // One piece larger than any frame the tap gives: read() straight into
  // it; a read that fills it can then only be a truncated frame.
  if (buffer.size() == 1 && capacity > frame_bound_.load(std::memory_order_relaxed) && capacity < kLargest) {
    const ssize_t got = read(fd_, buffer[0].iov_base, buffer[0].iov_len);
    if (got < 0) {
      if (errno == EAGAIN) return size_t{0};
      if (errno == EFAULT) return fail(Errc::invalid_argument, "receive buffer not writable");
      return fail(Errc::io_error, "read from the tap failed");
    }
    if (static_cast<size_t>(got) >= capacity) return fail(Errc::out_of_bounds, "frame longer than the receive buffer");
    return static_cast<size_t>(got);
  }
  std::span<const iovec> parts = buffer;
  if (capacity < kLargest) {
    rx_iov_.assign(buffer.begin(), buffer.end());
    rx_iov_.push_back(iovec{rx_overflow_.get(), kLargest - capacity});
    parts = rx_iov_;
  }
  // A single buffer that holds the largest frame (the model's bounce
  // buffer) is read with read(), cheaper per frame than readv().
  const ssize_t got = parts.size() == 1 ? read(fd_, parts[0].iov_base, parts[0].iov_len)
                                        : readv(fd_, parts.data(), static_cast<int>(parts.size()));
  if (got < 0) {
    if (errno == EAGAIN) return size_t{0};
    if (errno == EFAULT) return fail(Errc::invalid_argument, "receive buffer not writable");
    return fail(Errc::io_error, "readv from the tap failed");
  }
  if (static_cast<size_t>(got) > capacity) return fail(Errc::out_of_bounds, "frame longer than the receive buffer");
  return static_cast<size_t>(got);
}

void TapBackend::set_guest_offloads(const Offloads& offloads) noexcept {
  unsigned int flags = 0;
  // The kernel ignores TSO without CSUM, and ECN without TSO.
  if (offloads.csum) {
    flags |= TUN_F_CSUM;
    if (offloads.tso4) flags |= TUN_F_TSO4;
    if (offloads.tso6) flags |= TUN_F_TSO6;
    if (offloads.ecn && (offloads.tso4 || offloads.tso6)) flags |= TUN_F_TSO_ECN;
  }
  if (ioctl(fd_, TUNSETOFFLOAD, flags) != 0) {
    spdlog::error("tap {}: TUNSETOFFLOAD {:#x} failed: {}", name_, flags, errno_text(errno));
  }
  // With any offload on, the kernel may hand us GSO frames far above the
  // MTU: no MTU-based bound then.
  offloads_on_.store(flags != 0, std::memory_order_relaxed);
  refresh_frame_bound();
}

}  // namespace keel::net
