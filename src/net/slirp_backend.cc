// libslirp on keel's event loop (see slirp_backend.h for the threading).
#include "src/net/slirp_backend.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "keel/config_error.h"

namespace keel::net {
namespace {

constexpr size_t kEthernetHeaderSize = 14;
// Guest frames handed to slirp per service pass; the rest wait for the
// next pass (kicked at once) so other fds and timers get their turn.
constexpr size_t kTxBudget = 64;
// slirp's TCP timers need a pass at least this often while it has
// connections; slirp_pollfds_fill lowers the timeout further when needed.
constexpr uint32_t kMaxTimeoutMs = 1000;
constexpr uint64_t kGuestErrorsLogged = 10;
constexpr int64_t kNsPerMs = 1'000'000;

uint32_t epoll_events_for(int slirp_events) {
  uint32_t events = 0;
  if (slirp_events & SLIRP_POLL_IN) events |= EPOLLIN;
  if (slirp_events & SLIRP_POLL_OUT) events |= EPOLLOUT;
  if (slirp_events & SLIRP_POLL_PRI) events |= EPOLLPRI;
  return events;
}

int slirp_revents_for(uint32_t epoll_events) {
  int revents = 0;
  if (epoll_events & EPOLLIN) revents |= SLIRP_POLL_IN;
  if (epoll_events & EPOLLOUT) revents |= SLIRP_POLL_OUT;
  if (epoll_events & EPOLLPRI) revents |= SLIRP_POLL_PRI;
  if (epoll_events & EPOLLERR) revents |= SLIRP_POLL_ERR;
  if (epoll_events & EPOLLHUP) revents |= SLIRP_POLL_HUP;
  return revents;
}

in_addr to_in_addr(Ipv4 address) { return in_addr{htonl(address)}; }

// Total length of `iovs`, saturating instead of wrapping (the lengths come
// from the NIC model, computed from guest descriptors).
size_t total_length(std::span<const iovec> iovs) {
  size_t total = 0;
  for (const iovec& iov : iovs) {
    if (iov.iov_len > std::numeric_limits<size_t>::max() - total) {
      return std::numeric_limits<size_t>::max();
    }
    total += iov.iov_len;
  }
  return total;
}

// Copies `out.size()` bytes starting at byte `offset` of the gathered `iovs`
// (the caller checked that they are there).
void gather(std::span<const iovec> iovs, size_t offset, std::span<uint8_t> out) {
  size_t done = 0;
  for (const iovec& iov : iovs) {
    if (done == out.size()) break;
    if (offset >= iov.iov_len) {
      offset -= iov.iov_len;
      continue;
    }
    const size_t chunk = std::min(iov.iov_len - offset, out.size() - done);
    std::memcpy(out.data() + done, static_cast<const uint8_t*>(iov.iov_base) + offset, chunk);
    done += chunk;
    offset = 0;
  }
}

// The inverse of gather(): writes `in` at byte `offset` of the scattered `iovs`.
void scatter(std::span<const iovec> iovs, size_t offset, std::span<const uint8_t> in) {
  size_t done = 0;
  for (const iovec& iov : iovs) {
    if (done == in.size()) break;
    if (offset >= iov.iov_len) {
      offset -= iov.iov_len;
      continue;
    }
    const size_t chunk = std::min(iov.iov_len - offset, in.size() - done);
    std::memcpy(static_cast<uint8_t*>(iov.iov_base) + offset, in.data() + done, chunk);
    done += chunk;
    offset = 0;
  }
}

std::string hostfwd_error(const HostForward& forward, int error) {
  switch (error) {
    case EADDRINUSE:
      return fmt::format("--net user: hostfwd={}: host port {} is in use", forward.spec,
                         forward.host_port);
    case EACCES:
      return fmt::format("--net user: hostfwd={}: binding host port {} needs privileges (use a port >= 1024)",
                         forward.spec, forward.host_port);
    case EADDRNOTAVAIL:
      return fmt::format("--net user: hostfwd={}: host address {} is not an address of this host",
                         forward.spec, format_ipv4(forward.host_address));
    case 0:  // libslirp failed without a system error
      return fmt::format("--net user: hostfwd={}: libslirp cannot listen on host port {}",
                         forward.spec, forward.host_port);
    default:
      return fmt::format("--net user: hostfwd={}: cannot listen on host port {}: {}", forward.spec,
                         forward.host_port, std::system_category().message(error));
  }
}

}  // namespace

// A timer slirp made with timer_new: it fires at `expire_ms` (slirp's
// clock_get_ns divided by 1e6) when set.
struct SlirpBackend::SlirpTimer {
  SlirpTimerCb callback;
  void* callback_opaque;
  std::optional<int64_t> expire_ms;
};

const SlirpCb SlirpBackend::kCallbacks = {
    .send_packet = &SlirpBackend::on_send_packet,
    .guest_error = &SlirpBackend::on_guest_error,
    .clock_get_ns = &SlirpBackend::on_clock_get_ns,
    .timer_new = &SlirpBackend::on_timer_new,
    .timer_free = &SlirpBackend::on_timer_free,
    .timer_mod = &SlirpBackend::on_timer_mod,
    .register_poll_fd = &SlirpBackend::on_register_poll_fd,
    .unregister_poll_fd = &SlirpBackend::on_unregister_poll_fd,
    .notify = &SlirpBackend::on_notify,
    .init_completed = nullptr,
    .timer_new_opaque = nullptr,  // slirp then uses timer_new
};

std::unique_ptr<SlirpBackend> SlirpBackend::create(const UserNetConfig& config, FdPoller& poller,
                                                   TimerFactory& timers, const Clock& clock) {
  std::unique_ptr<SlirpBackend> backend(new SlirpBackend(poller, clock));
  backend->start(config, timers);  // on a throw the destructor undoes what was done
  return backend;
}

SlirpBackend::SlirpBackend(FdPoller& poller, const Clock& clock) : poller_(poller), clock_(clock) {}

void SlirpBackend::start(const UserNetConfig& requested, TimerFactory& timers) {
  UserNetConfig config = requested;
  finish_user_net_config(config);

  kick_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (kick_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  poller_.add(kick_fd_, EPOLLIN, [this](uint32_t) {
    uint64_t count = 0;
    [[maybe_unused]] const ssize_t got = read(kick_fd_, &count, sizeof count);  // EAGAIN: fine
    service(-1, 0);
  });
  kick_registered_ = true;
  timer_ = timers.create_timer([this] { service(-1, 0); });

  SlirpConfig slirp_config{};
  slirp_config.version = 4;
  slirp_config.restricted = config.restricted ? 1 : 0;
  slirp_config.in_enabled = true;
  slirp_config.vnetwork = to_in_addr(config.network);
  slirp_config.vnetmask = to_in_addr(config.netmask());
  slirp_config.vhost = to_in_addr(*config.host);
  slirp_config.in6_enabled = false;
  slirp_config.vhostname = "keel";
  slirp_config.vdhcp_start = to_in_addr(*config.dhcp_start);
  slirp_config.vnameserver = to_in_addr(*config.dns);
  slirp_config.disable_host_loopback = false;
  slirp_config.enable_emu = false;  // libslirp's own header calls that code unsafe
  slirp_config.disable_dns = false;
  slirp_config.disable_dhcp = false;

  std::lock_guard guard(lock_);
  slirp_ = slirp_new(&slirp_config, &kCallbacks, this);
  if (slirp_ == nullptr) {
    throw ConfigError(fmt::format("--net user: libslirp refused net={}/{}",
                                  format_ipv4(config.network), config.prefix));
  }
  for (const HostForward& forward : config.host_forwards) {
    errno = 0;
    const int added = slirp_add_hostfwd(slirp_, forward.protocol == HostForward::Protocol::udp,
                                        to_in_addr(forward.host_address), forward.host_port,
                                        to_in_addr(*forward.guest_address), forward.guest_port);
    if (added < 0) throw ConfigError(hostfwd_error(forward, errno));
  }
  // Off the loop thread, under lock_: safe because nothing is registered
  // yet, so this first synchronisation only adds.
  refresh_polling();
}

SlirpBackend::~SlirpBackend() {
  std::vector<Registration> registered;
  {
    std::lock_guard guard(lock_);
    closing_ = true;  // a handler that still runs returns at once
    registered.swap(registered_);
  }
  // Without lock_: remove() waits for a running handler, which takes lock_.
  for (const Registration& registration : registered) poller_.remove(registration.fd);
  if (kick_registered_) poller_.remove(kick_fd_);
  timer_.reset();
  {
    std::lock_guard guard(lock_);
    if (slirp_ != nullptr) slirp_cleanup(slirp_);  // closes slirp's sockets
    slirp_ = nullptr;
  }
  if (kick_fd_ >= 0) close(kick_fd_);
}

void SlirpBackend::attach(NetBackendListener& listener) noexcept {
  bool waiting = false;
  {
    std::lock_guard guard(lock_);
    listener_ = &listener;
    waiting = receive_interest_ && !rx_queue_.empty();
  }
  if (waiting) kick();
}

void SlirpBackend::set_receive_interest(bool interested) noexcept {
  bool waiting = false;
  {
    std::lock_guard guard(lock_);
    receive_interest_ = interested;
    waiting = interested && !rx_queue_.empty();
  }
  // Never call the listener from here: the NIC holds its lock. The loop
  // thread calls frames_waiting() instead.
  if (waiting) kick();
}

Result<SendStatus> SlirpBackend::send(std::span<const iovec> frame) noexcept {
  const size_t total = total_length(frame);
  if (total < kVnetHeaderSize + kEthernetHeaderSize) {
    return fail(Errc::invalid_argument, "slirp: frame shorter than a vnet and an Ethernet header");
  }
  if (total > kVnetHeaderSize + kMaxFrameSize) {
    return fail(Errc::invalid_argument, "slirp: frame longer than the largest Ethernet frame");
  }
  uint8_t header[kVnetHeaderSize];
  gather(frame, 0, header);
  // flags and gso_type are single bytes: no byte order to mind. No tx
  // offloads are offered, so a frame asking for one is the guest lying.
  const uint8_t flags = header[0];
  const uint8_t gso_type = header[1];
  if ((flags & VnetHeader::kNeedsCsum) != 0 || gso_type != VnetHeader::kGsoNone) {
    return fail(Errc::invalid_argument, "slirp: checksum or segmentation offload not offered");
  }

  std::vector<uint8_t> ethernet;
  try {
    ethernet.resize(total - kVnetHeaderSize);
  } catch (...) {
    return fail(Errc::io_error, "slirp: out of memory for a frame");
  }
  gather(frame, kVnetHeaderSize, ethernet);

  bool was_empty = false;
  {
    std::lock_guard guard(lock_);
    if (closing_) return SendStatus::sent;  // going away: dropped
    if (tx_queue_.size() >= kMaxQueuedFrames || tx_bytes_ + ethernet.size() > kMaxQueuedBytes) {
      tx_blocked_ = true;
      return SendStatus::would_block;
    }
    was_empty = tx_queue_.empty();
    const size_t length = ethernet.size();
    try {
      tx_queue_.push_back(std::move(ethernet));
    } catch (...) {
      return fail(Errc::io_error, "slirp: out of memory for a frame");
    }
    tx_bytes_ += length;
  }
  // A non-empty queue already has a pass coming (kicked when it became
  // non-empty, or re-kicked by a pass that left frames behind).
  if (was_empty) kick();
  return SendStatus::sent;
}

Result<size_t> SlirpBackend::receive(std::span<const iovec> buffer) noexcept {
  std::lock_guard guard(lock_);
  if (rx_queue_.empty()) return 0;
  std::vector<uint8_t> frame = std::move(rx_queue_.front());
  rx_queue_.pop_front();
  rx_bytes_ -= frame.size();
  const size_t needed = kVnetHeaderSize + frame.size();
  if (total_length(buffer) < needed) {
    ++counters_.rx_dropped;
    return fail(Errc::out_of_bounds, "slirp: receive buffer smaller than the frame");
  }
  const uint8_t header[kVnetHeaderSize] = {};  // no offloads: all zero
  scatter(buffer, 0, header);
  scatter(buffer, kVnetHeaderSize, frame);
  ++rx_taken_;
  return needed;
}

SlirpBackend::Stats SlirpBackend::stats() const noexcept {
  std::lock_guard guard(lock_);
  Stats stats = counters_;
  stats.rx_queued = rx_queue_.size();
  return stats;
}

void SlirpBackend::kick() noexcept {
  const uint64_t one = 1;
  // EAGAIN only when the counter is saturated: a pass is due anyway.
  [[maybe_unused]] const ssize_t written = write(kick_fd_, &one, sizeof one);
}

// One pass of slirp work on the loop thread; ready_fd < 0 for the timer
// and the kick eventfd.
void SlirpBackend::service(int ready_fd, uint32_t epoll_events) noexcept {
  NetBackendListener* listener = nullptr;
  bool call_send_possible = false;
  bool call_frames_waiting = false;
  {
    std::lock_guard guard(lock_);
    if (closing_ || slirp_ == nullptr) return;
    for (size_t budget = kTxBudget; budget > 0 && !tx_queue_.empty(); --budget) {
      const std::vector<uint8_t> frame = std::move(tx_queue_.front());
      tx_queue_.pop_front();
      tx_bytes_ -= frame.size();
      ++counters_.tx_frames;
      // slirp parses the frame itself (Ethernet, ARP, IP, UDP, TCP,
      // DHCP); send() already bounded its length to an int's range.
      slirp_input(slirp_, frame.data(), static_cast<int>(frame.size()));
    }
    if (!tx_queue_.empty()) kick();

    // After the guest's frames, not before: slirp sends the packets it held
    // while resolving the guest's MAC only at the end of a poll (if_start),
    // so an ARP reply just input must be followed by a poll, or a forwarded
    // datagram waits for the next timer pass and slirp's 1 s ARP limit
    // drops it. The poll also runs slirp's TCP fast/slow timers when due.
    ready_fd_ = ready_fd;
    ready_events_ = epoll_events;
    slirp_pollfds_poll(slirp_, 0, &SlirpBackend::on_get_revents, this);
    ready_fd_ = -1;

    fire_due_timers();
    refresh_polling();

    listener = listener_;
    call_send_possible = listener != nullptr && tx_blocked_ && tx_queue_.size() < kMaxQueuedFrames;
    if (call_send_possible) tx_blocked_ = false;
    call_frames_waiting = listener != nullptr && receive_interest_ && !rx_queue_.empty();
    rx_taken_ = 0;
  }
  // The listener takes the NIC's lock and may call send()/receive(): never
  // under lock_.
  if (call_send_possible) listener->send_possible();
  if (call_frames_waiting) {
    listener->frames_waiting();
    // Level-triggered: frames left behind by a listener that used its
    // budget get another call after the loop has served others. A
    // listener that took nothing is not woken again until something
    // changes (new frames, interest turned back on), so it cannot spin us.
    std::lock_guard guard(lock_);
    if (!closing_ && rx_taken_ > 0 && receive_interest_ && !rx_queue_.empty()) kick();
  }
}

void SlirpBackend::fire_due_timers() noexcept {
  const int64_t now_ms = clock_.monotonic().count() / kNsPerMs;
  // A callback may free or re-arm timers, so look again after each one;
  // bounded in case one keeps re-arming itself in the past.
  for (int fired = 0; fired < 64; ++fired) {
    auto due = std::find_if(slirp_timers_.begin(), slirp_timers_.end(), [&](const auto& timer) {
      return timer->expire_ms && *timer->expire_ms <= now_ms;
    });
    if (due == slirp_timers_.end()) return;
    SlirpTimer& timer = **due;
    timer.expire_ms.reset();
    timer.callback(timer.callback_opaque);
  }
}

void SlirpBackend::refresh_polling() noexcept {
  wanted_.clear();
  uint32_t timeout_ms = kMaxTimeoutMs;
  slirp_pollfds_fill(slirp_, &timeout_ms, &SlirpBackend::on_add_poll, this);

  // Synchronise the poller with wanted_: both sorted by fd, one merge walk.
  std::vector<Registration> wanted;
  wanted.reserve(wanted_.size());
  // An fd slirp lists without events is not watched at all: epoll would
  // still report ERR/HUP on it, level-triggered, and spin the loop.
  for (const Registration& want : wanted_) {
    if (want.epoll_events != 0) wanted.push_back(want);
  }
  std::sort(wanted.begin(), wanted.end(), [](auto& a, auto& b) { return a.fd < b.fd; });
  std::vector<Registration> now_registered;
  now_registered.reserve(wanted.size());
  auto add = [&](const Registration& want) {
    try {
      const int fd = want.fd;
      poller_.add(fd, want.epoll_events, [this, fd](uint32_t events) { service(fd, events); });
      now_registered.push_back(want);
    } catch (const std::exception& error) {
      spdlog::error("slirp: cannot watch socket fd {}: {}", want.fd, error.what());
    }
  };
  size_t old_index = 0;
  for (const Registration& want : wanted) {
    while (old_index < registered_.size() && registered_[old_index].fd < want.fd) {
      poller_.remove(registered_[old_index++].fd);  // slirp no longer waits on it
    }
    if (old_index < registered_.size() && registered_[old_index].fd == want.fd) {
      const Registration& have = registered_[old_index++];
      if (have.epoll_events == want.epoll_events) {
        now_registered.push_back(want);
      } else if (poller_.modify(want.fd, want.epoll_events)) {
        now_registered.push_back(want);
      } else {
        // The fd was closed and its number reused without slirp telling
        // us: the old registration is stale.
        poller_.remove(want.fd);
        add(want);
      }
    } else {
      add(want);
    }
  }
  while (old_index < registered_.size()) poller_.remove(registered_[old_index++].fd);
  registered_ = std::move(now_registered);

  // One keel timer for slirp's poll timeout and its own timers.
  const int64_t now_ns = clock_.monotonic().count();
  int64_t deadline_ns = now_ns + static_cast<int64_t>(std::min(timeout_ms, kMaxTimeoutMs)) * kNsPerMs;
  for (const auto& timer : slirp_timers_) {
    if (timer->expire_ms) deadline_ns = std::min(deadline_ns, *timer->expire_ms * kNsPerMs);
  }
  timer_->arm(std::chrono::nanoseconds(deadline_ns));
}

void SlirpBackend::unregister_fd(int fd) noexcept {
  auto found = std::find_if(registered_.begin(), registered_.end(),
                            [fd](const Registration& r) { return r.fd == fd; });
  if (found == registered_.end()) return;
  // Before slirp closes it, so a new socket with the same number can be
  // registered afresh. On the loop thread remove() does not wait.
  poller_.remove(fd);
  registered_.erase(found);
}

ssize_t SlirpBackend::on_send_packet(const void* buf, size_t len, void* opaque) noexcept {
  auto& self = *static_cast<SlirpBackend*>(opaque);
  const auto result = static_cast<ssize_t>(len);
  if (len < kEthernetHeaderSize || len > kMaxFrameSize) {
    ++self.counters_.rx_dropped;
    return result;
  }
  if (self.rx_queue_.size() >= kMaxQueuedFrames || self.rx_bytes_ + len > kMaxQueuedBytes) {
    ++self.counters_.rx_dropped;  // as a NIC with full rings; TCP retransmits
    return result;
  }
  try {
    const auto* bytes = static_cast<const uint8_t*>(buf);
    self.rx_queue_.emplace_back(bytes, bytes + len);
    self.rx_bytes_ += len;
  } catch (...) {
    ++self.counters_.rx_dropped;
  }
  return result;
}

void SlirpBackend::on_guest_error(const char* msg, void* opaque) noexcept {
  auto& self = *static_cast<SlirpBackend*>(opaque);
  // Guest-triggered: log the first few only.
  if (++self.guest_errors_ <= kGuestErrorsLogged) spdlog::warn("slirp: guest error: {}", msg);
}

int64_t SlirpBackend::on_clock_get_ns(void* opaque) noexcept {
  return static_cast<SlirpBackend*>(opaque)->clock_.monotonic().count();
}

void* SlirpBackend::on_timer_new(SlirpTimerCb cb, void* cb_opaque, void* opaque) noexcept {
  auto& self = *static_cast<SlirpBackend*>(opaque);
  self.slirp_timers_.push_back(std::make_unique<SlirpTimer>(SlirpTimer{cb, cb_opaque, std::nullopt}));
  return self.slirp_timers_.back().get();
}

void SlirpBackend::on_timer_free(void* timer, void* opaque) noexcept {
  auto& timers = static_cast<SlirpBackend*>(opaque)->slirp_timers_;
  std::erase_if(timers, [timer](const auto& t) { return t.get() == timer; });
}

void SlirpBackend::on_timer_mod(void* timer, int64_t expire_time_ms, void* opaque) noexcept {
  // The keel timer is re-armed by refresh_polling() at the end of the pass.
  static_cast<void>(opaque);
  static_cast<SlirpTimer*>(timer)->expire_ms = expire_time_ms;
}

void SlirpBackend::on_register_poll_fd(int, void*) noexcept {
  // Nothing: slirp_pollfds_fill lists every fd it wants, with its events.
}

void SlirpBackend::on_unregister_poll_fd(int fd, void* opaque) noexcept {
  static_cast<SlirpBackend*>(opaque)->unregister_fd(fd);
}

void SlirpBackend::on_notify(void* opaque) noexcept { static_cast<SlirpBackend*>(opaque)->kick(); }

int SlirpBackend::on_add_poll(int fd, int events, void* opaque) noexcept {
  auto& wanted = static_cast<SlirpBackend*>(opaque)->wanted_;
  const uint32_t epoll_events = epoll_events_for(events);
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (wanted[i].fd == fd) {
      wanted[i].epoll_events |= epoll_events;
      return static_cast<int>(i);
    }
  }
  try {
    wanted.push_back(Registration{fd, epoll_events});
  } catch (...) {
    return -1;  // not watched this round; slirp treats -1 as "no revents"
  }
  return static_cast<int>(wanted.size() - 1);
}

int SlirpBackend::on_get_revents(int idx, void* opaque) noexcept {
  const auto& self = *static_cast<SlirpBackend*>(opaque);
  if (idx < 0 || static_cast<size_t>(idx) >= self.wanted_.size()) return 0;
  if (self.wanted_[static_cast<size_t>(idx)].fd != self.ready_fd_) return 0;
  return slirp_revents_for(self.ready_events_);
}

}  // namespace keel::net
