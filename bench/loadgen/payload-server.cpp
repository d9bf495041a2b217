// The C++ contenders of the payload suite: the bench-only Payload service
// (bench/idl/Payload.thrift) served by Apache libthrift, with the same replies as the Node
// handler (bench/servers/payload-handler.js).
//   --kind nonblocking  TNonblockingServer (libevent, framed only), --io-threads IO threads
//   --kind threaded     TThreadedServer (a thread per connection; buffered or framed)
// Prints "READY <port>" on stdout once it accepts connections.
//
// Usage: payload-server --port P [--kind nonblocking|threaded] [--transport framed|buffered]
//                       [--protocol binary|compact] [--io-threads 2]
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TCompactProtocol.h>
#include <thrift/server/TNonblockingServer.h>
#include <thrift/server/TThreadedServer.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TNonblockingServerSocket.h>
#include <thrift/transport/TServerSocket.h>

#include "Payload.h"

using namespace apache::thrift;

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

class Ready : public server::TServerEventHandler {
 public:
  explicit Ready(int port) : port_(port) {}
  void preServe() override {
    std::printf("READY %d\n", port_);
    std::fflush(stdout);
  }

 private:
  int port_;
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0, ioThreads = 2;
  std::string kind = "nonblocking", transport = "framed", protocol = "binary";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--port") port = std::atoi(v.c_str());
    else if (a == "--kind") kind = v;
    else if (a == "--transport") transport = v;
    else if (a == "--protocol") protocol = v;
    else if (a == "--io-threads") ioThreads = std::atoi(v.c_str());
  }
  if (port <= 0) {
    std::fprintf(stderr,
                 "usage: payload-server --port P [--kind nonblocking|threaded] [--transport T] [--protocol P]\n");
    return 2;
  }
  auto processor = std::make_shared<bench::PayloadProcessor>(std::make_shared<Handler>());
  std::shared_ptr<protocol::TProtocolFactory> protocols =
      protocol == "compact" ? std::shared_ptr<protocol::TProtocolFactory>(
                                  std::make_shared<protocol::TCompactProtocolFactory>())
                            : std::shared_ptr<protocol::TProtocolFactory>(
                                  std::make_shared<protocol::TBinaryProtocolFactory>());
  auto ready = std::make_shared<Ready>(port);
  if (kind == "nonblocking") {
    if (transport != "framed") {
      std::fprintf(stderr, "TNonblockingServer speaks framed transport only\n");
      return 2;
    }
    auto socket = std::make_shared<transport::TNonblockingServerSocket>("127.0.0.1", port);
    server::TNonblockingServer server(processor, protocols, socket);
    server.setNumIOThreads(ioThreads);
    server.setServerEventHandler(ready);
    server.serve();
  } else {
    std::shared_ptr<transport::TTransportFactory> transports =
        transport == "framed"
            ? std::shared_ptr<transport::TTransportFactory>(std::make_shared<transport::TFramedTransportFactory>())
            : std::shared_ptr<transport::TTransportFactory>(
                  std::make_shared<transport::TBufferedTransportFactory>());
    auto socket = std::make_shared<transport::TServerSocket>("127.0.0.1", port);
    server::TThreadedServer server(processor, socket, transports, protocols);
    server.setServerEventHandler(ready);
    server.serve();
  }
  return 0;
}
