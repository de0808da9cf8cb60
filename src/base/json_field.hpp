// Integer fields of the product's own JSON state files. nlohmann's get<int>()
// converts a float (undefined behaviour when it is out of range) and wraps a
// large integer; a field that claims a number must hold an integer in range.
#pragma once

#include <limits>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace phx {

struct JsonFieldError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class JsonInt { Ok, NotInteger, OutOfRange };

// The one place that turns a JSON value into an integer of type T: only an
// integer that fits (a float, a boolean or a string is NotInteger).
template <typename T>
JsonInt json_int_value(const nlohmann::json& v, T& out) {
  if (!v.is_number_integer()) return JsonInt::NotInteger;
  if (v.is_number_unsigned()) {
    const auto u = v.get<unsigned long long>();
    if (u > static_cast<unsigned long long>(std::numeric_limits<T>::max())) return JsonInt::OutOfRange;
    out = static_cast<T>(u);
    return JsonInt::Ok;
  }
  const auto s = v.get<long long>();
  if (s < static_cast<long long>(std::numeric_limits<T>::min()) ||
      s > static_cast<long long>(std::numeric_limits<T>::max())) {
    return JsonInt::OutOfRange;
  }
  out = static_cast<T>(s);
  return JsonInt::Ok;
}

// obj[key] as T; throws JsonFieldError (or nlohmann's out_of_range when the
// key is missing).
template <typename T>
T json_int(const nlohmann::json& obj, const char* key) {
  T out{};
  switch (json_int_value(obj.at(key), out)) {
    case JsonInt::Ok:
      return out;
    case JsonInt::NotInteger:
      throw JsonFieldError(std::string("field '") + key + "' is not an integer");
    case JsonInt::OutOfRange:
      break;
  }
  throw JsonFieldError(std::string("field '") + key + "' is out of range");
}

}  // namespace phx
