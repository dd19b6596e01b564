// The function counter of the size limits (function_spans.h): where a function starts and ends, and
// that comments, literals (raw strings too), preprocessor lines, lambdas, classes and initializers do
// not move either end.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tree/function_spans.h"

using refah::tree::function_spans;
using refah::tree::FunctionSpan;
using refah::tree::line_count;

namespace {

// "name first-last" for each function, which a failed check prints whole.
std::vector<std::string> spans(std::string_view source) {
  std::vector<std::string> out;
  for (const FunctionSpan& f : function_spans(source))
    out.push_back(f.name + " " + std::to_string(f.first_line) + "-" + std::to_string(f.last_line));
  return out;
}

using Spans = std::vector<std::string>;

}  // namespace

TEST_CASE("function spans: from the signature's first line to the closing brace") {
  const char* source = R"cc(// line 1
int one() { return 1; }

template <class T>
std::optional<T>
parse(std::string_view text,
      int base) {
  return std::nullopt;
}
void declared_only(int);
int two() = delete;
)cc";
  CHECK(spans(source) == Spans{"one 2-2", "parse 4-9"});
  CHECK(function_spans(source)[1].lines() == 6);
}

TEST_CASE("function spans: braces in comments, literals and preprocessor lines are not counted") {
  const char* source = R"cc(void f() {
  // a } in a comment
  /* and { another
     } over lines */
  const char* s = "}\"{";
  char c = '}', d = '\'', e = '{';
  long n = 10'000; char b = '{';  // a digit separator is not a character literal
  double h = .5 + 1e-3 + 0x1p+4;
  auto r = R"x(a )" } { ")x";
  auto q = u8R"(})";
  auto p = L"}";
#define OPEN {
#define CLOSE \
  }
}
int g() { return '{'; }
)cc";
  CHECK(spans(source) == Spans{"f 1-15", "g 16-16"});
}

TEST_CASE("function spans: lambdas and local classes count inside their function") {
  const char* source = R"cc(int outer() {
  auto add = [](int a, int b) {
    return a + b;
  };
  struct Local {
    int get() const { return 1; }
  };
  return add(Local{}.get(), 2);
}
auto at_namespace_scope = [](int x) {
  return x;
};
)cc";
  CHECK(spans(source) == Spans{"outer 1-9", "lambda 10-12"});
}

TEST_CASE("function spans: namespaces, classes, enums and initializers are not functions") {
  const char* source = R"cc(namespace refah::ctl {
namespace {
enum class Kind : std::uint8_t { kA, kB };
constexpr int kTable[] = {1, 2, 3};
const std::vector<std::pair<std::string, int>> kNames{{"a", 1}, {"b", 2}};
struct Run {
  CLI::App* sub;
  std::function<int()> run;
};
extern "C" {
int c_function(void) { return 0; }
}
}  // namespace
class [[nodiscard]] Status final : public Base {
 public:
  Status() = default;
  explicit Status(int code) : code_(code), names_{"x", "y"} {
    check();
  }
  ~Status() {}
  bool is_ok() const noexcept { return code_ == 0; }
  explicit operator bool() const { return is_ok(); }
  bool operator==(const Status& other) const { return code_ == other.code_; }
  int operator()(int x) const { return x; }
  auto trailing() const -> int { return 0; }

 private:
  struct Inner {
    void run() {}
  };
  int code_ = 0;
  std::vector<std::string> names_;
};
Status::Status(const Other& o)
    : code_(o.code()),
      names_{o.names()} {}
Status::~Status() = default;
template <class T>
typename Box<T>::Ref Box<T>::get(int i) {
  return items_[i];
}
}  // namespace refah::ctl
)cc";
  CHECK(spans(source) == Spans{"c_function 11-11",
                               "Status::Status 17-19",
                               "Status::~Status 20-20",
                               "Status::is_ok 21-21",
                               "Status::operator bool 22-22",
                               "Status::operator== 23-23",
                               "Status::operator() 24-24",
                               "Status::trailing 25-25",
                               "Status::Inner::run 29-29",
                               "Status::Status 34-36",
                               "Box<T>::get 38-41"});
}

TEST_CASE("function spans: a file's lines as wc -l counts them") {
  CHECK(line_count("") == 0);
  CHECK(line_count("a\n") == 1);
  CHECK(line_count("a\nb") == 2);
  CHECK(line_count("a\n\n") == 2);
}
