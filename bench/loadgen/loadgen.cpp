// Closed-loop load generator for HelloWorld.sayHello, built on Apache libthrift (C++): the
// generator of closed-loop.h (its JSON lines, its measured window), calling sayHello with a fixed
// name and checking each reply.
//
// Usage: loadgen --port P [--host 127.0.0.1] [--conns 8] [--transport framed|buffered]
//                [--protocol binary|compact] [--warmup 2] [--duration 8] [--name world]
#include <string>

#include "HelloWorld.h"
#include "closed-loop.h"

namespace {

const char* const USAGE =
    "usage: loadgen --port P [--host H] [--conns N] [--transport framed|buffered]\n"
    "               [--protocol binary|compact] [--warmup S] [--duration S] [--name S]\n";

/** One connection's calls: sayHello(name), whose reply must be "Hello <name>". */
struct Session {
  explicit Session(const std::string& n) : name(n), expected("Hello " + n) {}

  const std::string& name;
  const std::string expected;
  std::string reply;

  void call(HelloWorldClient& client) { client.sayHello(reply, name); }
  bool ok() const { return reply == expected; }
};

}  // namespace

int main(int argc, char** argv) {
  std::string name = "world";
  closed_loop::Options o = closed_loop::parse(argc, argv, USAGE, "--name", name);
  return closed_loop::run<HelloWorldClient>(o, [&] { return Session(name); });
}
