// HelloWorld handler for multi-host tests: names the port that served the call, which the
// host-server child puts in THRIFTHOST_TEST_PORT once it listens.
exports.HelloWorldHandler = {
  sayHello(name) {
    return `Hello ${name} from ${process.env.THRIFTHOST_TEST_PORT}`;
  },
};
