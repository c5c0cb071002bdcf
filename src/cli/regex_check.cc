// First: see the header (GCC bug 105562 in <regex>).
#include "keel/regex_warning_workaround.h"

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
