// Closed-loop load generator of the payload suite, built on Apache libthrift (C++): calls one
// Payload method (bench/idl/Payload.thrift) with a fixed argument, back to back, one thread per
// connection, and checks each reply's shape.
//   --workload list      echoList: list<i32> of 1,000 elements
//              insanity  insanity: the argument of Apache ThriftTest's testInsanity client call
//              string    echoString: a 64 KiB string
//              small     echoSmall: a struct of 5 scalar fields
// Same command line (plus --workload) and JSON lines as loadgen.cpp, so the bench drives both
// the same way: {"event":"measure-start"}, {"event":"measure-end"}, then the result.
//
// Usage: payload-loadgen --port P --workload W [--host 127.0.0.1] [--conns 8]
//                        [--transport framed|buffered] [--protocol binary|compact]
//                        [--warmup 2] [--duration 8]
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

#include "Payload.h"

using apache::thrift::protocol::TBinaryProtocol;
using apache::thrift::protocol::TCompactProtocol;
using apache::thrift::protocol::TProtocol;
using apache::thrift::transport::TBufferedTransport;
using apache::thrift::transport::TFramedTransport;
using apache::thrift::transport::TSocket;
using apache::thrift::transport::TTransport;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int conns = 8;
  bool framed = true;
  bool compact = false;
  double warmup = 2;
  double duration = 8;
  std::string workload = "list";
};

enum Phase : int { WARMUP = 0, MEASURE = 1, DONE = 2 };

std::atomic<int> phase{WARMUP};

struct Worker {
  std::vector<uint32_t> latencies;  // measured window only, in units of 100 ns
  uint64_t errors = 0;
  uint64_t badReplies = 0;
};

/** The arguments every call of a run sends. */
struct Arguments {
  std::vector<int32_t> list;
  bench::Insanity insanity;
  std::string text;
  bench::Small small;
};

Arguments makeArguments() {
  Arguments a;
  a.list.reserve(1000);
  for (int32_t i = 0; i < 1000; i++) a.list.push_back(i * 7919 - 3000000);
  // The argument of ThriftTest's reference client: two users, two xtructs.
  a.insanity.userMap[bench::Numberz::FIVE] = 5;
  a.insanity.userMap[bench::Numberz::EIGHT] = 8;
  bench::Xtruct goodbye, hello;
  goodbye.__set_string_thing("Goodbye4");
  goodbye.__set_byte_thing(4);
  goodbye.__set_i32_thing(4);
  goodbye.__set_i64_thing(4);
  hello.__set_string_thing("Hello2");
  hello.__set_byte_thing(2);
  hello.__set_i32_thing(2);
  hello.__set_i64_thing(2);
  a.insanity.xtructs = {goodbye, hello};
  a.text.assign(64 * 1024, 'x');
  for (size_t i = 0; i < a.text.size(); i += 61) a.text[i] = static_cast<char>('a' + i % 26);
  a.small.__set_id(42);
  a.small.__set_name("small struct");
  a.small.__set_active(true);
  a.small.__set_score(3.25);
  a.small.__set_stamp(1700000000000LL);
  return a;
}

struct Connection {
  std::shared_ptr<TTransport> transport;
  std::unique_ptr<bench::PayloadClient> client;
};

Connection open(const Options& o) {
  auto socket = std::make_shared<TSocket>(o.host, o.port);
  socket->setNoDelay(true);
  std::shared_ptr<TTransport> buffered = std::make_shared<TBufferedTransport>(socket, 4096);
  std::shared_ptr<TTransport> transport =
      o.framed ? std::shared_ptr<TTransport>(std::make_shared<TFramedTransport>(buffered)) : buffered;
  std::shared_ptr<TProtocol> protocol =
      o.compact ? std::shared_ptr<TProtocol>(std::make_shared<TCompactProtocol>(transport))
                : std::shared_ptr<TProtocol>(std::make_shared<TBinaryProtocol>(transport));
  transport->open();
  return {transport, std::make_unique<bench::PayloadClient>(protocol)};
}

/** One call of the workload; false when the reply does not have the expected shape. */
bool call(bench::PayloadClient& client, const Options& o, const Arguments& a) {
  if (o.workload == "list") {
    std::vector<int32_t> out;
    client.echoList(out, a.list);
    return out.size() == a.list.size() && out.back() == a.list.back();
  }
  if (o.workload == "insanity") {
    std::map<bench::UserId, std::map<bench::Numberz::type, bench::Insanity>> out;
    client.insanity(out, a.insanity);
    return out.size() == 2 && out[1].size() == 2 && out[1][bench::Numberz::TWO].xtructs.size() == 2;
  }
  if (o.workload == "string") {
    std::string out;
    client.echoString(out, a.text);
    return out.size() == a.text.size();
  }
  bench::Small out;
  client.echoSmall(out, a.small);
  return out.id == a.small.id && out.name == a.small.name;
}

void run(const Options& o, const Arguments& a, Worker& w) {
  Connection c;
  while (phase.load(std::memory_order_relaxed) != DONE) {
    if (!c.client) {
      try {
        c = open(o);
      } catch (const std::exception&) {
        if (phase.load(std::memory_order_relaxed) == MEASURE) w.errors++;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
    }
    auto t0 = Clock::now();
    bool ok = false;
    try {
      ok = call(*c.client, o, a);
    } catch (const std::exception&) {
      if (phase.load(std::memory_order_relaxed) == MEASURE) w.errors++;
      try {
        c.transport->close();
      } catch (...) {
      }
      c = Connection();
      continue;
    }
    auto t1 = Clock::now();
    if (phase.load(std::memory_order_relaxed) != MEASURE) continue;
    if (!ok) w.badReplies++;
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

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

double percentileUs(const std::vector<uint32_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(q * (sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)] / 10.0;
}

void usage() {
  std::fprintf(stderr,
               "usage: payload-loadgen --port P --workload list|insanity|string|small [--host H] [--conns N]\n"
               "                       [--transport framed|buffered] [--protocol binary|compact]\n"
               "                       [--warmup S] [--duration S]\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage();
    std::string v = argv[++i];
    if (a == "--host") o.host = v;
    else if (a == "--port") o.port = std::atoi(v.c_str());
    else if (a == "--conns") o.conns = std::atoi(v.c_str());
    else if (a == "--transport") o.framed = v == "framed";
    else if (a == "--protocol") o.compact = v == "compact";
    else if (a == "--warmup") o.warmup = std::atof(v.c_str());
    else if (a == "--duration") o.duration = std::atof(v.c_str());
    else if (a == "--workload") o.workload = v;
    else usage();
  }
  bool known = o.workload == "list" || o.workload == "insanity" || o.workload == "string" || o.workload == "small";
  if (o.port <= 0 || o.conns <= 0 || o.duration <= 0 || !known) usage();
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  const Arguments args = makeArguments();
  std::vector<Worker> workers(o.conns);
  std::vector<std::thread> threads;
  threads.reserve(o.conns);
  for (int i = 0; i < o.conns; i++) {
    workers[i].latencies.reserve(1 << 16);
    threads.emplace_back(run, std::cref(o), std::cref(args), std::ref(workers[i]));
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
