#include "src/vmm/qmp_wiring.h"

#include <poll.h>

#include <cerrno>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "keel/clock.h"
#include "src/qmp/command_registry.h"
#include "src/qmp/server.h"
#include "src/sockets/unix_listener.h"
#include "src/vmm/qmp_commands.h"
#include "src/vmm/qmp_input_commands.h"
#include "src/vmm/qmp_query_commands.h"
#include "src/vmm/qmp_stats_command.h"

namespace keel::vmm {

void setup_qmp(Machine& m, const MachineConfig& config) {
  if (!config.qmp.enabled()) return;
  Machine* machine = &m;
  auto emit = [machine](std::string_view name, const qmp::Json& data) {
    if (machine->qmp_server) machine->qmp_server->emit_event(name, data);
  };
  auto thread_ids = [machine] {
    std::vector<int> ids;
    ids.reserve(machine->vcpu_thread_ids.size());
    for (const std::atomic<int>& id : machine->vcpu_thread_ids) ids.push_back(id.load(std::memory_order_acquire));
    return ids;
  };
  m.vcpu_thread_ids = std::vector<std::atomic<int>>(config.cpus);
  m.qmp_commands = std::make_unique<VmCommands>(m.control, std::move(emit), std::move(thread_ids),
                                                config.name);
  const qmp::VersionInfo version = qmp::keel_version_info();
  m.qmp_registry = std::make_unique<qmp::CommandRegistry>();
  qmp::add_core_commands(*m.qmp_registry, version);
  m.qmp_commands->register_commands(*m.qmp_registry);
  // The devices come after QMP is set up (add_devices): the handlers look
  // them up when called.
  m.qmp_input = std::make_unique<InputCommands>([machine] { return machine->i8042.get(); },
                                                [machine] { return machine->control.run_state(); },
                                                *m.console_loop, system_clock());
  m.qmp_input->register_commands(*m.qmp_registry);
  register_query_commands(*m.qmp_registry, describe_disks(config.disks), [machine] { return machine->pci.get(); });
  register_stats_command(*m.qmp_registry, [machine]() -> const ExitStats* { return machine->exit_stats.get(); });
  // On the console loop: it serves only console input, so no guest can
  // keep it busy and delay a stop or a quit.
  m.qmp_server = std::make_unique<qmp::QmpServer>(*m.console_loop, *m.qmp_registry, version, system_clock());
  if (!config.qmp.socket_path.empty()) {
    const std::string path = config.qmp.socket_path.string();
    const int listen_fd = sockets::open_unix_listener(path, "--qmp socket");
    m.qmp_server->serve_listener(listen_fd, path);
    m.qmp_listen_fd = listen_fd;
    spdlog::info("QMP: listening on {}", path);
  }
  if (config.qmp.connected_fd >= 0) m.qmp_server->serve_connected(config.qmp.connected_fd);
}

void wait_for_qmp_client(Machine& m, const MachineConfig& config) {
  if (!config.qmp.wait_for_client || m.qmp_listen_fd < 0 || m.qmp_server->has_client()) return;
  // As QEMU prints for a chardev with server=on,wait=on.
  std::fprintf(stderr, "keel: waiting for a QMP client on %s\n", config.qmp.socket_path.c_str());
  pollfd fds[2] = {{.fd = m.qmp_listen_fd, .events = POLLIN, .revents = 0},
                   {.fd = m.signals ? m.signals->fd() : -1, .events = POLLIN, .revents = 0}};
  for (;;) {
    const int ready = poll(fds, 2, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      spdlog::warn("QMP: waiting for a client failed: {}; starting the guest", std::generic_category().message(errno));
      return;
    }
    if (fds[1].revents & POLLIN) {
      m.signals->handle_pending(m.control);  // a stop request: the VM ends at once
      if (m.control.stop_requested()) return;
    }
    if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) return;  // the console loop accepts it
  }
}

void emit_shutdown_event(Machine& m, const StopRecord& stop) noexcept {
  if (!m.qmp_server || !m.qmp_commands) return;
  if (m.qmp_commands->quit_sent_shutdown()) return;  // quit sent it already
  try {
    m.qmp_server->emit_event("SHUTDOWN", shutdown_event_data(stop, false));
  } catch (const std::exception& error) {
    spdlog::warn("QMP: SHUTDOWN not sent: {}", error.what());
  }
}

}  // namespace keel::vmm
