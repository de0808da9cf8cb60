// libFuzzer target, differential: our LXC config reader against liblxc on
// the same generated config tree (the container's config, four include
// files and an include directory). The reader must either read what liblxc
// reads or hand the tree over (liblxc answers); anything else traps. What it
// calls invalid (an include loop, which crashes liblxc) is checked against
// liblxc by the unit test. On a liblxc without the subkeys (LXC 5.0, upstream
// 6.0) a tree that uses them must be one liblxc refuses; where liblxc knows
// them (LXC 7.0) their items are compared too (tests/diff/config_diff.hpp).
//
// Lines come from a grammar of what configs hold (the keys the reader reads,
// includes of files, directories, missing and relative paths, idmaps in
// plain and odd forms, LXC 7's lxc.environment.runtime and .hooks, comments,
// other keys, foreign lines) with the input's
// bytes choosing them, their blanks, quotes and line ends, and the bytes of
// environment values. Value bytes never spell a key: a config with an
// unknown key is one LXC refuses before any hook runs (see the reader's
// header).
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "config_diff.hpp"

extern "C" const char* __lsan_default_suppressions() {
  // liblxc's own allocations on its error paths.
  return "leak:liblxc.so\n";
}

namespace {

namespace fs = std::filesystem;

class Input {
 public:
  Input(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  bool done() const { return i_ >= n_; }
  uint8_t byte() { return i_ < n_ ? d_[i_++] : 0; }

 private:
  const uint8_t* d_;
  size_t n_;
  size_t i_ = 0;
};

const std::string& root() {
  static const std::string r = [] {
    char tmpl[] = "/tmp/phx-fuzz-lxccfg-XXXXXX";
    return std::string(::mkdtemp(tmpl));
  }();
  return r;
}

std::string value_bytes(Input& in) {
  // No 'l', 'x', 'c' or '.': a line end inside a value cannot start a key.
  static const char kAlphabet[] = {' ',  '\t', '=', '"', '\'', '#', '\r', '\n',
                                   '\f', '\0', 'A', 'B', '1',  '_', ':',  'v'};
  std::string v;
  for (int n = in.byte() % 12; n > 0; --n) v += kAlphabet[in.byte() % sizeof(kAlphabet)];
  return v;
}

std::string blanks(Input& in) {
  static const char* const kBlanks[] = {"", " ", "  ", "\t", " \t "};
  return kBlanks[in.byte() % 5];
}

std::string include_target(Input& in, int file_index, bool loops) {
  const std::string& r = root();
  switch (in.byte() % 8) {
    case 0:
      return r + "/d";
    case 1:
      return r + "/d/";
    case 2:
      return r + "/missing.conf";
    case 3:
      return (in.byte() % 2) ? "i1.conf" : r + "/missing-dir/";  // relative; a missing directory
    default: {
      // Without loops only "later" files: i<k> includes i<m> with m > k.
      int target = in.byte() % 4;
      if (!loops && target <= file_index) return r + "/d";
      return r + "/i" + std::to_string(target) + ".conf";
    }
  }
}

std::string line(Input& in, int file_index, bool loops) {
  static const char* const kIdmaps[] = {
      "u 0 100000 65536", "g 0 100000 65536",  "u 0 1 2", "u\t0\t7\t1 ", "u 0 -1 1",         "u 00 1 1",
      "u 0 0x10 1",       "u 0 99999999999 1", "x 0 1 1", "u 0 1",       "u 0 4294967295 1", "u 1 2 3 4"};
  static const char* const kOther[] = {"lxc.uts.name = fuzz", "lxc.arch = amd64",
                                       "lxc.tty.max = 2",     "lxc.cgroup2.devices.allow = c 195:255 rw",
                                       "lxc.hook.mount =",    "lxc.apparmor.profile = unconfined"};
  std::string key, value;
  switch (in.byte() % 10) {
    case 0:
    case 1:
    case 2:
      key = "lxc.environment";
      value = value_bytes(in);
      break;
    case 3:
      key = "lxc.environment";
      break;  // clears
    case 4:
      key = "lxc.include";
      value = include_target(in, file_index, loops);
      break;
    case 5:
      key = "lxc.idmap";
      value = (in.byte() % 4) ? kIdmaps[in.byte() % 12] : "";
      break;
    case 6:
      return blanks(in) + "# lxc.environment = COMMENT=1";
    case 7:
      return kOther[in.byte() % 6];
    case 8:
      return blanks(in) + "foreign line = x";
    case 9: {
      // LXC 7's subkeys (items, clears), and keys no LXC has.
      static const char* const kKeys[] = {"lxc.environment.runtime", "lxc.environment.hooks", "lxc.environmentX",
                                          "lxc.environment.runtimeX"};
      const int k = in.byte() % 4;
      key = kKeys[k];
      value = k < 2 && in.byte() % 4 != 0 ? value_bytes(in) : (k < 2 ? "" : "A=1");
      break;
    }
  }
  switch (in.byte() % 4) {
    case 1:
      value = "\"" + value + "\"";
      break;
    case 2:
      value = "'" + value + "'";
      break;
    default:
      break;
  }
  return blanks(in) + key + blanks(in) + "=" + blanks(in) + value + blanks(in);
}

std::string file_text(Input& in, int file_index, bool loops) {
  std::string text;
  for (int n = in.byte() % 8; n > 0 && !in.done(); --n) {
    text += line(in, file_index, loops);
    switch (in.byte() % 4) {
      case 0:
        text += "\r\n";
        break;
      case 1:
        text += "\r";
        break;
      default:
        text += "\n";
        break;
    }
  }
  return text;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const std::string& r = root();
  fs::remove_all(r + "/lxc");
  fs::remove_all(r + "/d");
  for (int i = 0; i < 4; ++i) fs::remove(r + "/i" + std::to_string(i) + ".conf");
  fs::create_directories(r + "/lxc/ct");
  fs::create_directories(r + "/d");
  const bool loops = in.byte() % 8 == 0;
  write(r + "/lxc/ct/config", file_text(in, -1, loops));
  for (int i = 0; i < 4; ++i) {
    if (in.byte() % 5 != 0) write(r + "/i" + std::to_string(i) + ".conf", file_text(in, i, loops));
  }
  static const char* const kDirNames[] = {"a.conf", "b.conf", ".conf", "x.conf.bak", "noconf", "z.conf"};
  for (int n = in.byte() % 4; n > 0; --n) write(r + "/d/" + kDirNames[in.byte() % 6], file_text(in, 4, loops));

  phx::diff::Verdict v = phx::diff::compare(r + "/lxc", "ct", /*check_invalid=*/false);
  if (!v.agree) {
    fprintf(stderr, "DISAGREEMENT: %s\n", v.detail.c_str());
    __builtin_trap();
  }
  return 0;
}
