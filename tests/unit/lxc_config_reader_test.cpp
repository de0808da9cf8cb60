// Differential test: our LXC config reader against liblxc's
// get_config_item on the same file trees. Any disagreement fails; so does a
// config of the shapes users run (lxc-create, pve-container, the integration
// harness) that the reader hands to liblxc instead of reading it.
#include "lxc/lxc_config_reader.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config_diff.hpp"

// Under the sanitizers: liblxc's own allocations are not this program's.
extern "C" const char* __lsan_default_suppressions() { return "leak:liblxc.so\n"; }

namespace phx {
namespace {

namespace fs = std::filesystem;
using Outcome = LxcConfigRead::Outcome;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class Tree {
 public:
  Tree() {
    char tmpl[] = "/tmp/phx-lxccfg-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    fs::create_directories(root_ + "/lxc/ct");
  }
  ~Tree() { fs::remove_all(root_); }
  const std::string& root() const { return root_; }
  std::string lxcpath() const { return root_ + "/lxc"; }
  // ${R} in text stands for the tree's root.
  std::string expand(std::string text) const {
    for (std::size_t p; (p = text.find("${R}")) != std::string::npos;) text.replace(p, 4, root_);
    return text;
  }
  void write(const std::string& rel, const std::string& text) const {
    const std::string p = root_ + "/" + rel;
    fs::create_directories(fs::path(p).parent_path());
    std::ofstream(p, std::ios::binary) << expand(text);
  }
  void config(const std::string& text) const { write("lxc/ct/config", text); }
  diff::Verdict compare() const { return diff::compare(lxcpath(), "ct"); }

 private:
  std::string root_;
};

// Reads with our reader, expects `want`, and liblxc to agree.
void expect(const Tree& t, Outcome want) {
  auto v = t.compare();
  EXPECT_TRUE(v.agree) << v.detail;
  EXPECT_EQ(v.outcome, want) << v.detail;
}

std::vector<std::string> env_of(const Tree& t) {
  return read_lxc_config(t.lxcpath() + "/ct/config").values.list(ListKey::Environment);
}

LxcConfigValues values_of(const Tree& t) { return read_lxc_config(t.lxcpath() + "/ct/config").values; }

std::string source_file(const std::string& rel) {
  std::ifstream in(std::string(PHX_SOURCE_DIR) + "/" + rel);
  return {std::istreambuf_iterator<char>(in), {}};
}

// As the integration harness's phx_create_ct writes it (tests/integration/lib.sh).
std::string harness_config(bool unpriv, const std::string& extra) {
  std::string c =
      "lxc.uts.name = ct\nlxc.rootfs.path = dir:${R}/lxc/ct/rootfs\nlxc.net.0.type = empty\nlxc.autodev = 1\n"
      "lxc.tty.max = 0\nlxc.pty.max = 8\nlxc.mount.auto = proc:mixed sys:ro cgroup:mixed\n"
      "lxc.apparmor.profile = unconfined\nlxc.signal.halt = SIGUSR1\n";
  if (unpriv) c += "lxc.idmap = u 0 1000000 65536\nlxc.idmap = g 0 1000000 65536\n";
  for (const char* v : {"cgroup", "cgroup2"}) {
    c += std::string("lxc.") + v + ".devices.deny = a\n";
    c += std::string("lxc.") + v + ".devices.allow = c *:* m\n";
    for (const char* d : {"1:3", "1:5", "5:0", "136:*"})
      c += std::string("lxc.") + v + ".devices.allow = c " + d + " rwm\n";
  }
  c += "lxc.include = ${R}/lxc/ct/nvidia.conf\n";
  c += "lxc.environment = NVIDIA_VISIBLE_DEVICES=all\nlxc.environment = NVIDIA_DRIVER_CAPABILITIES=compute,utility\n";
  return c + extra;
}

TEST(LxcConfigReader, HarnessConfigsWithTheSnippet) {
  for (bool unpriv : {false, true}) {
    for (const char* extra :
         {"", "lxc.hook.mount =\n", "lxc.environment =\nlxc.environment = NVIDIA_VISIBLE_DEVICES=1\n",
          "lxc.environment = PHOENIX_GPU_REQUIRED=1\nlxc.environment = PHOENIX_GPU_VERIFY_TIMEOUT=3\n",
          "lxc.hook.version = 1\n"}) {
      Tree t;
      t.write("lxc/ct/nvidia.conf", source_file("lxc-conf-snippets/nvidia.conf.in"));
      t.config(harness_config(unpriv, extra));
      SCOPED_TRACE(std::string(unpriv ? "unprivileged " : "privileged ") + extra);
      expect(t, Outcome::Read);
      auto r = read_lxc_config(t.lxcpath() + "/ct/config");
      EXPECT_EQ(mapped_root_uid_of(r.values.list(ListKey::Idmap)), unpriv ? 1000000u : 0u);
    }
  }
}

// lxc-pve's /usr/share/lxc/config tree, in miniature: common.conf includes
// the directory common.conf.d/, userns.conf includes userns.conf.d/.
void proxmox_tree(const Tree& t) {
  t.write("share/config/common.conf",
          "# Default configuration shared by all containers\n"
          "lxc.cgroup2.devices.deny = a\n"
          "lxc.cgroup2.devices.allow = c *:* m\nlxc.cgroup2.devices.allow = b *:* m\n"
          "lxc.cgroup2.devices.allow = c 1:3 rwm\n"
          "lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed\n"
          "lxc.include = ${R}/share/config/common.conf.d/\n");
  t.write("share/config/common.conf.d/00-lxcfs.conf",
          "lxc.hook.mount = /usr/share/lxcfs/lxc.mount.hook\nlxc.hook.post-stop = /usr/share/lxcfs/lxc.reboot.hook\n");
  t.write("share/config/common.conf.d/README", "lxc.environment = NOT_INCLUDED=1\n");
  t.write("share/config/debian.common.conf", "lxc.include = ${R}/share/config/common.conf\nlxc.cap.drop = sys_time\n");
  t.write("share/config/userns.conf",
          "lxc.cgroup2.devices.allow =\nlxc.cgroup2.devices.deny =\nlxc.include = ${R}/share/config/userns.conf.d/\n");
  t.write("share/config/userns.conf.d/00-lxcfs.conf", "lxc.hook.mount = /usr/share/lxcfs/lxc.mount.hook\n");
  t.write("share/config/debian.userns.conf", "lxc.include = ${R}/share/config/userns.conf\n");
}

// /var/lib/lxc/ID/config as pve-container writes it: its own lines, the
// raw lxc.* lines of /etc/pve/lxc/ID.conf after them.
TEST(LxcConfigReader, ProxmoxShapedConfigs) {
  const std::string head = "lxc.cgroup2.devices.allow = c 195:* rwm\n";
  const std::string pve_priv =
      "lxc.arch = amd64\nlxc.include = ${R}/share/config/debian.common.conf\n"
      "lxc.apparmor.profile = generated\nlxc.apparmor.raw = deny mount -> /proc/,\nlxc.apparmor.raw = deny mount -> "
      "/sys/,\n"
      "lxc.monitor.unshare = 1\nlxc.tty.max = 2\nlxc.environment = TERM=linux\nlxc.uts.name = gpu-ct\n"
      "lxc.cgroup2.memory.max = 8589934592\nlxc.cgroup2.memory.swap.max = 536870912\n"
      "lxc.rootfs.path = /var/lib/lxc/101/rootfs\nlxc.net.0.type = veth\nlxc.net.0.veth.pair = veth101i0\n"
      "lxc.net.0.hwaddr = BC:24:11:2A:6B:1C\nlxc.net.0.name = eth0\nlxc.net.0.mtu = 1500\n"
      "lxc.cgroup2.cpuset.cpus = 0-3\n";
  const std::string pve_unpriv =
      "lxc.arch = amd64\nlxc.include = ${R}/share/config/debian.common.conf\n"
      "lxc.include = ${R}/share/config/debian.userns.conf\nlxc.seccomp.profile = /var/lib/lxc/102/rules.seccomp\n"
      "lxc.apparmor.profile = generated\nlxc.apparmor.raw = deny mount -> /proc/,\nlxc.monitor.unshare = 1\n"
      "lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\nlxc.tty.max = 2\nlxc.environment = TERM=linux\n"
      "lxc.uts.name = gpu-ct2\nlxc.cgroup2.memory.max = 4294967296\nlxc.rootfs.path = /var/lib/lxc/102/rootfs\n"
      "lxc.net.0.type = veth\nlxc.net.0.veth.pair = veth102i0\nlxc.net.0.hwaddr = BC:24:11:3F:00:01\n"
      "lxc.net.0.name = eth0\nlxc.net.0.mtu = 1500\n";
  const std::string raw =
      "lxc.include = /usr/share/phoenix-gpu-hooks/lxc/nvidia.conf\n"
      "lxc.environment = NVIDIA_VISIBLE_DEVICES=all\nlxc.environment = NVIDIA_DRIVER_CAPABILITIES=compute,utility\n";
  for (const auto& body : {pve_priv, pve_unpriv}) {
    for (const std::string& r : {std::string(), raw, raw + "lxc.environment = PHOENIX_GPU_REQUIRED=1\n"}) {
      Tree t;
      proxmox_tree(t);
      t.write("usr/share/phoenix-gpu-hooks/lxc/nvidia.conf", source_file("lxc-conf-snippets/nvidia.conf.in"));
      std::string rr = r;
      if (auto p = rr.find("/usr/share/phoenix"); p != std::string::npos) rr.insert(p, "${R}");
      t.config(head + body + rr);
      SCOPED_TRACE(t.expand(head + body + rr));
      expect(t, Outcome::Read);
    }
  }
  Tree t;
  proxmox_tree(t);
  t.config(pve_priv + "lxc.environment = NVIDIA_VISIBLE_DEVICES=0,1\n");
  EXPECT_THAT(env_of(t), ElementsAre("TERM=linux", "NVIDIA_VISIBLE_DEVICES=0,1"));
  // The README in common.conf.d/ is not a *.conf file: not read.
}

TEST(LxcConfigReader, TheSystemsOwnLxcConfigTree) {
  // Debian's lxc package: common.conf includes common.conf.d/.
  if (::access("/usr/share/lxc/config/common.conf", R_OK) != 0) GTEST_SKIP() << "no /usr/share/lxc/config";
  Tree t;
  t.config("lxc.include = /usr/share/lxc/config/common.conf\nlxc.environment = A=1\n");
  expect(t, Outcome::Read);
}

TEST(LxcConfigReader, LineSyntax) {
  const char* cases[] = {
      "lxc.environment = A=1\n",
      "lxc.environment=A=1\r\nlxc.environment =B= 2 \r\n",
      "lxc.environment = A=1\rlxc.environment = B=2",  // CR alone ends a line; no final newline
      "  # lxc.environment = C=3\n\tlxc.environment\t=\tB=2\t\n",
      "lxc.environment = \"A=1\"\nlxc.environment = 'B=2'\nlxc.environment = 'C=3\"\nlxc.environment = \"D=\"x\"\n",
      "lxc.environment = \"\"\n",
      "lxc.environment = A=1\nlxc.environment = ''\nlxc.environment = B=2\n",
      "lxc.environment = A=1\nlxc.environment =\nlxc.environment = C=3\n",
      "lxc.environment = A=1\nlxc.environment =   \t \n",
      "lxc.environment = A=1\fx\nlxc.environment = B=\f\n",
      "lxc.environment = A= \"quoted\" \n",
      "foo\nlxc.environment = A=1\n lxc.environment = B=2\nLXC.environment = C=3\n",
      "\x0blxc.environment = A=1\n",
      "\n\n\r\n\r\r   \n\t\n",
      "",
      "lxc.environment = A=1=2==\nlxc.environment = ==\nlxc.environment = =x\n",
      "lxc.environment = PATH=/usr/bin:/bin # not a comment\n",
      "lxc.idmap = u 0 100000 65536\nlxc.idmap = g\t0\t100000\t65536  \n",
      "lxc.idmap = u 0 100000 65536\nlxc.idmap =\nlxc.idmap = u 1 2 3\n",
      "lxc.idmap = \"u 0 100000 65536\"\n",
      "lxc.idmap = u 0 4294967295 1\nlxc.idmap = u 0 100000 0\n",
      "lxc.hook.pre-start = /x = y\nlxc.environment = A=1\n",
  };
  for (const char* c : cases) {
    Tree t;
    t.config(c);
    SCOPED_TRACE(c);
    expect(t, Outcome::Read);
  }
}

TEST(LxcConfigReader, NulEndsTheFile) {
  Tree t;
  t.config(std::string("lxc.environment = A=1\0\nlxc.environment = B=2\n", 43));
  expect(t, Outcome::Read);
  EXPECT_THAT(env_of(t), ElementsAre("A=1"));
  Tree u;
  // The file now ends in "lxc.envi", a line without '=': liblxc refuses it.
  u.config(std::string("lxc.environment = A=1\nlxc.envi\0ronment = B=2\nlxc.environment = C=3\n", 66));
  expect(u, Outcome::Fallback);
  EXPECT_TRUE(diff::liblxc_refuses_in_child(u.lxcpath(), "ct"));
}

TEST(LxcConfigReader, HandsOverWhatItCannotBeSureOf) {
  const char* cases[] = {
      "lxc.environment = HOME\n",                // value from the reader's environment
      "lxc.environment = NO_SUCH_VARIABLE_X\n",  // liblxc refuses
      "lxc.environment = \"\n",
      "lxc.environment\n",                 // no '='
      "lxc.environment.runtime = HOME\n",  // LXC 7's keys take the value from the reader too
      "lxc.environment.hooks = NO_SUCH_VARIABLE_X\n",
      "lxc.environment.runtimeX = A=1\n",  // keys no LXC has
      "lxc.environment.init = A=1\n",
      "lxc.environmentX = A=1\n",
      "lxc.environment\f= A=1\n",
      "lxc.include = relative.conf\n",
      "lxc.include = ${R}/missing.conf\n",
      "lxc.include = ${R}/lxc/ct/config/\n",  // a file named as a directory
      "lxc.idmap = u 0 -1 65536\n",
      "lxc.idmap = u 0 0x10 65536\n",
      "lxc.idmap = u 00 100000 65536\n",
      "lxc.idmap = u 0 100000\n",
      "lxc.idmap = x 0 1 1\n",
      "lxc.idmap = u 0 99999999999 65536\n",
  };
  for (const char* c : cases) {
    Tree t;
    t.config(c);
    SCOPED_TRACE(c);
    expect(t, Outcome::Fallback);
  }
}

TEST(LxcConfigReader, IncludesFilesAndDirectoriesInLiblxcsOrder) {
  Tree t;
  t.write("f.conf", "lxc.environment = F=1\n");
  // Only names of at least one character before ".conf"; readdir order.
  for (const char* n : {"b", "a", "c", "zz", "x.conf.bak", ".conf", "y.CONF", "09", "A"}) {
    t.write(std::string("d/") + n + ".conf", std::string("lxc.environment = D_") + n + "=1\n");
  }
  t.write("d/.conf", "lxc.environment = DOTCONF=1\n");
  t.write("d/noconf", "lxc.environment = NOCONF=1\n");
  t.write("d/x.conf~", "lxc.environment = BACKUP=1\n");
  t.write("d/x.CONF", "lxc.environment = UPPER=1\n");
  fs::create_symlink(t.root() + "/d", t.root() + "/dl");
  fs::create_symlink(t.root() + "/f.conf", t.root() + "/d/link.conf");
  t.config(
      "lxc.environment = T=0\nlxc.include = ${R}/f.conf\nlxc.include = ${R}/d\nlxc.include = ${R}/d/\n"
      "lxc.include = ${R}/dl\nlxc.include =\nlxc.include = \"${R}/f.conf\"\nlxc.environment = T=1\n");
  expect(t, Outcome::Read);
  auto env = env_of(t);
  EXPECT_EQ(env.front(), "T=0");
  EXPECT_EQ(env.back(), "T=1");
  EXPECT_EQ(std::count(env.begin(), env.end(), "DOTCONF=1"), 0);
  EXPECT_EQ(std::count(env.begin(), env.end(), "NOCONF=1"), 0);
  EXPECT_EQ(std::count(env.begin(), env.end(), "D_.conf=1"), 3);  // "..conf" counts
}

TEST(LxcConfigReader, MissingDirectoryIncludeIsSkipped) {
  // As LXC's own userns.conf includes userns.conf.d/, which may not exist.
  Tree t;
  t.config(
      "lxc.environment = A=1\nlxc.include = ${R}/missing-dir/\nlxc.include = /nonexistent-phx/\nlxc.environment = "
      "B=2\n");
  expect(t, Outcome::Read);
  EXPECT_THAT(env_of(t), ElementsAre("A=1", "B=2"));
  Tree u;  // without the '/', a missing include fails the config in liblxc
  u.config("lxc.include = ${R}/missing-dir\n");
  expect(u, Outcome::Fallback);
  EXPECT_TRUE(diff::liblxc_refuses_in_child(u.lxcpath(), "ct"));
}

TEST(LxcConfigReader, ClearingInsideAnInclude) {
  Tree t;
  t.write("clear.conf", "lxc.environment =\nlxc.environment = INC=1\n");
  t.config("lxc.environment = A=1\nlxc.include = ${R}/clear.conf\nlxc.environment = B=2\n");
  expect(t, Outcome::Read);
  EXPECT_THAT(env_of(t), ElementsAre("INC=1", "B=2"));
}

TEST(LxcConfigReader, IncludeLoopsAreInvalidAndLiblxcRefusesThemToo) {
  {
    Tree t;
    t.config("lxc.include = ${R}/lxc/ct/config\n");
    expect(t, Outcome::Invalid);
  }
  {
    Tree t;
    t.write("a.conf", "lxc.include = ${R}/b.conf\n");
    t.write("b.conf", "lxc.environment = B=1\nlxc.include = ${R}/a.conf\n");
    t.config("lxc.include = ${R}/a.conf\n");
    expect(t, Outcome::Invalid);
  }
  {
    Tree t;
    t.write("d/x.conf", "lxc.include = ${R}/d\n");
    t.config("lxc.include = ${R}/d\n");
    expect(t, Outcome::Invalid);
  }
  {
    // The same file twice, not nested: no loop.
    Tree t;
    t.write("a.conf", "lxc.environment = A=1\n");
    t.config("lxc.include = ${R}/a.conf\nlxc.include = ${R}/a.conf\n");
    expect(t, Outcome::Read);
  }
}

TEST(LxcConfigReader, DepthAndSizeBounds) {
  {
    Tree t;  // 10 levels: read
    for (int i = 0; i < 10; ++i) {
      t.write("n" + std::to_string(i) + ".conf", "lxc.environment = L" + std::to_string(i) +
                                                     "=1\nlxc.include = ${R}/n" + std::to_string(i + 1) + ".conf\n");
    }
    t.write("n10.conf", "lxc.environment = END=1\n");
    t.config("lxc.include = ${R}/n0.conf\n");
    expect(t, Outcome::Read);
  }
  {
    Tree t;  // 20 levels: past the bound, liblxc answers
    for (int i = 0; i < 20; ++i) {
      t.write("n" + std::to_string(i) + ".conf", "lxc.include = ${R}/n" + std::to_string(i + 1) + ".conf\n");
    }
    t.write("n20.conf", "lxc.environment = END=1\n");
    t.config("lxc.include = ${R}/n0.conf\n");
    expect(t, Outcome::Fallback);
  }
  {
    Tree t;  // 3 MiB of items: read, and the same as liblxc
    std::string big;
    for (int i = 0; big.size() < 3 * 1024 * 1024; ++i)
      big += "lxc.environment = K" + std::to_string(i) + "=" + std::string(40, 'v') + "\n";
    t.config(big);
    expect(t, Outcome::Read);
  }
  {
    Tree t;  // 5 MiB: past the bound
    std::string big(5 * 1024 * 1024, '#');
    big += "\nlxc.environment = A=1\n";
    t.config(big);
    expect(t, Outcome::Fallback);
  }
}

TEST(LxcConfigReader, OddFiles) {
  {
    Tree t;  // a directory named *.conf in an included directory
    t.write("d/a.conf", "lxc.environment = A=1\n");
    fs::create_directories(t.root() + "/d/sub.conf");
    t.config("lxc.include = ${R}/d\n");
    expect(t, Outcome::Fallback);
  }
  {
    Tree t;  // a FIFO would block liblxc's open: refused without waiting
    t.write("d/a.conf", "lxc.environment = A=1\n");
    ASSERT_EQ(::mkfifo((t.root() + "/d/fifo.conf").c_str(), 0644), 0);
    t.config("lxc.include = ${R}/d\n");
    EXPECT_EQ(read_lxc_config(t.lxcpath() + "/ct/config").outcome, Outcome::Invalid);
  }
  {
    Tree t;  // an empty include file
    t.write("empty.conf", "");
    t.config("lxc.include = ${R}/empty.conf\nlxc.environment = E=1\n");
    expect(t, Outcome::Read);
  }
  EXPECT_EQ(read_lxc_config("relative/config").outcome, Outcome::Fallback);
  EXPECT_EQ(read_lxc_config("/nonexistent/phx/config").outcome, Outcome::Fallback);
}

TEST(LxcConfigReader, MappedRootUid) {
  EXPECT_EQ(mapped_root_uid_of({}), 0u);
  EXPECT_EQ(mapped_root_uid_of({"g 0 100000 65536", "u 0 100000 65536"}), 100000u);
  EXPECT_EQ(mapped_root_uid_of({"u 1 5 6", "u 0 7 1", "u 0 8 1"}), 7u);
  EXPECT_EQ(mapped_root_uid_of({"u 0 4294967295 1"}), 0u);
}

}  // namespace
}  // namespace phx

