// Canonical bytes: integers little-endian at their width, strings as len:u32 | bytes. One writer
// feeds a digest and/or a buffer (digests and snapshots share the same grammar, so a snapshot's
// digest is SHA-256 of exactly the bytes stored); the reader checks every length against the input.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "ledger/chunk_source.h"
#include "ledger/sha256.h"

namespace refah {

namespace canon_detail {
// An integer's little-endian bytes, and back: one unaligned store or load on a little-endian host
// (the byte-by-byte loop it replaces was a store per byte, each reloading the writer's position).
template <class U>
inline void store_le(std::uint8_t* out, U x) {
  static_assert(std::is_unsigned_v<U>);
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out, &x, sizeof(U));
  } else {
    for (std::size_t i = 0; i < sizeof(U); ++i) out[i] = static_cast<std::uint8_t>(x >> (8 * i));
  }
}
template <class U>
inline U load_le(const std::uint8_t* in) {
  static_assert(std::is_unsigned_v<U>);
  U x = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&x, in, sizeof(U));
  } else {
    for (std::size_t i = 0; i < sizeof(U); ++i) x |= static_cast<U>(static_cast<U>(in[i]) << (8 * i));
  }
  return x;
}
}  // namespace canon_detail

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
    const std::size_t at = n_;
    canon_detail::store_le(buf_ + at, static_cast<std::make_unsigned_t<T>>(v));
    n_ = at + sizeof(T);
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
  // Reads a source's bytes piece by piece, src.size() of them at most; a source that ends early
  // fails the read that needed more. Values may straddle pieces.
  explicit CanonReader(ChunkSource& src) : src_(&src), left_(src.size()) {}
  // On failure the output is zeroed (never left holding half-read or garbage values).
  template <class T>
  bool num(T& v) {
    static_assert(std::is_integral_v<T>);
    using U = std::make_unsigned_t<T>;
    if (!ok_ || in_.size() - pos_ < sizeof(T)) {
      std::uint8_t b[sizeof(T)];
      if (!bytes_across(b, sizeof(T))) {
        v = 0;
        return false;
      }
      v = static_cast<T>(canon_detail::load_le<U>(b));
      return true;
    }
    const std::size_t at = pos_;
    v = static_cast<T>(canon_detail::load_le<U>(in_.data() + at));
    pos_ = at + sizeof(T);
    return true;
  }
  bool bytes(void* p, std::size_t n) {
    if (!ok_ || in_.size() - pos_ < n) return bytes_across(p, n);
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool str(std::string& s, std::size_t max_bytes) {
    std::uint32_t n = 0;
    if (!num(n) || n > max_bytes || remaining() < n) return ok_ = false;
    if (in_.size() - pos_ >= n) {
      s.assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
      pos_ += n;
      return true;
    }
    std::string across(n, '\0');
    if (!bytes(across.data(), n)) return false;  // s left as it was
    s = std::move(across);
    return true;
  }
  // A count of items of at least min_item_bytes each: refuses counts the input cannot hold, so a
  // damaged length never makes the caller reserve gigabytes.
  bool count(std::uint64_t& n, std::size_t min_item_bytes) {
    if (!num(n)) return false;
    if (min_item_bytes > 0 && n > remaining() / min_item_bytes) {
      n = 0;  // a count the input cannot hold: refused, and never used to reserve
      return ok_ = false;
    }
    return true;
  }
  bool ok() const { return ok_; }
  bool at_end() const { return ok_ && pos_ == in_.size() && left_ == 0; }
  // Bytes still to read (those a source promised and has not handed out yet included).
  std::uint64_t remaining() const { return in_.size() - pos_ + left_; }
  // Of a reader over one span only.
  std::size_t position() const { return pos_; }
  std::span<const std::uint8_t> rest() const { return in_.subspan(pos_); }
  bool fail() { return ok_ = false; }

 private:
  // The slow path of bytes(): across pieces of a source, taking each next piece as needed.
  bool bytes_across(void* p, std::size_t n);

  std::span<const std::uint8_t> in_;  // the piece being read
  std::size_t pos_ = 0;
  ChunkSource* src_ = nullptr;
  std::uint64_t left_ = 0;  // bytes the source may still hand out after in_
  bool ok_ = true;
};

}  // namespace refah
