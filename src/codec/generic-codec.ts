/**
 * The generic codec: values of an IDL type written to and read from the wire without generated
 * code, driven by the resolved IDL (`src/idl/`). Writing takes values already checked by
 * `generic-values.ts` and goes through the checked output protocols (`output-protocols.ts`);
 * reading goes through the bounded input protocols (`input-protocol.ts`: every length, count
 * and depth checked) and gives the JSON form (`src/idl/json-form.ts`). Fields are read in any
 * order; a field the IDL does not know, or whose wire type differs from the IDL's, is skipped,
 * as generated code skips it.
 */
import thrift from 'thrift';
import { doubleToJson, i64ToJson, type JsonValue, mapIsObject, setKey } from '../idl/json-form.js';
import type { ResolvedField, ResolvedStruct, ResolvedType } from '../idl/resolved.js';
import { violation } from './decode-limits.js';
import { type InputProtocol, T } from './input-protocol.js';
import type { WireMap, WireStruct, WireValue } from './generic-values.js';

/** The wire type id of an IDL type. */
export function wireType(type: ResolvedType): number {
  switch (type.kind) {
    case 'bool':
      return T.BOOL;
    case 'i8':
      return T.BYTE;
    case 'i16':
      return T.I16;
    case 'i32':
    case 'enum':
      return T.I32;
    case 'i64':
      return T.I64;
    case 'double':
      return T.DOUBLE;
    case 'string':
    case 'binary':
      return T.STRING;
    case 'uuid':
      return T.UUID;
    case 'struct':
      return T.STRUCT;
    case 'map':
      return T.MAP;
    case 'set':
      return T.SET;
    case 'list':
      return T.LIST;
  }
}

/** Writes a struct checked by `generic-values.ts`. */
export function writeStruct(out: thrift.TProtocol, value: WireStruct): void {
  out.writeStructBegin(value.struct.name);
  for (const [field, v] of value.fields) {
    out.writeFieldBegin(field.name, wireType(field.type), field.id);
    writeValue(out, field.type, v);
    out.writeFieldEnd();
  }
  out.writeFieldStop();
  out.writeStructEnd();
}

/** Reads a struct into its JSON form: set fields by name, in IDL order. */
export function readStruct(input: InputProtocol, struct: ResolvedStruct): Record<string, JsonValue> {
  const found = new Map<ResolvedField, JsonValue>();
  input.readStructBegin();
  for (;;) {
    const { ftype, fid } = input.readFieldBegin();
    if (ftype === T.STOP) break;
    const field = struct.fields.find((f) => f.id === fid);
    if (field && wireType(field.type) === ftype) found.set(field, readValue(input, field.type));
    else input.skip(ftype);
    input.readFieldEnd();
  }
  input.readStructEnd();
  const out: Record<string, JsonValue> = {};
  for (const f of struct.fields) if (found.has(f)) setKey(out, f.name, found.get(f)!);
  return out;
}

/** Reads one value of `type` into its JSON form. */
export function readValue(input: InputProtocol, type: ResolvedType): JsonValue {
  switch (type.kind) {
    case 'bool':
      return input.readBool();
    case 'i8':
      return input.readByte();
    case 'i16':
      return input.readI16();
    case 'i32':
      return input.readI32();
    case 'enum': {
      const n = input.readI32();
      return type.enum.byValue.get(n) ?? n;
    }
    case 'i64':
      return i64ToJson(toBigInt(input.readI64()));
    case 'double':
      return doubleToJson(input.readDouble());
    case 'string':
      return input.readString();
    case 'binary':
      return input.readBinary().toString('base64');
    case 'uuid':
      return input.readUuid();
    case 'struct':
      return readStruct(input, type.struct);
    case 'list':
    case 'set': {
      const header = type.kind === 'set' ? input.readSetBegin() : input.readListBegin();
      const { etype, size } = header;
      if (size > 0) expectWireType(etype, type.element, `${type.kind} element`);
      const out: JsonValue[] = [];
      for (let i = 0; i < size; i++) out.push(readValue(input, type.element));
      if (type.kind === 'set') input.readSetEnd();
      else input.readListEnd();
      return out;
    }
    case 'map': {
      const { ktype, vtype, size } = input.readMapBegin();
      if (size > 0) {
        expectWireType(ktype, type.key, 'map key');
        expectWireType(vtype, type.value, 'map value');
      }
      const asObject = mapIsObject(type.key);
      const object: Record<string, JsonValue> = {};
      const pairs: JsonValue[] = [];
      for (let i = 0; i < size; i++) {
        const k = readValue(input, type.key);
        const v = readValue(input, type.value);
        if (asObject) setKey(object, String(k), v);
        else pairs.push([k, v]);
      }
      input.readMapEnd();
      return asObject ? object : pairs;
    }
  }
}

// --- internal ---

function writeValue(out: thrift.TProtocol, type: ResolvedType, v: WireValue): void {
  switch (type.kind) {
    case 'bool':
      out.writeBool(v as boolean);
      return;
    case 'i8':
      out.writeByte(v as number);
      return;
    case 'i16':
      out.writeI16(v as number);
      return;
    case 'i32':
    case 'enum':
      out.writeI32(v as number);
      return;
    case 'i64':
      out.writeI64(v as unknown as number);
      return;
    case 'double':
      out.writeDouble(v as number);
      return;
    case 'string':
      out.writeString(v as string);
      return;
    case 'binary':
      out.writeBinary(v as Buffer);
      return;
    case 'uuid':
      (out as unknown as { writeUuid(s: string): void }).writeUuid(v as string);
      return;
    case 'struct':
      writeStruct(out, v as WireStruct);
      return;
    case 'list':
    case 'set': {
      const items = v as WireValue[];
      if (type.kind === 'set') out.writeSetBegin(wireType(type.element), items.length);
      else out.writeListBegin(wireType(type.element), items.length);
      for (const item of items) writeValue(out, type.element, item);
      if (type.kind === 'set') out.writeSetEnd();
      else out.writeListEnd();
      return;
    }
    case 'map': {
      const { entries } = v as WireMap;
      out.writeMapBegin(wireType(type.key), wireType(type.value), entries.length);
      for (const [k, val] of entries) {
        writeValue(out, type.key, k);
        writeValue(out, type.value, val);
      }
      out.writeMapEnd();
      return;
    }
  }
}

function toBigInt(v: thrift.Int64 | bigint): bigint {
  if (typeof v === 'bigint') return v;
  return v.buffer.readBigInt64BE((v as unknown as { offset?: number }).offset ?? 0);
}

/** A non-empty container whose element type is not the IDL's cannot be read as the IDL says. */
function expectWireType(actual: number, type: ResolvedType, what: string): void {
  const expected = wireType(type);
  if (actual !== expected) violation(`${what} of wire type ${actual} where the IDL says ${expected}; the peer's IDL differs`);
}
