/**
 * The slice of Apache `thrift` 0.24's Node library that thrifthost uses.
 *
 * Written by hand on purpose: `@types/thrift` (0.10) predates 0.24 and still declares `Q`,
 * which 0.24 removed, so code type-checked against it can fail at run time.
 */
declare module 'thrift' {
  import type { Socket } from 'node:net';

  export interface TTransport {
    flush(): void;
    write(buf: Buffer | string): void;
  }
  export interface TProtocol {
    readMessageBegin(): { fname: string; mtype: number; rseqid: number };
    readMessageEnd(): void;
    writeMessageBegin(name: string, type: number, seqid: number): void;
    writeMessageEnd(): void;
    skip(type: number): void;
    flush(): void;
    [key: string]: any;
  }
  export type ProtocolClass = new (trans: any, options?: unknown) => TProtocol;
  export type TransportClass = new (buffer?: Buffer, callback?: (msg: Buffer, seqid?: number) => void) => any;

  export const TBinaryProtocol: ProtocolClass;
  export const TCompactProtocol: ProtocolClass;
  export const TJSONProtocol: ProtocolClass;
  export const TBufferedTransport: TransportClass & { receiver: any };
  export const TFramedTransport: TransportClass & { receiver: any };

  export namespace Thrift {
    const Type: Record<
      | 'STOP'
      | 'VOID'
      | 'BOOL'
      | 'BYTE'
      | 'I08'
      | 'DOUBLE'
      | 'I16'
      | 'I32'
      | 'I64'
      | 'STRING'
      | 'UTF7'
      | 'STRUCT'
      | 'MAP'
      | 'SET'
      | 'LIST'
      | 'UTF8'
      | 'UTF16',
      number
    >;
    const MessageType: { CALL: 1; REPLY: 2; EXCEPTION: 3; ONEWAY: 4 };
    const TApplicationExceptionType: Record<
      | 'UNKNOWN'
      | 'UNKNOWN_METHOD'
      | 'INVALID_MESSAGE_TYPE'
      | 'WRONG_METHOD_NAME'
      | 'BAD_SEQUENCE_ID'
      | 'MISSING_RESULT'
      | 'INTERNAL_ERROR'
      | 'PROTOCOL_ERROR'
      | 'INVALID_TRANSFORM'
      | 'INVALID_PROTOCOL'
      | 'UNSUPPORTED_CLIENT_TYPE',
      number
    >;
    class TException extends Error {
      constructor(message?: string);
    }
    class TApplicationException extends TException {
      constructor(type?: number, message?: string);
      type: number;
      read(input: TProtocol): void;
      write(output: TProtocol): void;
    }
    class TProtocolException extends Error {
      constructor(type?: number, message?: string);
      type: number;
    }
  }

  export class Int64 {
    constructor(a1?: unknown, a2?: unknown);
    buffer: Buffer;
    toNumber(allowImprecise?: boolean): number;
    toOctetString(): string;
  }
  export function toBigInt(i64: Int64): bigint;
  export function fromBigInt(v: bigint | string | number): Int64;

  export interface ConnectionOptions {
    transport?: TransportClass;
    protocol?: ProtocolClass;
    connect_timeout?: number;
    timeout?: number;
    max_attempts?: number;
    [key: string]: unknown;
  }
  export class Connection {
    connection: Socket;
    connected: boolean;
    on(event: string, cb: (...args: any[]) => void): this;
    end(): void;
    destroy(): void;
  }
  export function createConnection(host: string, port: number, options?: ConnectionOptions): Connection;
  export function createClient<T = any>(service: any, connection: Connection): T;
  export function createServer(
    processor: any,
    handler: any,
    options?: Record<string, unknown>,
  ): import('node:net').Server;
}
