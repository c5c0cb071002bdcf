// A NetBackend over a Linux TAP device (/dev/net/tun with IFF_TAP |
// IFF_NO_PI | IFF_VNET_HDR): frames go to and come from the host's network
// stack with the virtio-net header in front, so virtio-net's offload fields
// pass through unchanged and the kernel finishes checksums and segmentation.
//
// The fd is non-blocking and watched by the event loop; receive interest
// (EPOLLIN) and "a send would block" (EPOLLOUT) are switched with
// FdPoller::modify(), so under back-pressure frames stay in the kernel's
// queue instead of being read and dropped.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "keel/fd_poller.h"
#include "keel/net_backend.h"

namespace keel::net {

// Throws keel::ConfigError when `name` cannot name a network interface
// (empty, longer than IFNAMSIZ - 1, '/', ':', whitespace, "." or "..").
void check_interface_name(std::string_view name);

class TapBackend final : public NetBackend {
 public:
  // Attaches to the tap `name` if it exists (a persistent tap made with
  // `ip tuntap add`), otherwise asks the kernel to create it; a created tap
  // disappears when the backend is destroyed. Registers the fd on `poller`
  // (no events until attach()). Throws keel::ConfigError with a one-line
  // message naming the fix.
  static std::unique_ptr<TapBackend> open(std::string_view name, FdPoller& poller);
  // Wraps an already open fd (taken over) instead of a tap, registering it
  // like open() does: lets tests drive the EAGAIN and short-write paths with
  // a socketpair or pipe, which a real tap never produces on demand.
  static std::unique_ptr<TapBackend> adopt(int fd, std::string name, FdPoller& poller);
  ~TapBackend() override;
  TapBackend(const TapBackend&) = delete;
  TapBackend& operator=(const TapBackend&) = delete;

  BackendCapabilities capabilities() const noexcept override;
  void attach(NetBackendListener& listener) noexcept override;
  void set_receive_interest(bool interested) noexcept override;
  [[nodiscard]] Result<SendStatus> send(std::span<const iovec> frame) noexcept override;
  [[nodiscard]] Result<size_t> receive(std::span<const iovec> buffer) noexcept override;
  void set_guest_offloads(const Offloads& offloads) noexcept override;

  // The interface name the kernel reports (a name like "tap%d" is filled in).
  const std::string& name() const noexcept { return name_; }
  bool created() const noexcept { return created_; }
  // For tests and benchmarks (TUNSETSNDBUF, raw loops); owned by the backend.
  int fd() const noexcept { return fd_; }

 private:
  TapBackend(int fd, std::string name, bool created, FdPoller& poller);
  void register_fd();  // throws ConfigError
  void on_events(uint32_t epoll_events) noexcept;
  // Recomputes the epoll mask from the flags below; call with lock_ held.
  void update_events_locked() noexcept;

  int fd_;
  std::string name_;
  bool created_;
  FdPoller& poller_;
  std::atomic<NetBackendListener*> listener_{nullptr};
  // Guards the flags that make the epoll mask, so two threads changing them
  // (the model under its lock, the loop in on_events) never install a stale
  // mask. modify() does not block, so holding it there is fine.
  std::mutex lock_;
  bool attached_ = false;
  bool receive_interest_ = true;
  bool waiting_for_writable_ = false;
  bool failed_ = false;  // EPOLLERR/EPOLLHUP seen: the interface went away
  // receive() only (the model serialises it): the caller's iovecs plus an
  // overflow area that catches the tail of a frame too long for them.
  std::vector<iovec> rx_iov_;
  std::unique_ptr<std::byte[]> rx_overflow_;
  // A one-piece receive buffer larger than this is read with a plain
  // read() and no overflow area: longer frames than the tap's MTU allows
  // do not come (refresh_frame_bound()), so a read that fills the buffer
  // is taken as truncated. kVnetHeaderSize + kMaxFrameSize while unknown.
  // Written and read on the event loop thread (on_events, then receive()
  // from the listener), atomic for a receive() from elsewhere.
  std::atomic<size_t> frame_bound_;
  int control_socket_ = -1;  // for SIOCGIFMTU; -1 when there is none
  // TUNSETOFFLOAD set something: GSO frames (up to 64 KiB) may come.
  std::atomic<bool> offloads_on_{false};
  void refresh_frame_bound() noexcept;
};

}  // namespace keel::net
