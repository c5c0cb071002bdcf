// eventfd(2) helpers for irqfd / resamplefd / ioeventfd plumbing.
#pragma once

#include <cstdint>

#include "src/kvm/unique_fd.h"

namespace keel::kvm {

// A non-blocking, close-on-exec eventfd with counter 0. Throws HostError.
UniqueFd create_eventfd();

// Add 1 to the counter. Returns 0 or errno. EAGAIN (the counter is at its
// maximum, so the fd is already signalled) counts as success.
int signal_eventfd(int fd) noexcept;

// Read and reset the counter: 0 when it was not signalled (or on error).
uint64_t drain_eventfd(int fd) noexcept;

}  // namespace keel::kvm
