#include "ledger/full_io.h"

#include <unistd.h>

#include <cerrno>

#include "ledger/assert.h"

namespace refah {

namespace {
// A negative offset: the file's position (write/read); else at offset on (pwrite/pread).
int put_all(int fd, const char* at, std::size_t n, off_t offset) {
  while (n > 0) {
    const ssize_t put = offset < 0 ? ::write(fd, at, n) : ::pwrite(fd, at, n, offset);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) return errno;
    if (put == 0) return ENOSPC;
    at += put;
    n -= static_cast<std::size_t>(put);
    if (offset >= 0) offset += put;
  }
  return 0;
}

ssize_t get_all(int fd, char* at, std::size_t n, off_t offset) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = offset < 0 ? ::read(fd, at + got, n - got) : ::pread(fd, at + got, n - got, offset + static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;  // the file ended
    got += static_cast<std::size_t>(r);
  }
  return static_cast<ssize_t>(got);
}
}  // namespace

int write_full(int fd, const void* data, std::size_t n) { return put_all(fd, static_cast<const char*>(data), n, -1); }

int pwrite_full(int fd, const void* data, std::size_t n, off_t offset) {
  REFAH_ASSERT(offset >= 0);
  return put_all(fd, static_cast<const char*>(data), n, offset);
}

ssize_t read_full(int fd, void* out, std::size_t n) { return get_all(fd, static_cast<char*>(out), n, -1); }

ssize_t pread_full(int fd, void* out, std::size_t n, off_t offset) {
  REFAH_ASSERT(offset >= 0);
  return get_all(fd, static_cast<char*>(out), n, offset);
}

}  // namespace refah
