/**
 * The injection webhook: an HTTPS server that answers the API server's AdmissionReviews
 * (admission.k8s.io/v1) on `POST /inject` with `inject()`'s verdict — a base64 JSONPatch, an
 * allowed review without a patch, or a refusal (`allowed: false`, `status.code: 403` and a message
 * the user sees in the API error).
 *
 * Certificate rotation. The serving certificate is a Secret volume that cert-manager renews; the
 * kubelet swaps the files atomically (a `..data` symlink). The server re-reads `tls.crt` and
 * `tls.key` every `reloadIntervalMs` on the Clock and, when they changed and form a valid pair,
 * gives them to `server.setSecureContext`: new connections get the new certificate, open ones go
 * on, nothing restarts. A pair that does not load (a half-written rotation) keeps the previous one
 * in force until the next read. Polling rather than fs.watch: watching a directory the kubelet
 * updates by renaming symlinks is unreliable across platforms, and a Clock-driven read is testable.
 *
 * The server is `ready()` only once a certificate is loaded: before that, TLS handshakes fail.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { INJECT_PATH } from '../../meshinstallation/names.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import type { Logger } from '../../runtime/log.js';
import type { MeshConfig } from '../meshconfig.js';
import { inject, type InjectResult } from './inject.js';

export interface InjectorServerOptions {
  host: string;
  /** 0: a free port (read it back from `port`). */
  port: number;
  /** A directory with `tls.crt` and `tls.key` (a cert-manager Secret volume); or name the files. */
  tlsDir?: string;
  certFile?: string;
  keyFile?: string;
  /** The current mesh configuration, read on every request (so a new `mesh.yaml` applies at once). */
  mesh: () => MeshConfig;
  logger: Logger;
  registry?: Registry;
  clock?: Clock;
  /** How often the certificate files are read again; 10 s by default. */
  reloadIntervalMs?: number;
  /** Called each time a certificate is put in service (the first one included). */
  onCertificate?: (certificate: LoadedCertificate) => void;
}

export interface LoadedCertificate {
  /** Hex, upper case (`X509Certificate.serialNumber`). */
  serialNumber: string;
  notAfter: Date;
}

/** What a read of the certificate files found. */
export type ReloadResult = 'loaded' | 'unchanged' | 'invalid';

export interface InjectorServer {
  port: number;
  /** True once a certificate is in service. */
  ready(): boolean;
  /** The certificate in service, if any. */
  certificate(): LoadedCertificate | undefined;
  /** Reads the certificate files now (the timer does this every `reloadIntervalMs`). */
  reload(): Promise<ReloadResult>;
  stop(): Promise<void>;
}

