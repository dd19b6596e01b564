// refahctl's config file: defaults for the global flags (the server, the credentials, TLS, the
// calendar), so that an operator need not type them each time. Flags win, then the environment
// (REFAHCTL_*), then the file, then the built-in defaults. docs/OPERATIONS.md lists the keys.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "tools/refahctl/global.h"

namespace refah::ctl {

// The file read when --config (REFAHCTL_CONFIG) is not given: $XDG_CONFIG_HOME/refahctl/config.toml,
// else $HOME/.config/refahctl/config.toml; empty when neither variable is set.
std::string default_config_path();

// Sets from the TOML file at `path` each field of g whose flag (e.g. "--connect") given() says was
// neither on the command line nor in the environment. Paths in it (keys, tls_ca) are relative to the
// file's directory. A missing file is no error unless `must_exist`. Returns the error (unreadable
// file, bad TOML, an unknown key, a value of the wrong type or out of range), or nullopt.
std::optional<std::string> apply_config(const std::string& path, bool must_exist, Global& g,
                                        const std::function<bool(std::string_view flag)>& given);

}  // namespace refah::ctl
