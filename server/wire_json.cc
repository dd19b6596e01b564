// The protocol's answers as JSON (server/wire_json.h): FlatBuffers reflection over the binary
// schema generated from protocol.fbs at build time (protocol_schema.cc).
#include "server/wire_json.h"

#include <flatbuffers/reflection.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "ledger/assert.h"

namespace refah::server {

extern const unsigned char kProtocolSchema[];
extern const std::size_t kProtocolSchemaBytes;

namespace {

using reflection::BaseType;

// The schema, checked once: it is built into the program, so a bad one is a build defect.
const reflection::Schema& schema() {
  static const reflection::Schema* const s = [] {
    flatbuffers::Verifier v(kProtocolSchema, kProtocolSchemaBytes);
    REFAH_ASSERT(reflection::VerifySchemaBuffer(v));
    return reflection::GetSchema(kProtocolSchema);
  }();
  return *s;
}

bool is_scalar(BaseType t) { return t >= BaseType::UType && t <= BaseType::Double; }
bool is_float(BaseType t) { return t == BaseType::Float || t == BaseType::Double; }

void append_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  out += '"';
}

void append_hex(std::string& out, const std::uint8_t* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  out += '"';
}

void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, r.ptr);
}

bool has_attribute(const reflection::Enum& e, std::string_view key) {
  if (e.attributes() == nullptr) return false;
  for (const auto* kv : *e.attributes()) {
    if (kv->key() != nullptr && kv->key()->string_view() == key) return true;
  }
  return false;
}

// An integer of an enum type: its name, the names of the bits set (bit flags), or the number.
void append_enum(std::string& out, const reflection::Enum& e, std::int64_t value) {
  if (has_attribute(e, "bit_flags")) {
    out += '[';
    bool first = true;
    for (const auto* v : *e.values()) {
      if (v->value() == 0 || (value & v->value()) != v->value()) continue;
      if (!first) out += ',';
      first = false;
      append_string(out, v->name()->string_view());
    }
    out += ']';
    return;
  }
  if (const auto* v = e.values()->LookupByKey(value)) return append_string(out, v->name()->string_view());
  out += std::to_string(value);
}

// A scalar of `type` (base `base`: the element's for vectors and arrays) read from `p`.
void append_scalar(std::string& out, const reflection::Type& type, BaseType base, const std::uint8_t* p) {
  if (is_float(base)) return append_double(out, flatbuffers::GetAnyValueF(base, p));
  const std::int64_t v = flatbuffers::GetAnyValueI(base, p);
  if (base == BaseType::Bool) {
    out += v != 0 ? "true" : "false";
  } else if (type.index() >= 0) {
    append_enum(out, *schema().enums()->Get(static_cast<flatbuffers::uoffset_t>(type.index())), v);
  } else if (base == BaseType::ULong) {
    out += std::to_string(static_cast<std::uint64_t>(v));
  } else {
    out += std::to_string(v);
  }
}

void append_table(std::string& out, const reflection::Object& obj, const flatbuffers::Table& t);
void append_struct(std::string& out, const reflection::Object& obj, const std::uint8_t* p);

const reflection::Object& object_at(int index) {
  return *schema().objects()->Get(static_cast<flatbuffers::uoffset_t>(index));
}

// Fields in the order the schema declares them (a binary schema keeps them sorted by name), for
// every object of the schema, sorted once.
const std::vector<const reflection::Field*>& fields_in_order(const reflection::Object& obj) {
  static const auto by_object = [] {
    std::unordered_map<const reflection::Object*, std::vector<const reflection::Field*>> m;
    for (const auto* o : *schema().objects()) {
      auto& fields = m[o];
      fields.assign(o->fields()->begin(), o->fields()->end());
      std::sort(fields.begin(), fields.end(), [](const auto* a, const auto* b) { return a->id() < b->id(); });
    }
    return m;
  }();
  return by_object.at(&obj);
}

void append_vector(std::string& out, const reflection::Type& type, const flatbuffers::VectorOfAny* v) {
  const BaseType elem = type.element();
  if (v == nullptr) {
    out += "[]";
    return;
  }
  if (elem == BaseType::UByte && type.index() < 0) return append_hex(out, v->Data(), v->size());
  out += '[';
  for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) {
    if (i != 0) out += ',';
    if (is_scalar(elem)) {
      append_scalar(out, type, elem, v->Data() + i * flatbuffers::GetTypeSize(elem));
    } else if (elem == BaseType::String) {
      append_string(out, flatbuffers::GetAnyVectorElemPointer<const flatbuffers::String>(v, i)->string_view());
    } else if (elem == BaseType::Obj) {
      const auto& obj = object_at(type.index());
      if (obj.is_struct()) {
        append_struct(out, obj, v->Data() + i * static_cast<std::size_t>(obj.bytesize()));
      } else {
        append_table(out, obj, *flatbuffers::GetAnyVectorElemPointer<const flatbuffers::Table>(v, i));
      }
    } else {
      out += "null";  // vectors of unions: not in the protocol
    }
  }
  out += ']';
}

