// Handler of the demo Catalog service (idl/Catalog.thrift): an in-memory item store that
// exercises structs, declared exceptions, i64, containers, void and oneway methods.
const thrift = require('thrift');
const { Item, NotFound, InvalidItem } = require('../../gen/Catalog/Catalog_types');

/** i64 values arrive as node-int64 objects; this store keys them by decimal string. */
const key = (i64) => (typeof i64 === 'number' ? String(i64) : thrift.toBigInt(i64).toString());

class CatalogHandler {
  constructor() {
    this.items = new Map();
    this.touched = new Map();
  }

  ping() {}

  get(id) {
    const item = this.items.get(key(id));
    if (!item) throw new NotFound({ id, message: `no item ${key(id)}` });
    return item;
  }

  put(item) {
    if (!item.title) throw new InvalidItem({ field: 'title', message: 'title must not be empty' });
    this.items.set(key(item.id), new Item(item));
    return item.id;
  }

  find(query, limit) {
    const found = [...this.items.values()].filter((i) => i.title.includes(query));
    return found.slice(0, limit > 0 ? limit : 10);
  }

  index(tags) {
    const out = {};
    for (const tag of tags) {
      out[tag] = [...this.items.values()].filter((i) => (i.tags ?? []).includes(tag)).map((i) => i.id);
    }
    return out;
  }

  touch(id) {
    this.touched.set(key(id), (this.touched.get(key(id)) ?? 0) + 1);
  }

  add(a, b) {
    return thrift.fromBigInt(thrift.toBigInt(a) + thrift.toBigInt(b));
  }

  async echo(data, delayMs) {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    return data.toString('utf8');
  }

  fail(how) {
    if (how === 'declared') throw new InvalidItem({ field: 'how', message: 'asked to fail' });
    if (how === 'async') return Promise.reject(new Error('async failure with a secret: hunter2'));
    if (how === 'undefined') return undefined;
    throw new Error('sync failure with a secret: hunter2');
  }
}

exports.CatalogHandler = CatalogHandler;
