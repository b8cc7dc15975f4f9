/* eslint-disable @typescript-eslint/no-unsafe-member-access -- JSON read back from the wire or built as proto3 JSON is untyped here (Obj) */
/**
 * The injection webhook over real HTTPS: admission reviews in and out, and the serving certificate
 * rotated on disk the way the kubelet updates a Secret volume (a `..data` symlink swap), picked up
 * on the Clock without a restart — observed as the serial number real TLS handshakes see.
 */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { applyJsonPatch } from '../../localcluster/admission/jsonpatch.js';
import { INJECT_PATH } from '../../meshinstallation/names.js';
import { FakeClock } from '../../runtime/clock.js';
import { silentLogger } from '../../runtime/log.js';
import { INJECTED_ANNOTATION } from '../names.js';
import { createTestCa, pod, sidecarMesh, type IssuedCertificate, type TestCa } from './fixtures.test.js';
import { PROXY_CONTAINER } from './names.js';
import { startInjectorServer, type InjectorServer, type LoadedCertificate } from './webhook.js';

const HOST = '127.0.0.1';
const INTERVAL = 10_000;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A Secret volume as the kubelet writes it: files behind `..data`, replaced by one atomic rename. */
class SecretVolume {
  private generation = 0;
  constructor(readonly dir: string) {}

  async write(files: Record<string, string>): Promise<void> {
    const version = join(this.dir, `..${++this.generation}`);
    await mkdir(version);
    for (const [name, content] of Object.entries(files)) await writeFile(join(version, name), content);
    await symlink(`..${this.generation}`, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const name of Object.keys(files)) {
      await symlink(join('..data', name), join(this.dir, name)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
    }
  }

  writeCertificate(c: IssuedCertificate, key = c.key): Promise<void> {
    return this.write({ 'tls.crt': c.cert, 'tls.key': key });
  }
}

/** The serial number of the certificate a fresh TLS handshake is given (verified against the CA). */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port, ca }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}

function post(
  port: number,
  ca: string,
  body: string,
  o: { path?: string; method?: string } = {},
): Promise<{ status: number; body: Obj }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: HOST,
        port,
        ca,
        method: o.method ?? 'POST',
        path: o.path ?? `${INJECT_PATH}?timeout=10s`,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()) as Obj }),
        );
      },
    );
    req.on('error', reject);
    req.setHeader('Content-Type', 'application/json');
    req.end(body);
  });
}

const review = (object: V1Pod, o: { uid?: string; operation?: string } = {}) =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: o.uid ?? 'b1f5a8a2-0000-4000-8000-000000000001',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'shop',
      operation: o.operation ?? 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object,
      oldObject: null,
      dryRun: false,
    },
  });

