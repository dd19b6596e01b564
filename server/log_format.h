// refahd's log formats: "text" (spdlog's default pattern, local time) or "json" (one JSON object a
// line: {"time":"2026-12-04T17:00:00.123Z","level":"info","logger":"refahd","message":"..."},
// the time in UTC with its zone, the message escaped), for log collectors (docs/OPERATIONS.md).
#pragma once

#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace refah::server {

// True for the names set_log_format takes.
bool is_log_format(std::string_view name);
// Formats every sink of `log` as `name` ("text" or "json"); false for another name.
bool set_log_format(spdlog::logger& log, std::string_view name);
// `text` as the inside of a JSON string (quotes, backslashes and control characters escaped;
// other bytes as they are, so UTF-8 passes through).
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace refah::server
