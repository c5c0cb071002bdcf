// The per-queue doorbells of a virtio-pci function (virtio 1.2, 4.1.4.4):
// one eventfd per queue, watched on the event loop, and a KVM ioeventfd
// registration at the queue's notify address so the guest's write never
// exits to a vCPU thread. When registration fails, the write arrives as an
// ordinary MMIO exit and the transport calls signal() — the same eventfd,
// so a doorbell behaves identically either way.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "keel/doorbell.h"
#include "keel/fd_poller.h"

namespace keel::virtio::pci {

class QueueDoorbells {
 public:
  // Creates the eventfds (EFD_NONBLOCK | EFD_CLOEXEC) and adds them to
  // `poller`; `on_notify(queue)` runs on the loop thread after the eventfd
  // was drained. Throws std::system_error on host failure (start-up only).
  QueueDoorbells(FdPoller& poller, uint16_t queue_count, std::function<void(uint16_t)> on_notify);
  // Removes the fds from the poller (so no handler runs any more), drops
  // the registrations, then closes the fds.
  ~QueueDoorbells();
  QueueDoorbells(const QueueDoorbells&) = delete;
  QueueDoorbells& operator=(const QueueDoorbells&) = delete;

  // Moves the doorbells to `notify_base` (the guest address of queue 0's
  // doorbell), or drops them when it is nullopt (the BAR does not decode).
  // Queue N's doorbell is at notify_base + N * `stride`.
  void place(DoorbellRegistrar& registrar, std::optional<uint64_t> notify_base, uint32_t stride) noexcept;
  // Registrations alive now (failed ones are not counted).
  size_t registered() const noexcept;

  // A doorbell write that reached the device itself (the MMIO fallback).
  void signal(uint16_t queue) noexcept;
  int eventfd(uint16_t queue) const noexcept { return queue < fds_.size() ? fds_[queue] : -1; }

 private:
  FdPoller& poller_;
  std::vector<int> fds_;
  mutable std::mutex lock_;  // guards the registrations
  std::optional<uint64_t> base_;
  std::vector<std::unique_ptr<Doorbell>> doorbells_;
};

}  // namespace keel::virtio::pci
