// sd_notify for refahd (server/service_notify.h).
#include "server/service_notify.h"

#include <systemd/sd-daemon.h>

namespace refah::server {

namespace {
void notify(const std::string& state, const std::string& status) {
  std::string text = state + "\nSTATUS=";
  for (const char c : status) text += c == '\n' ? ' ' : c;
  // unset_environment = 0: the socket stays known, so that STOPPING=1 follows READY=1. A failure
  // (no systemd listening any more) changes nothing for the ledger.
  (void)sd_notify(0, text.c_str());
}
}  // namespace

void notify_ready(const std::string& status) { notify("READY=1", status); }

void notify_stopping(const std::string& status) { notify("STOPPING=1", status); }

}  // namespace refah::server
