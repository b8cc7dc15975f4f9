import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCertificates } from './index.js';
import type { Certificates } from './index.js';

const NOW = new Date('2030-01-15T12:00:00Z');
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/** GET https://127.0.0.1:port/ presenting `servername` for SNI and hostname verification. */
function get(port: number, opts: { ca?: string; servername?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port, path: '/', agent: false, ca: opts.ca, servername: opts.servername },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
  });
}

describe('generateCertificates: certificate contents', () => {
  let certs: Certificates;
  let ca: X509Certificate;
  let leaf: X509Certificate;
  before(async () => {
    certs = await generateCertificates(['127.0.0.1', 'localhost', '[::1]', 'api.local'], { now: NOW });
    ca = new X509Certificate(certs.caCert);
    leaf = new X509Certificate(certs.serverCert);
  });

  it('makes a self-signed CA and a leaf that is not a CA', () => {
    assert.equal(ca.ca, true);
    assert.equal(ca.checkIssued(ca), true);
    assert.equal(ca.verify(ca.publicKey), true);
    assert.equal(leaf.ca, false);
  });

  it('signs the serving certificate with the CA', () => {
    assert.equal(leaf.checkIssued(ca), true);
    assert.equal(leaf.verify(ca.publicKey), true);
    assert.equal(leaf.issuer, ca.subject);
  });

  it('uses ECDSA P-256 keys that match the certificates', () => {
    for (const [cert, keyPem] of [
      [ca, certs.caKey],
      [leaf, certs.serverKey],
    ] as const) {
      assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
      assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
      assert.deepEqual(fromKey, cert.publicKey.export({ type: 'spki', format: 'der' }));
    }
    assert.match(certs.caKey, /^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('puts IPs in IP SANs and names in DNS SANs, brackets stripped from IPv6', () => {
    assert.equal(
      leaf.subjectAltName,
      'IP Address:127.0.0.1, DNS:localhost, IP Address:0:0:0:0:0:0:0:1, DNS:api.local',
    );
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(leaf.checkIP('::1'), '::1');
    assert.equal(leaf.checkHost('localhost'), 'localhost');
    assert.equal(leaf.checkHost('example.com'), undefined);
  });

  it('marks the serving certificate for server authentication', () => {
    assert.deepEqual(leaf.keyUsage, [SERVER_AUTH]); // Node's keyUsage lists the extended key usages
  });

  it('is valid for one year from the issuing time (backdated a minute for clock skew)', () => {
    for (const cert of [ca, leaf]) {
      assert.equal(new Date(cert.validFrom).toISOString(), '2030-01-15T11:59:00.000Z');
      assert.equal(new Date(cert.validTo).toISOString(), '2031-01-15T12:00:00.000Z');
    }
  });

  it('gives every call a new CA and new serial numbers', async () => {
    const other = await generateCertificates(['127.0.0.1'], { now: NOW });
    assert.notEqual(new X509Certificate(other.caCert).fingerprint256, ca.fingerprint256);
    assert.notEqual(new X509Certificate(other.serverCert).serialNumber, leaf.serialNumber);
  });

  it('refuses an empty host list or an empty host', async () => {
    await assert.rejects(generateCertificates([]), TypeError);
    await assert.rejects(generateCertificates(['localhost', ' ']), TypeError);
  });
});

describe('generateCertificates: TLS end to end (node:https)', () => {
  let certs: Certificates;
  let server: https.Server;
  let port: number;
  before(async () => {
    certs = await generateCertificates(['127.0.0.1', 'localhost']);
    server = https.createServer({ key: certs.serverKey, cert: certs.serverCert }, (_req, res) =>
      res.end('hello'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  it('is trusted by a client holding the CA, by IP and by DNS name', async () => {
    assert.equal(await get(port, { ca: certs.caCert }), 'hello');
    assert.equal(await get(port, { ca: certs.caCert, servername: 'localhost' }), 'hello');
  });

  it('is rejected by a client without the CA', async () => {
    await assert.rejects(get(port, {}), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('is rejected by a client trusting a different CA', async () => {
    const stranger = await generateCertificates(['127.0.0.1']);
    await assert.rejects(get(port, { ca: stranger.caCert }), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('is rejected for a host name it was not issued for', async () => {
    await assert.rejects(get(port, { ca: certs.caCert, servername: 'example.com' }), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });
});

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe(
  'generateCertificates: as openssl reads them',
  { skip: hasOpenssl ? false : 'openssl not installed' },
  () => {
    let certs: Certificates;
    let dir: string;
    const text = (pem: string) => {
      const out = spawnSync('openssl', ['x509', '-noout', '-text'], { input: pem, encoding: 'utf8' });
      assert.equal(out.status, 0, out.stderr);
      return out.stdout;
    };
    before(async () => {
      certs = await generateCertificates(['127.0.0.1', 'localhost']);
      dir = mkdtempSync(join(tmpdir(), 'auth-openssl-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('reads the CA as a critical CA:TRUE with certificate signing, signed with ecdsa-with-SHA256', () => {
      const ca = text(certs.caCert);
      assert.match(ca, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
      assert.match(ca, /X509v3 Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
      assert.match(ca, /Signature Algorithm: ecdsa-with-SHA256/);
      assert.match(ca, /NIST CURVE: P-256/);
    });

    it('reads the leaf as CA:FALSE with serverAuth and the SANs', () => {
      const leaf = text(certs.serverCert);
      assert.match(leaf, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
      assert.match(leaf, /X509v3 Extended Key Usage:\s+TLS Web Server Authentication/);
      assert.match(leaf, /X509v3 Subject Alternative Name:\s+IP Address:127\.0\.0\.1, DNS:localhost\n/);
      assert.match(leaf, /X509v3 Authority Key Identifier:/);
    });

    it('verifies the chain for the sslserver purpose', () => {
      writeFileSync(join(dir, 'ca.pem'), certs.caCert);
      writeFileSync(join(dir, 'server.pem'), certs.serverCert);
      const out = spawnSync(
        'openssl',
        ['verify', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.pem'), join(dir, 'server.pem')],
        { encoding: 'utf8' },
      );
      assert.equal(out.status, 0, out.stderr);
      assert.match(out.stdout, /server\.pem: OK/);
    });
  },
);
