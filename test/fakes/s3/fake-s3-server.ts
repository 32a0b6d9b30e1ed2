import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake saw. */
export interface S3Request {
  method: string;
  bucket: string;
  key: string;
  headers: IncomingMessage['headers'];
}

/**
 * A local server speaking the part of the S3 REST API wa-hub's s3 driver uses, path-style
 * (`/{bucket}/{key}`): PutObject, GetObject (with a single `Range`), HeadObject, DeleteObject
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html, API_GetObject.html, API_HeadObject.html,
 * API_DeleteObject.html). Requests must carry a SigV4 `Authorization` for `accessKeyId` (the signature itself is
 * not recomputed). Errors are S3's XML bodies (`NoSuchKey`, `NoSuchBucket`, `AccessDenied`,
 * `InvalidRange`). Objects live in memory. `aws-chunked` bodies are refused (the driver must send plain ones).
 */
export class FakeS3Server {
  readonly objects = new Map<string, { body: Buffer; contentType?: string; etag: string }>();
  readonly requests: S3Request[] = [];
  private server?: Server;

  constructor(
    readonly bucket: string,
    readonly accessKeyId: string,
  ) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  private error(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/xml', ...headers });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const [, bucket, ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const method = req.method ?? '';
    this.requests.push({ method, bucket, key, headers: req.headers });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith(`AWS4-HMAC-SHA256 Credential=${this.accessKeyId}/`)) return this.error(res, 403, 'AccessDenied', 'Access Denied');
    if (bucket !== this.bucket) return this.error(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    if (method === 'PUT') {
      if (String(req.headers['content-encoding'] ?? '').includes('aws-chunked'))
        return this.error(res, 400, 'NotImplemented', 'aws-chunked uploads are not supported by this fake');
      const body = Buffer.concat(chunks);
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) !== body.length)
        return this.error(res, 400, 'IncompleteBody', 'Content-Length mismatch');
      const etag = `"${createHash('md5').update(body).digest('hex')}"`;
      this.objects.set(key, { body, contentType: req.headers['content-type'], etag });
      res.writeHead(200, { etag });
      return void res.end();
    }
    if (method === 'DELETE') {
      this.objects.delete(key);
      res.writeHead(204);
      return void res.end();
    }
    if (method !== 'GET' && method !== 'HEAD') return this.error(res, 405, 'MethodNotAllowed', 'The method is not allowed');
    const obj = this.objects.get(key);
    if (!obj) return this.error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    const size = obj.body.length;
    const base = { etag: obj.etag, 'accept-ranges': 'bytes', 'content-type': obj.contentType ?? 'binary/octet-stream' };
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
    if (range) {
      const start = Number(range[1]);
      const end = range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
      if (start >= size || end < start) return this.error(res, 416, 'InvalidRange', 'The requested range is not satisfiable');
      res.writeHead(206, { ...base, 'content-length': String(end - start + 1), 'content-range': `bytes ${start}-${end}/${size}` });
      return void res.end(method === 'HEAD' ? undefined : obj.body.subarray(start, end + 1));
    }
    res.writeHead(200, { ...base, 'content-length': String(size) });
    res.end(method === 'HEAD' ? undefined : obj.body);
  }
}
