// Everything `keel run` was asked for, already parsed and validated by the
// CLI layer. The machine builder (machine.h) turns it into a running VM.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "keel/guest_memory.h"
#include "src/console/byte_size.h"
#include "src/harness/harness_options.h"
#include "src/kvm/cpuid.h"
#include "src/net/net_spec.h"
#include "src/sandbox/privileges.h"
#include "src/sandbox/seccomp_mode.h"
#include "virtio/blk/disk_spec.h"

namespace keel::vmm {

enum class ConsoleKind { stdio, file, pty, unix_socket, none };

struct ConsoleSpec {
  ConsoleKind kind = ConsoleKind::stdio;
  std::filesystem::path path;  // file: and unix: only
  // file: only: output beyond this many bytes is dropped (after one note).
  uint64_t max_size = console::kDefaultOutputMaxSize;
};

// Keys to inject into the PS/2 keyboard once the console output matches a
// pattern (used by the probe guest's i8042-inject suite; a seed of the
// scripted-harness features).
struct KeyInjection {
  std::string after_console_regex;     // empty: right after boot
  std::vector<std::string> keys;       // QKeyCode names; "shift-a" presses both
};

// --qmp unix:PATH[,server=on][,wait=off] and --qmp-fd N (src/cli/qmp_spec.h).
struct QmpSpec {
  std::filesystem::path socket_path;  // empty: no listening socket
  // server=on without wait=off (QEMU's default then): the guest starts only
  // once the first client has connected (SIGINT/SIGTERM end the wait).
  bool wait_for_client = false;
  int connected_fd = -1;  // --qmp-fd: a connected socket inherited from the parent; -1: none
  bool enabled() const noexcept { return !socket_path.empty() || connected_fd >= 0; }
};

struct MachineConfig {
  // Kernel: a path, or nullopt for the embedded default guest (the probe
  // guest in demo mode).
  std::optional<std::filesystem::path> kernel;
  std::optional<std::filesystem::path> initrd;
  std::string cmdline;
  MemoryConfig memory{.size_bytes = 512ull << 20, .backing = MemoryBacking::anonymous, .hugetlbfs_path = {}};
  uint32_t cpus = 1;
  ConsoleSpec serial;
  uint16_t debug_exit_port = 0x501;
  std::optional<KeyInjection> key_injection;
  // --cpu-features: CPUID bits cleared in every vCPU (kvm::parse_cpu_feature_list).
  std::vector<kvm::CpuidBits> hidden_cpuid;
  // --disk, in order: one virtio-blk PCI device each (slots 1, 2, ...).
  std::vector<virtio::blk::DiskSpec> disks;
  // --net, in order: one NIC each, in the PCI slots after the disks.
  std::vector<net::NetSpec> nics;
  // --expect, --fail-on, --timeout, --junit, --result-json, --console-log.
  harness::HarnessOptions harness;
  // --seccomp: each thread's allow-list (src/sandbox). `keel run` defaults
  // to on; off here so a machine run inside another program (the tests)
  // does not filter that program's threads unless asked.
  sandbox::SeccompMode seccomp = sandbox::SeccompMode::off;
  // --user, --group, --chroot: applied once the machine is built, before
  // any of its threads starts (src/sandbox/privileges.h).
  sandbox::PrivilegeOptions privileges;
  // --qmp / --qmp-fd: the QMP control socket (docs/management.md).
  QmpSpec qmp;
  // --name: what QMP query-name reports (empty: no name, as QEMU without -name).
  std::string name;
  // --stats-on-exit: print the exit statistics table to stderr once the
  // vCPUs are joined.
  bool stats_on_exit = false;
};

}  // namespace keel::vmm
