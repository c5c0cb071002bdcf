// Validation of user-supplied regular expressions (--send-keys-after).
#pragma once

#include <string>

namespace keel::cli {

// Empty when `pattern` compiles as a std::regex (ECMAScript), else why not.
std::string regex_error_text(const std::string& pattern);

}  // namespace keel::cli
