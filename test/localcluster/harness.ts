/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument -- Kubernetes objects are untyped JSON here (Obj) */
/**
 * The API server an integration test talks to: the in-process local cluster by default, or the
 * cluster in `MESHWRIGHT_TEST_KUBECONFIG` (server URL, CA, bearer token or client certificate).
 * Each test gets its own namespace (`await h.namespace()`), deleted when the test ends.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import {
  startLocalCluster,
  type LocalCluster,
  type LocalClusterOptions,
} from '../../operator/localcluster/index.js';

export interface Response<T = Obj> {
  status: number;
  headers: IncomingMessage['headers'];
  body: T;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  accept?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface WatchEvent {
  type: string;
  object: Obj;
}

export interface WatchStream {
  /** The next event satisfying `predicate` (others are consumed); rejects after `timeoutMs`. */
  next(predicate?: (ev: WatchEvent) => boolean, timeoutMs?: number): Promise<WatchEvent>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  /** Every event received so far. */
  readonly events: WatchEvent[];
  close(): void;
}

interface Connection {
  server: string;
  ca?: string;
  token?: string;
  cert?: string;
  key?: string;
}

export const REAL = Boolean(process.env.MESHWRIGHT_TEST_KUBECONFIG);

function connectionFromKubeconfig(path: string): Connection {
  const kc = parse(readFileSync(path, 'utf8')) as Obj;
  const ctxName = kc['current-context'] as string;
  const ctx = (kc.contexts as Obj[]).find((c) => c.name === ctxName)!.context as Obj;
  const cluster = (kc.clusters as Obj[]).find((c) => c.name === ctx.cluster)!.cluster as Obj;
  const user = ((kc.users as Obj[]).find((u) => u.name === ctx.user)?.user ?? {}) as Obj;
  const b64 = (s: string | undefined): string | undefined =>
    s ? Buffer.from(s, 'base64').toString('utf8') : undefined;
  const file = (p: string | undefined): string | undefined => (p ? readFileSync(p, 'utf8') : undefined);
  return {
    server: String(cluster.server).replace(/\/$/, ''),
    ...((b64(cluster['certificate-authority-data']) ?? file(cluster['certificate-authority']))
      ? { ca: b64(cluster['certificate-authority-data']) ?? file(cluster['certificate-authority']) }
      : {}),
    ...(user.token ? { token: user.token as string } : {}),
    ...((b64(user['client-certificate-data']) ?? file(user['client-certificate']))
      ? { cert: b64(user['client-certificate-data']) ?? file(user['client-certificate']) }
      : {}),
    ...((b64(user['client-key-data']) ?? file(user['client-key']))
      ? { key: b64(user['client-key-data']) ?? file(user['client-key']) }
      : {}),
  };
}

const bodyText = (body: unknown): string => (typeof body === 'string' ? body : JSON.stringify(body));

export class Client {
  constructor(readonly conn: Connection) {}

  private open(method: string, path: string, opts: RequestOptions): ReturnType<typeof httpRequest> {
    const url = new URL(this.conn.server + path);
    const headers: Record<string, string> = {
      Accept: opts.accept ?? 'application/json',
      ...(this.conn.token ? { Authorization: `Bearer ${this.conn.token}` } : {}),
      ...(opts.headers ?? {}),
    };
    if (opts.body !== undefined) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(bodyText(opts.body)));
    }
    const options = {
      method,
      headers,
      agent: false as const,
      ...(this.conn.ca ? { ca: this.conn.ca } : {}),
      ...(this.conn.cert ? { cert: this.conn.cert, key: this.conn.key } : {}),
    };
    return url.protocol === 'https:' ? httpsRequest(url, options) : httpRequest(url, options);
  }

  request<T = Obj>(method: string, path: string, opts: RequestOptions = {}): Promise<Response<T>> {
    return new Promise((resolve, reject) => {
      const req = this.open(method, path, opts);
      req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(new Error(`timeout: ${method} ${path}`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body as T });
        });
      });
      if (opts.body !== undefined) req.write(bodyText(opts.body));
      req.end();
    });
  }

  get = (path: string, opts?: RequestOptions) => this.request('GET', path, opts);
  post = (path: string, body: unknown, opts: RequestOptions = {}) =>
    this.request('POST', path, { ...opts, body });
  put = (path: string, body: unknown, opts: RequestOptions = {}) =>
    this.request('PUT', path, { ...opts, body });
  delete = (path: string, body?: unknown) => this.request('DELETE', path, body === undefined ? {} : { body });
  patch = (path: string, body: unknown, contentType = 'application/merge-patch+json') =>
    this.request('PATCH', path, { body, contentType });

  /** Opens a watch (`path` includes `?watch=true&...`). */
  watch(path: string): Promise<WatchStream> {
    return new Promise((resolve, reject) => {
      const req = this.open('GET', path, {});
      req.on('error', reject);
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
          res.resume();
          return;
        }
        const events: WatchEvent[] = [];
        let cursor = 0;
        const waiters: (() => void)[] = [];
        let buffer = '';
        let endResolve!: () => void;
        const ended = new Promise<void>((r) => (endResolve = r));
        let isEnded = false;
        const wake = (): void => {
          for (const w of waiters.splice(0)) w();
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let i: number;
          while ((i = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, i).trim();
            buffer = buffer.slice(i + 1);
            if (line) events.push(JSON.parse(line) as WatchEvent);
          }
          wake();
        });
        const finish = (): void => {
          isEnded = true;
          endResolve();
          wake();
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
        resolve({
          events,
          ended,
          close: () => req.destroy(),
          next: async (predicate = () => true, timeoutMs = 5000) => {
            const deadline = Date.now() + timeoutMs;
            for (;;) {
              while (cursor < events.length) {
                const ev = events[cursor++]!;
                if (predicate(ev)) return ev;
              }
              if (isEnded)
                throw new Error(
                  `watch ${path} ended before the expected event; got ${JSON.stringify(events.map((e) => `${e.type} ${e.object?.metadata?.name ?? ''}`))}`,
                );
              const left = deadline - Date.now();
              if (left <= 0)
                throw new Error(
                  `no matching watch event within ${timeoutMs} ms on ${path}; got ${JSON.stringify(events.map((e) => `${e.type} ${e.object?.metadata?.name ?? ''}`))}`,
                );
              await new Promise<void>((r) => {
                const t = setTimeout(r, left);
                waiters.push(() => {
                  clearTimeout(t);
                  r();
                });
              });
            }
          },
        });
      });
      req.end();
    });
  }
}

