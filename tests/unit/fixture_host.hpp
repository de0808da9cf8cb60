// Builds simulated host trees for unit tests: /proc files from the real H200
// capture or written by the test, in a temporary directory.
#pragma once

#include <string>

namespace phx::test {

class FixtureHost {
 public:
  FixtureHost();  // empty tree in a fresh temp dir
  ~FixtureHost();
  FixtureHost(const FixtureHost&) = delete;
  FixtureHost& operator=(const FixtureHost&) = delete;

  // The captured H200 host: driver 580.159.04, one GPU at 0000:00:06.0.
  static void h200(FixtureHost& h);

  void write(const std::string& rel, const std::string& content);  // creates parent dirs
  void remove(const std::string& rel);
  void add_gpu(const std::string& bus, int minor, const std::string& uuid, const std::string& model = "NVIDIA H200");
  std::string path(const std::string& rel = "") const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

std::string read_fixture(const std::string& name);  // tests/fixtures/h200-host/<name>

}  // namespace phx::test
