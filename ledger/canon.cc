// Canonical bytes (ledger/canon.h): the reader's path across the pieces of a source.
#include "ledger/canon.h"

#include <algorithm>

namespace refah {

bool CanonReader::bytes_across(void* p, std::size_t n) {
  if (!ok_ || remaining() < n) return ok_ = false;
  auto* out = static_cast<std::uint8_t*>(p);
  while (n > 0) {
    if (pos_ == in_.size()) {
      if (src_ == nullptr || left_ == 0) return ok_ = false;
      std::span<const std::uint8_t> piece = src_->next();
      if (piece.empty()) {  // the source ended before it handed out what it promised
        left_ = 0;
        return ok_ = false;
      }
      in_ = piece.first(static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), left_)));
      left_ -= in_.size();
      pos_ = 0;
    }
    const std::size_t take = std::min(n, in_.size() - pos_);
    std::memcpy(out, in_.data() + pos_, take);
    out += take;
    pos_ += take;
    n -= take;
  }
  return true;
}

}  // namespace refah
