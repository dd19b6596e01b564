// Signed checkpoints (replay/checkpoint.h): the signed message's grammar, sign and verify, every
// field and the signature tamper-evident, a checkpoint from another key refused, the text form and
// its files, and Ed25519 keys in PEM (mode 0600 for the private one) and hex.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "ledger/sha256.h"
#include "replay/checkpoint.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::replay;
using namespace refah::test;

namespace {

Hash32 filled(std::uint8_t first) {
  Hash32 h;
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<std::uint8_t>(first + i);
  return h;
}

SigningKey new_key() {
  auto k = SigningKey::generate();
  REQUIRE(k.is_ok());
  return std::move(k).value();
}

Checkpoint sample(const SigningKey& key) { return key.sign(12345, filled(1), filled(100), kT0); }

std::string dir_of(const TempDir& t) {
  std::filesystem::create_directories(t.path());
  return t.path();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("the signed message follows the grammar: magic, seq, hash, digest, time, key", "[checkpoint]") {
  Checkpoint c;
  c.head_seq = 0x0102030405060708ULL;
  c.head_hash = filled(10);
  c.projections_digest = filled(50);
  c.signed_at_us = -2;
  c.public_key = filled(200 - 32);
  c.signature = {};
  c.signature[0] = 9;  // not part of the message
  const std::string m = checkpoint_message(c);
  REQUIRE(m.size() == 19 + 8 + 32 + 32 + 8 + 32);
  CHECK(m.substr(0, 19) == "refah-checkpoint-v1");
  CHECK(static_cast<std::uint8_t>(m[19]) == 0x08);  // little-endian
  CHECK(static_cast<std::uint8_t>(m[26]) == 0x01);
  CHECK(static_cast<std::uint8_t>(m[27]) == 10);
  CHECK(static_cast<std::uint8_t>(m[59]) == 50);
  for (int i = 91; i < 99; ++i) CHECK(static_cast<std::uint8_t>(m[i]) == (i == 91 ? 0xfe : 0xff));
  CHECK(static_cast<std::uint8_t>(m[99]) == 200 - 32);
  c.signature[0] = 10;
  CHECK(checkpoint_message(c) == m);
}

TEST_CASE("a checkpoint signed by a key verifies with that key", "[checkpoint]") {
  const SigningKey key = new_key();
  const Checkpoint c = sample(key);
  CHECK(c.head_seq == 12345);
  CHECK(c.head_hash == filled(1));
  CHECK(c.projections_digest == filled(100));
  CHECK(c.signed_at_us == kT0);
  CHECK(c.public_key == key.public_key());
  CHECK(verify_checkpoint_signature(c, key.public_key()));
  // Ed25519 is deterministic: the same fields give the same signature.
  CHECK(sample(key).signature == c.signature);
}

TEST_CASE("a changed field or signature no longer verifies", "[checkpoint]") {
  const SigningKey key = new_key();
  const Checkpoint good = sample(key);
  SECTION("head_seq") {
    Checkpoint c = good;
    c.head_seq -= 1;  // a truncation claimed as the head
    CHECK_FALSE(verify_checkpoint_signature(c, key.public_key()));
  }
  SECTION("head_hash") {
    Checkpoint c = good;
    c.head_hash[31] ^= 1;
    CHECK_FALSE(verify_checkpoint_signature(c, key.public_key()));
  }
  SECTION("projections_digest") {
    Checkpoint c = good;
    c.projections_digest[0] ^= 0x80;
    CHECK_FALSE(verify_checkpoint_signature(c, key.public_key()));
  }
  SECTION("signed_at_us") {
    Checkpoint c = good;
    c.signed_at_us += 1;
    CHECK_FALSE(verify_checkpoint_signature(c, key.public_key()));
  }
  SECTION("signature") {
    for (std::size_t i : {std::size_t{0}, std::size_t{31}, std::size_t{32}, std::size_t{63}}) {
      Checkpoint c = good;
      c.signature[i] ^= 1;
      CHECK_FALSE(verify_checkpoint_signature(c, key.public_key()));
    }
    Checkpoint zero = good;
    zero.signature = {};
    CHECK_FALSE(verify_checkpoint_signature(zero, key.public_key()));
  }
  CHECK(verify_checkpoint_signature(good, key.public_key()));
}

TEST_CASE("a checkpoint from another key is refused", "[checkpoint]") {
  const SigningKey trusted = new_key();
  const SigningKey other = new_key();
  REQUIRE(trusted.public_key() != other.public_key());
  const Checkpoint forged = sample(other);
  // Valid under its own key, but that is not the trusted key.
  CHECK(verify_checkpoint_signature(forged, other.public_key()));
  CHECK_FALSE(verify_checkpoint_signature(forged, trusted.public_key()));
  // Claiming the trusted key with the other key's signature fails too.
  Checkpoint claimed = forged;
  claimed.public_key = trusted.public_key();
  CHECK_FALSE(verify_checkpoint_signature(claimed, trusted.public_key()));
}

TEST_CASE("the text form round-trips and reads as documented", "[checkpoint]") {
  const SigningKey key = new_key();
  const Checkpoint c = sample(key);
  const std::string text = checkpoint_to_text(c);
  CHECK(text.rfind("refah-checkpoint v1\nhead_seq 12345\nhead_hash 0102", 0) == 0);
  CHECK(text.find("\nsigned_at_us 1774051200000000\n") != std::string::npos);
  CHECK(text.find("\npublic_key " + to_hex(key.public_key()) + "\n") != std::string::npos);
  CHECK(text.find("\nsignature " + to_hex(c.signature) + "\n") != std::string::npos);
  CHECK(text.back() == '\n');

  auto back = checkpoint_from_text(text);
  REQUIRE(back.is_ok());
  CHECK(back.value() == c);
  CHECK(verify_checkpoint_signature(back.value(), key.public_key()));

  // CRLF lines, upper-case hex and no final newline read the same.
  std::string crlf;
  for (char ch : text) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
  std::string upper = to_hex(c.head_hash);
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  crlf.replace(crlf.find(to_hex(c.head_hash)), upper.size(), upper);
  auto crlf_back = checkpoint_from_text(crlf);
  INFO(crlf_back.status().to_string());
  REQUIRE(crlf_back.is_ok());
  CHECK(crlf_back.value() == c);
  auto no_newline = checkpoint_from_text(text.substr(0, text.size() - 1));
  REQUIRE(no_newline.is_ok());
  CHECK(no_newline.value() == c);

  Checkpoint negative = c;
  negative.signed_at_us = -5;
  auto neg_back = checkpoint_from_text(checkpoint_to_text(negative));
  REQUIRE(neg_back.is_ok());
  CHECK(neg_back.value().signed_at_us == -5);
}

TEST_CASE("malformed checkpoint text is refused, naming what is wrong", "[checkpoint]") {
  const SigningKey key = new_key();
  const std::string good = checkpoint_to_text(sample(key));
  auto refused = [](const std::string& text, const std::string& want) {
    auto r = checkpoint_from_text(text);
    REQUIRE_FALSE(r.is_ok());
    INFO(r.status().message());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(r.status().message().find(want) != std::string::npos);
  };
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    const auto at = t.find(from);
    REQUIRE(at != std::string::npos);
    return t.replace(at, from.size(), to);
  };
  refused("", "first line");
  refused("refah-checkpoint v2\n" + good.substr(good.find('\n') + 1), "first line");
  refused(good.substr(0, good.rfind("signature")), "lines");
  refused(good + "extra 1\n", "lines");
  refused(replaced("head_seq 12345", "head_seq 12x45"), "head_seq");
  refused(replaced("head_seq 12345", "head_seq -12345"), "head_seq");
  refused(replaced("head_seq 12345", "head_seq 012345"), "head_seq");
  refused(replaced("head_seq 12345", "head_seq 99999999999999999999999"), "head_seq");
  refused(replaced("head_seq ", "head_seq  "), "head_seq");
  refused(replaced("head_hash 01", "head_hash 0g"), "head_hash");
  refused(replaced("head_hash 01", "head_hash 0"), "head_hash");
  refused(replaced("projections_digest", "digest"), "projections_digest");
  refused(replaced("signed_at_us 1774", "signed_at_us +1774"), "signed_at_us");
  refused(replaced("public_key ", "public_key 00"), "public_key");
  refused(replaced("signature ", "signature 0"), "signature");
  // Lines out of order.
  const auto k = good.find("public_key"), s = good.find("signature");
  std::string swapped = good.substr(0, k) + good.substr(s) + good.substr(k, s - k);
  refused(swapped, "public_key");
}

TEST_CASE("checkpoint files: save then load, and load errors", "[checkpoint]") {
  TempDir t;
  const std::string dir = dir_of(t);
  const SigningKey key = new_key();
  const Checkpoint c = sample(key);
  const std::string path = dir + "/12345.checkpoint";
  REQUIRE(save_checkpoint(c, path).is_ok());
  CHECK(read_text(path) == checkpoint_to_text(c));
  auto loaded = load_checkpoint(path);
  REQUIRE(loaded.is_ok());
  CHECK(loaded.value() == c);
  // Saving again replaces the file whole; no temporary file is left beside it.
  Checkpoint later = key.sign(12345, c.head_hash, c.projections_digest, kT0 + kHourUs);
  REQUIRE(save_checkpoint(later, path).is_ok());
  CHECK(load_checkpoint(path).value() == later);
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);

