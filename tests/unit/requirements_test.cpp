#include "plan/requirements.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "driver/host_facts.hpp"

namespace phx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

HostFacts h200() { return {"580.159.04", "13.0", {{"0000:00:06.0", "9.0", "nvidia"}}}; }

std::vector<std::string> unmet(const std::string& env, const HostFacts& h = h200()) {
  return unmet_requirements(parse_requirements(env), h);
}

TEST(Requirements, CompareVersions) {
  EXPECT_EQ(compare_versions("12.4", "12.10"), -1);
  EXPECT_EQ(compare_versions("12.4", "12.4.0"), 0);
  EXPECT_EQ(compare_versions("580.159.04", "580.159.4"), 0);
  EXPECT_EQ(compare_versions("9.0", "8.9"), 1);
  EXPECT_FALSE(compare_versions("12.x", "12"));
  EXPECT_FALSE(compare_versions("", "1"));
  EXPECT_FALSE(compare_versions("99999999999999999999", "1"));
}

TEST(Requirements, EachKeyAndOperator) {
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_CUDA=cuda>=12.4"), IsEmpty());
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_CUDA=cuda>=13.1"),
              ElementsAre("NVIDIA_REQUIRE_CUDA='cuda>=13.1' (host: cuda 13.0)"));
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_DRIVER=driver>=550"), IsEmpty());
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_DRIVER=driver<550"), ElementsAre(HasSubstr("host: driver 580.159.04")));
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_ARCH=arch=9.0"), IsEmpty());
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_ARCH=arch!=9.0"), ElementsAre(HasSubstr("GPU 0000:00:06.0 arch 9.0")));
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_BRAND=brand=NVIDIA"), IsEmpty());  // case-insensitive
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_BRAND=brand=tesla"), ElementsAre(HasSubstr("brand nvidia")));
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_X=cuda>12.9,cuda<=13.0,driver>580,driver!=1"), IsEmpty());
}

TEST(Requirements, SpacesAreOrCommasAreAnd) {
  // A CUDA image's requirement: a new enough CUDA, or a Tesla with a 418 driver.
  const std::string img = "NVIDIA_REQUIRE_CUDA=cuda>=13.0 brand=tesla,driver>=418,driver<419";
  EXPECT_THAT(unmet(img), IsEmpty());
  HostFacts old{"418.87.01", "10.1", {{"0000:00:06.0", "7.0", "tesla"}}};
  EXPECT_THAT(unmet(img, old), IsEmpty());
  old.gpus[0].brand = "geforce";
  EXPECT_THAT(unmet(img, old), ElementsAre(HasSubstr("NVIDIA_REQUIRE_CUDA='cuda>=13.0 brand=tesla")));
}

TEST(Requirements, EveryVariableAndEveryGpuMustHold) {
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_A=cuda>=12\nNVIDIA_REQUIRE_B=driver>=600\n"),
              ElementsAre(HasSubstr("NVIDIA_REQUIRE_B")));
  HostFacts two = h200();
  two.gpus.push_back({"0000:41:00.0", "8.0", "nvidia"});
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_ARCH=arch>=9.0", two), ElementsAre(HasSubstr("0000:41:00.0 arch 8.0")));
  // No GPU selected (NVIDIA_VISIBLE_DEVICES=none): arch and brand hold.
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_ARCH=arch>=10.0,brand=tesla", HostFacts{"580.159.04", "13.0", {}}), IsEmpty());
}

TEST(Requirements, UnknownFactsAreUnmet) {
  HostFacts h = h200();
  h.cuda.clear();
  h.gpus[0].arch.clear();
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_CUDA=cuda>=1.0", h), ElementsAre(HasSubstr("cuda unknown")));
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_ARCH=arch>=1.0", h), ElementsAre(HasSubstr("arch unknown")));
}

TEST(Requirements, DisableAndLaterItemsWin) {
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_CUDA=cuda>=99\nNVIDIA_DISABLE_REQUIRE=1\n"), IsEmpty());
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_CUDA=cuda>=99\nNVIDIA_DISABLE_REQUIRE=true\n"), IsEmpty());
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_CUDA=cuda>=99\nNVIDIA_DISABLE_REQUIRE=0\n"), ElementsAre(HasSubstr("cuda>=99")));
  EXPECT_THAT(unmet("NVIDIA_REQUIRE_CUDA=cuda>=99\nNVIDIA_REQUIRE_CUDA=cuda>=12\n"), IsEmpty());
}

TEST(Requirements, BadTermsWarnAndAreIgnored) {
  auto r = parse_requirements("NVIDIA_REQUIRE_CUDA=cuda~12 gpu>=1 cuda>=x =1 cuda>=\nNVIDIA_REQUIRE_OK=cuda>=12\n");
  EXPECT_EQ(r.warnings.size(), 5u);
  EXPECT_THAT(r.warnings[0], HasSubstr("NVIDIA_REQUIRE_CUDA: 'cuda~12' is not a requirement"));
  ASSERT_EQ(r.all.size(), 1u);
  EXPECT_EQ(r.all[0].name, "NVIDIA_REQUIRE_OK");
  EXPECT_TRUE(r.needs("cuda"));
  EXPECT_FALSE(r.needs("arch"));
}

TEST(Requirements, Names) {
  EXPECT_EQ(cuda_version_string(12040), "12.4");
  EXPECT_EQ(cuda_version_string(13000), "13.0");
  EXPECT_EQ(nvml_brand_name(2), "tesla");
  EXPECT_EQ(nvml_brand_name(14), "nvidia");
  EXPECT_EQ(nvml_brand_name(99), "unknown");
}

}  // namespace
}  // namespace phx
