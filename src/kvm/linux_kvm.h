// Include <linux/kvm.h> through this header only.
//
// The uapi headers of Linux 6.1 (Debian 12) declare flexible arrays with
// __DECLARE_FLEX_ARRAY, which wraps them in a struct holding an empty
// struct. An empty struct has size 0 in C but 1 in C++, so in C++
// struct kvm_cpuid2, kvm_msrs, kvm_irq_routing ... grow, their `entries`
// move, and the ioctl numbers (which encode the struct size) change: the
// kernel then answers EINVAL or ENOTTY. Later kernels define the macro as a
// zero-length array for C++; do the same here.
#pragma once

#include <linux/stddef.h>

#ifdef __cplusplus
#undef __DECLARE_FLEX_ARRAY
#define __DECLARE_FLEX_ARRAY(TYPE, NAME) TYPE NAME[0]
#endif

#include <linux/kvm.h>

#include <cstddef>

static_assert(sizeof(kvm_cpuid2) == 8 && offsetof(kvm_cpuid2, entries) == 8, "C layout of kvm_cpuid2");
static_assert(sizeof(kvm_msrs) == 8 && offsetof(kvm_msrs, entries) == 8, "C layout of kvm_msrs");
static_assert(sizeof(kvm_irq_routing) == 8 && offsetof(kvm_irq_routing, entries) == 8, "C layout of kvm_irq_routing");
static_assert(KVM_SET_GSI_ROUTING == 0x4008ae6a, "ioctl number as the kernel defines it");
