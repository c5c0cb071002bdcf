// keel's exit status for each way a VM ends. The debug-exit value is the
// guest's to choose (0-255), so no status can be reserved for failures:
// when keel itself fails it also prints a one-line reason on stderr.
#pragma once

namespace keel::vmm {

inline constexpr int kExitGuestOff = 0;      // guest power-off, reset or triple fault
inline constexpr int kExitVmFailed = 1;      // KVM internal error, failed entry, KVM_RUN error
inline constexpr int kExitSigint = 130;      // 128 + SIGINT, as shells report it
inline constexpr int kExitSigterm = 143;     // 128 + SIGTERM

}  // namespace keel::vmm
