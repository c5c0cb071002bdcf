// Invariant checks for fuzz targets. A failed check prints what broke and
// aborts, so libFuzzer (or AFL, or the replay test) records it as a crash
// with the input that caused it. Never compiled out.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition, what)                                                       \
  do {                                                                                    \
    if (!(condition)) {                                                                   \
      std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s (%s)\n", __FILE__, __LINE__, \
                   what, #condition);                                                     \
      std::abort();                                                                       \
    }                                                                                     \
  } while (false)
