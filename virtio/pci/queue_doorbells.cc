#include "virtio/pci/queue_doorbells.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace keel::virtio::pci {

namespace {

// Read the counter to zero so the level-triggered poller stops reporting
// the fd; any number of writes since the last drain is one notification.
void drain(int fd) noexcept {
  uint64_t count = 0;
  while (::read(fd, &count, sizeof(count)) == sizeof(count)) {
  }
}

}  // namespace

QueueDoorbells::QueueDoorbells(FdPoller& poller, uint16_t queue_count, std::function<void(uint16_t)> on_notify)
    : poller_(poller) {
  fds_.reserve(queue_count);
  // place() runs whenever the guest moves a BAR: its list never grows past
  // this, so it never reallocates there (the registrar's own Doorbell
  // objects are its matter: one per queue per placement, freed on the next).
  doorbells_.reserve(queue_count);
  size_t watched = 0;
  try {
    for (uint16_t queue = 0; queue < queue_count; ++queue) {
      const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd for a virtio queue doorbell");
      fds_.push_back(fd);
    }
    for (uint16_t queue = 0; queue < queue_count; ++queue) {
      const int fd = fds_[queue];
      poller_.add(fd, EPOLLIN, [fd, queue, on_notify](uint32_t) {
        drain(fd);
        on_notify(queue);
      });
      ++watched;
    }
  } catch (...) {
    for (size_t i = 0; i < watched; ++i) poller_.remove(fds_[i]);
    for (int fd : fds_) ::close(fd);
    throw;
  }
}

QueueDoorbells::~QueueDoorbells() {
  for (int fd : fds_) poller_.remove(fd);
  {
    std::lock_guard guard(lock_);
    doorbells_.clear();
  }
  for (int fd : fds_) ::close(fd);
}

void QueueDoorbells::place(DoorbellRegistrar& registrar, std::optional<uint64_t> notify_base,
                           uint32_t stride) noexcept {
  std::lock_guard guard(lock_);
  // bars_changed() reports any BAR of the function; keep registrations
  // that are already where they belong (and retry ones that failed).
  if (notify_base == base_ && doorbells_.size() == fds_.size()) {
    bool all_live = true;
    for (const auto& doorbell : doorbells_) all_live = all_live && doorbell != nullptr;
    if (all_live) return;
  }
  // Old registrations go first: the new range may overlap the old one.
  doorbells_.clear();
  base_ = notify_base;
  if (!notify_base) return;
  for (size_t queue = 0; queue < fds_.size(); ++queue) {
    DoorbellSpec spec;
    spec.io = false;
    spec.address = *notify_base + queue * stride;
    spec.length = 2;  // 4.1.5.2: the driver writes a 16-bit queue index
    spec.eventfd = fds_[queue];
    // A nullptr stays in the list: that doorbell takes the MMIO fallback.
    doorbells_.push_back(registrar.register_doorbell(spec));
  }
}

size_t QueueDoorbells::registered() const noexcept {
  std::lock_guard guard(lock_);
  size_t count = 0;
  for (const auto& doorbell : doorbells_) count += doorbell != nullptr ? 1 : 0;
  return count;
}

void QueueDoorbells::signal(uint16_t queue) noexcept {
  if (queue >= fds_.size()) return;
  const uint64_t one = 1;
  // Can only fail when the counter would overflow, i.e. is already
  // signalled; the handler will run either way.
  [[maybe_unused]] const ssize_t written = ::write(fds_[queue], &one, sizeof(one));
}

}  // namespace keel::virtio::pci
