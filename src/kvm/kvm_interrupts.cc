#include "src/kvm/kvm_interrupts.h"

#include "src/kvm/linux_kvm.h"
#include <sys/epoll.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <string>

#include <spdlog/spdlog.h>

#include "keel/config_error.h"
#include "keel/log_rate_limiter.h"
#include "src/kvm/event_fd.h"
#include "src/kvm/gsi_route_table.h"
#include "src/kvm/gsi_routing.h"
#include "src/kvm/host_error.h"
#include "src/kvm/ioctl.h"
#include "src/kvm/vm.h"

namespace keel::kvm {

namespace {

// A failing eventfd write or routing commit happens on a device's data
// path, as often as the guest makes it: keep the log bounded.
LogRateLimiter failure_log(10);

void log_failure(const char* what, int error, uint32_t gsi) noexcept {
  LogRateLimiter::Decision decision = failure_log.admit();
  if (!decision.log) return;
  try {
    spdlog::error("kvm: {} (gsi {}; {} similar lines suppressed)", errno_message(what, error), gsi,
                  decision.suppressed_before);
  } catch (...) {
  }
}

// KVM_IRQFD deassign: KVM finds the binding by eventfd and GSI.
void deassign_irqfd(int vm_fd, int eventfd, uint32_t gsi) noexcept {
  kvm_irqfd irqfd{};
  irqfd.fd = static_cast<uint32_t>(eventfd);
  irqfd.gsi = gsi;
  irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
  while (::ioctl(vm_fd, KVM_IRQFD, &irqfd) != 0) {
    if (errno != EINTR) {
      log_failure("KVM_IRQFD deassign", errno, gsi);
      return;
    }
  }
}

}  // namespace

KvmLevelLine::KvmLevelLine(std::shared_ptr<const UniqueFd> vm_fd, uint32_t gsi, FdPoller& poller)
    : vm_fd_(std::move(vm_fd)),
      gsi_(gsi),
      poller_(poller),
      irqfd_(create_eventfd()),
      resamplefd_(create_eventfd()) {
  kvm_irqfd irqfd{};
  irqfd.fd = static_cast<uint32_t>(irqfd_.get());
  irqfd.gsi = gsi_;
  irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
  irqfd.resamplefd = static_cast<uint32_t>(resamplefd_.get());
  KEEL_IOCTL(vm_fd_->get(), KVM_IRQFD, &irqfd);
  try {
    poller_.add(resamplefd_.get(), EPOLLIN, [this](uint32_t) { resampled(); });
  } catch (...) {
    deassign_irqfd(vm_fd_->get(), irqfd_.get(), gsi_);
    throw;
  }
}

KvmLevelLine::~KvmLevelLine() {
  poller_.remove(resamplefd_.get());
  deassign_irqfd(vm_fd_->get(), irqfd_.get(), gsi_);
}

void KvmLevelLine::set_level(bool high) noexcept {
  bool was_high = level_.exchange(high, std::memory_order_acq_rel);
  // Only a rising edge needs KVM: while the line is high KVM holds it
  // asserted until the EOI, and resampled() covers what follows the EOI.
  if (high && !was_high) assert_line();
}

void KvmLevelLine::resampled() noexcept {
  // The guest EOIed the GSI and KVM deasserted it: reassert if still high.
  drain_eventfd(resamplefd_.get());
  if (level()) assert_line();
}

void KvmLevelLine::assert_line() noexcept {
  if (int error = signal_eventfd(irqfd_.get()); error != 0) log_failure("irqfd write", error, gsi_);
}

KvmMsiVector::KvmMsiVector(std::shared_ptr<const UniqueFd> vm_fd, std::shared_ptr<GsiRouteTable> routes)
    : vm_fd_(std::move(vm_fd)), routes_(std::move(routes)), gsi_(routes_->allocate_gsi()) {
  try {
    eventfd_ = create_eventfd();
    kvm_irqfd irqfd{};
    irqfd.fd = static_cast<uint32_t>(eventfd_.get());
    irqfd.gsi = gsi_;
    KEEL_IOCTL(vm_fd_->get(), KVM_IRQFD, &irqfd);
  } catch (...) {
    routes_->release_gsi(gsi_);
    throw;
  }
}

KvmMsiVector::~KvmMsiVector() {
  deassign_irqfd(vm_fd_->get(), eventfd_.get(), gsi_);
  routes_->release_gsi(gsi_);
}

void KvmMsiVector::set_message(const MsiMessage& message) noexcept {
  routes_->set_msi(gsi_, message);
  has_message_.store(true, std::memory_order_release);
}

void KvmMsiVector::trigger() noexcept {
  // No message yet: there is nowhere to deliver to (the GSI has no route).
  if (!has_message_.load(std::memory_order_acquire)) return;
  // Staged routes first (one KVM_SET_GSI_ROUTING for all of them), so the
  // interrupt goes where the guest last pointed it.
  if (int error = routes_->commit(); error != 0) log_failure("KVM_SET_GSI_ROUTING", error, gsi_);
  if (int error = signal_eventfd(eventfd_.get()); error != 0) log_failure("irqfd write", error, gsi_);
}

KvmInterruptController::KvmInterruptController(const Vm& vm, FdPoller& poller)
    : vm_fd_(vm.shared_fd()), routes_(vm.gsi_routes()), poller_(poller) {}

std::shared_ptr<IrqLine> KvmInterruptController::level_line(uint32_t gsi) {
  if (gsi >= kIoApicPins) {
    throw ConfigError("level interrupt line on GSI " + std::to_string(gsi) + ": the IOAPIC has pins 0-" +
                      std::to_string(kIoApicPins - 1));
  }
  return std::make_shared<KvmLevelLine>(vm_fd_, gsi, poller_);
}

std::unique_ptr<MsiVector> KvmInterruptController::create_msi_vector() {
  return std::make_unique<KvmMsiVector>(vm_fd_, routes_);
}

}  // namespace keel::kvm