  auto missing = load_checkpoint(dir + "/none.checkpoint");
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().code() == Status::Code::kIoError);
  write_text(dir + "/bad.checkpoint", "hello\n");
  auto bad = load_checkpoint(dir + "/bad.checkpoint");
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().message().find("bad.checkpoint") != std::string::npos);
  write_text(dir + "/huge.checkpoint", std::string(1 << 20, 'x'));
  CHECK_FALSE(load_checkpoint(dir + "/huge.checkpoint").is_ok());
  CHECK_FALSE(save_checkpoint(c, dir + "/no/such/dir/1.checkpoint").is_ok());
}

TEST_CASE("keys: private PEM (mode 0600) and public PEM save and load, hex public keys", "[checkpoint]") {
  TempDir t;
  const std::string dir = dir_of(t);
  const SigningKey key = new_key();
  const std::string priv = dir + "/key.pem", pub = dir + "/key.pub.pem";
  REQUIRE(key.save_file(priv).is_ok());
  REQUIRE(key.save_public_file(pub).is_ok());
  struct stat st {};
  REQUIRE(::stat(priv.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(read_text(priv).rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
  CHECK(read_text(pub).rfind("-----BEGIN PUBLIC KEY-----", 0) == 0);

  auto reloaded = SigningKey::load_file(priv);
  REQUIRE(reloaded.is_ok());
  CHECK(reloaded.value().public_key() == key.public_key());
  // The reloaded key signs exactly as the original (Ed25519 is deterministic).
  CHECK(sample(reloaded.value()) == sample(key));

  auto from_pem = load_public_key(pub);
  REQUIRE(from_pem.is_ok());
  CHECK(from_pem.value() == key.public_key());
  const std::string hex = to_hex(key.public_key());
  auto from_hex = load_public_key(hex);
  REQUIRE(from_hex.is_ok());
  CHECK(from_hex.value() == key.public_key());
  write_text(dir + "/key.hex", hex + "\n");
  auto from_hex_file = load_public_key(dir + "/key.hex");
  REQUIRE(from_hex_file.is_ok());
  CHECK(from_hex_file.value() == key.public_key());

  // A checkpoint verifies with the key as loaded from each form.
  CHECK(verify_checkpoint_signature(sample(reloaded.value()), from_pem.value()));

  // Moving a key keeps it usable.
  SigningKey moved = std::move(reloaded).value();
  CHECK(verify_checkpoint_signature(sample(moved), key.public_key()));
}

TEST_CASE("bad key files are refused with a status, never a prompt or a crash", "[checkpoint]") {
  TempDir t;
  const std::string dir = dir_of(t);
  const SigningKey key = new_key();
  REQUIRE(key.save_public_file(dir + "/pub.pem").is_ok());
  REQUIRE(key.save_file(dir + "/priv.pem").is_ok());
  write_text(dir + "/junk.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");

  CHECK(SigningKey::load_file(dir + "/missing.pem").status().code() == Status::Code::kIoError);
  CHECK(SigningKey::load_file(dir + "/junk.pem").status().code() == Status::Code::kInvalidArgument);
  CHECK(SigningKey::load_file(dir + "/pub.pem").status().code() == Status::Code::kInvalidArgument);
  CHECK(load_public_key(dir + "/missing.pem").status().code() == Status::Code::kIoError);
  CHECK(load_public_key(dir + "/junk.pem").status().code() == Status::Code::kInvalidArgument);
  CHECK(load_public_key(dir + "/priv.pem").status().code() == Status::Code::kInvalidArgument);
  CHECK_FALSE(load_public_key(std::string(63, 'a')).is_ok());
  CHECK_FALSE(load_public_key(std::string(64, 'g')).is_ok());

  // An encrypted private key is refused (no passphrase prompt on the terminal).
  const std::string enc = dir + "/enc.pem";
  const std::string cmd = "openssl pkey -in " + dir + "/priv.pem -aes256 -passout pass:secret -out " + enc +
                          " 2>/dev/null";
  if (std::system(cmd.c_str()) == 0) {
    auto r = SigningKey::load_file(enc);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
  }
  // A key of another type (an EC key from openssl) is refused.
  const std::string ec = dir + "/ec.pem";
  if (std::system(("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + ec + " 2>/dev/null").c_str()) == 0) {
    auto r = SigningKey::load_file(ec);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("Ed25519") != std::string::npos);
  }
  // A key made by `openssl genpkey -algorithm ed25519` loads and signs.
  const std::string ossl = dir + "/ossl.pem";
  if (std::system(("openssl genpkey -algorithm ed25519 -out " + ossl + " 2>/dev/null").c_str()) == 0) {
    auto r = SigningKey::load_file(ossl);
    REQUIRE(r.is_ok());
    CHECK(verify_checkpoint_signature(sample(r.value()), r.value().public_key()));
  }
}
