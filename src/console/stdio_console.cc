// The stdio backend: see backends.h for the behaviour.
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <system_error>

#include <spdlog/spdlog.h>

#include "src/console/backends.h"
#include "src/console/fd_io.h"
#include "src/console/terminal.h"

namespace keel::console {
namespace {

constexpr size_t kReadChunk = 4096;

void write_message(int fd, std::string_view text) noexcept {
  (void)write_all(fd, std::as_bytes(std::span(text.data(), text.size())), 1000);
}

}  // namespace

StdioConsole::StdioConsole(vmm::EventLoop& loop, VmControl& vm, Fds fds)
    : loop_(loop), vm_(vm), fds_(fds), interactive_(isatty(fds.input) == 1) {
  if (interactive_) terminal::enter_raw_mode(fds_.input);
  try {
    loop_.add(fds_.input, EPOLLIN, [this](uint32_t) { on_input(); });
    reading_ = true;
  } catch (const std::system_error& e) {
    // epoll refuses regular files and /dev/null (EPERM): treat the input as
    // empty rather than reading a file into the guest at full speed.
    if (e.code().value() != EPERM) {
      restore();
      throw;
    }
    spdlog::info("serial stdio: standard input cannot be polled (a regular file or /dev/null?); no serial input");
  }
}

StdioConsole::~StdioConsole() {
  if (reading_) loop_.remove(fds_.input);
  restore();
}

void StdioConsole::restore() noexcept {
  if (interactive_) restore_terminal_now();
}

void StdioConsole::stop_reading() noexcept {
  loop_.remove(fds_.input);  // from our own handler: allowed
  reading_ = false;
}

void StdioConsole::on_input() noexcept {
  std::byte buffer[kReadChunk];
  const ssize_t got = read(fds_.input, buffer, sizeof buffer);
  if (got < 0) {
    if (errno == EINTR || errno == EAGAIN) return;
    spdlog::warn("serial stdio: reading standard input failed: {}; no more serial input", error_text(errno));
    stop_reading();
    return;
  }
  if (got == 0) {
    // End of input (the pipe's writer is done): the guest keeps running.
    spdlog::debug("serial stdio: end of standard input");
    stop_reading();
    return;
  }
  const std::span<const std::byte> input(buffer, static_cast<size_t>(got));
  if (!interactive_) {
    deliver_input(input);
    return;
  }
  const EscapeFilter::Result filtered = escapes_.feed(input);
  // Ctrl-A x first, before anything is handed to the guest: delivering
  // takes the UART's lock, which a vCPU may hold for a while (a stalled
  // stdout), and the quit must not wait for that. What was typed with it
  // no longer matters once the VM stops.
  for (EscapeFilter::Action action : filtered.actions) {
    if (action != EscapeFilter::Action::quit) continue;
    vm_.request_stop(StopReason::user_quit, 0);  // QEMU also exits 0 on C-a x
    write_message(fds_.messages, "\r\nkeel: terminated (C-a x)\r\n");
    return;
  }
  deliver_input(filtered.pass);
  for (EscapeFilter::Action action : filtered.actions) {
    if (action == EscapeFilter::Action::help) write_message(fds_.messages, EscapeFilter::help_text());
  }
}

void StdioConsole::emit(std::span<const std::byte> bytes) noexcept {
  // Blocking stdout: a stall of a whole minute means nobody is reading.
  const WriteOutcome outcome = write_all(fds_.output, bytes, 60'000);
  if (outcome != WriteOutcome::complete && !output_error_reported_.exchange(true)) {
    spdlog::warn("serial stdio: writing standard output failed ({}); guest output is being lost",
                 outcome == WriteOutcome::timed_out ? "nobody is reading" : error_text(errno));
  }
}

}  // namespace keel::console