describe('injector webhook', () => {
  let ca: TestCa;
  let first: IssuedCertificate;
  let dir: string;
  let volume: SecretVolume;
  let server: InjectorServer;
  const clock = new FakeClock();
  const registry = new Registry();
  const loaded: LoadedCertificate[] = [];
  let waiter: ((c: LoadedCertificate) => void) | undefined;
  const nextCertificate = () => new Promise<LoadedCertificate>((resolve) => (waiter = resolve));

  before(async () => {
    ca = await createTestCa();
    first = await ca.issue([HOST], '0a01');
    dir = await mkdtemp(join(tmpdir(), 'injector-tls-'));
    volume = new SecretVolume(dir);
    await volume.writeCertificate(first);
    server = await startInjectorServer({
      host: HOST,
      port: 0,
      tlsDir: dir,
      mesh: () => sidecarMesh(),
      logger: silentLogger(),
      registry,
      clock,
      reloadIntervalMs: INTERVAL,
      onCertificate: (c) => {
        loaded.push(c);
        waiter?.(c);
      },
    });
  });

  after(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the certificate from the directory and is ready', async () => {
    assert.equal(server.ready(), true);
    assert.equal(await servedSerial(server.port, ca.caCert), first.serialNumber);
    assert.equal(server.certificate()?.serialNumber, first.serialNumber);
  });

  it('answers a pod creation with the uid, allowed, and a base64 JSONPatch that injects the pod', async () => {
    const r = await post(server.port, ca.caCert, review(pod(), { uid: 'u-1' }));
    assert.equal(r.status, 200);
    assert.equal(r.body.apiVersion, 'admission.k8s.io/v1');
    assert.equal(r.body.kind, 'AdmissionReview');
    const { response } = r.body;
    assert.equal(response.uid, 'u-1');
    assert.equal(response.allowed, true);
    assert.equal(response.patchType, 'JSONPatch');
    const patch = JSON.parse(Buffer.from(response.patch as string, 'base64').toString()) as unknown[];
    const out = applyJsonPatch(pod(), patch) as V1Pod;
    assert.equal(out.metadata!.annotations![INJECTED_ANNOTATION], 'Sidecar');
    assert.ok(out.spec!.initContainers!.some((c) => c.name === PROXY_CONTAINER));
  });

  it('allows an opted-out pod, an already injected one and a non-CREATE operation without a patch', async () => {
    for (const [object, operation] of [
      [pod({ metadata: { labels: { 'meshwright.io/inject': 'disabled' } } }), 'CREATE'],
      [pod({ metadata: { annotations: { [INJECTED_ANNOTATION]: 'Sidecar' } } }), 'CREATE'],
      [pod(), 'UPDATE'],
    ] as const) {
      const { response } = (await post(server.port, ca.caCert, review(object, { operation }))).body;
      assert.equal(response.allowed, true);
      assert.equal(response.patch, undefined);
      assert.equal(response.patchType, undefined);
    }
  });

  it('refuses a host-network pod with status 403 and a message that names the field and the opt-out', async () => {
    const r = await post(
      server.port,
      ca.caCert,
      review(pod({ spec: { hostNetwork: true } }), { uid: 'u-2' }),
    );
    assert.equal(r.status, 200);
    const { response } = r.body;
    assert.equal(response.uid, 'u-2');
    assert.equal(response.allowed, false);
    assert.equal(response.status.code, 403);
    assert.match(
      response.status.message as string,
      /^spec\.hostNetwork is true: .*meshwright\.io\/inject=disabled/,
    );
  });

  it('answers a malformed body with 400 and what is wrong, and other paths and methods with 404 and 405', async () => {
    const notJson = await post(server.port, ca.caCert, '{"apiVersion":');
    assert.equal(notJson.status, 400);
    assert.match(notJson.body.message as string, /^the request body is not JSON: /);
    const noUid = await post(
      server.port,
      ca.caCert,
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }),
    );
    assert.equal(noUid.status, 400);
    assert.match(noUid.body.message as string, /request\.uid: /);
    const v1beta1 = await post(
      server.port,
      ca.caCert,
      review(pod()).replace('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'),
    );
    assert.equal(v1beta1.status, 400);
    assert.match(v1beta1.body.message as string, /apiVersion: /);
    assert.equal((await post(server.port, ca.caCert, review(pod()), { path: '/mutate' })).status, 404);
    assert.equal((await post(server.port, ca.caCert, '', { method: 'GET' })).status, 405);
  });

  it('counts the reviews it answered by result', async () => {
    const text = await registry.metrics();
    assert.match(text, /meshwright_injector_requests_total\{result="injected"\} 1/);
    assert.match(text, /meshwright_injector_requests_total\{result="refused"\} 1/);
    assert.match(text, /meshwright_injector_requests_total\{result="skipped"\} 3/);
    assert.match(text, /meshwright_injector_requests_total\{result="invalid"\} 3/);
    assert.match(text, /meshwright_injector_certificate_expiry_timestamp_seconds \d+/);
  });

  it('serves a rotated certificate to new connections once the Clock says to read the files again, without a restart', async () => {
    const second = await ca.issue([HOST], '0a02');
    await volume.writeCertificate(second);
    // nothing is read before the interval is over
    assert.equal(await servedSerial(server.port, ca.caCert), first.serialNumber);
    const next = nextCertificate();
    await clock.advanceAsync(INTERVAL);
    assert.equal((await next).serialNumber, second.serialNumber);
    assert.equal(await servedSerial(server.port, ca.caCert), second.serialNumber);
    // and it still answers reviews
    assert.equal((await post(server.port, ca.caCert, review(pod()))).body.response.allowed, true);
  });

  it('keeps the certificate in service when the new files are not a matching pair, and takes the next good one', async () => {
    const inService = server.certificate()!.serialNumber;
    const third = await ca.issue([HOST], '0a03');
    const other = await ca.issue([HOST], '0a04');
    await volume.writeCertificate(third, other.key);
    assert.equal(await server.reload(), 'invalid');
    assert.equal(await servedSerial(server.port, ca.caCert), inService);
    assert.equal(server.ready(), true);
    await volume.writeCertificate(third);
    assert.equal(await server.reload(), 'loaded');
    assert.equal(await server.reload(), 'unchanged');
    assert.equal(await servedSerial(server.port, ca.caCert), third.serialNumber);
    assert.deepEqual(
      loaded.map((c) => c.serialNumber),
      [first.serialNumber, '0A02', third.serialNumber],
    );
  });
});

describe('injector webhook without a certificate yet', () => {
  it('starts, is not ready and refuses handshakes until the Secret appears; then serves it', async () => {
    const ca = await createTestCa();
    const dir = await mkdtemp(join(tmpdir(), 'injector-tls-'));
    const clock = new FakeClock();
    let server: InjectorServer | undefined;
    try {
      server = await startInjectorServer({
        host: HOST,
        port: 0,
        tlsDir: dir,
        mesh: () => sidecarMesh(),
        logger: silentLogger(),
        clock,
        reloadIntervalMs: INTERVAL,
      });
      assert.equal(server.ready(), false);
      await assert.rejects(servedSerial(server.port, ca.caCert));
      const cert = await ca.issue([HOST], '0b01');
      await new SecretVolume(dir).writeCertificate(cert);
      assert.equal(await server.reload(), 'loaded');
      assert.equal(server.ready(), true);
      assert.equal(await servedSerial(server.port, ca.caCert), cert.serialNumber);
    } finally {
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
