// The closed-loop load generator both C++ generators are (loadgen.cpp: HelloWorld.sayHello;
// payload-loadgen.cpp: the payload suite's Payload calls), built on Apache libthrift: one thread
// per connection making synchronous calls back to back, a warm-up, then a fixed measured window.
// Prints JSON lines on stdout, which the bench reads the same way for both:
//   {"event":"measure-start"}          when the warm-up ends (the caller samples server CPU here)
//   {"event":"measure-end"}            when the window ends
//   {"rps":..., "p50Us":..., ...}      the result
// Its own CPU (getrusage over the window) is part of the result, so a run can say whether the
// generator, rather than the server, was the bottleneck.
//
// A generator supplies its Thrift client type and a session per connection: `call(client)` makes
// one timed call, `ok()` (asked after the clock stops) says whether its reply was the expected one.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TCompactProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSocket.h>

namespace closed_loop {

using apache::thrift::protocol::TBinaryProtocol;
using apache::thrift::protocol::TCompactProtocol;
using apache::thrift::protocol::TProtocol;
using apache::thrift::transport::TBufferedTransport;
using apache::thrift::transport::TFramedTransport;
using apache::thrift::transport::TSocket;
using apache::thrift::transport::TTransport;
using Clock = std::chrono::steady_clock;

/** The flags every generator takes. */
struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int conns = 8;
  bool framed = true;
  bool compact = false;
  double warmup = 2;
  double duration = 8;
};

[[noreturn]] inline void usage(const char* text) {
  std::fputs(text, stderr);
  std::exit(2);
}

/**
 * Parses --host --port --conns --transport --protocol --warmup --duration, and the generator's
 * own `extraFlag` into `extraValue`. Prints `usageText` and exits 2 on a bad command line.
 */
inline Options parse(int argc, char** argv, const char* usageText, const std::string& extraFlag,
                     std::string& extraValue) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage(usageText);
    std::string v = argv[++i];
    if (a == "--host") o.host = v;
    else if (a == "--port") o.port = std::atoi(v.c_str());
    else if (a == "--conns") o.conns = std::atoi(v.c_str());
    else if (a == "--transport") o.framed = v == "framed";
    else if (a == "--protocol") o.compact = v == "compact";
    else if (a == "--warmup") o.warmup = std::atof(v.c_str());
    else if (a == "--duration") o.duration = std::atof(v.c_str());
    else if (a == extraFlag) extraValue = v;
    else usage(usageText);
  }
  if (o.port <= 0 || o.conns <= 0 || o.duration <= 0) usage(usageText);
  return o;
}

/**
 * Runs the load: `o.conns` threads, each with its own connection and `makeSession()`, through the
 * warm-up and the measured window; prints the JSON lines. Returns the process's exit code.
 */
template <class Client, class MakeSession>
int run(const Options& o, MakeSession makeSession);

// --- internal ---

enum Phase : int { WARMUP = 0, MEASURE = 1, DONE = 2 };

inline std::atomic<int> phase{WARMUP};

struct Worker {
  std::vector<uint32_t> latencies;  // measured window only, in units of 100 ns
  uint64_t errors = 0;
  uint64_t badReplies = 0;
};

template <class Client>
struct Connection {
  std::shared_ptr<TTransport> transport;
  std::unique_ptr<Client> client;
};

template <class Client>
Connection<Client> open(const Options& o) {
  auto socket = std::make_shared<TSocket>(o.host, o.port);
  socket->setNoDelay(true);
  // Framed over buffered: the frame header and body arrive with one recv() instead of two.
  std::shared_ptr<TTransport> buffered = std::make_shared<TBufferedTransport>(socket, 4096);
  std::shared_ptr<TTransport> transport =
      o.framed ? std::shared_ptr<TTransport>(std::make_shared<TFramedTransport>(buffered)) : buffered;
  std::shared_ptr<TProtocol> protocol =
      o.compact ? std::shared_ptr<TProtocol>(std::make_shared<TCompactProtocol>(transport))
                : std::shared_ptr<TProtocol>(std::make_shared<TBinaryProtocol>(transport));
  transport->open();
  return {transport, std::make_unique<Client>(protocol)};
}

