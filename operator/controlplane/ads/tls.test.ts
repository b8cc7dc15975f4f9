import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { FakeClock } from '../../runtime/clock.js';
import { createLogger } from '../../runtime/log.js';
import { spiffeId } from '../names.js';
import { TYPE } from '../xds/protos.js';
import { AdsServer, type TlsFiles } from './server.js';
import {
  AdsTestClient,
  issue,
  resourceNames,
  testCa,
  testNode,
  type IssuedCertificate,
  type TestCa,
} from './testing.js';

const LDS = TYPE.listener;
const RESOURCES = { [LDS]: [{ name: 'checkout.shop.svc.cluster.local:8080', stat_prefix: 'x' }] };
const CHECKOUT = spiffeId('cluster.local', 'shop', 'checkout');

let dir: string;
let ca: TestCa;
let otherCa: TestCa;
let serverCert: IssuedCertificate;
let files: TlsFiles;

/** Replaces a file atomically, as cert-manager and Secret volumes do. */
async function replace(file: string, content: string): Promise<void> {
  await writeFile(`${file}.tmp`, content);
  await rename(`${file}.tmp`, file);
}

const serverSans = {
  dns: ['localhost', 'meshwright-control-plane.meshwright-system.svc'],
  ips: ['127.0.0.1'],
};

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'meshwright-ads-tls-'));
  ca = await testCa();
  otherCa = await testCa('someone-else');
  serverCert = await issue(ca, serverSans, 'meshwright-control-plane');
  files = {
    certFile: path.join(dir, 'tls.crt'),
    keyFile: path.join(dir, 'tls.key'),
    caFile: path.join(dir, 'ca.crt'),
  };
  await writeFile(files.certFile, serverCert.cert);
  await writeFile(files.keyFile, serverCert.key);
  await writeFile(files.caFile, ca.cert);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const credentialsFor = (client?: IssuedCertificate, trusted: TestCa = ca) =>
  client
    ? grpc.credentials.createSsl(Buffer.from(trusted.cert), Buffer.from(client.key), Buffer.from(client.cert))
    : grpc.credentials.createSsl(Buffer.from(trusted.cert));

/** An ADS client over mTLS; the server certificate is checked for `localhost` (no SNI with an IP address). */
const tlsClient = (port: number, client?: IssuedCertificate, trusted?: TestCa) =>
  new AdsTestClient(`127.0.0.1:${port}`, credentialsFor(client, trusted), {
    'grpc.ssl_target_name_override': 'localhost',
  });

/** The fingerprint of the certificate a new TLS connection to the server is given. */
function serverFingerprint(port: number, client: IssuedCertificate): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ca: ca.cert,
      cert: client.cert,
      key: client.key,
      servername: 'localhost',
      ALPNProtocols: ['h2'],
    });
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

