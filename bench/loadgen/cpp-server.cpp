// The C++ contenders: HelloWorld served by Apache libthrift, from the same IDL as the Node ones,
// with the servers of contender-server.h (binary protocol).
//
// Usage: cpp-server --port P [--kind nonblocking|threaded] [--transport framed|buffered]
//                   [--io-threads 2]
#include <memory>
#include <string>

#include <thrift/protocol/TBinaryProtocol.h>

#include "HelloWorld.h"
#include "contender-server.h"

namespace {

class Handler : public HelloWorldIf {
 public:
  void sayHello(std::string& out, const std::string& name) override { out = "Hello " + name; }
};

}  // namespace

int main(int argc, char** argv) {
  contender::Options o =
      contender::parse(argc, argv, "usage: cpp-server --port P [--kind nonblocking|threaded] [--transport T]\n");
  auto processor = std::make_shared<HelloWorldProcessor>(std::make_shared<Handler>());
  return contender::serve(processor, std::make_shared<apache::thrift::protocol::TBinaryProtocolFactory>(), o);
}
