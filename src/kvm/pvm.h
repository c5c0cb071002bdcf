// PVM ("pagetable-based virtual machine") is a KVM backend for hosts without
// VT-x/AMD-V. It runs ordinary guests through KVM's instruction emulator,
// which fails on some instructions and on 32-bit paging. keel works on it,
// but failures there deserve an explanation rather than just a register dump.
#pragma once

#include <string>
#include <string_view>

namespace keel::kvm {

// True when /sys/module/kvm_pvm exists.
bool is_pvm_host() noexcept;

enum class PvmFailure { internal_error, fail_entry, shutdown };

// A plain, one-paragraph explanation for a failure on a PVM host.
std::string pvm_explanation(PvmFailure failure);

// `message` (one line: what KVM reported) extended to name the PVM cause, e.g.
// "PVM emulation failure: KVM internal error: emulation failure (...)".
std::string pvm_failure_summary(std::string_view message, PvmFailure failure);

}  // namespace keel::kvm
