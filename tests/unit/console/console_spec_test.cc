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
  EXPECT_EQ(error_of("foo"), "unknown serial backend 'foo' (expected stdio, file:PATH[,max-size=SIZE], pty, unix:PATH or none)");
  EXPECT_EQ(error_of(""), "unknown serial backend '' (expected stdio, file:PATH[,max-size=SIZE], pty, unix:PATH or none)");
  EXPECT_EQ(error_of("STDIO"), "unknown serial backend 'STDIO' (expected stdio, file:PATH[,max-size=SIZE], pty, unix:PATH or none)");
  EXPECT_EQ(error_of("stdio:x"), "unknown serial backend 'stdio:x' (expected stdio, file:PATH[,max-size=SIZE], pty, unix:PATH or none)");
  EXPECT_EQ(error_of("file"), "unknown serial backend 'file' (expected stdio, file:PATH[,max-size=SIZE], pty, unix:PATH or none)");
}

TEST(ConsoleSpec, RejectsMissingPaths) {
  EXPECT_EQ(error_of("file:"), "file: needs a path");
  EXPECT_EQ(error_of("unix:"), "unix: needs a path");
}

TEST(ConsoleSpec, FileTakesAMaxSize) {
  EXPECT_EQ(parse_console_spec("file:/tmp/s.log").max_size, kDefaultOutputMaxSize);
  EXPECT_EQ(kDefaultOutputMaxSize, 1ull << 30);
  const auto file = parse_console_spec("file:/tmp/s.log,max-size=64K");
  EXPECT_EQ(file.path, "/tmp/s.log");
  EXPECT_EQ(file.max_size, 64u << 10);
  EXPECT_EQ(parse_console_spec("file:s.log,max-size=2").max_size, 2u << 20);  // a plain number is MiB
  EXPECT_EQ(parse_console_spec("file:a:b,max-size=1g").max_size, 1u << 30);
}

TEST(ConsoleSpec, BadMaxSizeIsOneLineNamingTheValue) {
  EXPECT_EQ(error_of("file:s.log,max-size=lots"),
            "invalid --serial file: max-size 'lots': expected a size like 512M or 4G");
  EXPECT_EQ(error_of("file:s.log,max-size=0"), "invalid --serial file: max-size '0': the size must not be zero");
  EXPECT_EQ(error_of("file:s.log,max-size="), "invalid --serial file: max-size '': expected a size like 512M or 4G");
  EXPECT_EQ(error_of("file:s.log,max-size=99999999T"), "invalid --serial file: max-size '99999999T': too large");
  EXPECT_EQ(error_of("file:s.log,size=1M"),
            "--serial file: 's.log,size=1M': unknown option 'size' (expected max-size=SIZE; paths cannot contain "
            "commas)");
  EXPECT_EQ(error_of("file:,max-size=1M"), "--serial file: ',max-size=1M': needs a path");
  EXPECT_EQ(error_of("file:s.log,max-size=1M,max-size=2M"),
            "--serial file: 's.log,max-size=1M,max-size=2M': max-size=SIZE is the only option");
}

}  // namespace
}  // namespace keel::console
