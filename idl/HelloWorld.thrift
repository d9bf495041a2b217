// The classic first service: one method, one string in, one string out.
namespace js HelloWorld

service HelloWorld {
  string sayHello(1: string name)
}
