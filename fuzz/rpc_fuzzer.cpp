// libFuzzer harness: ggml's RPC server — the worker `llama-native rpc-server` runs — fed arbitrary
// messages from a client that has said a valid HELLO. The server runs in this process on a thread
// (as in the CLI) and listens on 127.0.0.1; each input is one connection. The input is read as
// messages: | command (1 byte) | length (2 bytes, little-endian) | payload |, sent with ggml's framing
// (| command | 64-bit size | payload |); what the server answers is read and dropped. The server
// must survive anything a client sends (upstream has had deserialization advisories): a crash here
// is a malformed message that kills a worker. ggml-rpc.cpp and transport.cpp are compiled into the
// harness (instrumented), whatever llama.cpp libraries it links (scripts/fuzz.mjs).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ggml-backend.h"
#include "ggml-rpc.h"
#include "ggml.h"

static int g_port;

static int Connect() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(g_port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static bool SendAll(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
    if (k <= 0) return false;
    c += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

static bool SendMsg(int fd, uint8_t cmd, const uint8_t* payload, uint64_t size) {
  return SendAll(fd, &cmd, 1) && SendAll(fd, &size, sizeof(size)) && (size == 0 || SendAll(fd, payload, size));
}

static void Drain(int fd) {
  char buf[65536];
  while (recv(fd, buf, sizeof(buf), 0) > 0) {
  }
}

// Whether nothing listens on `port` (so that the harness fuzzes its own server, not another one).
static bool PortFree(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ggml_log_set([](enum ggml_log_level, const char*, void*) {}, nullptr);
  ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  if (cpu == nullptr) abort();
  // libFuzzer's fork mode runs several of these at once: each takes a port of its own
  for (int attempt = 0; attempt < 50; attempt++) {
    g_port = 20000 + static_cast<int>((getpid() * 7919 + attempt * 104729) % 30000);
    if (!PortFree(g_port)) continue;
    std::string endpoint = "127.0.0.1:" + std::to_string(g_port);
    std::thread([endpoint, cpu]() mutable { ggml_backend_rpc_start_server(endpoint.c_str(), nullptr, 1, 1, &cpu); }).detach();
    for (int i = 0; i < 200; i++) {
      int fd = Connect();
      if (fd >= 0) {
        close(fd);
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  abort();  // no server could be started
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = Connect();
  if (fd < 0) return 0;
  uint8_t hello[24] = {};  // rpc_msg_hello_req: no transport capabilities (plain TCP)
  if (SendMsg(fd, 14, hello, sizeof(hello))) {
    uint64_t rsp_size = 0;
    uint8_t rsp[28];
    if (recv(fd, &rsp_size, sizeof(rsp_size), MSG_WAITALL) == sizeof(rsp_size) && rsp_size == sizeof(rsp) &&
        recv(fd, rsp, sizeof(rsp), MSG_WAITALL) == sizeof(rsp)) {
      size_t i = 0;
      while (i + 3 <= size) {
        uint8_t cmd = data[i];
        size_t len = static_cast<size_t>(data[i + 1]) | (static_cast<size_t>(data[i + 2]) << 8);
        i += 3;
        len = std::min(len, size - i);
        if (!SendMsg(fd, cmd, data + i, len)) break;
        i += len;
      }
    }
  }
  shutdown(fd, SHUT_WR);
  Drain(fd);
  close(fd);
  return 0;
}