export interface Harness extends Client {
  /** The in-process cluster (undefined against a real one: tests of fault hooks skip). */
  local?: LocalCluster;
  /** A fresh namespace for this test, deleted when the harness is closed. */
  namespace(prefix?: string): Promise<string>;
  /** A unique suffix for cluster-scoped names (CRD groups, ClusterRoles). */
  unique(): string;
  /** Registers a cleanup step (cluster-scoped objects). */
  cleanup(fn: () => Promise<unknown>): void;
  close(): Promise<void>;
}

/** Polls `fn` until it returns a truthy value (bounded). For conditions no watch can express. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function connect(options: LocalClusterOptions = {}): Promise<Harness> {
  let local: LocalCluster | undefined;
  let conn: Connection;
  if (REAL && !options.tls) conn = connectionFromKubeconfig(process.env.MESHWRIGHT_TEST_KUBECONFIG!);
  else {
    local = await startLocalCluster(options);
    conn = {
      server: local.url,
      ...(local.caCertPem ? { ca: local.caCertPem } : {}),
      ...(local.token ? { token: local.token } : {}),
    };
  }
  const client = new Client(conn);
  const namespaces: string[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  const h = Object.assign(client, {
    local,
    unique: () => randomBytes(4).toString('hex'),
    async namespace(prefix = 'lc') {
      const name = `${prefix}-${randomBytes(4).toString('hex')}`;
      const r = await client.post('/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name },
      });
      if (r.status !== 201) throw new Error(`creating namespace ${name}: ${JSON.stringify(r.body)}`);
      namespaces.push(name);
      return name;
    },
    cleanup(fn: () => Promise<unknown>) {
      cleanups.push(fn);
    },
    async close() {
      for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
      for (const ns of namespaces) await client.delete(`/api/v1/namespaces/${ns}`).catch(() => undefined);
      await local?.stop();
    },
  });
  return h;
}

export const configMap = (
  name: string,
  data: Record<string, string> = { a: '1' },
  labels?: Record<string, string>,
): Obj => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(labels ? { labels } : {}) },
  data,
});

/** A minimal CRD with a unique group, a status subresource, printer columns and a schema with defaults. */
export function widgetCrd(group: string, scope: 'Namespaced' | 'Cluster' = 'Namespaced'): Obj {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope,
      names: {
        plural: 'widgets',
        singular: 'widget',
        kind: 'Widget',
        shortNames: ['wdg'],
        categories: ['lctest'],
      },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A widget.',
              properties: {
                spec: {
                  type: 'object',
                  description: 'What the widget should be.',
                  properties: {
                    size: { type: 'integer', minimum: 1, maximum: 10, description: 'How big.' },
                    color: {
                      type: 'string',
                      default: 'blue',
                      enum: ['blue', 'red'],
                      description: 'Which color.',
                    },
                  },
                  required: ['size'],
                },
                status: {
                  type: 'object',
                  properties: {
                    phase: { type: 'string' },
                    conditions: {
                      type: 'array',
                      items: {
                        type: 'object',
                        properties: { type: { type: 'string' }, status: { type: 'string' } },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}
