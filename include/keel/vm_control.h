// What a device may ask of the machine as a whole.
#pragma once

namespace keel {

enum class StopReason {
  debug_exit,      // guest wrote to the debug-exit port
  guest_reset,     // i8042 0xFE, port 0xCF9, triple fault: treated as an exit
  guest_poweroff,  // ACPI/PSCI-style power-off
  user_quit,       // Ctrl-A x on the console, SIGINT/SIGTERM
  error,           // keel could not go on (message already logged)
};

class VmControl {
 public:
  virtual ~VmControl() = default;
  // Ask every vCPU to stop; keel exits with `exit_status`. The first request
  // wins; later ones are ignored. Safe from any thread.
  virtual void request_stop(StopReason reason, int exit_status) noexcept = 0;
};

}  // namespace keel