const DEFAULT_RELOAD_INTERVAL_MS = 10_000;
/** The API server refuses objects over 3 MiB; a review holds one (two on updates). */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export async function startInjectorServer(o: InjectorServerOptions): Promise<InjectorServer> {
  const certFile = o.certFile ?? (o.tlsDir !== undefined ? join(o.tlsDir, 'tls.crt') : undefined);
  const keyFile = o.keyFile ?? (o.tlsDir !== undefined ? join(o.tlsDir, 'tls.key') : undefined);
  if (certFile === undefined || keyFile === undefined) {
    throw new TypeError('startInjectorServer needs tlsDir, or certFile and keyFile');
  }
  const clock = o.clock ?? systemClock;
  const interval = o.reloadIntervalMs ?? DEFAULT_RELOAD_INTERVAL_MS;
  const log = o.logger.child({ component: 'injector' });
  const metrics = o.registry ? injectorMetrics(o.registry) : undefined;

  const server: Server = createServer({}, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      log.error({ err: e }, 'Injector request failed');
      if (!res.headersSent) send(res, 500, status(500, 'InternalError', 'internal error'));
      else res.destroy();
    });
  });
  // A client that never finishes its request must not hold a socket forever (the API server gives up after 10 s anyway).
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;

  // ------------------------------------------------------------------------ certificate

  let current: (LoadedCertificate & { digest: string }) | undefined;
  let lastProblem: string | undefined;
  let reloading: Promise<ReloadResult> = Promise.resolve('unchanged');

  async function readCertificate(): Promise<ReloadResult> {
    let cert: Buffer;
    let key: Buffer;
    try {
      [cert, key] = await Promise.all([readFile(certFile!), readFile(keyFile!)]);
    } catch (e) {
      return invalid(`cannot read the serving certificate: ${(e as Error).message}`);
    }
    const digest = createHash('sha256').update(cert).update('\0').update(key).digest('hex');
    if (digest === current?.digest) return 'unchanged';
    let loaded: LoadedCertificate;
    try {
      const x509 = new X509Certificate(cert);
      createSecureContext({ cert, key }); // throws when the key does not match the certificate
      server.setSecureContext({ cert, key });
      loaded = { serialNumber: x509.serialNumber, notAfter: new Date(x509.validTo) };
    } catch (e) {
      return invalid(
        `${certFile} and ${keyFile} are not a usable certificate and key: ${(e as Error).message}`,
      );
    }
    current = { ...loaded, digest };
    lastProblem = undefined;
    metrics?.notAfter.set(loaded.notAfter.getTime() / 1000);
    log.info(
      { serialNumber: loaded.serialNumber, notAfter: loaded.notAfter.toISOString() },
      'Serving certificate loaded',
    );
    o.onCertificate?.(loaded);
    return 'loaded';
  }

  function invalid(problem: string): ReloadResult {
    // Logged once per distinct problem: a missing Secret would otherwise log every interval.
    if (problem !== lastProblem) {
      log.warn({ problem, inService: current?.serialNumber ?? null }, 'Serving certificate not (re)loaded');
      lastProblem = problem;
    }
    return 'invalid';
  }

  const reload = (): Promise<ReloadResult> => (reloading = reloading.then(readCertificate, readCertificate));

  let stopped = false;
  let timer: unknown;
  const schedule = (): void => {
    if (stopped) return;
    timer = clock.setTimeout(() => {
      void reload().finally(schedule);
    }, interval);
  };

  // ------------------------------------------------------------------------ requests

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'https://injector').pathname;
    if (path !== INJECT_PATH) {
      return send(
        res,
        404,
        status(404, 'NotFound', `no such path ${path}: the injector serves POST ${INJECT_PATH}`),
      );
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return send(res, 405, status(405, 'MethodNotAllowed', `${req.method} ${INJECT_PATH}: only POST`));
    }
    const body = await readBody(req);
    if (body === undefined) {
      metrics?.requests.inc({ result: 'invalid' });
      return send(
        res,
        413,
        status(413, 'RequestEntityTooLarge', `request body over ${MAX_BODY_BYTES} bytes`),
      );
    }
    const review = parseReview(body);
    if (typeof review === 'string') {
      metrics?.requests.inc({ result: 'invalid' });
      log.warn({ problem: review }, 'Malformed admission review');
      return send(res, 400, status(400, 'BadRequest', review));
    }
    const { request } = review;
    const response = answer(request);
    send(res, 200, {
      apiVersion: review.apiVersion,
      kind: review.kind,
      response: { uid: request.uid, ...response },
    });
  }

  /** The `response` of a review (without `uid`). */
  function answer(request: AdmissionRequest): Record<string, unknown> {
    const target = {
      namespace: request.namespace,
      name: request.name ?? request.object?.metadata?.name ?? request.object?.metadata?.generateName,
      uid: request.uid,
    };
    // Only pod creation is ours to change; anything else the configuration may send is let through.
    if (request.operation !== 'CREATE' || request.kind.kind !== 'Pod' || request.kind.group !== '') {
      metrics?.requests.inc({ result: 'skipped' });
      return { allowed: true };
    }
    if (request.object === undefined || request.namespace === undefined) {
      metrics?.requests.inc({ result: 'invalid' });
      return refusal(400, 'the admission request has no object or no namespace');
    }
    let result: InjectResult;
    try {
      result = inject(request.object, { mesh: o.mesh(), namespace: request.namespace });
    } catch (e) {
      metrics?.requests.inc({ result: 'error' });
      log.error({ ...target, err: e }, 'Injection failed');
      return refusal(500, `meshwright injector: internal error: ${(e as Error).message}`);
    }
    switch (result.action) {
      case 'patch':
        metrics?.requests.inc({ result: 'injected' });
        log.info({ ...target, summary: result.summary, dryRun: request.dryRun === true }, 'Pod injected');
        return {
          allowed: true,
          patchType: 'JSONPatch',
          patch: Buffer.from(JSON.stringify(result.patch)).toString('base64'),
        };
      case 'skip':
        metrics?.requests.inc({ result: 'skipped' });
        log.debug({ ...target, reason: result.reason }, 'Pod left alone');
        return { allowed: true };
      case 'refuse':
        metrics?.requests.inc({ result: 'refused' });
        log.info({ ...target, message: result.message }, 'Pod refused');
        return refusal(403, result.message);
    }
  }

  // ------------------------------------------------------------------------ start

  const first = await reload();
  if (first !== 'loaded')
    log.warn({ certFile }, 'Injector started without a certificate: not ready until one loads');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  schedule();
  const port = (server.address() as AddressInfo).port;
  log.info({ host: o.host, port, path: INJECT_PATH }, 'Injector listening');

  return {
    port,
    ready: () => current !== undefined,
    certificate: () =>
      current ? { serialNumber: current.serialNumber, notAfter: current.notAfter } : undefined,
    reload,
    async stop() {
      stopped = true;
      clock.clearTimeout(timer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await reloading;
    },
  };
}

