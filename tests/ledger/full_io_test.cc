// Whole reads and writes (ledger/full_io.h): every byte moves or the reason comes back.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "ledger/full_io.h"
#include "support/fixture.h"

using namespace refah;
using namespace refah::test;

TEST_CASE("Whole writes and reads move every byte, short reads only where the file ends", "[io]") {
  TempDir dir;
  std::filesystem::create_directories(dir.path());
  const std::string path = dir.path() + "/f";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  std::string bytes(300'000, '\0');  // more than a pipe or one page holds
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
  CHECK(write_full(fd, bytes.data(), bytes.size()) == 0);
  CHECK(pwrite_full(fd, "xyz", 3, 10) == 0);
  bytes.replace(10, 3, "xyz");

  std::string back(bytes.size() + 100, '\0');
  CHECK(pread_full(fd, back.data(), back.size(), 0) == static_cast<ssize_t>(bytes.size()));  // the file ends
  CHECK(back.substr(0, bytes.size()) == bytes);
  REQUIRE(::lseek(fd, 5, SEEK_SET) == 5);
  std::string part(20, '\0');
  CHECK(read_full(fd, part.data(), part.size()) == 20);
  CHECK(part == bytes.substr(5, 20));
  ::close(fd);

  // A descriptor open for writing only: the read's reason is in errno.
  const int wo = ::open(path.c_str(), O_WRONLY);
  REQUIRE(wo >= 0);
  errno = 0;
  CHECK(read_full(wo, part.data(), part.size()) == -1);
  CHECK(errno == EBADF);
  ::close(wo);
}

TEST_CASE("A whole write to a full device gives ENOSPC", "[io]") {
  const int fd = ::open("/dev/full", O_WRONLY);
  REQUIRE(fd >= 0);
  const std::string bytes(4096, 'a');
  CHECK(write_full(fd, bytes.data(), bytes.size()) == ENOSPC);
  ::close(fd);
}
