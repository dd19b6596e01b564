// function_spans.h: a lexer that drops comments, literals and preprocessor lines, then a reader that
// walks the declarations outside function bodies and skips each body to its matching brace.
#include "tree/function_spans.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <utility>

namespace refah::tree {
namespace {

// ---- Lexer ----

enum class Kind { kWord, kLiteral, kPunct };  // numbers are words: nothing below looks at them

struct Token {
  Kind kind;
  std::string text;
  int line;
};

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// A position in the source that counts the newlines it passes.
struct Cursor {
  std::string_view s;
  std::size_t i = 0;
  int line = 1;

  bool done() const { return i >= s.size(); }
  char at(std::size_t ahead = 0) const { return i + ahead < s.size() ? s[i + ahead] : '\0'; }
  void advance(std::size_t n = 1) {
    for (; n > 0 && i < s.size(); --n, ++i)
      if (s[i] == '\n') ++line;
  }
};

// Past "// ..." to the end of its line; a backslash at the end of the line continues it.
void skip_line_comment(Cursor& c) {
  while (!c.done() && c.at() != '\n') c.advance(c.at() == '\\' && c.at(1) == '\n' ? 2 : 1);
}

// Past "/* ... */", however many lines it takes.
void skip_block_comment(Cursor& c) {
  c.advance(2);
  while (!c.done() && !(c.at() == '*' && c.at(1) == '/')) c.advance();
  c.advance(2);
}

// Past a "..." or '...' literal, escapes included; an unterminated one ends with its line.
void skip_quoted(Cursor& c) {
  const char quote = c.at();
  c.advance();
  while (!c.done() && c.at() != quote && c.at() != '\n') c.advance(c.at() == '\\' ? 2 : 1);
  if (c.at() == quote) c.advance();
}

// Past R"delimiter( ... )delimiter", from its opening quote.
void skip_raw_string(Cursor& c) {
  c.advance();
  std::string delimiter;
  while (!c.done() && c.at() != '(' && delimiter.size() <= 16) {
    delimiter += c.at();
    c.advance();
  }
  const std::string close = ")" + delimiter + "\"";
  const std::size_t end = c.s.find(close, c.i);
  c.advance(end == std::string_view::npos ? c.s.size() - c.i : end + close.size() - c.i);
}

// Past a preprocessor line and its continuations; a block comment in it may run over lines.
void skip_directive(Cursor& c) {
  while (!c.done() && c.at() != '\n') {
    if (c.at() == '\\' && c.at(1) == '\n') {
      c.advance(2);
    } else if (c.at() == '/' && c.at(1) == '*') {
      skip_block_comment(c);
    } else if (c.at() == '/' && c.at(1) == '/') {
      skip_line_comment(c);
    } else if (c.at() == '"' || c.at() == '\'') {
      skip_quoted(c);
    } else {
      c.advance();
    }
  }
}

// Past a number: 0x1F, 1e-9, 10'000, 1'774'051'200'000'000LL.
void skip_number(Cursor& c) {
  for (;;) {
    const char ch = c.at();
    const char before = c.i > 0 ? c.s[c.i - 1] : '\0';
    if (is_word_char(ch) || ch == '.' || (ch == '\'' && is_word_char(c.at(1))) ||
        ((ch == '+' || ch == '-') && std::strchr("eEpP", before) != nullptr && before != '\0')) {
      c.advance();
    } else {
      return;
    }
  }
}

bool is_raw_prefix(std::string_view w) {
  return w == "R" || w == "LR" || w == "uR" || w == "UR" || w == "u8R";
}
bool is_encoding_prefix(std::string_view w) { return w == "L" || w == "u" || w == "U" || w == "u8"; }

// A word, a number or a literal (prefixed ones included), from c at a word or digit character.
Token word_or_literal(Cursor& c) {
  const int line = c.line;
  if (is_digit(c.at()) || c.at() == '.') {  // 10'000, .5
    skip_number(c);
    return {Kind::kWord, "0", line};
  }
  const std::size_t start = c.i;
  while (is_word_char(c.at())) c.advance();
  std::string word(c.s.substr(start, c.i - start));
  if (c.at() == '"' && is_raw_prefix(word)) {
    skip_raw_string(c);
    return {Kind::kLiteral, "\"\"", line};
  }
  if ((c.at() == '"' || c.at() == '\'') && is_encoding_prefix(word)) {
    skip_quoted(c);
    return {Kind::kLiteral, "\"\"", line};
  }
  return {Kind::kWord, std::move(word), line};
}

// The token at c, which is neither a blank nor a comment.
Token next_token(Cursor& c) {
  const char ch = c.at();
  if (is_word_char(ch) || (ch == '.' && is_digit(c.at(1)))) return word_or_literal(c);
  const int line = c.line;
  if (ch == '"' || ch == '\'') {
    skip_quoted(c);
    return {Kind::kLiteral, "\"\"", line};
  }
  std::size_t n = 1;  // "::", "->" and "..." are one token; ">>" is two, as template brackets
  if ((ch == ':' && c.at(1) == ':') || (ch == '-' && c.at(1) == '>')) n = 2;
  if (ch == '.' && c.at(1) == '.' && c.at(2) == '.') n = 3;
  Token t{Kind::kPunct, std::string(c.s.substr(c.i, n)), line};
  c.advance(n);
  return t;
}

std::vector<Token> lex(std::string_view source) {
  Cursor c{source};
  std::vector<Token> out;
  bool line_start = true;  // only blanks and comments so far on this line: a '#' starts a directive
  while (!c.done()) {
    const char ch = c.at();
    if (ch == '\n') {
      line_start = true;
      c.advance();
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(ch)) != 0) {
      c.advance();
    } else if (ch == '/' && c.at(1) == '/') {
      skip_line_comment(c);
    } else if (ch == '/' && c.at(1) == '*') {
      skip_block_comment(c);
    } else if (ch == '#' && line_start) {
      skip_directive(c);
    } else {
      line_start = false;
      out.push_back(next_token(c));
    }
  }
  return out;
}

// ---- Reader ----

enum class Scope { kFile, kNamespace, kClass };

struct Open {
  Scope scope;
  std::string name;  // a class's, which its member functions' names start with
};

bool is_one_of(const Token& t, std::initializer_list<std::string_view> texts) {
  return t.kind != Kind::kLiteral && std::find(texts.begin(), texts.end(), t.text) != texts.end();
}

class Reader {
 public:
  explicit Reader(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  std::vector<FunctionSpan> read() {
    std::size_t decl = 0;  // the first token of the declaration being read
    int depth = 0;         // of ( and [, which braces inside are initializers
    for (std::size_t i = 0; i < t_.size(); ++i) {
      const Token& t = t_[i];
      if (is_one_of(t, {"(", "["})) {
        ++depth;
      } else if (is_one_of(t, {")", "]"})) {
        depth = std::max(0, depth - 1);
      } else if (is_one_of(t, {";"}) && depth == 0) {
        decl = i + 1;
      } else if (is_one_of(t, {":"}) && i == decl + 1 &&
                 is_one_of(t_[decl], {"public", "private", "protected"})) {
        decl = i + 1;  // an access label
      } else if (is_one_of(t, {"}"})) {
        if (scopes_.size() > 1) scopes_.pop_back();
        decl = i + 1;
      } else if (is_one_of(t, {"{"})) {
        i = open_brace(i, decl, depth);
      }
    }
    return std::move(spans_);
  }

 private:
  // A brace outside any function body: a namespace or class is entered; a function body is recorded
  // and skipped, an initializer skipped. Returns the last token taken.
  std::size_t open_brace(std::size_t i, std::size_t& decl, int depth) {
    if (depth > 0) return matching_brace(i);  // f({1, 2}) at namespace scope
    const bool init_list = !class_name(decl, i) && has_init_list(decl, i);
    const Token* prev = i > decl ? &t_[i - 1] : nullptr;
    if (init_list && prev != nullptr && (prev->kind == Kind::kWord || prev->text == ">")) {
      return matching_brace(i);  // a member's braced initializer: a_{x}
    }
    if (contains(decl, i, "namespace") || (prev != nullptr && prev->kind == Kind::kLiteral)) {
      scopes_.push_back({Scope::kNamespace, ""});  // extern "C" { too
      decl = i + 1;
      return i;
    }
    if (is_function_head(decl, i, init_list)) {
      const std::size_t end = matching_brace(i);
      spans_.push_back({function_name(decl, i), t_[decl].line, t_[end].line});
      decl = end + 1;
      return end;
    }
    if (const auto name = class_name(decl, i)) {
      scopes_.push_back({Scope::kClass, *name});
      decl = i + 1;
      return i;
    }
    return matching_brace(i);  // = {...}, T x{...}, an enum's list
  }

  // The token that closes the bracket opened at `open`, or the last token if none does.
  std::size_t matching(std::size_t open, std::string_view opening, std::string_view closing) const {
    int depth = 0;
    for (std::size_t k = open; k < t_.size(); ++k) {
      if (is_one_of(t_[k], {opening})) ++depth;
      if (is_one_of(t_[k], {closing}) && --depth == 0) return k;
    }
    return t_.size() - 1;
  }
  std::size_t matching_brace(std::size_t open) const { return matching(open, "{", "}"); }

  bool contains(std::size_t from, std::size_t to, std::string_view word) const {
    for (std::size_t k = from; k < to; ++k)
      if (t_[k].kind == Kind::kWord && t_[k].text == word) return true;
    return false;
  }

  // A constructor's member initializer list: ") :" outside parentheses, as in X(int a) : a_(a) {.
  bool has_init_list(std::size_t from, std::size_t to) const {
    int depth = 0;
    bool closed = false;  // a ")" back at depth 0 seen
    for (std::size_t k = from; k < to; ++k) {
      if (is_one_of(t_[k], {"(", "["})) ++depth;
      if (is_one_of(t_[k], {")", "]"}) && --depth == 0) closed = true;
      if (depth == 0 && closed && is_one_of(t_[k], {":"})) return true;
    }
    return false;
  }

  // f(...) {, f(...) const noexcept override {, f(...) -> T {, f(...) requires C<T> {, or the body
  // after an initializer list ending in a_(x) or a_{x}.
  bool is_function_head(std::size_t decl, std::size_t brace, bool init_list) const {
    if (brace == decl) return false;
    const Token& prev = t_[brace - 1];
    if (is_one_of(prev, {")"}) || (init_list && is_one_of(prev, {"}"}))) return true;
    bool closed = false;  // a parameter list seen
    for (std::size_t k = decl; k < brace; ++k) {
      if (is_one_of(t_[k], {")"})) closed = true;
      if (closed && is_one_of(t_[k], {"->", "requires"})) return true;
    }
    return closed && is_one_of(prev, {"const", "volatile", "noexcept", "override", "final", "mutable", "&"});
  }

  // The name of a class, struct, union or enum whose body opens at `brace`; nullopt if not one.
  std::optional<std::string> class_name(std::size_t decl, std::size_t brace) const {
    std::size_t k = skip_template_header(decl, brace);
    while (k < brace && is_one_of(t_[k], {"typedef", "export", "inline"})) ++k;
    if (k == brace || !is_one_of(t_[k], {"class", "struct", "union", "enum"})) return std::nullopt;
    int depth = 0;
    for (++k; k < brace; ++k) {
      if (is_one_of(t_[k], {"(", "["})) ++depth;
      if (is_one_of(t_[k], {")", "]"})) --depth;
      const bool keyword = is_one_of(t_[k], {"class", "struct", "alignas", "final"});
      if (depth == 0 && t_[k].kind == Kind::kWord && !keyword) return t_[k].text;
      if (depth == 0 && is_one_of(t_[k], {":"})) break;
    }
    return std::string("(anonymous)");
  }

  // Past "template <...>" (nested ones too), or `from` itself.
  std::size_t skip_template_header(std::size_t from, std::size_t to) const {
    std::size_t k = from;
    while (k + 1 < to && is_one_of(t_[k], {"template"}) && is_one_of(t_[k + 1], {"<"})) {
      int depth = 0;
      for (++k; k < to; ++k) {
        if (is_one_of(t_[k], {"<"})) ++depth;
        if (is_one_of(t_[k], {">"}) && --depth == 0) break;
      }
      ++k;
    }
    return k;
  }

  std::string function_name(std::size_t decl, std::size_t brace) const {
    std::string name = "?";
    const std::size_t params = parameter_list(decl, brace);
    if (params < brace) name = qualified_name(decl, params);
    std::string classes;
    for (const Open& o : scopes_)
      if (o.scope == Scope::kClass) classes += o.name + "::";
    return classes + name;
  }

  // The "(" that opens the parameter list: the first outside template brackets and parentheses that
  // is not decltype(...), alignas(...) or noexcept(...); after `operator`, the one after its symbol.
  std::size_t parameter_list(std::size_t decl, std::size_t brace) const {
    int angles = 0;
    for (std::size_t k = skip_template_header(decl, brace); k < brace; ++k) {
      const Token& t = t_[k];
      if (is_one_of(t, {"operator"})) {
        const bool call = k + 2 < brace && is_one_of(t_[k + 1], {"("}) && is_one_of(t_[k + 2], {")"});
        k += call ? 3 : 1;
        while (k < brace && !is_one_of(t_[k], {"("})) ++k;
        return k;
      }
      if (is_one_of(t, {"<"}) && k > decl && t_[k - 1].kind == Kind::kWord) ++angles;
      if (is_one_of(t, {">"}) && angles > 0) --angles;
      if (!is_one_of(t, {"("}) || angles > 0) continue;
      if (k > decl && is_one_of(t_[k - 1], {"decltype", "alignas", "noexcept", "__attribute__"})) {
        k = matching(k, "(", ")");
        continue;
      }
      return k;
    }
    return brace;
  }

  // The name before the parameter list, with its qualifiers: "Ledger::open", "Session::~Session",
  // "operator==", "operator()", "lambda" for [...](...) {.
  std::string qualified_name(std::size_t decl, std::size_t params) const {
    if (params == decl) return "?";
    std::size_t first = params;  // the name's first token
    for (std::size_t k = decl; k < params; ++k)
      if (is_one_of(t_[k], {"operator"})) first = k;
    if (first == params) {
      std::size_t last = params - 1;
      if (is_one_of(t_[last], {"]"})) return "lambda";
      if (is_one_of(t_[last], {">"})) last = matching_angle(decl, last) - 1;  // f<int>(
      first = last;
    }
    while (first >= decl + 2 && is_one_of(t_[first - 1], {"::", "~"})) {
      if (is_one_of(t_[--first], {"~"})) continue;
      --first;
      if (is_one_of(t_[first], {">"})) first = matching_angle(decl, first) - 1;  // Foo<T>::f
    }
    if (first > decl && is_one_of(t_[first - 1], {"~"})) --first;
    std::string name;
    for (std::size_t k = first; k < params; ++k) {
      const bool space = !name.empty() && t_[k].kind == Kind::kWord && is_word_char(name.back());
      name += (space ? " " : "") + t_[k].text;
    }
    return name.empty() ? "?" : name;
  }

  // The "<" that a ">" at `close` closes; never before from + 1, so that a name is left before it.
  std::size_t matching_angle(std::size_t from, std::size_t close) const {
    int depth = 0;
    for (std::size_t k = close + 1; k-- > from;) {
      if (is_one_of(t_[k], {">"})) ++depth;
      if (is_one_of(t_[k], {"<"}) && --depth == 0) return std::max(k, from + 1);
    }
    return from + 1;
  }

  std::vector<Token> t_;
  std::vector<Open> scopes_{{Scope::kFile, ""}};
  std::vector<FunctionSpan> spans_;
};

}  // namespace

std::vector<FunctionSpan> function_spans(std::string_view source) { return Reader(lex(source)).read(); }

int line_count(std::string_view source) {
  const auto newlines = std::count(source.begin(), source.end(), '\n');
  return static_cast<int>(newlines) + (source.empty() || source.back() == '\n' ? 0 : 1);
}

}  // namespace refah::tree
