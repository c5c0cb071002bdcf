// keel::DoorbellRegistrar over KVM_IOEVENTFD: a matching guest write
// signals the doorbell's eventfd inside KVM and the vCPU resumes at once;
// keel's vCPU loop never sees the exit.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "keel/doorbell.h"
#include "src/kvm/unique_fd.h"

namespace keel::kvm {

class Vm;

// Why KVM must not be given `spec`, or nullopt when it is fine: length 1, 2,
// 4 or 8; an open eventfd; the range inside the port space (io) or the
// 64-bit address space; a datamatch value that fits in `length` bytes
// (KVM compares the written bytes only, so a wider value never matches).
std::optional<std::string> doorbell_spec_problem(const DoorbellSpec& spec);

class KvmDoorbellRegistrar final : public DoorbellRegistrar {
 public:
  // Registrations keep the VM fd alive, so they may outlive `vm`.
  explicit KvmDoorbellRegistrar(const Vm& vm);
  explicit KvmDoorbellRegistrar(std::shared_ptr<const UniqueFd> vm_fd) : vm_fd_(std::move(vm_fd)) {}

  // KVM_IOEVENTFD (FLAG_PIO for io, FLAG_DATAMATCH with a datamatch). The
  // Doorbell holds a duplicate of the eventfd, so deassigning still works
  // when the device closed its own fd first. nullptr (logged, rate-limited)
  // on a bad spec or a host refusal (EEXIST for a duplicate registration).
  std::unique_ptr<Doorbell> register_doorbell(const DoorbellSpec& spec) noexcept override;

 private:
  std::shared_ptr<const UniqueFd> vm_fd_;
};

}  // namespace keel::kvm
