/**
 * A small HTTP client for tests: any method, fresh connection, JSON body parsed when there is one.
 */
import http from 'node:http';

/** What {@link request} resolves with. */
export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: any;
}

/** Sends `method url` with `headers` and no body. */
export function request(
  method: string,
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = body ? JSON.parse(body) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.end();
  });
}

/** `Authorization: Bearer <token>`. */
export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** `Authorization: Basic ...`. */
export const basic = (user: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
