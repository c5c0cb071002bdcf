#include "src/vmm/machine.h"

#include <pthread.h>

#include <cstdio>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "src/vmm/boot_test_wiring.h"
#include "src/vmm/machine_builder.h"
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
// injection, then the event loop (console input, timers, signals), then the
// terminal.
void tear_down(Machine& m, std::vector<std::thread>& threads) {
  for (auto& thread : threads) thread.join();
  if (m.key_injector) m.key_injector->cancel();
  m.signals->unwatch();
  m.loop->stop();
  m.console->restore();
}

}  // namespace

int run_machine(const MachineConfig& config) {
  std::unique_ptr<Machine> machine = build_machine(config);
  Machine& m = *machine;
  // Declared after the machine, so destroyed first; the console stops
  // feeding it once the vCPUs are joined (tear_down).
  std::unique_ptr<BootTestWiring> boot_test;
  if (config.harness.enabled()) {
    boot_test = std::make_unique<BootTestWiring>(config.harness, *m.console, *m.loop, m.control);
  }

  VcpuRunContext context{.pio = *m.pio_bus, .mmio = *m.mmio_bus, .control = m.control, .pvm_host = m.pvm_host};
  m.loop->start();
  if (m.key_injector && !m.key_trigger) m.key_injector->trigger();
  std::vector<std::thread> threads = start_vcpu_threads(m, context);
  install_kicker(m, threads);

  StopRecord stop = m.control.wait_for_stop();
  tear_down(m, threads);

  if (boot_test) return boot_test->finish(stop);
  if (stop.reason == StopReason::error) {
    std::string reason = stop.message.empty() ? "the VM failed" : stop.message;
    std::fprintf(stderr, "keel: %s\n", reason.c_str());
  }
  return stop.exit_status;
}

}  // namespace keel::vmm
