// `keel ctl send-key KEYS`: the KEYS text into QMP send-key argument lists.
#pragma once

#include <string_view>
#include <vector>

#include "src/ctl/qmp_client.h"

namespace keel::ctl {

inline constexpr size_t kMaxKeysPerCombo = 16;  // keys held down together
inline constexpr size_t kMaxCombos = 1024;      // combos typed in one call

// "ctrl-alt-delete,a,shift-b,0x1c": combos separated by commas, typed one
// after another; in each, keys joined by '-' are pressed together (QEMU's
// HMP `sendkey` syntax). A key is a QKeyCode name (lower-case letters,
// digits, '_') or a hexadecimal scancode 0x1..0xffff (HMP's form for a raw
// number). Returns one `keys` list per combo, as QMP send-key takes it:
// [{"type": "qcode", "data": "ctrl"}, {"type": "number", "data": 28}].
// Throws CtlFailure(kExitUsage) naming the bad key. Only the spelling is
// checked: the VM answers an unknown name with its own error.
std::vector<Json> parse_key_combos(std::string_view text);

}  // namespace keel::ctl
