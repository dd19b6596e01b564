// Whole reads and writes on a file descriptor: the system calls again after a signal (EINTR) or
// a short transfer, until every byte has moved, the file ends or the call fails. For the files the
// ledger and the auditor keep beside RocksDB (the Bloom filters, the head record, checkpoints,
// exports).
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace refah {

// 0 when all n bytes were written, else the errno (ENOSPC for a write that wrote nothing).
[[nodiscard]] int write_full(int fd, const void* data, std::size_t n);
[[nodiscard]] int pwrite_full(int fd, const void* data, std::size_t n, off_t offset);

// The bytes read: n, or fewer where the file ended; -1 with errno set when a read failed.
[[nodiscard]] ssize_t read_full(int fd, void* out, std::size_t n);
[[nodiscard]] ssize_t pread_full(int fd, void* out, std::size_t n, off_t offset);

}  // namespace refah
