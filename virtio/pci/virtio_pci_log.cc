#include "virtio/pci/virtio_pci_log.h"

#include <spdlog/spdlog.h>

#include "keel/log_rate_limiter.h"

namespace keel::virtio::pci {

namespace {
LogRateLimiter guest_error_log(10);
}  // namespace

void log_guest_error(const char* what, unsigned long long detail) noexcept {
  const LogRateLimiter::Decision decision = guest_error_log.admit();
  if (!decision.log) return;
  try {
    spdlog::warn("virtio-pci: {} ({:#x}; {} similar lines suppressed)", what, detail, decision.suppressed_before);
  } catch (...) {
  }
}

}  // namespace keel::virtio::pci
