// Handler of the bench-only Payload service (bench/idl/Payload.thrift), shared by the thrifthost
// and Apache Node contenders: echoes, and for `insanity` the reply of Apache ThriftTest's
// testInsanity (the argument twice under user 1, an empty Insanity under user 2).
'use strict';

class PayloadHandler {
  echoList(values) {
    return values;
  }

  insanity(argument) {
    return { 1: { 2: argument, 3: argument }, 2: { 6: { userMap: {}, xtructs: [] } } };
  }

  echoString(text) {
    return text;
  }

  echoSmall(small) {
    return small;
  }
}

exports.PayloadHandler = PayloadHandler;
