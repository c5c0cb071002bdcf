#include "src/vmm/machine.h"

#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/console/console.h"
#include "src/stats/stats_report.h"
#include "src/sandbox/privileges.h"
#include "src/sandbox/rlimits.h"
#include "src/vmm/boot_test_wiring.h"
#include "src/vmm/machine_builder.h"
#include "src/vmm/qmp_wiring.h"
#include "src/vmm/stop_waiter.h"
#include "src/vmm/thread_sandbox.h"
#include "src/vmm/vcpu_runner.h"

namespace keel::vmm {

namespace {

// One thread per vCPU. Each installs its seccomp filter, then waits at the
// gate until all have, so none runs the guest if one cannot. If a thread
// cannot be started or sandboxed, the ones already running are stopped and
// joined before the error propagates.
std::vector<std::thread> start_vcpu_threads(Machine& m, const VcpuRunContext& context,
                                            const MachineConfig& config) {
  auto gate = std::make_shared<ThreadStartGate>(seccomp_start_hook(sandbox::ThreadKind::vcpu, config));
  std::vector<std::thread> threads;
  threads.reserve(m.vcpus.size());
  const auto stop_and_join = [&](const char* why) {
    gate->close();
    m.control.request_stop(StopReason::error, kExitVmFailed, why);
    for (size_t i = 0; i < threads.size(); ++i) kick_vcpu(*m.vcpus[i], threads[i].native_handle());
    for (auto& thread : threads) thread.join();
  };
  try {
    for (size_t index = 0; index < m.vcpus.size(); ++index) {
      kvm::Vcpu* raw_vcpu = m.vcpus[index].get();
      std::atomic<int>* thread_id = index < m.vcpu_thread_ids.size() ? &m.vcpu_thread_ids[index] : nullptr;
      threads.emplace_back([raw_vcpu, &context, gate, thread_id] {
        if (thread_id) thread_id->store(static_cast<int>(gettid()), std::memory_order_release);  // query-cpus-fast
        if (gate->enter()) run_vcpu_loop(*raw_vcpu, context);
      });
    }
  } catch (const std::system_error& error) {
    stop_and_join("could not start a vCPU thread");
    throw HostError(fmt::format("cannot start vCPU thread: {}", error.what()));
  }
  try {
    gate->wait_and_open(threads.size());
  } catch (const std::exception&) {
    stop_and_join("could not sandbox a vCPU thread");
    throw;
  }
  return threads;
}

void install_kicker(Machine& m, std::vector<std::thread>& threads) {
  std::vector<std::pair<kvm::Vcpu*, pthread_t>> targets;
  for (size_t i = 0; i < threads.size(); ++i) {
    targets.emplace_back(m.vcpus[i].get(), threads[i].native_handle());
  }
  m.control.set_kicker([targets = std::move(targets)] {
    for (auto [vcpu, thread] : targets) kick_vcpu(*vcpu, thread);
  });
}

// Teardown order: vCPUs first (nothing may touch devices after; a parked
// vCPU was woken by the stop request and returns like a running one), key
// injection, then the event loops (device I/O and timers, console input),
// then the terminal.
void tear_down(Machine& m, std::vector<std::thread>& threads) {
  for (auto& thread : threads) thread.join();
  if (m.key_injector) m.key_injector->cancel();
  m.loop->stop();
  m.console_loop->stop();
  m.console->restore();
}

// --stats-on-exit, once the vCPUs are joined (so the counts are final).
void print_exit_stats(const Machine& m) noexcept {
  if (!m.exit_stats) return;
  try {
    const std::string table = stats::format_table(m.exit_stats->snapshot());
    std::fprintf(stderr, "keel: exit statistics\n%s", table.c_str());
  } catch (const std::exception& error) {
    spdlog::warn("exit statistics not printed: {}", error.what());
  }
}

// The stderr line and keel's exit status for how the VM ended.
int report_end(const StopRecord& stop, BootTestWiring* boot_test) {
  if (boot_test) return boot_test->finish(stop);
  if (stop.reason == StopReason::error) {
    std::string reason = stop.message.empty() ? "the VM failed" : stop.message;
    std::fprintf(stderr, "keel: %s\n", reason.c_str());
  }
  return stop.exit_status;
}

// The teardown did not finish in time: a vCPU or the event loop is stuck
// (a device handler that never returns, a vCPU waiting for a lock such a
// handler holds). The stop was decided already; end keel with its status
// rather than hang. Runs on the watchdog thread.
[[noreturn]] void exit_without_teardown(const StopRecord& stop, BootTestWiring* boot_test,
                                        std::chrono::milliseconds grace) noexcept {
  console::restore_terminal_now();
  std::fprintf(stderr,
               "keel: the VM did not shut down within %lld ms of the stop request (a vCPU or the I/O thread is "
               "stuck); exiting without a clean teardown\n",
               static_cast<long long>(grace.count()));
  int status = stop.exit_status;
  try {
    status = report_end(stop, boot_test);
    spdlog::default_logger()->flush();
  } catch (...) {
    // Keep the stop's own status.
  }
  std::fflush(nullptr);
  _exit(status);
}

// RLIMIT_NOFILE must cover what build_machine opens: a clear error now
// rather than EMFILE half-way through set-up (src/sandbox/rlimits.h).
void check_fd_limit(const MachineConfig& config) {
  sandbox::FdDemand demand{.vcpus = config.cpus, .disks = static_cast<uint32_t>(config.disks.size())};
  for (const net::NetSpec& nic : config.nics) {
    ++(nic.backend == net::NetBackendKind::user ? demand.user_nics : demand.tap_nics);
    if (nic.pcap) ++demand.output_files;
  }
  const harness::HarnessOptions& h = config.harness;
  demand.output_files += (h.console_log ? 1 : 0) + (h.junit ? 2 : 0) + (h.result_json ? 2 : 0);
  const bool serial_file = config.serial.kind == ConsoleKind::file || config.serial.kind == ConsoleKind::unix_socket;
  if (serial_file) demand.output_files += 2;
  const uint64_t need = sandbox::estimate_fd_need(demand);
  spdlog::debug("RLIMIT_NOFILE: soft limit {} (need about {})", sandbox::ensure_fd_limit(need), need);
}

// --user/--group/--chroot: everything privileged is open (KVM, RAM, images,
// taps, sockets, console, logs, report directories) and no keel thread has
// started, so the drop covers every thread keel will run.
void drop_privileges(const MachineConfig& config) {
  const sandbox::PrivilegeOptions& privileges = config.privileges;
  if (!privileges.any()) return;
  if (privileges.chroot_dir && !privileges.uid) {
    spdlog::warn("--chroot without --user: keel stays root, and root can leave a chroot");
  }
  sandbox::apply_privileges(privileges);
  spdlog::info("running as uid {} gid {}{}", getuid(), getgid(),
               privileges.chroot_dir ? " in " + privileges.chroot_dir->string() : std::string());
}

}  // namespace

int run_machine(const MachineConfig& config) { return run_machine(config, RunHooks{}); }

int run_machine(const MachineConfig& config, const RunHooks& hooks) {
  check_fd_limit(config);
  std::unique_ptr<Machine> machine = build_machine(config);
  Machine& m = *machine;
  // Declared after the machine, so destroyed first; the console stops
  // feeding it once the vCPUs are joined (tear_down).
  std::unique_ptr<BootTestWiring> boot_test;
  if (config.harness.enabled()) boot_test = std::make_unique<BootTestWiring>(config.harness, *m.console, m.control);
  if (hooks.before_start) hooks.before_start(m);
  drop_privileges(config);

  VcpuRunContext context{.pio = *m.pio_bus, .mmio = *m.mmio_bus, .control = m.control, .pvm_host = m.pvm_host,
                         .stats = m.exit_stats.get()};
  // Each thread installs its own seccomp filter as it starts (a failure
  // fails the start); the main thread's comes last, once all run.
  m.loop->set_thread_start_hook(seccomp_start_hook(sandbox::ThreadKind::io_loop, config));
  m.console_loop->set_thread_start_hook(seccomp_start_hook(sandbox::ThreadKind::console_loop, config));
  // QMP wait=on: the guest starts once a client is there (before the
  // console loop starts, which then accepts it).
  wait_for_qmp_client(m, config);
  m.loop->start();
  m.console_loop->start();
  if (m.key_injector) {
    m.key_injector->start(seccomp_start_hook(sandbox::ThreadKind::helper, config));
    if (!m.key_trigger) m.key_injector->trigger();
  }
  std::vector<std::thread> threads = start_vcpu_threads(m, context, config);
  install_kicker(m, threads);
  // Pause needs the kicker and every vCPU thread in its loop.
  m.control.mark_running(static_cast<uint32_t>(m.vcpus.size()));
  try {
    install_main_thread_filter(config);
  } catch (const std::exception& error) {
    m.control.request_stop(StopReason::error, kExitVmFailed, error.what());
  }

  // The main thread itself serves SIGINT/SIGTERM and --timeout.
  StopSources sources{.signals = m.signals.get(), .deadline = std::nullopt, .on_deadline = {}};
  if (boot_test && boot_test->deadline()) {
    sources.deadline = boot_test->deadline();
    sources.on_deadline = [&boot_test] { boot_test->check_deadline(); };
  }
  const StopRecord stop = wait_for_stop(m.control, sources);
  emit_shutdown_event(m, stop);  // QMP's SHUTDOWN, while the console loop still serves the client
  {
    TeardownWatchdog watchdog(hooks.teardown_grace, [&] {
      if (hooks.on_teardown_stuck) {
        hooks.on_teardown_stuck();
        return;
      }
      exit_without_teardown(stop, boot_test.get(), hooks.teardown_grace);
    });
    tear_down(m, threads);
  }
  m.control.mark_stopped();
  if (config.stats_on_exit) print_exit_stats(m);
  return report_end(stop, boot_test.get());
}

}  // namespace keel::vmm
