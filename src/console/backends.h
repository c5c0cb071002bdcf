// The console backends behind Console::open(). Declared here (not in
// console.h) for the console's own unit tests; everything else uses
// Console::open() with a ConsoleSpec.
#pragma once

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>

#include "src/console/byte_size.h"
#include "src/console/console.h"
#include "src/console/escape_filter.h"

namespace keel::console {

// stdin/stdout. When the input is a TTY: raw mode, Ctrl-A escapes (see
// EscapeFilter), help on the message fd (stderr). When it is not (a pipe in
// CI), input goes to the guest unchanged, without escape processing, so
// scripted input can contain any byte. End of input stops reading, not the
// VM. Output is written with blocking writes: if whatever reads stdout stops
// reading, the writing vCPU waits, like a serial line with flow control.
class StdioConsole final : public Console {
 public:
  struct Fds {
    int input = 0;
    int output = 1;
    int messages = 2;  // help text and the quit notice
  };
  StdioConsole(vmm::EventLoop& loop, VmControl& vm, Fds fds);
  ~StdioConsole() override;
  void restore() noexcept override;
  bool interactive() const noexcept { return interactive_; }

 protected:
  void emit(std::span<const std::byte> bytes) noexcept override;

 private:
  void on_input() noexcept;
  void stop_reading() noexcept;

  vmm::EventLoop& loop_;
  VmControl& vm_;
  Fds fds_;
  bool interactive_ = false;
  bool reading_ = false;  // loop thread only (and the constructor/destructor)
  EscapeFilter escapes_;  // loop thread only
  std::atomic<bool> output_error_reported_{false};
};

// file:PATH[,max-size=SIZE]: created or truncated (mode 0644), output only.
// At most `max_size` bytes of guest output are written; the output that
// reaches the cap is cut there, one note line (truncation_note) follows, a
// warning is logged once, and later output is dropped: the guest runs on.
class FileConsole final : public Console {
 public:
  explicit FileConsole(const std::filesystem::path& path, uint64_t max_size = kDefaultOutputMaxSize);
  ~FileConsole() override;

 protected:
  void emit(std::span<const std::byte> bytes) noexcept override;

 private:
  int fd_ = -1;
  std::string path_;
  const uint64_t max_size_;
  std::mutex lock_;  // guards written_, capped_ (vCPU threads write)
  uint64_t written_ = 0;
  bool capped_ = false;
  std::atomic<bool> output_error_reported_{false};
};

// pty: a new pseudo-terminal in raw mode; its slave path is printed on
// stderr. keel keeps the slave open itself so the master never sees a hang-up
// while no program has it open; output written meanwhile waits in the pty
// (a few KiB) and beyond that is dropped, never blocking the guest.
class PtyConsole final : public Console {
 public:
  explicit PtyConsole(vmm::EventLoop& loop);
  ~PtyConsole() override;
  const std::string& slave_path() const noexcept { return slave_path_; }

 protected:
  void emit(std::span<const std::byte> bytes) noexcept override;

 private:
  void on_input() noexcept;

  vmm::EventLoop& loop_;
  int master_fd_ = -1;
  int slave_fd_ = -1;
  std::string slave_path_;
  std::atomic<bool> input_watched_{false};
  std::atomic<bool> drop_reported_{false};
};

// unix:PATH: a listening stream socket. One client at a time (later ones are
// closed at once); output is dropped while no client is connected or when
// the client does not keep up; input comes from the client. A stale socket
// file (nobody listening) is replaced; the socket file is removed on exit.
class UnixSocketConsole final : public Console {
 public:
  UnixSocketConsole(const std::filesystem::path& path, vmm::EventLoop& loop);
  ~UnixSocketConsole() override;

 protected:
  void emit(std::span<const std::byte> bytes) noexcept override;

 private:
  void on_connection() noexcept;
  void on_client_input() noexcept;
  void disconnect_client() noexcept;

  vmm::EventLoop& loop_;
  std::string path_;
  int listen_fd_ = -1;
  std::mutex client_lock_;  // guards client_fd_ against the loop closing it mid-send
  int client_fd_ = -1;
  std::atomic<bool> drop_reported_{false};
};

// none: output discarded (observers still see it), no input.
class NullConsole final : public Console {
 protected:
  void emit(std::span<const std::byte>) noexcept override {}
};

}  // namespace keel::console
