#include "src/console/console_spec.h"

#include <gtest/gtest.h>

#include "keel/config_error.h"

namespace keel::console {
namespace {

using vmm::ConsoleKind;

TEST(ConsoleSpec, ParsesEveryBackend) {
  EXPECT_EQ(parse_console_spec("stdio").kind, ConsoleKind::stdio);
  EXPECT_EQ(parse_console_spec("pty").kind, ConsoleKind::pty);
  EXPECT_EQ(parse_console_spec("none").kind, ConsoleKind::none);

  const auto file = parse_console_spec("file:/tmp/serial.log");
  EXPECT_EQ(file.kind, ConsoleKind::file);
  EXPECT_EQ(file.path, "/tmp/serial.log");

  const auto socket = parse_console_spec("unix:relative/console.sock");
  EXPECT_EQ(socket.kind, ConsoleKind::unix_socket);
  EXPECT_EQ(socket.path, "relative/console.sock");
}

TEST(ConsoleSpec, KeepsColonsInPaths) {
  EXPECT_EQ(parse_console_spec("file:a:b").path, "a:b");
}

std::string error_of(std::string_view text) {
  try {
    parse_console_spec(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ConsoleSpec, RejectsUnknownBackends) {
  EXPECT_EQ(error_of("foo"), "unknown serial backend 'foo' (expected stdio, file:PATH, pty, unix:PATH or none)");
  EXPECT_EQ(error_of(""), "unknown serial backend '' (expected stdio, file:PATH, pty, unix:PATH or none)");
  EXPECT_EQ(error_of("STDIO"), "unknown serial backend 'STDIO' (expected stdio, file:PATH, pty, unix:PATH or none)");
  EXPECT_EQ(error_of("stdio:x"), "unknown serial backend 'stdio:x' (expected stdio, file:PATH, pty, unix:PATH or none)");
  EXPECT_EQ(error_of("file"), "unknown serial backend 'file' (expected stdio, file:PATH, pty, unix:PATH or none)");
}

TEST(ConsoleSpec, RejectsMissingPaths) {
  EXPECT_EQ(error_of("file:"), "file: needs a path");
  EXPECT_EQ(error_of("unix:"), "unix: needs a path");
}

}  // namespace
}  // namespace keel::console
