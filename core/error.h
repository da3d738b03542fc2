// ember::Error and the check helpers every layer uses.
//
// Library code never exits or aborts: it throws. Messages say what was expected, what was found and
// where, e.g. "add: expected shapes to broadcast, found [2, 3] and [4]".
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ember {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A value or argument has the wrong shape, dtype, range or device.
class ValueError : public Error {
 public:
  using Error::Error;
};

// An index or dim is out of range.
class IndexError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <class T>
void write(std::ostringstream& os, const T& value) {
  os << value;
}
// Shapes and index lists print as [2, 3].
template <class T>
void write(std::ostringstream& os, const std::vector<T>& values) {
  os << '[';
  for (size_t i = 0; i < values.size(); ++i) os << (i ? ", " : "") << values[i];
  os << ']';
}
inline void append(std::ostringstream&) {}
template <class T, class... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  write(os, first);
  append(os, rest...);
}
}  // namespace detail

// Concatenates any streamable values into one string.
template <class... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  return os.str();
}

}  // namespace ember

// EMBER_CHECK(cond, parts...) throws ember::Error(str(parts...)) when cond is false.
#define EMBER_CHECK(cond, ...)                                   \
  do {                                                           \
    if (!(cond)) throw ::ember::Error(::ember::str(__VA_ARGS__)); \
  } while (0)
#define EMBER_CHECK_VALUE(cond, ...)                                  \
  do {                                                                \
    if (!(cond)) throw ::ember::ValueError(::ember::str(__VA_ARGS__)); \
  } while (0)
#define EMBER_CHECK_INDEX(cond, ...)                                  \
  do {                                                                \
    if (!(cond)) throw ::ember::IndexError(::ember::str(__VA_ARGS__)); \
  } while (0)
