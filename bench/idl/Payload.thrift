// Bench-only service for the payload suite (bench/payload.mjs): every method returns what it
// is given, or (insanity) the reply shape of Apache ThriftTest's testInsanity. Generated into
// bench/out/ by the bench itself (JavaScript for the Node servers, C++ for libthrift's).
namespace cpp bench
namespace js Payload

enum Numberz {
  ONE = 1,
  TWO = 2,
  THREE = 3,
  FIVE = 5,
  SIX = 6,
  EIGHT = 8
}

typedef i64 UserId

struct Xtruct {
  1: string string_thing,
  4: i8 byte_thing,
  9: i32 i32_thing,
  11: i64 i64_thing
}

struct Insanity {
  1: map<Numberz, UserId> userMap,
  2: list<Xtruct> xtructs
}

struct Small {
  1: i32 id,
  2: string name,
  3: bool active,
  4: double score,
  5: i64 stamp
}

service Payload {
  list<i32> echoList(1: list<i32> values),
  map<UserId, map<Numberz, Insanity>> insanity(1: Insanity argument),
  string echoString(1: string text),
  Small echoSmall(1: Small small)
}
