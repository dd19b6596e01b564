// Canonical bytes: integers little-endian at their width, strings as len:u32 | bytes. One writer
// feeds a digest and/or a buffer (digests and snapshots share the same grammar, so a snapshot's
// digest is SHA-256 of exactly the bytes stored); the reader checks every length against the input.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>

#include "ledger/sha256.h"

namespace refah {

class CanonWriter {
 public:
  // Either may be null.
  CanonWriter(Sha256* hash, std::string* out) : hash_(hash), out_(out) {}
  ~CanonWriter() { flush(); }
  CanonWriter(const CanonWriter&) = delete;
  CanonWriter& operator=(const CanonWriter&) = delete;

  template <class T>
  void num(T v) {
    static_assert(std::is_integral_v<T>);
    if (n_ + sizeof(T) > sizeof buf_) flush();
    for (std::size_t i = 0; i < sizeof(T); ++i)
      buf_[n_++] = static_cast<std::uint8_t>(static_cast<std::make_unsigned_t<T>>(v) >> (8 * i));
  }
  void bytes(const void* p, std::size_t n) {
    if (n_ + n > sizeof buf_) flush();
    if (n > sizeof buf_) {
      emit(p, n);
      return;
    }
    std::memcpy(buf_ + n_, p, n);
    n_ += n;
  }
  void str(const std::string& s) {
    num(static_cast<std::uint32_t>(s.size()));
    bytes(s.data(), s.size());
  }
  void flush() {
    emit(buf_, n_);
    n_ = 0;
  }

 private:
  void emit(const void* p, std::size_t n) {
    if (n == 0) return;
    if (hash_) hash_->update(p, n);
    if (out_) out_->append(static_cast<const char*>(p), n);
  }
  Sha256* hash_;
  std::string* out_;
  std::uint8_t buf_[4096];
  std::size_t n_ = 0;
};

class CanonReader {
 public:
  explicit CanonReader(std::span<const std::uint8_t> in) : in_(in) {}
  // On failure the output is zeroed (never left holding half-read or garbage values).
  template <class T>
  bool num(T& v) {
    static_assert(std::is_integral_v<T>);
    if (!ok_ || in_.size() - pos_ < sizeof(T)) {
      v = 0;
      return ok_ = false;
    }
    std::make_unsigned_t<T> x = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
      x |= static_cast<std::make_unsigned_t<T>>(static_cast<std::make_unsigned_t<T>>(in_[pos_ + i]) << (8 * i));
    pos_ += sizeof(T);
    v = static_cast<T>(x);
    return true;
  }
  bool bytes(void* p, std::size_t n) {
    if (!ok_ || in_.size() - pos_ < n) return ok_ = false;
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool str(std::string& s, std::size_t max_bytes) {
    std::uint32_t n = 0;
    if (!num(n) || n > max_bytes || in_.size() - pos_ < n) return ok_ = false;
    s.assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  // A count of items of at least min_item_bytes each: refuses counts the input cannot hold, so a
  // damaged length never makes the caller reserve gigabytes.
  bool count(std::uint64_t& n, std::size_t min_item_bytes) {
    if (!num(n)) return false;
    if (min_item_bytes > 0 && n > (in_.size() - pos_) / min_item_bytes) {
      n = 0;  // a count the input cannot hold: refused, and never used to reserve
      return ok_ = false;
    }
    return true;
  }
  bool ok() const { return ok_; }
  bool at_end() const { return ok_ && pos_ == in_.size(); }
  std::size_t position() const { return pos_; }
  std::span<const std::uint8_t> rest() const { return in_.subspan(pos_); }
  bool fail() { return ok_ = false; }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace refah
