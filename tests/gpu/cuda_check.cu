// cuda_check: proves that CUDA works in this environment (a container given
// its GPUs by the hooks). For every visible device it prints the UUID; then,
// on device 0, it adds two vectors in managed memory (which needs
// /dev/nvidia-uvm) and checks every element.
//
// Output, one item a line:
//   devices=<n>
//   uuid[<i>]=GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
//   name[<i>]=<model>
//   RESULT OK            (exit 0)
//   RESULT FAIL <reason> (exit 1)
//
// Build: nvcc -cudart static -arch=sm_90 -gencode arch=compute_90,code=[sm_90,compute_90]
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>

namespace {

[[noreturn]] void fail(const char* what, cudaError_t err) {
  std::printf("RESULT FAIL %s: %s (%s, code %d)\n", what, cudaGetErrorString(err), cudaGetErrorName(err),
              static_cast<int>(err));
  std::fflush(stdout);
  std::exit(1);
}

#define CHECK(call)                             \
  do {                                          \
    cudaError_t err_ = (call);                  \
    if (err_ != cudaSuccess) fail(#call, err_); \
  } while (0)

__global__ void add(const float* a, const float* b, float* c, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) c[i] = a[i] + b[i];
}

// NVIDIA's form of a GPU UUID: GPU-8-4-4-4-12 lower-case hex digits.
void format_uuid(const cudaUUID_t& u, char out[41]) {
  const auto* b = reinterpret_cast<const unsigned char*>(u.bytes);
  std::snprintf(out, 41, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  int driver = 0, runtime = 0;
  CHECK(cudaDriverGetVersion(&driver));
  CHECK(cudaRuntimeGetVersion(&runtime));
  std::printf("cuda_driver=%d cuda_runtime=%d\n", driver, runtime);

  int count = 0;
  CHECK(cudaGetDeviceCount(&count));
  std::printf("devices=%d\n", count);
  if (count < 1) {
    std::printf("RESULT FAIL no CUDA device visible\n");
    return 1;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    CHECK(cudaGetDeviceProperties(&prop, i));
    char uuid[41];
    format_uuid(prop.uuid, uuid);
    std::printf("uuid[%d]=%s\n", i, uuid);
    std::printf("name[%d]=%s sm_%d%d pci=%04x:%02x:%02x.0\n", i, prop.name, prop.major, prop.minor, prop.pciDomainID,
                prop.pciBusID, prop.pciDeviceID);
  }

  CHECK(cudaSetDevice(0));
  int managed = 0;
  CHECK(cudaDeviceGetAttribute(&managed, cudaDevAttrManagedMemory, 0));
  if (!managed) {
    std::printf("RESULT FAIL device 0 does not support managed memory\n");
    return 1;
  }

  constexpr int n = 1 << 20;
  float *a = nullptr, *b = nullptr, *c = nullptr;
  CHECK(cudaMallocManaged(&a, n * sizeof(float)));
  CHECK(cudaMallocManaged(&b, n * sizeof(float)));
  CHECK(cudaMallocManaged(&c, n * sizeof(float)));
  for (int i = 0; i < n; ++i) {
    a[i] = static_cast<float>(i);
    b[i] = static_cast<float>(2 * (n - i)) + 0.5f;
    c[i] = -1.0f;
  }
  add<<<256, 256>>>(a, b, c, n);
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());

  int bad = 0, first_bad = -1;
  for (int i = 0; i < n; ++i) {
    const float want = static_cast<float>(i) + (static_cast<float>(2 * (n - i)) + 0.5f);
    if (c[i] != want) {
      if (first_bad < 0) first_bad = i;
      ++bad;
    }
  }
  if (bad != 0) {
    std::printf("RESULT FAIL %d of %d elements wrong (first at %d: got %f, want %f)\n", bad, n, first_bad,
                static_cast<double>(c[first_bad]),
                static_cast<double>(static_cast<float>(first_bad) + (static_cast<float>(2 * (n - first_bad)) + 0.5f)));
    return 1;
  }
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  CHECK(cudaFree(c));
  std::printf("checked %d elements of c[i]=a[i]+b[i] in managed memory\n", n);
  std::printf("RESULT OK\n");
  return 0;
}
