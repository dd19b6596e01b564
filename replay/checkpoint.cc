// Signed checkpoints (replay/checkpoint.h): the canonical message, the text form, files, and Ed25519
// through OpenSSL's EVP interface (EVP_PKEY_ED25519; one-shot EVP_DigestSign/Verify, no digest).
// OpenSSL errors become Status values here; its error queue is drained so none leaks to a caller.
#include "replay/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "ledger/assert.h"
#include "ledger/full_io.h"
#include "ledger/sha256.h"

namespace refah::replay {

namespace {

constexpr std::string_view kMessageMagic = "refah-checkpoint-v1";
constexpr std::string_view kTextHeader = "refah-checkpoint v1";
// A checkpoint's text is about 400 bytes, a PEM key about 120: anything far larger is not one.
constexpr std::size_t kFileBytesMax = 64 * 1024;

// ---- OpenSSL handles ----
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

// The newest OpenSSL error as text (the queue is emptied).
std::string openssl_error() {
  unsigned long last = 0;
  for (unsigned long e; (e = ERR_get_error()) != 0;) last = e;
  if (last == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

// A PEM that asks for a passphrase is refused instead of prompting on the terminal.
int no_passphrase(char*, int, int, void*) { return 0; }

// ---- Little-endian and hex ----
template <class T>
void put_le(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<char>(static_cast<std::make_unsigned_t<T>>(v) >> (8 * i)));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Exactly 2*N hex digits (either case) into out.
template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

// A whole decimal number (an optional '-' only for signed T), nothing else.
template <class T>
bool parse_decimal(std::string_view text, T& out) {
  if (text.empty() || text.front() == '+') return false;
  if (text.size() > 1 && text.front() == '0') return false;  // one spelling per number
  if (text.size() >= 2 && text.substr(0, 2) == "-0") return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string_view trim_trailing(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// ---- Files ----
Result<std::string> read_small_file(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return Status::io_error(path + ": " + ec.message());
  if (size > kFileBytesMax) {
    return Status::invalid_argument(path + ": " + std::to_string(size) + " bytes is too large (at most " +
                                    std::to_string(kFileBytesMax) + ")");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::io_error(path + ": read failed");
  return ss.str();
}

// Writes bytes to a fresh file beside `path` with `mode`, fsyncs it, renames it over `path` and
// fsyncs the directory: readers see the old file or the whole new one, never a part.
Status write_file_atomically(const std::string& path, std::string_view bytes, mode_t mode) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  std::string tmp = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = mkstemp(tmp.data());  // mode 0600, a name no other writer uses
  if (fd < 0) return Status::io_error(path + ": cannot create a temporary file: " + std::strerror(errno));
  auto fail = [&](const std::string& what, int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status::io_error(path + ": " + what + ": " + std::strerror(err));
  };
  if (mode != 0600 && ::fchmod(fd, mode) != 0) return fail("chmod", errno);
  if (const int err = write_full(fd, bytes.data(), bytes.size()); err != 0) return fail("write", err);
  if (::fsync(fd) != 0) return fail("fsync", errno);
  if (::close(fd) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Status::io_error(path + ": close: " + err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Status::io_error(path + ": rename: " + err);
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    const bool synced = ::fsync(dfd) == 0;
    ::close(dfd);
    if (!synced) return Status::io_error(dir.string() + ": fsync of the directory failed");
  }
  return Status::ok();
}

Result<PublicKey> raw_public_key(EVP_PKEY* key, const std::string& where) {
  if (EVP_PKEY_id(key) != EVP_PKEY_ED25519) return Status::invalid_argument(where + ": not an Ed25519 key");
  PublicKey out{};
  std::size_t n = out.size();
  if (EVP_PKEY_get_raw_public_key(key, out.data(), &n) != 1 || n != out.size()) {
    return Status::invalid_argument(where + ": cannot read the public key: " + openssl_error());
  }
  return out;
}

// A PEM from a memory BIO, as a string; the BIO's buffer is wiped (it may hold a private key).
std::string take_pem(BIO* bio) {
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio, &mem);
  std::string out(mem->data, mem->length);
  OPENSSL_cleanse(mem->data, mem->length);
  return out;
}

}  // namespace

// ---- Message and text ----

std::string checkpoint_message(const Checkpoint& c) {
  std::string m;
  m.reserve(kMessageMagic.size() + 8 + 32 + 32 + 8 + 32);
  m.append(kMessageMagic);
  put_le<std::uint64_t>(m, c.head_seq);
  m.append(reinterpret_cast<const char*>(c.head_hash.data()), c.head_hash.size());
  m.append(reinterpret_cast<const char*>(c.projections_digest.data()), c.projections_digest.size());
  put_le<std::int64_t>(m, c.signed_at_us);
  m.append(reinterpret_cast<const char*>(c.public_key.data()), c.public_key.size());
  return m;
}

std::string checkpoint_to_text(const Checkpoint& c) {
  std::string t;
  t.append(kTextHeader).append("\n");
  t.append("head_seq ").append(std::to_string(c.head_seq)).append("\n");
  t.append("head_hash ").append(to_hex(c.head_hash)).append("\n");
  t.append("projections_digest ").append(to_hex(c.projections_digest)).append("\n");
  t.append("signed_at_us ").append(std::to_string(c.signed_at_us)).append("\n");
  t.append("public_key ").append(to_hex(c.public_key)).append("\n");
  t.append("signature ").append(to_hex(c.signature)).append("\n");
  return t;
}

Result<Checkpoint> checkpoint_from_text(std::string_view text) {
  // The lines in their fixed order; a final newline (LF or CRLF) and trailing blank lines are fine.
  std::vector<std::string_view> lines;
  text = trim_trailing(text);
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  if (lines.empty() || lines[0] != kTextHeader) {
    return Status::invalid_argument("not a checkpoint: the first line must be \"" + std::string(kTextHeader) + "\"");
  }
  static constexpr const char* kKeys[] = {"head_seq", "head_hash", "projections_digest", "signed_at_us",
                                          "public_key", "signature"};
  constexpr std::size_t kFields = std::size(kKeys);
  if (lines.size() != 1 + kFields) {
    return Status::invalid_argument("a checkpoint has " + std::to_string(1 + kFields) + " lines, not " +
                                    std::to_string(lines.size()));
  }
  Checkpoint c;
  for (std::size_t i = 0; i < kFields; ++i) {
    const std::string_view line = lines[1 + i];
    const std::string_view key = kKeys[i];
    if (line.size() <= key.size() + 1 || line.substr(0, key.size()) != key || line[key.size()] != ' ') {
      return Status::invalid_argument("line " + std::to_string(2 + i) + " must be \"" + std::string(key) +
                                      " <value>\"");
    }
    const std::string_view v = line.substr(key.size() + 1);
    bool ok = false;
    switch (i) {
      case 0: ok = parse_decimal(v, c.head_seq); break;
      case 1: ok = parse_hex(v, c.head_hash); break;
      case 2: ok = parse_hex(v, c.projections_digest); break;
      case 3: ok = parse_decimal(v, c.signed_at_us); break;
      case 4: ok = parse_hex(v, c.public_key); break;
      default: ok = parse_hex(v, c.signature); break;
    }
    if (!ok) {
      const bool hex = i == 1 || i == 2 || i == 4 || i == 5;
      return Status::invalid_argument(
          std::string(key) + ": '" + std::string(v.substr(0, 140)) + "' is not " +
          (hex ? std::to_string(i == 5 ? 128 : 64) + " hex digits" : std::string("a decimal number")));
    }
  }
  return c;
}

Result<Checkpoint> load_checkpoint(const std::string& path) {
  auto text = read_small_file(path);
  if (!text.is_ok()) return text.status();
  auto c = checkpoint_from_text(text.value());
  if (!c.is_ok()) return Status::invalid_argument(path + ": " + c.status().message());
  return c;
}

Status save_checkpoint(const Checkpoint& c, const std::string& path) {
  return write_file_atomically(path, checkpoint_to_text(c), 0644);
}

// ---- Verification ----

bool verify_checkpoint_signature(const Checkpoint& c, const PublicKey& trusted) {
  if (c.public_key != trusted) return false;
  PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, trusted.data(), trusted.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  bool good = false;
  if (key && ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1) {
    const std::string m = checkpoint_message(c);
    good = EVP_DigestVerify(ctx.get(), c.signature.data(), c.signature.size(),
                            reinterpret_cast<const unsigned char*>(m.data()), m.size()) == 1;
  }
  ERR_clear_error();  // a bad signature leaves an error queued; it is answered by `false`
  return good;
}

Result<PublicKey> load_public_key(const std::string& path_or_hex) {
  PublicKey out{};
  if (parse_hex(std::string_view(path_or_hex), out)) return out;
  auto text = read_small_file(path_or_hex);
  if (!text.is_ok()) {
    if (text.status().code() != Status::Code::kIoError) return text.status();
    return Status::io_error("public key " + text.status().message() + " (expected a PEM file or 64 hex digits)");
  }
  if (parse_hex(trim_trailing(text.value()), out)) return out;  // a file holding the hex form
  BioPtr bio(BIO_new_mem_buf(text.value().data(), static_cast<int>(text.value().size())));
  PkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  if (!key) {
    return Status::invalid_argument(path_or_hex + ": not a PEM public key (" + openssl_error() + ")");
  }
  return raw_public_key(key.get(), path_or_hex);
}

// ---- Signing key ----

struct SigningKey::Impl {
  PkeyPtr key;
};

SigningKey::SigningKey() : impl_(std::make_unique<Impl>()) {}
SigningKey::~SigningKey() = default;
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;

Result<SigningKey> SigningKey::load_file(const std::string& pem_path) {
  auto text = read_small_file(pem_path);
  if (!text.is_ok()) return text.status();
  BioPtr bio(BIO_new_mem_buf(text.value().data(), static_cast<int>(text.value().size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  OPENSSL_cleanse(text.value().data(), text.value().size());
  if (!key) {
    return Status::invalid_argument(pem_path + ": not an unencrypted PEM private key (" + openssl_error() + ")");
  }
  auto pub = raw_public_key(key.get(), pem_path);
  if (!pub.is_ok()) return pub.status();
  SigningKey k;
  k.impl_->key = std::move(key);
  k.public_key_ = pub.value();
  return k;
}

Result<SigningKey> SigningKey::generate() {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return Status::failed("Ed25519 key generation failed: " + openssl_error());
  }
  PkeyPtr key(raw);
  auto pub = raw_public_key(key.get(), "generated key");
  if (!pub.is_ok()) return pub.status();
  SigningKey k;
  k.impl_->key = std::move(key);
  k.public_key_ = pub.value();
  return k;
}

Status SigningKey::save_file(const std::string& pem_path) const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), impl_->key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Status::failed(pem_path + ": cannot encode the private key: " + openssl_error());
  }
  std::string pem = take_pem(bio.get());
  Status s = write_file_atomically(pem_path, pem, 0600);
  OPENSSL_cleanse(pem.data(), pem.size());
  return s;
}

Status SigningKey::save_public_file(const std::string& pem_path) const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), impl_->key.get()) != 1) {
    return Status::failed(pem_path + ": cannot encode the public key: " + openssl_error());
  }
  return write_file_atomically(pem_path, take_pem(bio.get()), 0644);
}

Checkpoint SigningKey::sign(Seq head_seq, const Hash32& head_hash, const Hash32& projections_digest,
                            TimeUs signed_at_us) const {
  Checkpoint c;
  c.head_seq = head_seq;
  c.head_hash = head_hash;
  c.projections_digest = projections_digest;
  c.signed_at_us = signed_at_us;
  c.public_key = public_key_;
  const std::string m = checkpoint_message(c);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t n = c.signature.size();
  // With a key this class holds, Ed25519 signing fails only when memory runs out.
  const bool signed_ok = ctx && EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) == 1 &&
                         EVP_DigestSign(ctx.get(), c.signature.data(), &n,
                                        reinterpret_cast<const unsigned char*>(m.data()), m.size()) == 1;
  REFAH_ASSERT(signed_ok && n == c.signature.size());
  return c;
}

}  // namespace refah::replay
