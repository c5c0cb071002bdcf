// The pty backend: see backends.h for the behaviour.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "keel/config_error.h"
#include "src/console/backends.h"
#include "src/console/fd_io.h"

namespace keel::console {
namespace {

constexpr size_t kReadChunk = 4096;

[[noreturn]] void fail(const char* step, int errnum) {
  throw ConfigError(fmt::format("serial pty: {} failed: {}", step, error_text(errnum)));
}

}  // namespace

PtyConsole::PtyConsole(vmm::EventLoop& loop) : loop_(loop) {
  master_fd_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master_fd_ < 0) fail("posix_openpt", errno);
  try {
    if (grantpt(master_fd_) != 0) fail("grantpt", errno);
    if (unlockpt(master_fd_) != 0) fail("unlockpt", errno);
    char name[128];
    if (const int error = ptsname_r(master_fd_, name, sizeof name); error != 0) fail("ptsname", error);
    slave_path_ = name;
    slave_fd_ = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave_fd_ < 0) fail("opening the slave", errno);
    termios mode{};
    if (tcgetattr(slave_fd_, &mode) != 0) fail("tcgetattr", errno);
    cfmakeraw(&mode);
    if (tcsetattr(slave_fd_, TCSANOW, &mode) != 0) fail("tcsetattr", errno);
    // Our own fd, so non-blocking does not affect anyone else: a full pty
    // must drop output rather than stall the vCPU.
    const int flags = fcntl(master_fd_, F_GETFL);
    if (flags < 0 || fcntl(master_fd_, F_SETFL, flags | O_NONBLOCK) != 0) fail("fcntl(O_NONBLOCK)", errno);
    loop_.add(master_fd_, EPOLLIN, [this](uint32_t) { on_input(); });
    input_watched_ = true;
  } catch (...) {
    if (slave_fd_ >= 0) close(slave_fd_);
    close(master_fd_);
    throw;
  }
  // Like QEMU's "char device redirected to /dev/pts/N".
  fmt::print(stderr, "keel: serial on {}\n", slave_path_);
  std::fflush(stderr);
}

PtyConsole::~PtyConsole() {
  if (input_watched_) loop_.remove(master_fd_);
  close(slave_fd_);
  close(master_fd_);
}

void PtyConsole::on_input() noexcept {
  std::byte buffer[kReadChunk];
  const ssize_t got = read(master_fd_, buffer, sizeof buffer);
  if (got > 0) {
    deliver_input(std::span<const std::byte>(buffer, static_cast<size_t>(got)));
    return;
  }
  if (got < 0 && (errno == EINTR || errno == EAGAIN)) return;
  // With our own slave fd open the master should never hang up or fail;
  // if it does anyway, stop watching it rather than spin on it.
  spdlog::warn("serial pty {}: input failed ({}); no more serial input", slave_path_,
               got == 0 ? "end of file" : error_text(errno));
  loop_.remove(master_fd_);
  input_watched_ = false;
}

void PtyConsole::emit(std::span<const std::byte> bytes) noexcept {
  if (write_all(master_fd_, bytes, 0) != WriteOutcome::complete && !drop_reported_.exchange(true)) {
    spdlog::info("serial pty {}: nobody is reading; guest output is being dropped", slave_path_);
  }
}

}  // namespace keel::console
