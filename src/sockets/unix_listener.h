// Listening unix sockets for keel's servers: the `unix:PATH` serial console
// and the QMP socket. One place decides what happens to a path that is
// already there.
#pragma once

#include <string>
#include <string_view>

namespace keel::sockets {

// Binds and listens on `path` (non-blocking, close-on-exec, backlog 1 as
// QEMU's socket chardev: further clients wait in the kernel's queue). A
// socket file left behind by a process that is gone is replaced; a path
// that is not a socket, or one another process listens on, is refused.
// Throws keel::ConfigError with one line: "WHAT 'PATH': why", e.g.
// what = "QMP socket".
int open_unix_listener(const std::string& path, std::string_view what);

}  // namespace keel::sockets
