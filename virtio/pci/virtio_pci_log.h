// Rate-limited logging of guest-triggered transport events (a guest can
// trigger these in a loop; the log must stay bounded).
#pragma once

namespace keel::virtio::pci {

// `what` must be a string literal; `detail` is printed with it.
void log_guest_error(const char* what, unsigned long long detail = 0) noexcept;

}  // namespace keel::virtio::pci
