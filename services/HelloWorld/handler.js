// Handler of the demo HelloWorld service (idl/HelloWorld.thrift).
// A handler is an object (or class) with one function per IDL method. Return a value or a
// promise; throw an IDL-declared exception to send it to the caller.

/** @type {{ sayHello(name: string): string }} */
exports.HelloWorldHandler = {
  sayHello(name) {
    return `Hello ${name}`;
  },
};