namespace phx {
namespace {

// LXC 7's lxc.environment.runtime and .hooks: lists of their own, each
// cleared by its own empty value only, read the same whatever the liblxc.
// The differential check compares them where liblxc knows the keys (LXC 7.0,
// lxc-pve >= 6.0.5); elsewhere liblxc must refuse the config, as lxc-start
// does (tests/diff/config_diff.hpp).
TEST(LxcConfigReader, EnvironmentSubkeysAreListsOfTheirOwn) {
  Tree t;
  t.config(
      "lxc.environment = A=1\n"
      "lxc.environment.runtime = R=1\n"
      "lxc.environment.hooks = H=1\n"
      "lxc.environment.runtime = R=2\n"
      "lxc.environment.runtime =\n"  // clears .runtime only
      "lxc.environment.runtime = R=3\n"
      "lxc.environment.hooks = 'H=2'\n"
      "lxc.environment =\n"  // clears lxc.environment only
      "lxc.environment = B=2\n"
      "\tlxc.environment.hooks\t=\tH=3 \r\n");
  expect(t, Outcome::Read);
  const LxcConfigValues v = values_of(t);
  EXPECT_TRUE(v.environment_subkeys);
  EXPECT_THAT(v.list(ListKey::Environment), ElementsAre("B=2"));
  EXPECT_THAT(v.list(ListKey::EnvironmentRuntime), ElementsAre("R=3"));
  EXPECT_THAT(v.list(ListKey::EnvironmentHooks), ElementsAre("H=1", "H=2", "H=3"));
  EXPECT_EQ(v.joined(ListKey::EnvironmentRuntime), "R=3\n");
  EXPECT_STREQ(key_name(ListKey::EnvironmentRuntime), "lxc.environment.runtime");
  EXPECT_STREQ(key_name(ListKey::EnvironmentHooks), "lxc.environment.hooks");
}

TEST(LxcConfigReader, EnvironmentSubkeysInIncludesAndClearedOnly) {
  Tree t;
  t.write("inc.conf",
          "lxc.environment.runtime = NVIDIA_VISIBLE_DEVICES=all\nlxc.environment.hooks = PHOENIX_GPU_REQUIRED=1\n");
  t.config("lxc.include = ${R}/inc.conf\nlxc.environment.hooks =\n");
  expect(t, Outcome::Read);
  LxcConfigValues v = values_of(t);
  EXPECT_THAT(v.list(ListKey::EnvironmentRuntime), ElementsAre("NVIDIA_VISIBLE_DEVICES=all"));
  EXPECT_TRUE(v.list(ListKey::EnvironmentHooks).empty());

  // Only clearing lines: still a config that LXC 5.0 refuses.
  Tree u;
  u.config("lxc.environment.runtime =\nlxc.environment = A=1\n");
  expect(u, Outcome::Read);
  EXPECT_TRUE(values_of(u).environment_subkeys);

  Tree w;
  w.config("lxc.environment = A=1\n");
  EXPECT_FALSE(values_of(w).environment_subkeys);
}

// /var/lib/lxc/ID/config as pve-container writes it for a container whose
// GPU request is in its `env` property (Proxmox VE 9.1: pct set ID --env ...,
// or an OCI image's environment).
TEST(LxcConfigReader, ProxmoxEnvProperty) {
  Tree t;
  proxmox_tree(t);
  t.config(
      "lxc.arch = amd64\nlxc.include = ${R}/share/config/debian.common.conf\n"
      "lxc.include = ${R}/share/config/debian.userns.conf\nlxc.apparmor.profile = generated\n"
      "lxc.environment.runtime = PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
      "lxc.environment.runtime = NVIDIA_VISIBLE_DEVICES=all\n"
      "lxc.environment.runtime = NVIDIA_DRIVER_CAPABILITIES=compute,utility\n"
      "lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n"
      "lxc.rootfs.path = /var/lib/lxc/220/rootfs\nlxc.uts.name = ollama\n");
  const LxcConfigRead r = read_lxc_config(t.lxcpath() + "/ct/config");
  ASSERT_EQ(r.outcome, Outcome::Read) << r.reason;
  EXPECT_THAT(r.values.list(ListKey::EnvironmentRuntime), ElementsAre(HasSubstr("PATH="), "NVIDIA_VISIBLE_DEVICES=all",
                                                                      "NVIDIA_DRIVER_CAPABILITIES=compute,utility"));
  EXPECT_TRUE(r.values.list(ListKey::Environment).empty());
  auto v = t.compare();
  EXPECT_TRUE(v.agree) << v.detail;
}

}  // namespace
}  // namespace phx
