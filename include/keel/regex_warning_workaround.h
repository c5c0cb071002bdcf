// GCC 12 reports a false -Wmaybe-uninitialized inside libstdc++'s <regex>
// NFA code (std::function in _NFA::_M_insert_subexpr_end) when optimising,
// worst with sanitizers (GCC bug 105562). A source file that uses <regex>
// includes this header first: the pragma has no push/pop, so it covers the
// rest of that file, including <regex>'s instantiations. Clang does not know
// the warning (and would reject the pragma under -Werror), so GCC only.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
