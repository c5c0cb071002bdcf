// Turns a --net spec into the backend its NIC model will own: a TAP or
// user-mode networking, wrapped in a PcapRecorder when pcap= is given.
#pragma once

#include <memory>

#include "keel/clock.h"
#include "keel/fd_poller.h"
#include "keel/net_backend.h"
#include "src/net/net_spec.h"

namespace keel::net {

// `poller` and `timers` (the event loop) must outlive the backend. Throws
// keel::ConfigError with a one-line message naming the fix.
std::unique_ptr<NetBackend> open_backend(const NetSpec& spec, FdPoller& poller, TimerFactory& timers);

}  // namespace keel::net
