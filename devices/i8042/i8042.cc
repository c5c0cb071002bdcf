// The public I8042: locking, the two port objects on the bus, and input
// injection. The behaviour lives in i8042_controller.cc and the PS/2 devices.
#include "devices/i8042/i8042.h"

#include <spdlog/spdlog.h>

#include <climits>
#include <memory>
#include <stdexcept>

#include "devices/i8042/i8042_controller.h"
#include "devices/i8042/scancodes.h"

namespace keel::devices {

using i8042_detail::I8042Controller;

struct I8042::State {
  State(std::shared_ptr<IrqLine> keyboard, std::shared_ptr<IrqLine> mouse, VmControl& vm_control)
      : keyboard_irq(std::move(keyboard)),
        mouse_irq(std::move(mouse)),
        vm(vm_control),
        controller(*keyboard_irq, *mouse_irq) {}

  std::shared_ptr<IrqLine> keyboard_irq;
  std::shared_ptr<IrqLine> mouse_irq;
  VmControl& vm;
  // vCPU threads (port accesses) and the event loop (injection) both get here.
  std::mutex lock;
  I8042Controller controller;
  LogRateLimiter bad_access_log{10};
  LogRateLimiter dropped_input_log{5};
};

// One of the two one-byte ports. Holds the state by shared_ptr so a bus that
// outlives the I8042 object still calls into something valid.
class I8042::Port final : public BusDevice {
 public:
  enum class Kind { data, command };
  Port(std::shared_ptr<State> state, Kind kind) : state_(std::move(state)), kind_(kind) {}

  void read(uint64_t offset, std::span<std::byte> data) noexcept override {
    if (data.empty()) return;
    std::lock_guard guard(state_->lock);
    if (offset != 0 || data.size() != 1) {
      note_bad_access("read", offset, data.size());
      for (std::byte& byte : data) byte = std::byte{0xFF};
      return;
    }
    const uint8_t value = kind_ == Kind::data ? state_->controller.read_data() : state_->controller.read_status();
    data[0] = std::byte{value};
  }

  void write(uint64_t offset, std::span<const std::byte> data) noexcept override {
    if (data.empty()) return;
    bool reset_requested = false;
    {
      std::lock_guard guard(state_->lock);
      if (offset != 0 || data.size() != 1) {
        note_bad_access("write", offset, data.size());
        return;
      }
      const auto value = static_cast<uint8_t>(data[0]);
      if (kind_ == Kind::data) {
        state_->controller.write_data(value);
      } else {
        state_->controller.write_command(value);
      }
      reset_requested = state_->controller.take_reset_request();
    }
    // The 8042's reset line: keel treats a guest reset as an exit.
    if (reset_requested) state_->vm.request_stop(StopReason::guest_reset, 0);
  }

 private:
  // Ports are inserted with length 1, so the bus should never send these;
  // if it does, the access is ignored rather than half-done.
  void note_bad_access(const char* what, uint64_t offset, size_t size) noexcept {
    if (state_->bad_access_log.admit().log) {
      spdlog::warn("i8042: ignoring {}-byte {} at offset {} of port {:#x}", size, what, offset,
                   kind_ == Kind::data ? kDataPort : kCommandPort);
    }
  }

  std::shared_ptr<State> state_;
  Kind kind_;
};

I8042::I8042(std::shared_ptr<IrqLine> keyboard_irq, std::shared_ptr<IrqLine> mouse_irq, VmControl& vm) {
  if (!keyboard_irq || !mouse_irq) throw std::invalid_argument("I8042 needs both IRQ lines");
  state_ = std::make_shared<State>(std::move(keyboard_irq), std::move(mouse_irq), vm);
  data_port_ = std::make_shared<Port>(state_, Port::Kind::data);
  command_port_ = std::make_shared<Port>(state_, Port::Kind::command);
}

I8042::~I8042() = default;

void I8042::reset() noexcept {
  std::lock_guard guard(state_->lock);
  // In place (the constructor is noexcept): exactly the power-on state.
  std::destroy_at(&state_->controller);
  std::construct_at(&state_->controller, *state_->keyboard_irq, *state_->mouse_irq);
  state_->keyboard_irq->set_level(false);
  state_->mouse_irq->set_level(false);
}

std::shared_ptr<BusDevice> I8042::data_port() { return data_port_; }
std::shared_ptr<BusDevice> I8042::command_port() { return command_port_; }

bool I8042::is_known_key(std::string_view key) noexcept { return i8042_detail::find_key(key).has_value(); }

std::optional<std::string_view> I8042::key_name_for_number(uint32_t number) noexcept {
  return i8042_detail::key_name_for_number(number);
}

bool I8042::inject_key(std::string_view key, bool pressed) noexcept {
  const auto set2_key = i8042_detail::find_key(key);
  if (!set2_key) return false;
  std::lock_guard guard(state_->lock);
  if (!state_->controller.key_event(*set2_key, pressed) && state_->dropped_input_log.admit().log) {
    spdlog::info("i8042: key '{}' dropped: keyboard scanning disabled or buffer full", key);
  }
  return true;
}

void I8042::inject_mouse(int dx, int dy, uint8_t buttons) noexcept {
  // PS/2 counts y upward; injected motion is in screen orientation.
  const int ps2_dy = dy == INT_MIN ? INT_MAX : -dy;
  std::lock_guard guard(state_->lock);
  state_->controller.mouse_motion(dx, ps2_dy, buttons);
}

}  // namespace keel::devices
