// Where each function of a C++ source file starts and ends, for the size limits (size_limits_test.cc).
// Not a C++ parser: a lexer that knows comments, string and character literals (raw strings too),
// digit separators and preprocessor lines, then a reader of the declarations at file, namespace and
// class scope that tells function bodies from namespaces, classes and braced initializers. It reads
// this project's code; function_spans_test.cc says what it reads and how it counts.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace refah::tree {

struct FunctionSpan {
  std::string name;    // as defined, with its class: "run_demo", "Ledger::open", "EventLine::line"
  int first_line = 0;  // the declaration's first line: template header and return type included
  int last_line = 0;   // the line of the closing brace
  int lines() const { return last_line - first_line + 1; }
};

// Every function defined in the source, in order. What is inside a function body (lambdas, local
// classes and their member functions) counts as that function's lines; a lambda at namespace scope
// is a function named "lambda".
std::vector<FunctionSpan> function_spans(std::string_view source);

// The file's lines, as `wc -l` counts them, plus a last line that has no newline.
int line_count(std::string_view source);

}  // namespace refah::tree
