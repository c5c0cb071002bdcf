// User-mode networking: libslirp behind keel::net::NetBackend, as QEMU's
// `-netdev user`. DHCP, DNS forwarding, outbound TCP/UDP and host forwards
// without root.
//
// Threads. libslirp is not thread-safe and its poll-style API is adapted to
// keel's epoll loop, so every libslirp call runs on the event-loop thread,
// inside one "service" pass (an fd handler, the timer callback or the kick
// eventfd) under lock_:
//   slirp_input for the queued guest frames -> slirp_pollfds_poll (the
//   ready fd, TCP timers, and the packets slirp held until it learnt the
//   guest's MAC) -> due slirp timers -> slirp_pollfds_fill, then the
//   FdPoller registrations are synchronised with what slirp asked for and
//   the one keel Timer is armed for slirp's timeout / earliest timer.
// send() (NIC lock held, maybe a vCPU thread) only queues the frame and
// kicks the loop: slirp_input from that thread could make slirp close a
// socket, and FdPoller::remove() from a thread other than the loop's,
// while a handler waits for lock_, would deadlock. Frames slirp emits go to
// a bounded receive queue; the listener is called on the loop thread after
// lock_ is released (the NIC takes its own lock inside and calls back in).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include <slirp/libslirp.h>

#include "keel/clock.h"
#include "keel/fd_poller.h"
#include "keel/net_backend.h"
#include "src/net/user_net_config.h"

namespace keel::net {

class SlirpBackend final : public NetBackend {
 public:
  // Bounds of the queue of frames for the guest (beyond: dropped, counted,
  // as a NIC with full rings would) and of guest frames waiting for the
  // loop thread (beyond: send() answers would_block).
  static constexpr size_t kMaxQueuedFrames = 256;
  static constexpr size_t kMaxQueuedBytes = 4 << 20;

  // `config` is finished here (finish_user_net_config) if it was not. The
  // poller and timers are keel's event loop; `clock` must be the clock the
  // timers run on. Throws keel::ConfigError (a host port in use, slirp
  // refusing the network) or std::system_error.
  static std::unique_ptr<SlirpBackend> create(const UserNetConfig& config, FdPoller& poller,
                                              TimerFactory& timers,
                                              const Clock& clock = system_clock());
  ~SlirpBackend() override;
  SlirpBackend(const SlirpBackend&) = delete;
  SlirpBackend& operator=(const SlirpBackend&) = delete;

  BackendCapabilities capabilities() const noexcept override { return {}; }
  void attach(NetBackendListener& listener) noexcept override;
  void set_receive_interest(bool interested) noexcept override;
  [[nodiscard]] Result<SendStatus> send(std::span<const iovec> frame) noexcept override;
  [[nodiscard]] Result<size_t> receive(std::span<const iovec> buffer) noexcept override;
  void set_guest_offloads(const Offloads&) noexcept override {}  // none offered

  struct Stats {
    uint64_t rx_dropped = 0;  // frames for the guest dropped: queue full or buffer too small
    uint64_t rx_queued = 0;   // frames for the guest waiting now
    uint64_t tx_frames = 0;   // guest frames handed to slirp
  };
  Stats stats() const noexcept;

 private:
  struct SlirpTimer;
  struct Registration {
    int fd;
    uint32_t epoll_events;
  };

  SlirpBackend(FdPoller& poller, const Clock& clock);
  void start(const UserNetConfig& config, TimerFactory& timers);

  void kick() noexcept;
  void service(int ready_fd, uint32_t epoll_events) noexcept;
  void refresh_polling() noexcept;   // lock_ held, loop thread
  void fire_due_timers() noexcept;   // lock_ held, loop thread
  void unregister_fd(int fd) noexcept;

  // libslirp callbacks (opaque = this); they run under lock_. noexcept: an
  // exception must not unwind through libslirp's C frames.
  static ssize_t on_send_packet(const void* buf, size_t len, void* opaque) noexcept;
  static void on_guest_error(const char* msg, void* opaque) noexcept;
  static int64_t on_clock_get_ns(void* opaque) noexcept;
  static void* on_timer_new(SlirpTimerCb cb, void* cb_opaque, void* opaque) noexcept;
  static void on_timer_free(void* timer, void* opaque) noexcept;
  static void on_timer_mod(void* timer, int64_t expire_time_ms, void* opaque) noexcept;
  static void on_register_poll_fd(int fd, void* opaque) noexcept;
  static void on_unregister_poll_fd(int fd, void* opaque) noexcept;
  static void on_notify(void* opaque) noexcept;
  static int on_add_poll(int fd, int events, void* opaque) noexcept;
  static int on_get_revents(int idx, void* opaque) noexcept;
  static const SlirpCb kCallbacks;

  FdPoller& poller_;
  const Clock& clock_;
  int kick_fd_ = -1;
  bool kick_registered_ = false;
  std::unique_ptr<Timer> timer_;

  mutable std::mutex lock_;
  Slirp* slirp_ = nullptr;  // guarded by lock_
  bool closing_ = false;
  NetBackendListener* listener_ = nullptr;
  bool receive_interest_ = true;
  bool tx_blocked_ = false;  // a send() answered would_block: send_possible() owed
  uint64_t rx_taken_ = 0;    // frames receive() took since the last frames_waiting()
  std::deque<std::vector<uint8_t>> rx_queue_;
  size_t rx_bytes_ = 0;
  std::deque<std::vector<uint8_t>> tx_queue_;
  size_t tx_bytes_ = 0;
  Stats counters_;
  uint64_t guest_errors_ = 0;
  std::vector<std::unique_ptr<SlirpTimer>> slirp_timers_;
  // What slirp_pollfds_fill asked for last (index = slirp's idx), the
  // revents being handed to slirp_pollfds_poll, and what is registered.
  std::vector<Registration> wanted_;
  int ready_fd_ = -1;
  uint32_t ready_events_ = 0;
  std::vector<Registration> registered_;
};

}  // namespace keel::net
