// Making a directory's entries durable: after a file is created, renamed or removed in it, its
// name survives a power cut only once the directory itself is fsynced.
#pragma once

#include <string>

#include "ledger/status.h"

namespace refah {

// fsync of the directory `dir`; an io_error naming it (and the system's reason) otherwise.
[[nodiscard]] Status sync_dir(const std::string& dir);

}  // namespace refah
