// Console: the parts every backend shares (observers, the receiver) and the
// factory that picks a backend from a ConsoleSpec.
#include "src/console/console.h"

#include <atomic>
#include <exception>

#include <spdlog/spdlog.h>

#include "src/console/backends.h"

namespace keel::console {

std::shared_ptr<Console> Console::open(const vmm::ConsoleSpec& spec, vmm::EventLoop& loop, VmControl& vm) {
  switch (spec.kind) {
    case vmm::ConsoleKind::stdio:
      return std::make_shared<StdioConsole>(loop, vm, StdioConsole::Fds{});
    case vmm::ConsoleKind::file:
      return std::make_shared<FileConsole>(spec.path, spec.max_size);
    case vmm::ConsoleKind::pty:
      return std::make_shared<PtyConsole>(loop);
    case vmm::ConsoleKind::unix_socket:
      return std::make_shared<UnixSocketConsole>(spec.path, loop);
    case vmm::ConsoleKind::none:
      return std::make_shared<NullConsole>();
  }
  return std::make_shared<NullConsole>();
}

void Console::write(std::span<const std::byte> bytes) noexcept {
  if (bytes.empty()) return;
  notify_observers(bytes);
  emit(bytes);
}

void Console::set_receiver(std::shared_ptr<CharReceiver> receiver) {
  std::lock_guard guard(receiver_lock_);
  receiver_ = std::move(receiver);
}

void Console::add_observer(std::function<void(std::span<const std::byte>)> observer) {
  observers_.push_back(std::move(observer));
}

void Console::notify_observers(std::span<const std::byte> bytes) noexcept {
  // The guest drives this path: report a throwing observer once, not per byte.
  static std::atomic<bool> reported{false};
  for (const auto& observer : observers_) {
    try {
      observer(bytes);
    } catch (const std::exception& e) {
      if (!reported.exchange(true)) spdlog::error("console observer threw: {}", e.what());
    } catch (...) {
      if (!reported.exchange(true)) spdlog::error("console observer threw");
    }
  }
}

void Console::deliver_input(std::span<const std::byte> bytes) noexcept {
  if (bytes.empty()) return;
  std::shared_ptr<CharReceiver> receiver;
  {
    std::lock_guard guard(receiver_lock_);
    receiver = receiver_.lock();
  }
  if (receiver) receiver->receive(bytes);
}

}  // namespace keel::console
