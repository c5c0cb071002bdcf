#include "src/console/terminal.h"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

#include "keel/config_error.h"
#include "src/console/console.h"
#include "src/console/fd_io.h"

namespace keel::console {
namespace {

// Written before g_raw_fd is published and never while it is >= 0, so the
// signal handlers may read them without locks.
termios g_saved_mode{};
termios g_raw_mode{};
// The fd we switched to raw mode, or -1. A lock-free atomic: safe in
// signal handlers.
std::atomic<int> g_raw_fd{-1};
static_assert(std::atomic<int>::is_always_lock_free);

// Crash-like signals after which the terminal must not stay raw. SIGINT and
// SIGTERM are the vmm's (graceful stop; it calls restore_terminal_now()).
constexpr std::array kFatalSignals = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGQUIT, SIGHUP};
std::array<struct sigaction, kFatalSignals.size()> g_previous_actions{};

void on_fatal_signal(int signal_number, siginfo_t* info, void*) {
  const int saved_errno = errno;
  restore_terminal_now();
  for (size_t i = 0; i < kFatalSignals.size(); ++i) {
    if (kFatalSignals[i] == signal_number) sigaction(signal_number, &g_previous_actions[i], nullptr);
  }
  // A fault raised by the kernel (si_code > 0) happens again when we return,
  // now reaching the previous action (default: core dump; or a sanitizer's
  // handler with the real fault address). A sent signal must be re-raised;
  // it stays pending until this handler returns.
  const bool hardware_fault = (signal_number == SIGSEGV || signal_number == SIGBUS ||
                               signal_number == SIGFPE || signal_number == SIGILL) &&
                              info != nullptr && info->si_code > 0;
  if (!hardware_fault) raise(signal_number);
  errno = saved_errno;
}

// After a stop (kill -STOP) and continue the shell may have reset the
// terminal to cooked mode; put raw mode back, as QEMU does.
void on_continue(int) {
  const int saved_errno = errno;
  const int fd = g_raw_fd.load();
  if (fd >= 0) tcsetattr(fd, TCSANOW, &g_raw_mode);
  errno = saved_errno;
}

void restore_at_exit() { restore_terminal_now(); }

void install_handlers_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::atexit(restore_at_exit);
    for (size_t i = 0; i < kFatalSignals.size(); ++i) {
      struct sigaction previous {};
      if (sigaction(kFatalSignals[i], nullptr, &previous) != 0) continue;
      // Someone (nohup) chose to ignore it: leave that alone.
      if (!(previous.sa_flags & SA_SIGINFO) && previous.sa_handler == SIG_IGN) continue;
      g_previous_actions[i] = previous;
      struct sigaction action {};
      action.sa_sigaction = on_fatal_signal;
      action.sa_flags = SA_SIGINFO | SA_ONSTACK;
      sigemptyset(&action.sa_mask);
      sigaction(kFatalSignals[i], &action, nullptr);
    }
    struct sigaction previous_continue {};
    if (sigaction(SIGCONT, nullptr, &previous_continue) == 0 && !(previous_continue.sa_flags & SA_SIGINFO) &&
        previous_continue.sa_handler == SIG_DFL) {
      struct sigaction action {};
      action.sa_handler = on_continue;
      action.sa_flags = SA_RESTART;
      sigemptyset(&action.sa_mask);
      sigaction(SIGCONT, &action, nullptr);
    }
  });
}

}  // namespace

void restore_terminal_now() noexcept {
  const int saved_errno = errno;
  const int fd = g_raw_fd.exchange(-1);
  if (fd >= 0) tcsetattr(fd, TCSANOW, &g_saved_mode);
  errno = saved_errno;
}

namespace terminal {

bool raw_mode_active() noexcept { return g_raw_fd.load() >= 0; }

void enter_raw_mode(int fd) {
  static std::mutex entering;
  std::lock_guard guard(entering);
  if (g_raw_fd.load() >= 0) throw ConfigError("serial stdio: the terminal is already used by another console");
  termios saved{};
  if (tcgetattr(fd, &saved) != 0) throw ConfigError(fmt::format("serial stdio: cannot read the terminal mode: {}", error_text(errno)));
  termios raw = saved;
  raw.c_iflag &= ~static_cast<tcflag_t>(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
  raw.c_oflag |= OPOST;
  raw.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL | ICANON | IEXTEN | ISIG);
  raw.c_cflag &= ~static_cast<tcflag_t>(CSIZE | PARENB);
  raw.c_cflag |= CS8;
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  install_handlers_once();
  g_saved_mode = saved;
  g_raw_mode = raw;
  g_raw_fd.store(fd);  // publish before switching, so a crash in between restores
  if (tcsetattr(fd, TCSANOW, &raw) != 0) {
    const int saved_errno = errno;
    g_raw_fd.store(-1);
    throw ConfigError(fmt::format("serial stdio: cannot switch the terminal to raw mode: {}", error_text(saved_errno)));
  }
}

}  // namespace terminal
}  // namespace keel::console
