// A richer service used by the demo and the tests: structs, a declared exception,
// i64, containers, optional fields, void and oneway methods.
namespace js Catalog

enum Category {
  BOOK = 1,
  MUSIC = 2,
  TOOL = 3
}

struct Item {
  1: required i64 id,
  2: required string title,
  3: optional Category category = Category.BOOK,
  4: optional double price,
  5: list<string> tags,
  6: map<string, i32> stock,
  7: set<i64> related,
  8: optional binary thumbnail,
  9: optional bool active = true
}

exception NotFound {
  1: i64 id,
  2: string message
}

exception InvalidItem {
  1: string field,
  2: string message
}

service Catalog {
  void ping(),
  Item get(1: i64 id) throws (1: NotFound notFound),
  i64 put(1: Item item) throws (1: InvalidItem invalid),
  list<Item> find(1: string query, 2: i32 limit),
  map<string, list<i64>> index(1: set<string> tags),
  oneway void touch(1: i64 id),
  i64 add(1: i64 a, 2: i64 b),
  string echo(1: binary data, 2: i32 delayMs),
  void fail(1: string how)
}
