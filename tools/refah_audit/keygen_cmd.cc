// refah-audit keygen: a new Ed25519 key pair for refahd's signed checkpoints (replay/checkpoint.h).
// The private key is written as PKCS#8 PEM with mode 0600, the public key as PEM; existing files are
// never overwritten. Prints the public key in hex (the form to publish beside the PEM).
#include <filesystem>
#include <iostream>

#include "ledger/sha256.h"
#include "replay/checkpoint.h"
#include "tools/refah_audit/commands.h"

namespace refah::audit {

int run_keygen(const KeygenOptions& o) {
  if (o.private_key_out.empty() || o.public_key_out.empty()) {
    std::cerr << "refah-audit keygen: --private and --public are both required\n";
    return 2;
  }
  if (std::filesystem::path(o.private_key_out) == std::filesystem::path(o.public_key_out)) {
    std::cerr << "refah-audit keygen: --private and --public must be different files\n";
    return 2;
  }
  for (const std::string& p : {o.private_key_out, o.public_key_out}) {
    std::error_code ec;
    if (std::filesystem::exists(p, ec) || ec) {
      std::cerr << "refah-audit keygen: " << p << " exists; not overwriting a key\n";
      return 3;
    }
  }
  auto key = replay::SigningKey::generate();
  if (!key.is_ok()) {
    std::cerr << "refah-audit keygen: " << key.status().message() << '\n';
    return 3;
  }
  if (Status s = key.value().save_file(o.private_key_out); !s.is_ok()) {
    std::cerr << "refah-audit keygen: " << s.message() << '\n';
    return 3;
  }
  if (Status s = key.value().save_public_file(o.public_key_out); !s.is_ok()) {
    std::cerr << "refah-audit keygen: " << s.message() << '\n';
    return 3;
  }
  std::cout << "private key " << o.private_key_out << " (mode 0600; give it to refahd as checkpoint_key_file)\n"
            << "public key  " << o.public_key_out << '\n'
            << "public key (hex) " << to_hex(key.value().public_key()) << '\n';
  return 0;
}

}  // namespace refah::audit