async function waitFor(what: string, condition: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('ADS server over mTLS', () => {
  it('serves a client whose certificate names the namespace (and service account) its node claims', async () => {
    const ads = new AdsServer();
    const port = await ads.listen({ host: '127.0.0.1', port: 0, tls: files });
    const client = tlsClient(port, await issue(ca, { uris: [CHECKOUT] }));
    try {
      ads.publish(RESOURCES);
      const lds = await client.request({
        node: testNode('checkout-0.shop', { NAMESPACE: 'shop', SERVICE_ACCOUNT: 'checkout' }),
        type_url: LDS,
      });
      assert.deepEqual(resourceNames(lds), ['checkout.shop.svc.cluster.local:8080']);
      assert.equal(ads.streams()[0]!.node.peerIdentity, CHECKOUT);
    } finally {
      client.close();
      await ads.stop();
    }
  });

  it('refuses, in the TLS handshake, a client without a certificate or with one from another CA', async () => {
    const ads = new AdsServer();
    const port = await ads.listen({ host: '127.0.0.1', port: 0, tls: files });
    const anonymous = tlsClient(port);
    const stranger = tlsClient(port, await issue(otherCa, { uris: [CHECKOUT] }));
    try {
      for (const client of [anonymous, stranger]) {
        client.send({ node: testNode(), type_url: LDS });
        const status = await client.status;
        assert.equal(status.code, grpc.status.UNAVAILABLE, status.details);
      }
      assert.match((await anonymous.status).details, /certificate required/);
      assert.deepEqual(ads.streams(), []);
    } finally {
      anonymous.close();
      stranger.close();
      await ads.stop();
    }
  });

  it('ends with PERMISSION_DENIED a stream whose node claims another namespace or service account than its certificate', async () => {
    const ads = new AdsServer({ trustDomain: 'cluster.local' });
    const port = await ads.listen({ host: '127.0.0.1', port: 0, tls: files });
    const cases: { cert: IssuedCertificate; metadata: Record<string, string>; error: RegExp }[] = [
      {
        cert: await issue(ca, { uris: [CHECKOUT] }),
        metadata: { NAMESPACE: 'payments' },
        error:
          /claims namespace "payments" but its client certificate is spiffe:\/\/cluster\.local\/ns\/shop\/sa\/checkout/,
      },
      {
        cert: await issue(ca, { uris: [CHECKOUT] }),
        metadata: { NAMESPACE: 'shop', SERVICE_ACCOUNT: 'admin' },
        error: /claims service account "admin"/,
      },
      { cert: await issue(ca, { uris: [CHECKOUT] }), metadata: {}, error: /gives no NAMESPACE/ },
      {
        cert: await issue(ca, { dns: ['checkout.shop.svc'] }),
        metadata: { NAMESPACE: 'shop' },
        error: /no SPIFFE workload ID/,
      },
      {
        cert: await issue(ca, { uris: [spiffeId('elsewhere.example', 'shop', 'checkout')] }),
        metadata: { NAMESPACE: 'shop' },
        error: /not of trust domain cluster\.local/,
      },
    ];
    const clients: AdsTestClient[] = [];
    try {
      for (const { cert, metadata, error } of cases) {
        const client = tlsClient(port, cert);
        clients.push(client);
        client.send({ node: testNode('checkout-0.shop', metadata), type_url: LDS });
        const status = await client.status;
        assert.equal(status.code, grpc.status.PERMISSION_DENIED, status.details);
        assert.match(status.details, error);
      }
      assert.deepEqual(ads.streams(), []);
    } finally {
      for (const client of clients) client.close();
      await ads.stop();
    }
  });

  it('rotates its certificate without a restart: new connections get the new one, open streams go on', async () => {
    const clock = new FakeClock();
    const lines: { msg?: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean))
          lines.push(JSON.parse(line) as { msg?: string });
        done();
      },
    });
    const rotating = {
      certFile: path.join(dir, 'rotating.crt'),
      keyFile: path.join(dir, 'rotating.key'),
      caFile: files.caFile,
    };
    await writeFile(rotating.certFile, serverCert.cert);
    await writeFile(rotating.keyFile, serverCert.key);
    const ads = new AdsServer({
      clock,
      tlsRefreshIntervalMs: 60_000,
      logger: createLogger({ destination: sink }),
    });
    const port = await ads.listen({ host: '127.0.0.1', port: 0, tls: rotating });
    const workload = await issue(ca, { uris: [CHECKOUT] });
    const before = tlsClient(port, workload);
    let afterwards: AdsTestClient | undefined;
    try {
      ads.publish(RESOURCES);
      before.ack(await before.request({ node: testNode(), type_url: LDS }));
      assert.equal(await serverFingerprint(port, workload), serverCert.fingerprint256);

      // A certificate and a key that do not match (a half-done rotation) are not taken.
      const renewed = await issue(ca, serverSans, 'meshwright-control-plane');
      await replace(rotating.certFile, renewed.cert);
      clock.advance(60_000);
      await waitFor('the refused reload to be logged', () =>
        lines.some((l) => l.msg?.includes('not reloaded')),
      );
      assert.equal(await serverFingerprint(port, workload), serverCert.fingerprint256);

      await replace(rotating.keyFile, renewed.key);
      clock.advance(60_000);
      await waitFor(
        'a new connection to get the renewed certificate',
        async () => (await serverFingerprint(port, workload)) === renewed.fingerprint256,
      );
      assert.ok(lines.some((l) => l.msg === 'ADS TLS certificate reloaded'));

      afterwards = tlsClient(port, workload);
      const lds = await afterwards.request({ node: testNode('checkout-1.shop'), type_url: LDS });
      assert.deepEqual(resourceNames(lds), ['checkout.shop.svc.cluster.local:8080']);
      await before.barrier(); // the stream opened before the rotation is still served
      assert.equal(ads.streams().length, 2);
    } finally {
      before.close();
      afterwards?.close();
      await ads.stop();
    }
  });

  it('listen() refuses files it cannot use, naming the problem', async () => {
    const ads = new AdsServer();
    try {
      await assert.rejects(
        ads.listen({
          host: '127.0.0.1',
          port: 0,
          tls: { ...files, certFile: path.join(dir, 'missing.crt') },
        }),
        /cannot read the ADS server's certificate .*missing\.crt/,
      );
      const stranger = await issue(otherCa, serverSans);
      const wrongKey = path.join(dir, 'wrong.key');
      await writeFile(wrongKey, stranger.key);
      await assert.rejects(
        ads.listen({ host: '127.0.0.1', port: 0, tls: { ...files, keyFile: wrongKey } }),
        /do not form a usable TLS context/,
      );
    } finally {
      await ads.stop();
    }
  });
});
