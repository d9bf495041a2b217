// i64 values of the thrift library print as numbers: util.inspect gives `Int64(<decimal>)`,
// JSON.stringify the decimal digits as a string, exact beyond 2^53.
import util from 'node:util';
import thrift from 'thrift';
import { describe, expect, it } from 'vitest';
import '../clients/index.js';

describe('Int64 values', () => {
  it('print as Int64(<decimal>) and serialize to JSON as their decimal digits', () => {
    const big = thrift.fromBigInt(2n ** 62n + 7n);
    const negative = thrift.fromBigInt(-42n);
    expect(util.inspect({ id: big })).toBe(`{ id: Int64(${2n ** 62n + 7n}) }`);
    expect(util.inspect(negative)).toBe('Int64(-42)');
    expect(JSON.stringify({ id: big, n: negative })).toBe(`{"id":"${2n ** 62n + 7n}","n":"-42"}`);
    // The value itself is unchanged: arithmetic helpers and the wire codec see the same Int64.
    expect(thrift.toBigInt(big)).toBe(2n ** 62n + 7n);
  });
});
