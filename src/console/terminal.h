// Raw mode for the terminal behind the stdio console, and the guarantees
// that it is undone: restore_terminal_now() (console.h) runs from the
// console's destructor, atexit, and handlers for fatal signals.
#pragma once

namespace keel::console::terminal {

// Switches the TTY `fd` to raw mode the way QEMU's -serial stdio does: no
// echo, no line editing, no signals from Ctrl-C/Ctrl-Z/Ctrl-\ (those bytes
// go to the guest), 8-bit input without CR/NL translation or flow control;
// output post-processing (OPOST, so "\n" still returns the carriage) is left
// as the user had it. Remembers the previous mode for restore_terminal_now().
// Throws ConfigError if `fd` cannot be switched or a terminal is already raw.
void enter_raw_mode(int fd);

// True while a terminal is in raw mode because of us.
bool raw_mode_active() noexcept;

}  // namespace keel::console::terminal
