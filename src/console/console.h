// Console backends for the serial port: stdio (raw mode, Ctrl-A x quits,
// Ctrl-A Ctrl-A sends a literal Ctrl-A, terminal restored on every exit path),
// file:PATH (output only), pty (prints the slave path), unix:PATH (a listening
// socket; output is dropped while no client is connected), none.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "keel/char_io.h"
#include "keel/vm_control.h"
#include "src/vmm/loop/event_loop.h"
#include "src/vmm/machine_config.h"

namespace keel::console {

class Console : public CharSink {
 public:
  // Opens the backend; throws ConfigError with a one-line message naming the
  // path on failure (unwritable file, socket path in use, no pty). Input fds
  // are registered on `loop`, which must outlive the console.
  static std::shared_ptr<Console> open(const vmm::ConsoleSpec& spec, vmm::EventLoop& loop, VmControl& vm);
  ~Console() override = default;

  // What the guest writes: observers first, then the backend (emit()).
  // Called by the UART with its lock held; never blocks for long (each
  // backend documents what it does when its output cannot keep up).
  void write(std::span<const std::byte> bytes) noexcept final;

  // Where host input goes (the UART). Thread-safe; input that arrives while
  // no receiver is set is dropped. The console keeps only a weak reference:
  // the receiver normally holds the console as its output, and a strong
  // reference both ways would keep both alive forever (the console's
  // destructor, which restores the terminal and removes the socket file,
  // would never run). The caller keeps the receiver alive.
  virtual void set_receiver(std::shared_ptr<CharReceiver> receiver);

  // Observers see every byte the guest writes, on the writing vCPU thread,
  // before the backend does (used for key injection triggers and later the
  // --expect harness). Register before the guest runs.
  void add_observer(std::function<void(std::span<const std::byte>)> observer);

  // Restore the terminal (stdio); idempotent, also done by the destructor and
  // at process exit.
  virtual void restore() noexcept {}

 protected:
  void notify_observers(std::span<const std::byte> bytes) noexcept;
  // The backend's output path.
  virtual void emit(std::span<const std::byte> bytes) noexcept = 0;
  // Hand host input to the receiver, if there is one.
  void deliver_input(std::span<const std::byte> bytes) noexcept;

 private:
  std::vector<std::function<void(std::span<const std::byte>)>> observers_;
  std::mutex receiver_lock_;
  std::weak_ptr<CharReceiver> receiver_;
};

// Put the terminal that the stdio console switched to raw mode back the way
// it was. Async-signal-safe (only tcsetattr) and idempotent, so the vmm's
// SIGINT/SIGTERM handling and fatal paths may call it; the console also
// calls it from its destructor, from atexit, and from its own handlers for
// SIGSEGV/SIGABRT/SIGBUS/SIGFPE/SIGQUIT/SIGHUP.
void restore_terminal_now() noexcept;

}  // namespace keel::console
