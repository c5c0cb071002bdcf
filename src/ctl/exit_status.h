// Exit statuses of `keel ctl`, for scripts (README.md, docs/management.md).
#pragma once

namespace keel::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitVmError = 1;      // the VM answered with a QMP error
inline constexpr int kExitUsage = 2;        // bad command line
inline constexpr int kExitUnreachable = 3;  // cannot connect, connection lost, timeout, not a QMP peer
// powerdown --hard-stop-after: the guest did not power off in time, so
// keel ctl sent quit and the VM stopped (or exited as quit went out).
inline constexpr int kExitHardStop = 4;

}  // namespace keel::ctl
