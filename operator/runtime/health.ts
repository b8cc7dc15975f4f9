/**
 * The tiny HTTP server for `/metrics`, `/healthz` and `/readyz` (one server per port; the Manager
 * may put them on one port or two). A check returns true/false or throws (= false).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Check = () => boolean | Promise<boolean>;

export interface HttpEndpointOptions {
  host?: string;
  /** 0: a random port (read it back from `port`). */
  port: number;
  healthz?: Check;
  readyz?: Check;
  /** The Prometheus exposition (text and content type). */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

export class HttpEndpoint {
  private server: Server | undefined;
  port = 0;

  constructor(private readonly o: HttpEndpointOptions) {}

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      void this.handle(req.url ?? '/', req.method ?? 'GET').then(
        ({ code, type, body }) => {
          res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
          res.end(body);
        },
        (e: unknown) => {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(String(e));
        },
      );
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host ?? '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  private async handle(url: string, method: string): Promise<{ code: number; type: string; body: string }> {
    const path = url.split('?')[0];
    if (method !== 'GET' && method !== 'HEAD')
      return { code: 405, type: 'text/plain', body: 'method not allowed\n' };
    const check = async (c: Check | undefined): Promise<{ code: number; type: string; body: string }> => {
      let ok: boolean;
      try {
        ok = c ? await c() : true;
      } catch {
        ok = false;
      }
      return ok
        ? { code: 200, type: 'text/plain', body: 'ok\n' }
        : { code: 503, type: 'text/plain', body: 'not ready\n' };
    };
    if (path === '/healthz' || path === '/livez') return check(this.o.healthz);
    if (path === '/readyz') return check(this.o.readyz);
    if (path === '/metrics' && this.o.metrics) {
      const m = await this.o.metrics();
      return { code: 200, type: m.contentType, body: m.body };
    }
    return { code: 404, type: 'text/plain', body: 'not found\n' };
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
}
