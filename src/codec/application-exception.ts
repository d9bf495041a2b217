/**
 * Writing a TApplicationException onto the wire.
 *
 * thrift 0.24's `TApplicationException.prototype.write` writes field 2 from `this.code`, a
 * property nothing sets, so the exception type (UNKNOWN_METHOD, INTERNAL_ERROR, ...) never
 * reaches the peer. This writes both fields as the Thrift spec has them.
 */
import thrift from 'thrift';

const { Type } = thrift.Thrift;

/** Writes the struct `TApplicationException { 1: string message, 2: i32 type }`. */
export function writeApplicationException(output: thrift.TProtocol, type: number, message: string): void {
  output.writeStructBegin('TApplicationException');
  output.writeFieldBegin('message', Type.STRING, 1);
  output.writeString(message);
  output.writeFieldEnd();
  output.writeFieldBegin('type', Type.I32, 2);
  output.writeI32(type);
  output.writeFieldEnd();
  output.writeFieldStop();
  output.writeStructEnd();
}
