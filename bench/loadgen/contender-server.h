// What the C++ contender servers (cpp-server.cpp: HelloWorld; payload-server.cpp: the payload
// suite's Payload) share: their command line and the two Apache libthrift servers they run.
//   --kind nonblocking  TNonblockingServer (libevent, framed only), --io-threads IO threads
//   --kind threaded     TThreadedServer (a thread per connection; buffered or framed)
// Prints "READY <port>" on stdout once it accepts connections.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <thrift/TProcessor.h>
#include <thrift/protocol/TProtocol.h>
#include <thrift/server/TNonblockingServer.h>
#include <thrift/server/TThreadedServer.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TNonblockingServerSocket.h>
#include <thrift/transport/TServerSocket.h>

namespace contender {

/** --port --kind --transport --protocol --io-threads; other flags are ignored. */
struct Options {
  int port = 0;
  int ioThreads = 2;
  std::string kind = "nonblocking";
  std::string transport = "framed";
  std::string protocol = "binary";
};

/** Parses the command line; prints `usage` and exits 2 without a port. */
inline Options parse(int argc, char** argv, const char* usage) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--port") o.port = std::atoi(v.c_str());
    else if (a == "--kind") o.kind = v;
    else if (a == "--transport") o.transport = v;
    else if (a == "--protocol") o.protocol = v;
    else if (a == "--io-threads") o.ioThreads = std::atoi(v.c_str());
  }
  if (o.port <= 0) {
    std::fputs(usage, stderr);
    std::exit(2);
  }
  return o;
}

/** Serves `processor` on 127.0.0.1:<port> with the server `o.kind` names; returns the exit code. */
inline int serve(std::shared_ptr<apache::thrift::TProcessor> processor,
                 std::shared_ptr<apache::thrift::protocol::TProtocolFactory> protocols, const Options& o);

// --- internal ---

class Ready : public apache::thrift::server::TServerEventHandler {
 public:
  explicit Ready(int port) : port_(port) {}
  void preServe() override {
    std::printf("READY %d\n", port_);
    std::fflush(stdout);
  }

 private:
  int port_;
};

inline int serve(std::shared_ptr<apache::thrift::TProcessor> processor,
                 std::shared_ptr<apache::thrift::protocol::TProtocolFactory> protocols, const Options& o) {
  using namespace apache::thrift;
  auto ready = std::make_shared<Ready>(o.port);
  if (o.kind == "nonblocking") {
    if (o.transport != "framed") {
      std::fprintf(stderr, "TNonblockingServer speaks framed transport only\n");
      return 2;
    }
    auto socket = std::make_shared<transport::TNonblockingServerSocket>("127.0.0.1", o.port);
    server::TNonblockingServer server(processor, protocols, socket);
    server.setNumIOThreads(o.ioThreads);
    server.setServerEventHandler(ready);
    server.serve();
  } else {
    std::shared_ptr<transport::TTransportFactory> transports =
        o.transport == "framed"
            ? std::shared_ptr<transport::TTransportFactory>(std::make_shared<transport::TFramedTransportFactory>())
            : std::shared_ptr<transport::TTransportFactory>(
                  std::make_shared<transport::TBufferedTransportFactory>());
    auto socket = std::make_shared<transport::TServerSocket>("127.0.0.1", o.port);
    server::TThreadedServer server(processor, socket, transports, protocols);
    server.setServerEventHandler(ready);
    server.serve();
  }
  return 0;
}

}  // namespace contender
