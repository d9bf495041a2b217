// Handler of the overload suite (bench/overload.mjs, chaos scenario 10), for thrifthost and for
// Apache's Node server alike: HelloWorld.sayHello burning THRIFTHOST_BENCH_SPIN_NS nanoseconds of
// CPU per call in a busy loop (bench/lib/spin.cjs) before it answers. Declared with its one
// parameter, not wrapped: Apache's generated processor picks promise or callback style by the
// function's arity, and a `(...args)` wrapper (arity 0) would be handed a callback it never calls.
'use strict';
const { spinner } = require('../lib/spin.cjs');

const spin = spinner(Number(process.env.THRIFTHOST_BENCH_SPIN_NS ?? 0));

exports.HelloWorldHandler = {
  sayHello(name) {
    spin();
    return `Hello ${name}`;
  },
};
