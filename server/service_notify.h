// Telling systemd how refahd is doing (Type=notify in packaging/refahd.service), through
// libsystemd's sd_notify: READY=1 once it serves, STOPPING=1 when a stop begins, STATUS= lines
// beside. Without NOTIFY_SOCKET in the environment (not started by systemd) each call does nothing.
#pragma once

#include <string>

namespace refah::server {

// READY=1 with a STATUS= line saying what it serves.
void notify_ready(const std::string& status);
// STOPPING=1 with a STATUS= line saying why.
void notify_stopping(const std::string& status);

}  // namespace refah::server
