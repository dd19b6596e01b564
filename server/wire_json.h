// The protocol's answers as JSON, for the console (server/console_api.h): a walk of the schema
// itself (server/schema/protocol.fbs, built into the program in binary form), so every answer the
// protocol can carry has its JSON and no query is written twice. The mapping (docs/HTTP.md):
//   a table      -> an object with every field of the schema, in schema order, defaults included
//   integers     -> numbers; bool -> true/false; double -> a number (null if not finite)
//   an enum      -> its name as a string (a number this build does not know: the number);
//                   bit flags -> an array of the names set
//   [ubyte] and fixed byte arrays -> lowercase hex strings (hashes, keys, signatures, ids)
//   other vectors -> arrays; structs -> objects; a string -> a string
//   a table or string that is absent -> null; a union -> {"type": "<name>", "value": {...}}
#pragma once

#include <string>

#include "server/wire.h"

namespace refah::server {

// The body of a verified Message as a JSON object; "{}" for a body this build does not know.
std::string body_json(const wire::Message& m);
// The name of a Message's body kind in the schema ("Totals", "Error", ...).
std::string body_name(const wire::Message& m);
// `s` as a JSON string, quoted and escaped.
std::string json_quote(std::string_view s);

}  // namespace refah::server
