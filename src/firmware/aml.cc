#include "src/firmware/aml.h"

#include <stdexcept>
#include <string>

namespace keel::firmware::aml {

namespace {

constexpr uint8_t kZeroOp = 0x00;
constexpr uint8_t kOneOp = 0x01;
constexpr uint8_t kNameOp = 0x08;
constexpr uint8_t kBytePrefix = 0x0A;
constexpr uint8_t kWordPrefix = 0x0B;
constexpr uint8_t kDWordPrefix = 0x0C;
constexpr uint8_t kStringPrefix = 0x0D;
constexpr uint8_t kQWordPrefix = 0x0E;
constexpr uint8_t kScopeOp = 0x10;
constexpr uint8_t kBufferOp = 0x11;
constexpr uint8_t kPackageOp = 0x12;
constexpr uint8_t kDualNamePrefix = 0x2E;
constexpr uint8_t kMultiNamePrefix = 0x2F;
constexpr uint8_t kRootChar = 0x5C;
constexpr uint8_t kExtOpPrefix = 0x5B;
constexpr uint8_t kDeviceOp = 0x82;  // after kExtOpPrefix

// Small resource descriptor tags (6.4.2): (type << 3) | length.
constexpr uint8_t kIrqNoFlagsTag = 0x22;  // type 0x04, 2 bytes
constexpr uint8_t kIoPortTag = 0x47;      // type 0x08, 7 bytes
constexpr uint8_t kMemory32FixedTag = 0x86;  // large item 0x06
constexpr uint8_t kDWordAddressTag = 0x87;   // large item 0x07
constexpr uint8_t kWordAddressTag = 0x88;    // large item 0x08
constexpr uint8_t kEndTag = 0x79;         // type 0x0F, 1 byte

void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

bool is_lead_char(char c) { return (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_lead_char(c) || (c >= '0' && c <= '9'); }

void append_name_seg(Bytes& out, std::string_view seg) {
  if (seg.empty() || seg.size() > 4 || !is_lead_char(seg[0])) {
    throw std::logic_error("AML name segment '" + std::string(seg) + "' is not valid");
  }
  for (size_t i = 0; i < 4; ++i) {
    const char c = i < seg.size() ? seg[i] : '_';
    if (!is_name_char(c)) throw std::logic_error("AML name segment '" + std::string(seg) + "' is not valid");
    out.push_back(static_cast<uint8_t>(c));
  }
}

// opcode(s) + PkgLength + body
Bytes with_pkg_length(std::initializer_list<uint8_t> opcode, const Bytes& body) {
  Bytes out(opcode);
  append(out, pkg_length(body.size()));
  append(out, body);
  return out;
}

Bytes named_block(std::initializer_list<uint8_t> opcode, std::string_view name, std::span<const Bytes> terms) {
  Bytes body = name_string(name);
  for (const Bytes& term : terms) append(body, term);
  return with_pkg_length(opcode, body);
}

}  // namespace

Bytes pkg_length(size_t body_length) {
  // One byte holds totals below 64 (6 bits); with N extra bytes the first
  // byte carries 4 bits and each extra byte 8 more.
  if (body_length + 1 < 0x40) return {static_cast<uint8_t>(body_length + 1)};
  for (size_t extra = 1; extra <= 3; ++extra) {
    const size_t total = body_length + 1 + extra;
    if (total < (size_t{1} << (4 + 8 * extra))) {
      Bytes out{static_cast<uint8_t>((extra << 6) | (total & 0x0F))};
      for (size_t i = 0; i < extra; ++i) out.push_back(static_cast<uint8_t>(total >> (4 + 8 * i)));
      return out;
    }
  }
  throw std::logic_error("AML package longer than 2^28 bytes");
}

Bytes name_string(std::string_view path) {
  Bytes out;
  if (!path.empty() && path[0] == '\\') {
    out.push_back(kRootChar);
    path.remove_prefix(1);
  }
  std::vector<std::string_view> segments;
  while (!path.empty()) {
    const size_t dot = path.find('.');
    segments.push_back(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  }
  if (segments.empty()) throw std::logic_error("empty AML name");
  if (segments.size() == 2) out.push_back(kDualNamePrefix);
  if (segments.size() > 2) {
    out.push_back(kMultiNamePrefix);
    out.push_back(static_cast<uint8_t>(segments.size()));
  }
  for (std::string_view seg : segments) append_name_seg(out, seg);
  return out;
}

Bytes integer(uint64_t value) {
  if (value == 0) return {kZeroOp};
  if (value == 1) return {kOneOp};
  ByteWriter out;
  if (value <= 0xFF) {
    out.u8(kBytePrefix);
    out.u8(static_cast<uint8_t>(value));
  } else if (value <= 0xFFFF) {
    out.u8(kWordPrefix);
    out.u16(static_cast<uint16_t>(value));
  } else if (value <= 0xFFFF'FFFF) {
    out.u8(kDWordPrefix);
    out.u32(static_cast<uint32_t>(value));
  } else {
    out.u8(kQWordPrefix);
    out.u64(value);
  }
  return out.take();
}

Bytes string(std::string_view text) {
  Bytes out{kStringPrefix};
  for (char c : text) {
    if (static_cast<unsigned char>(c) == 0 || static_cast<unsigned char>(c) > 0x7F) throw std::logic_error("AML strings are ASCII without NUL");
    out.push_back(static_cast<uint8_t>(c));
  }
  out.push_back(0);
  return out;
}

Bytes eisa_id(std::string_view id) {
  // Three upper-case letters (5 bits each, 'A' = 1) and four hex digits,
  // stored big-endian in a DWord (ACPI 6.x 19.6.35 EISAID).
  if (id.size() != 7) throw std::logic_error("EISA ID must be 7 characters");
  auto hex = [](char c) -> uint32_t {
    if (c >= '0' && c <= '9') return static_cast<uint32_t>(c - '0');
    if (c >= 'A' && c <= 'F') return static_cast<uint32_t>(c - 'A' + 10);
    throw std::logic_error("EISA ID product number must be hex");
  };
  uint32_t vendor = 0;
  for (int i = 0; i < 3; ++i) {
    if (id[i] < 'A' || id[i] > 'Z') throw std::logic_error("EISA ID vendor must be upper-case letters");
    vendor = (vendor << 5) | static_cast<uint32_t>(id[i] - 'A' + 1);
  }
  const uint32_t product = (hex(id[3]) << 12) | (hex(id[4]) << 8) | (hex(id[5]) << 4) | hex(id[6]);
  const uint8_t bytes[4] = {static_cast<uint8_t>(vendor >> 8), static_cast<uint8_t>(vendor),
                            static_cast<uint8_t>(product >> 8), static_cast<uint8_t>(product)};
  ByteWriter out;
  out.u8(kDWordPrefix);
  out.append(bytes);
  return out.take();
}

Bytes package(std::initializer_list<Bytes> elements) { return package_of(std::span(elements.begin(), elements.size())); }

Bytes package_of(std::span<const Bytes> elements) {
  // PackageOp's NumElements is one byte (20.2.5.4); larger lists would need
  // VarPackageOp, which nothing here needs.
  if (elements.size() > 255) throw std::logic_error("AML Package with more than 255 elements");
  Bytes body{static_cast<uint8_t>(elements.size())};
  for (const Bytes& element : elements) append(body, element);
  return with_pkg_length({kPackageOp}, body);
}

Bytes buffer(std::span<const uint8_t> data) {
  Bytes body = integer(data.size());
  body.insert(body.end(), data.begin(), data.end());
  return with_pkg_length({kBufferOp}, body);
}

Bytes name(std::string_view name, const Bytes& value) {
  Bytes out{kNameOp};
  append(out, name_string(name));
  append(out, value);
  return out;
}

Bytes scope(std::string_view name, std::span<const Bytes> terms) { return named_block({kScopeOp}, name, terms); }

Bytes device(std::string_view name, std::span<const Bytes> terms) {
  return named_block({kExtOpPrefix, kDeviceOp}, name, terms);
}

Bytes io_port(uint16_t base, uint8_t length) {
  ByteWriter out;
  out.u8(kIoPortTag);
  out.u8(0x01);  // decodes 16 address bits
  out.u16(base);  // minimum base
  out.u16(base);  // maximum base: fixed location
  out.u8(0x01);  // alignment
  out.u8(length);
  return out.take();
}

Bytes irq_no_flags(uint8_t irq) {
  if (irq > 15) throw std::logic_error("IRQ descriptor holds ISA IRQs 0-15 only");
  ByteWriter out;
  out.u8(kIrqNoFlagsTag);
  out.u16(static_cast<uint16_t>(1u << irq));
  return out.take();
}

namespace {

// Address space resource types and flags (ACPI 6.3 tables 6-257..6-260).
constexpr uint8_t kResourceMemory = 0;
constexpr uint8_t kResourceIo = 1;
constexpr uint8_t kResourceBusNumber = 2;
// General flags: bit 3 _MAF (max fixed), bit 2 _MIF (min fixed), bit 1 _DEC
// (0 = positive decode), bit 0 clear = this device produces the range.
constexpr uint8_t kProducerFixedRange = 0x0C;
constexpr uint8_t kIoEntireRange = 0x03;          // _RNG = 3: ISA and non-ISA ports
constexpr uint8_t kMemoryCacheableReadWrite = 0x03;  // _MEM = 1 (cacheable), _RW = 1

Bytes word_address(uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max) {
  ByteWriter out;
  out.u8(kWordAddressTag);
  out.u16(13);  // length of what follows
  out.u8(type);
  out.u8(kProducerFixedRange);
  out.u8(type_flags);
  out.u16(0);  // granularity
  out.u16(min);
  out.u16(max);
  out.u16(0);  // translation offset
  out.u16(static_cast<uint16_t>(max - min + 1));
  return out.take();
}

}  // namespace

Bytes word_bus_number(uint16_t min, uint16_t max) { return word_address(kResourceBusNumber, 0, min, max); }

Bytes word_io(uint16_t min, uint16_t max) { return word_address(kResourceIo, kIoEntireRange, min, max); }

Bytes dword_memory(uint32_t min, uint32_t max) {
  ByteWriter out;
  out.u8(kDWordAddressTag);
  out.u16(23);
  out.u8(kResourceMemory);
  out.u8(kProducerFixedRange);
  out.u8(kMemoryCacheableReadWrite);
  out.u32(0);  // granularity
  out.u32(min);
  out.u32(max);
  out.u32(0);  // translation offset
  out.u32(max - min + 1);
  return out.take();
}

Bytes memory32_fixed(uint32_t base, uint32_t length) {
  ByteWriter out;
  out.u8(kMemory32FixedTag);
  out.u16(9);
  out.u8(0x01);  // read/write
  out.u32(base);
  out.u32(length);
  return out.take();
}

Bytes resource_template(std::initializer_list<Bytes> descriptors) {
  Bytes data;
  for (const Bytes& descriptor : descriptors) append(data, descriptor);
  data.push_back(kEndTag);
  data.push_back(0);  // checksum 0: "the resource data is treated as if the checksum is valid"
  return buffer(data);
}

}  // namespace keel::firmware::aml
