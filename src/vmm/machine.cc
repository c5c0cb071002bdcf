#include "src/vmm/machine.h"

#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/console/console.h"
#include "src/vmm/boot_test_wiring.h"
#include "src/vmm/machine_builder.h"
#include "src/vmm/stop_waiter.h"
#include "src/vmm/vcpu_runner.h"

namespace keel::vmm {

namespace {

// One thread per vCPU. If a thread cannot be started, the ones already
// running are stopped and joined before the error propagates.
std::vector<std::thread> start_vcpu_threads(Machine& m, const VcpuRunContext& context) {
  std::vector<std::thread> threads;
  threads.reserve(m.vcpus.size());
  try {
    for (auto& vcpu : m.vcpus) {
      kvm::Vcpu* raw_vcpu = vcpu.get();
      threads.emplace_back([raw_vcpu, &context] { run_vcpu_loop(*raw_vcpu, context); });
    }
  } catch (const std::system_error& error) {
    m.control.request_stop(StopReason::error, kExitVmFailed, "could not start a vCPU thread");
    for (size_t i = 0; i < threads.size(); ++i) kick_vcpu(*m.vcpus[i], threads[i].native_handle());
    for (auto& thread : threads) thread.join();
    throw HostError(fmt::format("cannot start vCPU thread: {}", error.what()));
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

// Teardown order: vCPUs first (nothing may touch devices after), key
// injection, then the event loops (device I/O and timers, console input),
// then the terminal.
void tear_down(Machine& m, std::vector<std::thread>& threads) {
  for (auto& thread : threads) thread.join();
  if (m.key_injector) m.key_injector->cancel();
  m.loop->stop();
  m.console_loop->stop();
  m.console->restore();
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

}  // namespace

int run_machine(const MachineConfig& config) { return run_machine(config, RunHooks{}); }

int run_machine(const MachineConfig& config, const RunHooks& hooks) {
  std::unique_ptr<Machine> machine = build_machine(config);
  Machine& m = *machine;
  // Declared after the machine, so destroyed first; the console stops
  // feeding it once the vCPUs are joined (tear_down).
  std::unique_ptr<BootTestWiring> boot_test;
  if (config.harness.enabled()) boot_test = std::make_unique<BootTestWiring>(config.harness, *m.console, m.control);
  if (hooks.before_start) hooks.before_start(m);

  VcpuRunContext context{.pio = *m.pio_bus, .mmio = *m.mmio_bus, .control = m.control, .pvm_host = m.pvm_host};
  m.loop->start();
  m.console_loop->start();
  if (m.key_injector && !m.key_trigger) m.key_injector->trigger();
  std::vector<std::thread> threads = start_vcpu_threads(m, context);
  install_kicker(m, threads);

  // The main thread itself serves SIGINT/SIGTERM and --timeout.
  StopSources sources{.signals = m.signals.get(), .deadline = std::nullopt, .on_deadline = {}};
  if (boot_test && boot_test->deadline()) {
    sources.deadline = boot_test->deadline();
    sources.on_deadline = [&boot_test] { boot_test->check_deadline(); };
  }
  const StopRecord stop = wait_for_stop(m.control, sources);
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
  return report_end(stop, boot_test.get());
}

}  // namespace keel::vmm
