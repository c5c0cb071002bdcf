#include "src/kvm/kvm_irq_line.h"

#include "src/kvm/linux_kvm.h"
#include <sys/ioctl.h>

#include <atomic>
#include <cerrno>

#include <spdlog/spdlog.h>

#include "src/kvm/host_error.h"

namespace keel::kvm {

void KvmIrqLine::set_level(bool high) noexcept {
  kvm_irq_level level{};
  level.irq = gsi_;
  level.level = high ? 1 : 0;
  if (::ioctl(vm_fd_->get(), KVM_IRQ_LINE, &level) == 0) return;
  int error = errno;
  // A device can toggle a line on every guest access; keep the log bounded.
  static std::atomic<uint64_t> failures{0};
  uint64_t n = failures.fetch_add(1, std::memory_order_relaxed);
  if (n < 10 || n % 10000 == 0) {
    try {
      spdlog::error("kvm: {} (gsi {}, failure #{})", errno_message("KVM_IRQ_LINE", error), gsi_, n + 1);
    } catch (...) {
    }
  }
}

}  // namespace keel::kvm