/** One connection's loop: calls back to back, reconnecting after a failure, until DONE. */
template <class Client, class Session>
void drive(const Options& o, Session& session, Worker& w) {
  Connection<Client> c;
  while (phase.load(std::memory_order_relaxed) != DONE) {
    if (!c.client) {
      try {
        c = open<Client>(o);
      } catch (const std::exception&) {
        if (phase.load(std::memory_order_relaxed) == MEASURE) w.errors++;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
    }
    auto t0 = Clock::now();
    try {
      session.call(*c.client);
    } catch (const std::exception&) {
      if (phase.load(std::memory_order_relaxed) == MEASURE) w.errors++;
      try {
        c.transport->close();
      } catch (...) {
      }
      c = Connection<Client>();
      continue;
    }
    auto t1 = Clock::now();
    if (phase.load(std::memory_order_relaxed) != MEASURE) continue;
    if (!session.ok()) w.badReplies++;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
    w.latencies.push_back(static_cast<uint32_t>(std::min<int64_t>(ns / 100, UINT32_MAX)));
  }
  if (c.transport) {
    try {
      c.transport->close();
    } catch (...) {
    }
  }
}

inline double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

inline double percentileUs(const std::vector<uint32_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(q * (sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)] / 10.0;
}

template <class Client, class MakeSession>
int run(const Options& o, MakeSession makeSession) {
  std::vector<Worker> workers(o.conns);
  std::vector<std::thread> threads;
  threads.reserve(o.conns);
  for (int i = 0; i < o.conns; i++) {
    workers[i].latencies.reserve(1 << 16);
    threads.emplace_back([&o, &makeSession, &w = workers[i]] {
      auto session = makeSession();
      drive<Client>(o, session, w);
    });
  }

  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  double cpu0 = cpuSeconds();
  auto t0 = Clock::now();
  phase.store(MEASURE);
  std::printf("{\"event\":\"measure-start\"}\n");
  std::fflush(stdout);

  std::this_thread::sleep_for(std::chrono::duration<double>(o.duration));
  phase.store(DONE);
  auto t1 = Clock::now();
  double cpu1 = cpuSeconds();
  std::printf("{\"event\":\"measure-end\"}\n");
  std::fflush(stdout);
  for (auto& t : threads) t.join();

  std::vector<uint32_t> all;
  uint64_t errors = 0, bad = 0;
  for (auto& w : workers) {
    all.insert(all.end(), w.latencies.begin(), w.latencies.end());
    errors += w.errors;
    bad += w.badReplies;
  }
  std::sort(all.begin(), all.end());
  double seconds = std::chrono::duration<double>(t1 - t0).count();
  double sum = 0;
  for (auto v : all) sum += v / 10.0;
  std::printf(
      "{\"requests\":%zu,\"seconds\":%.3f,\"rps\":%.1f,\"meanUs\":%.1f,\"p50Us\":%.1f,\"p99Us\":%.1f,"
      "\"p999Us\":%.1f,\"maxUs\":%.1f,\"errors\":%llu,\"badReplies\":%llu,\"cpuPct\":%.1f}\n",
      all.size(), seconds, all.size() / seconds, all.empty() ? 0 : sum / all.size(), percentileUs(all, 0.5),
      percentileUs(all, 0.99), percentileUs(all, 0.999), all.empty() ? 0 : all.back() / 10.0,
      static_cast<unsigned long long>(errors), static_cast<unsigned long long>(bad),
      100.0 * (cpu1 - cpu0) / seconds);
  std::fflush(stdout);
  return 0;
}

}  // namespace closed_loop
