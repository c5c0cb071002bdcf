// run_ctl with its stdout and stderr captured, for keel ctl's tests.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "src/ctl/ctl_command.h"

namespace keel::ctl::testing {

struct Outcome {
  int status = -1;
  std::string out;
  std::string err;
};

inline Outcome run_captured(const CtlOptions& options) {
  char* out_text = nullptr;
  char* err_text = nullptr;
  size_t out_size = 0;
  size_t err_size = 0;
  std::FILE* out = open_memstream(&out_text, &out_size);
  std::FILE* err = open_memstream(&err_text, &err_size);
  Outcome outcome;
  outcome.status = run_ctl(options, out, err);
  std::fclose(out);
  std::fclose(err);
  outcome.out.assign(out_text, out_size);
  outcome.err.assign(err_text, err_size);
  std::free(out_text);
  std::free(err_text);
  return outcome;
}

}  // namespace keel::ctl::testing
