#include "src/vmm/exit_dispatch.h"

#include <type_traits>

#include <fmt/format.h>

#include "src/kvm/host_error.h"
#include "src/vmm/exit_status.h"

namespace keel::vmm {

namespace {

void dispatch_io(const kvm::exit::Io& io, Bus& pio, BusCounters* counters) noexcept {
  // rep ins/outs: `count` accesses of `size` bytes to the same port, data
  // laid out one element after another.
  for (uint32_t i = 0; i < io.count; ++i) {
    auto element = io.data.subspan(size_t{i} * io.size, io.size);
    if (io.is_write) {
      (void)pio.write(io.port, element, counters);
    } else {
      (void)pio.read(io.port, element, counters);
    }
  }
}

void dispatch_mmio(const kvm::exit::Mmio& mmio, Bus& bus, BusCounters* counters) noexcept {
  if (mmio.is_write) {
    (void)bus.write(mmio.address, mmio.data, counters);
  } else {
    (void)bus.read(mmio.address, mmio.data, counters);
  }
}

StopDecision guest_stop(StopReason reason, std::string message,
                        std::optional<kvm::PvmFailure> hint = std::nullopt) {
  StopDecision decision{reason, kExitGuestOff, std::move(message)};
  decision.pvm_hint = hint;
  return decision;
}

StopDecision failure(std::string message, bool dump, std::optional<kvm::PvmFailure> hint) {
  StopDecision decision{StopReason::error, kExitVmFailed, std::move(message)};
  decision.is_error = true;
  decision.dump_registers = dump;
  decision.pvm_hint = hint;
  return decision;
}

template <class T>
constexpr ExitKind kind_of() noexcept {
  namespace ex = kvm::exit;
  if constexpr (std::is_same_v<T, ex::Io>) return ExitKind::io;
  else if constexpr (std::is_same_v<T, ex::Mmio>) return ExitKind::mmio;
  else if constexpr (std::is_same_v<T, ex::Hlt>) return ExitKind::hlt;
  else if constexpr (std::is_same_v<T, ex::Interrupted>) return ExitKind::interrupted;
  else if constexpr (std::is_same_v<T, ex::Shutdown>) return ExitKind::shutdown;
  else if constexpr (std::is_same_v<T, ex::SystemEvent>) return ExitKind::system_event;
  else if constexpr (std::is_same_v<T, ex::InternalError>) return ExitKind::internal_error;
  else if constexpr (std::is_same_v<T, ex::FailEntry>) return ExitKind::fail_entry;
  else if constexpr (std::is_same_v<T, ex::RunFailed>) return ExitKind::run_failed;
  else return ExitKind::unknown;
}

std::optional<StopDecision> decide(const kvm::VcpuExit& exit, Bus& pio, Bus& mmio, VcpuExitStats* stats) {
  namespace ex = kvm::exit;
  return std::visit(
      [&](const auto& e) -> std::optional<StopDecision> {
        using T = std::decay_t<decltype(e)>;
        if (stats) stats->count(kind_of<T>());
        if constexpr (std::is_same_v<T, ex::Io>) {
          dispatch_io(e, pio, stats ? &stats->pio : nullptr);
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, ex::Mmio>) {
          dispatch_mmio(e, mmio, stats ? &stats->mmio : nullptr);
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, ex::Hlt> || std::is_same_v<T, ex::Interrupted>) {
          // HLT only exits without an in-kernel irqchip; Interrupted is a
          // signal or a stop request, which the runner checks before the
          // next KVM_RUN.
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, ex::Shutdown>) {
          // Guests do reboot this way, but it is also how a broken guest dies.
          StopDecision decision =
              guest_stop(StopReason::guest_reset, "guest reset (triple fault)", kvm::PvmFailure::shutdown);
          decision.is_warning = true;
          return decision;
        } else if constexpr (std::is_same_v<T, ex::SystemEvent>) {
          switch (static_cast<ex::SystemEventType>(e.type)) {
            case ex::SystemEventType::shutdown:
              return guest_stop(StopReason::guest_poweroff, "guest powered off (system event)");
            case ex::SystemEventType::reset:
              return guest_stop(StopReason::guest_reset, "guest reset (system event)");
            case ex::SystemEventType::crash:
              return failure("guest crashed (KVM system event: crash)", true, std::nullopt);
          }
          return failure(fmt::format("unexpected KVM system event {}", e.type), false, std::nullopt);
        } else if constexpr (std::is_same_v<T, ex::InternalError>) {
          std::string data;
          for (uint32_t i = 0; i < e.ndata; ++i) data += fmt::format(" {:#x}", e.data[i]);
          return failure(fmt::format("KVM internal error: {} (suberror {}{}{})", kvm::internal_error_name(e.suberror),
                                     e.suberror, e.ndata ? ", data" : "", data),
                         true, kvm::PvmFailure::internal_error);
        } else if constexpr (std::is_same_v<T, ex::FailEntry>) {
          return failure(fmt::format("KVM could not enter the guest: hardware entry failure reason {:#x} on cpu {}",
                                     e.reason, e.cpu),
                         true, kvm::PvmFailure::fail_entry);
        } else if constexpr (std::is_same_v<T, ex::RunFailed>) {
          return failure(kvm::errno_message("KVM_RUN", e.error), true, std::nullopt);
        } else {
          static_assert(std::is_same_v<T, ex::Unknown>);
          return failure(fmt::format("unhandled KVM exit reason {}", e.reason), true, std::nullopt);
        }
      },
      exit);
}

}  // namespace

std::optional<StopDecision> handle_exit(const kvm::VcpuExit& exit, Bus& pio, Bus& mmio,
                                        VcpuExitStats* stats) noexcept {
  try {
    return decide(exit, pio, mmio, stats);
  } catch (...) {
    // Only formatting a stop message can throw (out of memory): still stop.
    StopDecision decision{StopReason::error, kExitVmFailed, {}};
    decision.is_error = true;
    return decision;
  }
}

}  // namespace keel::vmm
