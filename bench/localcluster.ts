/**
 * The local cluster's throughput over HTTP: creates, gets and lists of 10,000 ConfigMaps, watch
 * fan-out (100 watchers × 1,000 updates) and the memory 10,000 ConfigMaps cost. The server runs in
 * this process on plain HTTP; the client, in the same event loop, uses keep-alive agents with at
 * most 32 requests in flight, so every figure includes the client's own cost. The last row is the
 * Registry called directly (no HTTP), for comparison.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startLocalCluster, type LocalCluster } from '../operator/localcluster/index.js';

const OBJECTS = 10_000;
const CONCURRENCY = 32;
const WATCHERS = 100;
const UPDATES = 1_000;
const NAMESPACE = 'bench';

interface Row {
  what: string;
  value: string;
  unit: string;
}

/** `global.gc`, exposed at run time when node was not started with --expose-gc. */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

class HttpClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

  constructor(private readonly base: URL) {}

  send(
    method: string,
    path: string,
    body?: unknown,
    contentType = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
  ): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.base),
        {
          method,
          agent: this.agent,
          headers: {
            Accept: 'application/json',
            ...(payload !== undefined
              ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  async expect(method: string, path: string, status: number, body?: unknown): Promise<string> {
    const r = await this.send(method, path, body);
    if (r.status !== status) throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
    return r.text;
  }

  /** A watch stream; `onEvent` gets each decoded line. Resolves once the headers arrived. */
  watch(path: string, onEvent: (ev: { type: string; object: ConfigMapLike }) => void): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.base), { agent: false }, (res: IncomingMessage) => {
        if (res.statusCode !== 200) return reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let i: number;
          while ((i = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, i);
            buffer = buffer.slice(i + 1);
            if (line.trim()) onEvent(JSON.parse(line) as { type: string; object: ConfigMapLike });
          }
        });
        res.on('error', () => undefined);
        resolve(() => req.destroy());
      });
      req.on('error', (e) => reject(e));
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

interface ConfigMapLike {
  metadata: { name: string; resourceVersion?: string };
  data?: Record<string, string>;
}

const configMap = (i: number): ConfigMapLike & { apiVersion: string; kind: string } => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: `cm-${String(i).padStart(5, '0')}` },
  data: { index: String(i), payload: 'x'.repeat(64) },
});

/** Runs `task(0..n-1)` with at most `concurrency` in flight; returns the elapsed ms. */
async function pool(n: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return performance.now() - start;
}

const perSecond = (n: number, ms: number): string => Math.round((n / ms) * 1000).toLocaleString('en-US');
const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function inProcessCreates(): Promise<Row> {
  const cluster = await startLocalCluster();
  try {
    const reg = cluster.registry;
    const user = { username: 'bench', groups: ['system:masters'] };
    await reg.create(reg.resolve('', 'v1', 'namespaces')!, '', { metadata: { name: NAMESPACE } }, { user });
    const t = reg.resolve('', 'v1', 'configmaps')!;
    const ms = await pool(OBJECTS, 1, (i) => reg.create(t, NAMESPACE, configMap(i), { user }));
    return {
      what: `create (in-process Registry, ${OBJECTS.toLocaleString('en-US')})`,
      value: perSecond(OBJECTS, ms),
      unit: 'objects/s',
    };
  } finally {
    await cluster.stop();
  }
}