// ------------------------------------------------------------------------ the review

const admissionRequest = z.object({
  uid: z.string().min(1),
  kind: z.object({ group: z.string(), version: z.string(), kind: z.string() }),
  operation: z.string(),
  namespace: z.string().min(1).optional(),
  name: z.string().optional(),
  dryRun: z.boolean().optional(),
  object: z
    .looseObject({
      metadata: z
        .looseObject({ name: z.string().optional(), generateName: z.string().optional() })
        .optional(),
    })
    .nullish()
    .transform((v) => v ?? undefined),
});

type AdmissionRequest = z.output<typeof admissionRequest>;

const admissionReview = z.object({
  apiVersion: z.literal('admission.k8s.io/v1'),
  kind: z.literal('AdmissionReview'),
  request: admissionRequest,
});

/** The review, or what is wrong with it (naming the field). */
function parseReview(body: Buffer): z.output<typeof admissionReview> | string {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (e) {
    return `the request body is not JSON: ${(e as Error).message}`;
  }
  const parsed = admissionReview.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.map(String).join('.');
  return `not an admission.k8s.io/v1 AdmissionReview: ${field === '' ? '' : `${field}: `}${issue.message}`;
}

function refusal(code: number, message: string): Record<string, unknown> {
  return { allowed: false, status: { code, message, ...(code === 403 ? { reason: 'Forbidden' } : {}) } };
}

/** A metav1.Status body, for answers that are not reviews. */
function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The whole body, or undefined when it is over the limit (the rest is drained, not buffered). */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size <= MAX_BODY_BYTES ? Buffer.concat(chunks) : undefined));
    req.on('error', reject);
  });
}

function injectorMetrics(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'meshwright_injector_requests_total',
      help: 'Admission reviews answered by the injector, by result (injected, skipped, refused, invalid, error).',
      labelNames: ['result'] as const,
      registers,
    }),
    notAfter: new Gauge({
      name: 'meshwright_injector_certificate_expiry_timestamp_seconds',
      help: 'When the serving certificate in use expires (Unix seconds).',
      registers,
    }),
  };
}
