// Kept apart from command_line.cc because GCC 12 with -fsanitize=address
// reports a false -Wmaybe-uninitialized inside libstdc++'s <regex>
// (std::function in _NFA::_M_insert_subexpr_end); the pragma must cover
// every include, so it lives at the top of this one small file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "src/cli/regex_check.h"

#include <regex>

namespace keel::cli {

std::string regex_error_text(const std::string& pattern) {
  try {
    std::regex compiled(pattern);
  } catch (const std::regex_error& e) {
    return e.what();
  }
  return {};
}

}  // namespace keel::cli
