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

template <typename T>
T json_int(const nlohmann::json& obj, const char* key) {
  const auto& v = obj.at(key);
  if (!v.is_number_integer()) throw JsonFieldError(std::string("field '") + key + "' is not an integer");
  if (v.is_number_unsigned()) {
    const auto u = v.get<unsigned long long>();
    if (u > static_cast<unsigned long long>(std::numeric_limits<T>::max())) {
      throw JsonFieldError(std::string("field '") + key + "' is out of range");
    }
    return static_cast<T>(u);
  }
  const auto s = v.get<long long>();
  if (s < static_cast<long long>(std::numeric_limits<T>::min()) || s > static_cast<long long>(std::numeric_limits<T>::max())) {
    throw JsonFieldError(std::string("field '") + key + "' is out of range");
  }
  return static_cast<T>(s);
}

}  // namespace phx