async function overHttp(gc: () => void): Promise<Row[]> {
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const cluster: LocalCluster = await startLocalCluster();
  const client = new HttpClient(new URL(cluster.url));
  const rows: Row[] = [];
  const cms = `/api/v1/namespaces/${NAMESPACE}/configmaps`;
  try {
    await client.expect('POST', '/api/v1/namespaces', 201, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NAMESPACE },
    });
    await cluster.settle();
    gc();
    const heapEmpty = process.memoryUsage().heapUsed;
    const rssEmpty = process.memoryUsage().rss;

    const createMs = await pool(OBJECTS, CONCURRENCY, (i) => client.expect('POST', cms, 201, configMap(i)));
    rows.push({
      what: `create (${OBJECTS.toLocaleString('en-US')} ConfigMaps)`,
      value: perSecond(OBJECTS, createMs),
      unit: 'requests/s',
    });

    gc();
    const heapFull = process.memoryUsage().heapUsed;
    const rssFull = process.memoryUsage().rss;

    const getMs = await pool(OBJECTS, CONCURRENCY, () =>
      client.expect('GET', `${cms}/${configMap(Math.floor(Math.random() * OBJECTS)).metadata.name}`, 200),
    );
    rows.push({
      what: `get (${OBJECTS.toLocaleString('en-US')} random)`,
      value: perSecond(OBJECTS, getMs),
      unit: 'requests/s',
    });

    const LISTS = 10;
    const listMs = await pool(LISTS, 1, async () => {
      const text = await client.expect('GET', cms, 200);
      const n = (JSON.parse(text) as { items: unknown[] }).items.length;
      if (n !== OBJECTS) throw new Error(`list returned ${n} items`);
    });
    rows.push({
      what: `list (${OBJECTS.toLocaleString('en-US')} objects)`,
      value: (listMs / LISTS).toFixed(1),
      unit: 'ms/list',
    });
    rows.push({ what: '  list throughput', value: perSecond(OBJECTS * LISTS, listMs), unit: 'objects/s' });

    // watch fan-out: WATCHERS streams from the current resourceVersion, then UPDATES writes
    const rv = (
      JSON.parse(await client.expect('GET', `${cms}?limit=1`, 200)) as {
        metadata: { resourceVersion: string };
      }
    ).metadata.resourceVersion;
    const latencies: number[] = [];
    let delivered = 0;
    let lastDelivery = 0;
    let allDelivered: () => void = () => undefined;
    const done = new Promise<void>((r) => (allDelivered = r));
    const closers = await Promise.all(
      Array.from({ length: WATCHERS }, () =>
        client.watch(`${cms}?watch=true&resourceVersion=${rv}`, (ev) => {
          if (ev.type !== 'MODIFIED') return;
          const sent = Number(ev.object.data?.sentAt);
          lastDelivery = performance.now();
          latencies.push(lastDelivery - sent);
          if (++delivered === WATCHERS * UPDATES) allDelivered();
        }),
      ),
    );
    const watchStart = performance.now();
    await pool(UPDATES, CONCURRENCY, (i) =>
      client.expect('PATCH', `${cms}/${configMap(i).metadata.name}`, 200, {
        data: { sentAt: String(performance.now()) },
      }),
    );
    const timeout = setTimeout(() => allDelivered(), 60_000);
    await done;
    clearTimeout(timeout);
    for (const close of closers) close();
    latencies.sort((a, b) => a - b);
    rows.push({
      what: `watch fan-out (${WATCHERS} watchers × ${UPDATES.toLocaleString('en-US')} updates)`,
      value: perSecond(delivered, lastDelivery - watchStart),
      unit: 'events/s',
    });
    rows.push({ what: '  delivery latency p50', value: percentile(latencies, 50).toFixed(1), unit: 'ms' });
    rows.push({ what: '  delivery latency p99', value: percentile(latencies, 99).toFixed(1), unit: 'ms' });
    if (delivered !== WATCHERS * UPDATES)
      rows.push({ what: '  events missing', value: String(WATCHERS * UPDATES - delivered), unit: 'events' });

    rows.push({
      what: `memory per ${OBJECTS.toLocaleString('en-US')} ConfigMaps (heap)`,
      value: mib(heapFull - heapEmpty),
      unit: 'MiB',
    });
    rows.push({
      what: `memory per ${OBJECTS.toLocaleString('en-US')} ConfigMaps (RSS)`,
      value: mib(rssFull - rssEmpty),
      unit: 'MiB',
    });
    rows.push({ what: 'empty local cluster (heap)', value: mib(heapEmpty - heapBefore), unit: 'MiB' });
  } finally {
    client.close();
    await cluster.stop();
  }
  return rows;
}

function print(rows: Row[]): void {
  const w = Math.max(...rows.map((r) => r.what.length));
  const v = Math.max(...rows.map((r) => r.value.length));
  console.log(`\nlocal cluster (HTTP, ${CONCURRENCY} in flight, keep-alive)`);
  for (const r of rows) console.log(`  ${r.what.padEnd(w)}  ${r.value.padStart(v)} ${r.unit}`);
}

export async function benchLocalCluster(): Promise<void> {
  const gc = collector();
  const rows = await overHttp(gc);
  rows.push(await inProcessCreates());
  print(rows);
}
