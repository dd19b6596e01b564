// A blocking HTTP/1.1 client for tests of the admin endpoint (server/http_server.h): one request on
// a new loopback connection with "Connection: close", read to the end. Plain POSIX sockets.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace refah::test {

struct HttpReply {
  int status = 0;  // 0: no answer (connection refused, reset or timed out)
  std::string headers;
  std::string body;
};

// Sends `request` (a whole request, with its blank line) to 127.0.0.1:port and reads the answer.
inline HttpReply http_exchange(std::uint16_t port, const std::string& request, int timeout_ms = 10'000) {
  HttpReply r;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return r;
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string raw;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    char buf[16384];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos || raw.size() < 12) return r;
  r.status = std::stoi(raw.substr(9, 3));
  r.headers = raw.substr(0, end);
  r.body = raw.substr(end + 4);
  return r;
}

// A request with extra header lines ("Name: value\r\n" each) and a body (Content-Length added).
inline HttpReply http_request(std::uint16_t port, const std::string& method, const std::string& path,
                              const std::string& headers = "", const std::string& body = "",
                              int timeout_ms = 10'000) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers;
  if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return http_exchange(port, req + "\r\n" + body, timeout_ms);
}

// The value of header `name` (case as sent) in an answer's headers; "" if absent.
inline std::string header_value(const HttpReply& r, const std::string& name) {
  const auto at = r.headers.find("\r\n" + name + ": ");
  if (at == std::string::npos) return {};
  const auto start = at + name.size() + 4;
  return r.headers.substr(start, r.headers.find("\r\n", start) - start);
}

inline HttpReply http_get(std::uint16_t port, const std::string& path) {
  return http_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

// The value of a sample line `name{labels} value` (labels exactly as rendered, "" for none) in a
// Prometheus text page; -1 when the page has no such line.
inline double metric_value(const std::string& page, const std::string& name, const std::string& labels = "") {
  const std::string key = labels.empty() ? name + " " : name + "{" + labels + "} ";
  std::size_t at = 0;
  while ((at = page.find(key, at)) != std::string::npos) {
    if (at == 0 || page[at - 1] == '\n') {
      const auto eol = page.find('\n', at);
      return std::stod(page.substr(at + key.size(), eol - at - key.size()));
    }
    at += key.size();
  }
  return -1;
}

}  // namespace refah::test
