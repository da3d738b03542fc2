// error_of(f): the message of the ember::Error that f throws, or "<no error>".
#pragma once

#include <string>

#include "core/error.h"

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const ember::Error& e) {
    return e.what();
  }
  return "<no error>";
}
