#include "src/kvm/kvm_doorbells.h"

#include "src/kvm/linux_kvm.h"
#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <new>

#include <spdlog/spdlog.h>

#include "keel/log_rate_limiter.h"
#include "src/kvm/host_error.h"
#include "src/kvm/vm.h"

namespace keel::kvm {

namespace {

// BAR moves are guest-driven: so is every registration failure.
LogRateLimiter failure_log(10);

template <class... Args>
void log_failure(fmt::format_string<Args...> format, Args&&... args) noexcept {
  LogRateLimiter::Decision decision = failure_log.admit();
  if (!decision.log) return;
  try {
    spdlog::warn(format, std::forward<Args>(args)...);
    if (decision.suppressed_before > 0) {
      spdlog::warn("kvm: {} doorbell failures suppressed before this one", decision.suppressed_before);
    }
  } catch (...) {
  }
}

int ioeventfd_ioctl(int vm_fd, kvm_ioeventfd& request) noexcept {
  for (;;) {
    if (::ioctl(vm_fd, KVM_IOEVENTFD, &request) == 0) return 0;
    if (errno != EINTR) return errno;
  }
}

class KvmDoorbell final : public Doorbell {
 public:
  KvmDoorbell(std::shared_ptr<const UniqueFd> vm_fd, UniqueFd eventfd, const kvm_ioeventfd& request) noexcept
      : vm_fd_(std::move(vm_fd)), eventfd_(std::move(eventfd)), request_(request) {}
  KvmDoorbell(const KvmDoorbell&) = delete;
  KvmDoorbell& operator=(const KvmDoorbell&) = delete;

  // KVM_IOEVENTFD assign: 0 or errno.
  int register_with_kvm() noexcept {
    int error = ioeventfd_ioctl(vm_fd_->get(), request_);
    registered_ = error == 0;
    return error;
  }
  ~KvmDoorbell() override {
    if (!registered_) return;
    // KVM finds the registration by the same address, length, eventfd and
    // datamatch, with the deassign flag added.
    kvm_ioeventfd request = request_;
    request.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
    if (int error = ioeventfd_ioctl(vm_fd_->get(), request); error != 0) {
      log_failure("kvm: {} (doorbell {:#x})", errno_message("KVM_IOEVENTFD deassign", error), request.addr);
    }
  }

 private:
  std::shared_ptr<const UniqueFd> vm_fd_;
  UniqueFd eventfd_;  // our duplicate, for the deassign
  kvm_ioeventfd request_;
  bool registered_ = false;
};

}  // namespace

std::optional<std::string> doorbell_spec_problem(const DoorbellSpec& spec) {
  if (spec.length != 1 && spec.length != 2 && spec.length != 4 && spec.length != 8) {
    return "length " + std::to_string(spec.length) + " is not 1, 2, 4 or 8";
  }
  if (spec.eventfd < 0) return "no eventfd";
  if (spec.io && (spec.address > 0x10000 || spec.length > 0x10000 - spec.address)) {
    return "port range outside 0-0xffff";
  }
  if (!spec.io && spec.address > UINT64_MAX - (spec.length - 1)) return "address range wraps";
  if (spec.datamatch && spec.length < 8 && (*spec.datamatch >> (8 * spec.length)) != 0) {
    return "datamatch value wider than the access";
  }
  return std::nullopt;
}

KvmDoorbellRegistrar::KvmDoorbellRegistrar(const Vm& vm) : vm_fd_(vm.shared_fd()) {}

std::unique_ptr<Doorbell> KvmDoorbellRegistrar::register_doorbell(const DoorbellSpec& spec) noexcept {
  try {
    if (auto problem = doorbell_spec_problem(spec)) {
      log_failure("kvm: doorbell {:#x} not registered: {}", spec.address, *problem);
      return nullptr;
    }
    UniqueFd eventfd(::fcntl(spec.eventfd, F_DUPFD_CLOEXEC, 0));
    if (!eventfd) {
      log_failure("kvm: {} (doorbell {:#x})", errno_message("dup of the doorbell eventfd", errno), spec.address);
      return nullptr;
    }
    kvm_ioeventfd request{};
    request.addr = spec.address;
    request.len = spec.length;
    request.fd = eventfd.get();
    if (spec.io) request.flags |= KVM_IOEVENTFD_FLAG_PIO;
    if (spec.datamatch) {
      request.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
      request.datamatch = *spec.datamatch;
    }
    // Allocated first, so nothing can fail once KVM holds the registration.
    auto doorbell = std::make_unique<KvmDoorbell>(vm_fd_, std::move(eventfd), request);
    if (int error = doorbell->register_with_kvm(); error != 0) {
      log_failure("kvm: {} (doorbell {} {:#x} length {})", errno_message("KVM_IOEVENTFD", error),
                  spec.io ? "port" : "address", spec.address, spec.length);
      return nullptr;
    }
    return doorbell;
  } catch (...) {
    // Only allocations throw here (bad_alloc), all before KVM_IOEVENTFD.
    return nullptr;
  }
}

}  // namespace keel::kvm
