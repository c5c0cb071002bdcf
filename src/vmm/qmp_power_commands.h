// A host-initiated power-down (issue 10): QMP's system_powerdown and SIGPWR
// press the ACPI power button (devices/acpi AcpiPm: PM1 PWRBTN_STS, and the
// SCI when the guest has set PWRBTN_EN) and send QMP's POWERDOWN event, as
// QEMU 7.2 does. The guest decides: an ACPI-aware one powers off through
// PM1_CNT (S5), which ends keel with status 0 and SHUTDOWN "guest-shutdown";
// one that ignores the button keeps running (`keel ctl powerdown
// --hard-stop-after S` then sends quit). SIGTERM/SIGINT stay immediate stops.
#pragma once

#include <functional>
#include <string_view>

#include "src/qmp/command_registry.h"

namespace keel::vmm {

struct Machine;

class PowerButton {
 public:
  // Presses the button; returns whether the guest had enabled it (PWRBTN_EN).
  using Press = std::function<bool()>;
  // Sends a QMP event to the client (no effect without one).
  using EmitEvent = std::function<void(std::string_view name, const qmp::Json& data)>;

  PowerButton(Press press, EmitEvent emit);

  // POWERDOWN (no data, as QEMU), then the press. `source` names the
  // requester in the log ("QMP system_powerdown", "SIGPWR"). Any thread: the
  // device and the QMP server lock for themselves.
  void press(std::string_view source) noexcept;

  // Adds system_powerdown (no arguments, reply {}). Handlers keep `this`.
  void register_commands(qmp::CommandRegistry& registry);

 private:
  Press press_;
  EmitEvent emit_;
};

// Builds m.power_button once the devices exist (m.acpi_pm), registers
// system_powerdown on m.qmp_registry when QMP is on, and routes SIGPWR from
// m.signals to it. Call after setup_qmp and the devices, before any thread.
void setup_power_button(Machine& m);

}  // namespace keel::vmm