// A union field: {"type": name, "value": {...}}; the tag is the field named <name>_type.
void append_union(std::string& out, const reflection::Object& obj, const reflection::Field& f,
                  const flatbuffers::Table& t) {
  const auto* tag_field = obj.fields()->LookupByKey((f.name()->str() + "_type").c_str());
  const auto& e = *schema().enums()->Get(static_cast<flatbuffers::uoffset_t>(f.type()->index()));
  const std::int64_t tag = tag_field == nullptr ? 0 : flatbuffers::GetAnyFieldI(t, *tag_field);
  const auto* member = e.values()->LookupByKey(tag);
  const auto* value = flatbuffers::GetFieldT(t, f);
  if (member == nullptr || value == nullptr || member->union_type() == nullptr || tag == 0) {
    out += "null";
    return;
  }
  out += "{\"type\":";
  append_string(out, member->name()->string_view());
  out += ",\"value\":";
  append_table(out, object_at(member->union_type()->index()), *value);
  out += '}';
}

void append_field(std::string& out, const reflection::Object& obj, const reflection::Field& f,
                  const flatbuffers::Table& t) {
  const reflection::Type& type = *f.type();
  const BaseType base = type.base_type();
  if (is_scalar(base)) {
    if (is_float(base)) return append_double(out, flatbuffers::GetAnyFieldF(t, f));
    const std::int64_t v = flatbuffers::GetAnyFieldI(t, f);
    std::uint8_t raw[8];
    std::memcpy(raw, &v, sizeof raw);  // little-endian, as FlatBuffers stores it
    const BaseType as = base == BaseType::Bool ? BaseType::Bool : base == BaseType::ULong ? BaseType::ULong : BaseType::Long;
    return append_scalar(out, type, as, raw);
  }
  switch (base) {
    case BaseType::String: {
      const auto* s = flatbuffers::GetFieldS(t, f);
      return s == nullptr ? void(out += "null") : append_string(out, s->string_view());
    }
    case BaseType::Vector: return append_vector(out, type, flatbuffers::GetFieldAnyV(t, f));
    case BaseType::Obj: {
      const auto& sub = object_at(type.index());
      if (sub.is_struct()) {
        const auto* p = flatbuffers::GetFieldStruct(t, f);
        return p == nullptr ? void(out += "null") : append_struct(out, sub, reinterpret_cast<const std::uint8_t*>(p));
      }
      const auto* sub_table = flatbuffers::GetFieldT(t, f);
      return sub_table == nullptr ? void(out += "null") : append_table(out, sub, *sub_table);
    }
    case BaseType::Union: return append_union(out, obj, f, t);
    default: out += "null";
  }
}

void append_table(std::string& out, const reflection::Object& obj, const flatbuffers::Table& t) {
  out += '{';
  bool first = true;
  for (const auto* f : fields_in_order(obj)) {
    if (f->deprecated() || f->type()->base_type() == BaseType::UType) continue;
    if (!first) out += ',';
    first = false;
    append_string(out, f->name()->string_view());
    out += ':';
    append_field(out, obj, *f, t);
  }
  out += '}';
}

void append_struct(std::string& out, const reflection::Object& obj, const std::uint8_t* p) {
  out += '{';
  bool first = true;
  for (const auto* f : fields_in_order(obj)) {
    if (!first) out += ',';
    first = false;
    append_string(out, f->name()->string_view());
    out += ':';
    const reflection::Type& type = *f->type();
    const std::uint8_t* at = p + f->offset();
    if (type.base_type() == BaseType::Obj) {
      append_struct(out, object_at(type.index()), at);
    } else if (type.base_type() == BaseType::Array && type.element() == BaseType::UByte && type.index() < 0) {
      append_hex(out, at, type.fixed_length());
    } else if (type.base_type() == BaseType::Array && is_scalar(type.element())) {
      out += '[';
      const std::size_t size = flatbuffers::GetTypeSize(type.element());
      for (std::uint16_t i = 0; i < type.fixed_length(); ++i) {
        if (i != 0) out += ',';
        append_scalar(out, type, type.element(), at + i * size);
      }
      out += ']';
    } else if (is_scalar(type.base_type())) {
      append_scalar(out, type, type.base_type(), at);
    } else {
      out += "null";  // arrays of structs: not in the protocol
    }
  }
  out += '}';
}

const reflection::EnumVal* body_member(const wire::Message& m) {
  const reflection::Object* message = schema().root_table();
  REFAH_ASSERT(message != nullptr);
  const auto* body = message->fields()->LookupByKey("body");
  REFAH_ASSERT(body != nullptr);
  const auto& e = *schema().enums()->Get(static_cast<flatbuffers::uoffset_t>(body->type()->index()));
  return e.values()->LookupByKey(static_cast<std::int64_t>(m.body_type()));
}

}  // namespace

std::string json_quote(std::string_view s) {
  std::string out;
  append_string(out, s);
  return out;
}

std::string body_name(const wire::Message& m) {
  const auto* member = body_member(m);
  return member == nullptr ? std::string() : member->name()->str();
}

std::string body_json(const wire::Message& m) {
  const auto* member = body_member(m);
  const auto* table = reinterpret_cast<const flatbuffers::Table*>(m.body());
  if (member == nullptr || member->union_type() == nullptr || table == nullptr) return "{}";
  std::string out;
  append_table(out, object_at(member->union_type()->index()), *table);
  return out;
}

}  // namespace refah::server
