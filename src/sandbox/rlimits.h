// Resource limits keel checks before it builds a machine: enough file
// descriptors for what the machine builder opens (RLIMIT_NOFILE, the soft
// limit raised when the hard one allows). RLIMIT_MEMLOCK is named where a
// kernel refuses locked memory (the io_uring set-up in virtio/blk).
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <functional>

namespace keel::sandbox {

// What the machine will have open, by kind.
struct FdDemand {
  uint32_t vcpus = 1;
  uint32_t disks = 0;
  uint32_t tap_nics = 0;
  uint32_t user_nics = 0;   // --net user: libslirp opens a socket per guest connection
  uint32_t output_files = 0;  // --console-log, --log-file, pcap=, --serial file:/unix:, reports
};

// A generous estimate of the descriptors keel needs at once (see rlimits.cc
// for what each constant covers). Never less than 64.
uint64_t estimate_fd_need(const FdDemand& demand) noexcept;

// getrlimit/setrlimit, replaceable in tests.
struct RlimitOps {
  std::function<int(int resource, rlimit* out)> get = [](int resource, rlimit* out) {
    return ::getrlimit(static_cast<__rlimit_resource>(resource), out);
  };
  std::function<int(int resource, const rlimit* in)> set = [](int resource, const rlimit* in) {
    return ::setrlimit(static_cast<__rlimit_resource>(resource), in);
  };
};

// Makes the soft RLIMIT_NOFILE at least `need`: unchanged when it already
// is, else raised to `need` -- not to the hard limit, so the limit still
// bounds what a guest can make keel open (libslirp's sockets). A hard
// limit below `need` is a keel::ConfigError naming the limit, the need and
// `ulimit -n`. Returns the soft limit now in force.
uint64_t ensure_fd_limit(uint64_t need, const RlimitOps& ops = {});

}  // namespace keel::sandbox
