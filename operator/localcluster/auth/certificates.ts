/**
 * TLS material for the local API server: a throwaway CA and a serving certificate it signs. Built to pass
 * Go's crypto/x509 (kubectl, client-go) as well as Node's TLS: the CA has a critical basicConstraints
 * CA:TRUE and keyCertSign, the leaf has serverAuth and its hosts as SANs (Go ignores the CN entirely).
 *
 * Node's crypto can make keys and verify certificates but cannot issue them, so the DER is built by
 * @peculiar/x509 on top of Node's WebCrypto.
 */
import { KeyObject, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

export interface Certificates {
  /** PEM. */
  caCert: string;
  /** PEM, PKCS#8. */
  caKey: string;
  /** PEM. */
  serverCert: string;
  /** PEM, PKCS#8. */
  serverKey: string;
}

export interface CertificateOptions {
  /** The issuing time; both certificates are valid from a minute before it (clock skew) to a year after. */
  now?: Date;
}

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' };
const CA_NAME = 'CN=meshwright-localcluster-ca,O=meshwright';
const SERVER_NAME = 'CN=meshwright-localcluster,O=meshwright';
const SKEW_MS = 60_000;

/**
 * A CA (ECDSA P-256, valid one year) and a serving certificate for `hosts`, signed by it: IP addresses
 * (`127.0.0.1`, `::1`, `[::1]`) become IP SANs, everything else DNS SANs.
 */
export async function generateCertificates(
  hosts: string[],
  options: CertificateOptions = {},
): Promise<Certificates> {
  const sans = subjectAltNames(hosts);
  const now = options.now ?? new Date();
  const notBefore = new Date(now.getTime() - SKEW_MS);
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + 1);

  const crypto = webcrypto;
  const caKeys = await newKeyPair(crypto);
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: CA_NAME,
      keys: caKeys,
      notBefore,
      notAfter,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );

  const serverKeys = await newKeyPair(crypto);
  const server = await x509.X509CertificateGenerator.create(
    {
      subject: SERVER_NAME,
      issuer: ca.subject,
      publicKey: serverKeys.publicKey,
      signingKey: caKeys.privateKey,
      notBefore,
      notAfter,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(sans, false),
        await x509.SubjectKeyIdentifierExtension.create(serverKeys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(ca, false, crypto),
      ],
    },
    crypto,
  );

  return {
    caCert: ca.toString('pem'),
    caKey: privateKeyPem(caKeys.privateKey),
    serverCert: server.toString('pem'),
    serverKey: privateKeyPem(serverKeys.privateKey),
  };
}

function subjectAltNames(hosts: string[]): x509.JsonGeneralName[] {
  const unique = [...new Set(hosts.map((h) => h.trim().replace(/^\[(.*)\]$/, '$1')))];
  if (unique.length === 0 || unique.includes('')) {
    throw new TypeError(`generateCertificates needs non-empty host names, got ${JSON.stringify(hosts)}`);
  }
  return unique.map((host) => ({ type: isIP(host) === 0 ? 'dns' : 'ip', value: host }));
}

const newKeyPair = (crypto: webcrypto.Crypto): Promise<webcrypto.CryptoKeyPair> =>
  crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);

const privateKeyPem = (key: webcrypto.CryptoKey): string =>
  KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;
