// The C++ contenders of the payload suite: the bench-only Payload service
// (bench/idl/Payload.thrift) served by Apache libthrift, with the same replies as the Node
// handler (bench/servers/payload-handler.js), with the servers of contender-server.h.
//
// Usage: payload-server --port P [--kind nonblocking|threaded] [--transport framed|buffered]
//                       [--protocol binary|compact] [--io-threads 2]
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TCompactProtocol.h>

#include "Payload.h"
#include "contender-server.h"

namespace {

class Handler : public bench::PayloadIf {
 public:
  void echoList(std::vector<int32_t>& out, const std::vector<int32_t>& values) override { out = values; }

  void insanity(std::map<bench::UserId, std::map<bench::Numberz::type, bench::Insanity>>& out,
                const bench::Insanity& argument) override {
    out[1][bench::Numberz::TWO] = argument;
    out[1][bench::Numberz::THREE] = argument;
    out[2][bench::Numberz::SIX] = bench::Insanity();
  }

  void echoString(std::string& out, const std::string& text) override { out = text; }

  void echoSmall(bench::Small& out, const bench::Small& small) override { out = small; }
};

}  // namespace

int main(int argc, char** argv) {
  using namespace apache::thrift;
  contender::Options o = contender::parse(
      argc, argv, "usage: payload-server --port P [--kind nonblocking|threaded] [--transport T] [--protocol P]\n");
  auto processor = std::make_shared<bench::PayloadProcessor>(std::make_shared<Handler>());
  std::shared_ptr<protocol::TProtocolFactory> protocols =
      o.protocol == "compact" ? std::shared_ptr<protocol::TProtocolFactory>(
                                    std::make_shared<protocol::TCompactProtocolFactory>())
                              : std::shared_ptr<protocol::TProtocolFactory>(
                                    std::make_shared<protocol::TBinaryProtocolFactory>());
  return contender::serve(processor, protocols, o);
}
