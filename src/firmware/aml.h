// A small AML (ACPI Machine Language) encoder, enough for a static DSDT:
// scopes, devices, named objects, integers, strings, packages, EISA IDs and
// resource templates. Encodings follow ACPI 6.x chapter 20 (AML grammar) and
// 6.4 (resource descriptors). No iasl needed at build time.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

#include "src/firmware/byte_writer.h"

namespace keel::firmware::aml {

// PkgLength (20.2.4): the length of what follows the opcode INCLUDING the
// PkgLength bytes themselves, in 1-4 bytes.
Bytes pkg_length(size_t body_length);

// A NameString: optional leading '\' then one or more 1-4 character segments
// separated by '.', each padded with '_' ("_SB" -> "_SB_"). Characters are
// A-Z, 0-9 and '_', not starting with a digit.
Bytes name_string(std::string_view path);

Bytes integer(uint64_t value);           // ZeroOp/OneOp/Byte/Word/DWord/QWordConst
Bytes string(std::string_view text);     // StringPrefix ... NUL
Bytes eisa_id(std::string_view id);      // "PNP0501" -> compressed DWordConst
Bytes package(std::initializer_list<Bytes> elements);
Bytes package_of(std::span<const Bytes> elements);  // the same, for a built list
Bytes buffer(std::span<const uint8_t> data);

Bytes name(std::string_view name, const Bytes& value);            // Name(NAME, value)
Bytes scope(std::string_view name, std::span<const Bytes> terms);  // Scope(NAME) {...}
Bytes device(std::string_view name, std::span<const Bytes> terms); // Device(NAME) {...}

// Resource descriptors (6.4.2), to be wrapped by resource_template().
Bytes io_port(uint16_t base, uint8_t length);  // IO(Decode16, base, base, 1, length)
Bytes irq_no_flags(uint8_t irq);               // IRQNoFlags(){irq}: edge, active high
// Address space descriptors (6.4.3.5) for a bridge's windows: producer,
// fixed min and max, positive decode, granularity 0, no translation.
Bytes word_bus_number(uint16_t min, uint16_t max);  // WordBusNumber
Bytes word_io(uint16_t min, uint16_t max);          // WordIO, EntireRange
Bytes dword_memory(uint32_t min, uint32_t max);     // DWordMemory, Cacheable, ReadWrite
// Memory32Fixed(ReadWrite, base, length) (6.4.3.4), a consumed range.
Bytes memory32_fixed(uint32_t base, uint32_t length);
// ResourceTemplate(){...}: a Buffer of the descriptors plus an End Tag.
Bytes resource_template(std::initializer_list<Bytes> descriptors);

}  // namespace keel::firmware::aml
