/**
 * mTLS for the ADS listener, with certificate rotation and no restart.
 *
 * grpc-js serves TLS from a `CertificateProvider` (`experimental.createCertificateProviderServerCredentials`):
 * the server re-applies the provider's certificates to its listening socket whenever the provider
 * announces new ones, so new connections get them while open ones go on. grpc-js has a file-watching
 * provider, but it hands every read to the server as it finds it: a certificate and a key read in the
 * middle of a rotation do not match, and grpc-js then refuses every new connection until the next
 * read. This provider reads the three files, checks they form a usable TLS context, and only then
 * announces them; a bad read keeps the previous certificates in force and is logged once.
 *
 * The files are read again every `refreshIntervalMs` (on the `Clock`); cert-manager and Kubernetes
 * Secret volumes replace them atomically, and the next read picks the new ones up.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { experimental, type ServerCredentials } from '@grpc/grpc-js';
import type { Clock } from '../../runtime/clock.js';
import type { Logger } from '../../runtime/log.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

interface Loaded {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

type IdentityListener = experimental.IdentityCertificateUpdateListener;
type CaListener = experimental.CaCertificateUpdateListener;

/** Reads and checks the three files; throws an error that names the file and the problem. */
export async function loadTlsFiles(
  files: TlsFiles,
  now: Date = new Date(),
): Promise<Loaded & { notAfter: Date }> {
  const read = async (what: string, file: string) => {
    try {
      return await readFile(file);
    } catch (e) {
      throw new Error(`cannot read the ADS server's ${what} ${file}: ${(e as Error).message}`);
    }
  };
  const [cert, key, ca] = await Promise.all([
    read('certificate', files.certFile),
    read('private key', files.keyFile),
    read('client CA', files.caFile),
  ]);
  let notAfter: Date;
  try {
    notAfter = new Date(new X509Certificate(cert).validTo);
    new X509Certificate(ca);
  } catch (e) {
    throw new Error(`${files.certFile} or ${files.caFile} is not a PEM certificate: ${(e as Error).message}`);
  }
  try {
    createSecureContext({ cert, key, ca });
  } catch (e) {
    throw new Error(
      `${files.certFile}, ${files.keyFile} and ${files.caFile} do not form a usable TLS context: ${(e as Error).message}`,
    );
  }
  if (notAfter.getTime() <= now.getTime()) {
    throw new Error(`the ADS server's certificate ${files.certFile} expired at ${notAfter.toISOString()}`);
  }
  return { cert, key, ca, notAfter };
}

export class ReloadingCertificateProvider implements experimental.CertificateProvider {
  private current: Loaded | undefined;
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly caListeners = new Set<CaListener>();
  private timer: unknown;
  private lastError: string | undefined;
  private closed = false;

  constructor(
    private readonly files: TlsFiles,
    private readonly options: { refreshIntervalMs: number; clock: Clock; log: Logger },
  ) {}

  /** Reads the files; announces them when they changed and are usable. Throws only on the first load. */
  async load(): Promise<void> {
    let loaded: Loaded & { notAfter: Date };
    try {
      loaded = await loadTlsFiles(this.files, new Date(this.options.clock.now()));
    } catch (e) {
      if (this.current === undefined) throw e;
      const message = (e as Error).message;
      if (message !== this.lastError) {
        this.options.log.warn(
          { err: message },
          'ADS TLS files not reloaded; the previous certificate stays in force',
        );
      }
      this.lastError = message;
      return;
    }
    this.lastError = undefined;
    const previous = this.current;
    if (
      previous &&
      previous.cert.equals(loaded.cert) &&
      previous.key.equals(loaded.key) &&
      previous.ca.equals(loaded.ca)
    ) {
      return;
    }
    this.current = { cert: loaded.cert, key: loaded.key, ca: loaded.ca };
    this.options.log.info(
      {
        certFile: this.files.certFile,
        notAfter: loaded.notAfter.toISOString(),
        reload: previous !== undefined,
      },
      previous ? 'ADS TLS certificate reloaded' : 'ADS TLS certificate loaded',
    );
    if (!previous || !previous.cert.equals(loaded.cert) || !previous.key.equals(loaded.key)) {
      for (const listener of this.identityListeners) listener(this.identityUpdate());
    }
    if (!previous || !previous.ca.equals(loaded.ca)) {
      for (const listener of this.caListeners) listener(this.caUpdate());
    }
  }

  /** Stops reading the files. */
  close(): void {
    this.closed = true;
    this.stopTimer();
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    if (this.current) process.nextTick(listener, this.caUpdate());
    this.startTimer();
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.maybeStopTimer();
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    if (this.current) process.nextTick(listener, this.identityUpdate());
    this.startTimer();
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.maybeStopTimer();
  }

  private identityUpdate(): experimental.IdentityCertificateUpdate {
    return { certificate: this.current!.cert, privateKey: this.current!.key };
  }

  private caUpdate(): experimental.CaCertificateUpdate {
    return { caCertificate: this.current!.ca };
  }

  private startTimer(): void {
    if (this.timer !== undefined || this.closed) return;
    if (this.identityListeners.size === 0 && this.caListeners.size === 0) return;
    const tick = () => {
      this.timer = undefined;
      void this.load().finally(() => this.startTimer());
    };
    this.timer = this.options.clock.setTimeout(tick, this.options.refreshIntervalMs);
  }

  private maybeStopTimer(): void {
    if (this.identityListeners.size === 0 && this.caListeners.size === 0) this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * Server credentials requiring a client certificate signed by the CA file (TLS handshakes without
 * one fail), serving the certificate file, both reloaded by `provider`.
 */
export function mtlsCredentials(provider: ReloadingCertificateProvider): ServerCredentials {
  // grpc-js 1.14 passes this function's two providers to the constructor in swapped order; one
  // provider serving both roles is immune to that.
  return experimental.createCertificateProviderServerCredentials(provider, provider, true);
}
