# Writes a C++ source holding a file's bytes (cmake -P with INPUT, OUTPUT, NAME: a name in
# refah::server): the protocol's binary schema for server/wire_json.cc.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR byte_count "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp" "// Generated from ${INPUT} by cmake/embed_bytes.cmake: do not edit.\n#include <cstddef>\n\nnamespace refah::server {\nextern const unsigned char ${NAME}[];\nextern const std::size_t ${NAME}Bytes;\nalignas(8) const unsigned char ${NAME}[] = {\n${bytes}};\nconst std::size_t ${NAME}Bytes = ${byte_count};\n}  // namespace refah::server\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
