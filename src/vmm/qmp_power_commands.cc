#include "src/vmm/qmp_power_commands.h"

#include <spdlog/spdlog.h>

#include "devices/acpi/acpi_pm.h"
#include "src/qmp/server.h"
#include "src/vmm/acpi_s3.h"
#include "src/vmm/machine_parts.h"

namespace keel::vmm {

PowerButton::PowerButton(Press press, EmitEvent emit) : press_(std::move(press)), emit_(std::move(emit)) {}

void PowerButton::press(std::string_view source) noexcept {
  try {
    // QEMU sends POWERDOWN for every request, whatever the guest does with it.
    if (emit_) emit_("POWERDOWN", qmp::Json());
    const bool enabled = press_ && press_();
    if (enabled) {
      spdlog::info("{}: ACPI power button pressed", source);
    } else {
      // Not an error: the guest may enable it later (the status bit stays
      // set) or simply not care; the host can still stop it hard.
      spdlog::info("{}: ACPI power button pressed, but the guest has not enabled it (PM1 PWRBTN_EN clear)",
                   source);
    }
  } catch (...) {
    // Logging or the event failed: the press itself is noexcept and done.
  }
}

void PowerButton::register_commands(qmp::CommandRegistry& registry) {
  registry.add("system_powerdown", {}, [this](const qmp::Json&) -> qmp::CommandResult {
    press("QMP system_powerdown");
    return qmp::Json::object();
  });
}

void setup_power_button(Machine& m) {
  PowerButton::Press press;
  if (m.acpi_pm) {
    std::shared_ptr<devices::AcpiPm> pm = m.acpi_pm;
  }
  Machine* machine = &m;
  if (m.acpi_pm) {
    std::shared_ptr<devices::AcpiPm> pm = m.acpi_pm;
    press = [pm, machine] {
      const bool enabled = pm->press_power_button();
      // A sleeping guest (S3) wakes on the button, whatever PWRBTN_EN.
      if (machine->sleep) machine->sleep->request_wake(devices::AcpiPm::WakeSource::power_button);
      return enabled;
    };
  }
  auto emit = [machine](std::string_view name, const qmp::Json& data) {
    if (machine->qmp_server) machine->qmp_server->emit_event(name, data);
  };
  m.power_button = std::make_unique<PowerButton>(std::move(press), std::move(emit));
  if (m.qmp_registry) m.power_button->register_commands(*m.qmp_registry);
  PowerButton* button = m.power_button.get();
  if (m.signals) m.signals->set_power_button([button] { button->press("SIGPWR"); });
}

}  // namespace keel::vmm
