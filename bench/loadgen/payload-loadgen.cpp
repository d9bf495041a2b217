// Closed-loop load generator of the payload suite, built on Apache libthrift (C++): the
// generator of closed-loop.h (its JSON lines, its measured window), calling one Payload method
// (bench/idl/Payload.thrift) with a fixed argument and checking each reply's shape.
//   --workload list      echoList: list<i32> of 1,000 elements
//              insanity  insanity: the argument of Apache ThriftTest's testInsanity client call
//              string    echoString: a 64 KiB string
//              small     echoSmall: a struct of 5 scalar fields
// Same command line (plus --workload) and JSON lines as loadgen.cpp, so the bench drives both
// the same way.
//
// Usage: payload-loadgen --port P --workload W [--host 127.0.0.1] [--conns 8]
//                        [--transport framed|buffered] [--protocol binary|compact]
//                        [--warmup 2] [--duration 8]
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "Payload.h"
#include "closed-loop.h"

namespace {

const char* const USAGE =
    "usage: payload-loadgen --port P --workload list|insanity|string|small [--host H] [--conns N]\n"
    "                       [--transport framed|buffered] [--protocol binary|compact]\n"
    "                       [--warmup S] [--duration S]\n";

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

/** One call of the workload; false when the reply does not have the expected shape. */
bool callWorkload(bench::PayloadClient& client, const std::string& workload, const Arguments& a) {
  if (workload == "list") {
    std::vector<int32_t> out;
    client.echoList(out, a.list);
    return out.size() == a.list.size() && out.back() == a.list.back();
  }
  if (workload == "insanity") {
    std::map<bench::UserId, std::map<bench::Numberz::type, bench::Insanity>> out;
    client.insanity(out, a.insanity);
    return out.size() == 2 && out[1].size() == 2 && out[1][bench::Numberz::TWO].xtructs.size() == 2;
  }
  if (workload == "string") {
    std::string out;
    client.echoString(out, a.text);
    return out.size() == a.text.size();
  }
  bench::Small out;
  client.echoSmall(out, a.small);
  return out.id == a.small.id && out.name == a.small.name;
}

/** One connection's calls: the workload's call; its reply's shape is checked inside the call. */
struct Session {
  const std::string& workload;
  const Arguments& arguments;
  bool replyOk = false;

  void call(bench::PayloadClient& client) {
    replyOk = callWorkload(client, workload, arguments);
  }
  bool ok() const { return replyOk; }
};

}  // namespace

int main(int argc, char** argv) {
  std::string workload = "list";
  closed_loop::Options o = closed_loop::parse(argc, argv, USAGE, "--workload", workload);
  bool known = workload == "list" || workload == "insanity" || workload == "string" || workload == "small";
  if (!known) closed_loop::usage(USAGE);
  const Arguments args = makeArguments();
  return closed_loop::run<bench::PayloadClient>(o, [&] { return Session{workload, args}; });
}
