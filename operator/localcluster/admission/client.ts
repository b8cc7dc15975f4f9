/**
 * The HTTPS side of calling a webhook: where `clientConfig` points, which roots and which server name
 * the serving certificate is verified against, and the POST itself with its deadline. Failures are
 * reported in the words Go's net/http and crypto/x509 use, since those reach the user verbatim inside
 * kube-apiserver's "failed calling webhook" message.
 */
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { goQuote } from '../schema/go-format.js';
import { isRecord } from './status.js';
import type { ServiceReference, WebhookClientConfig } from './types.js';

export type ResolveService = (
  namespace: string,
  name: string,
  port: number,
) => { host: string; port: number } | undefined;

/** Everything needed to POST to one webhook. */
export interface WebhookTarget {
  /** The URL as the real server would call it, `?timeout=` included: it appears in failure messages. */
  url: string;
  /** Where to connect, or why the Service cannot be reached (the dial error the real server would report). */
  connect: { host: string; port: number } | { unreachable: string };
  /** The name the serving certificate must be valid for: `<service>.<namespace>.svc`, or the URL's host. */
  serverName: string;
  hostHeader: string;
  path: string;
  roots: string[];
}

/**
 * The call failed: the webhook could not be reached, or its HTTP answer was not a decodable success.
 * `message` is what Go's REST client would have said, e.g. `Post "https://…": context deadline exceeded`.
 */
export class CallError extends Error {
  override readonly name = 'CallError';
}

/** The REST client could not even be built from `clientConfig` (rest.Config / transport errors). */
export class ClientConfigError extends Error {
  override readonly name = 'ClientConfigError';
}

export interface HttpReply {
  statusCode: number;
  contentType: string;
  body: Buffer;
}

/**
 * Resolves `clientConfig` into a target. A service is addressed as `https://<name>.<namespace>.svc:<port>`
 * and reached wherever `resolveService` says; a URL is reached directly. Throws ClientConfigError.
 */
export function targetFor(
  clientConfig: WebhookClientConfig | undefined,
  timeoutSeconds: number,
  resolveService: ResolveService,
): WebhookTarget {
  const roots = rootsFor(clientConfig?.caBundle);
  const query = `?timeout=${timeoutSeconds}s`;
  if (clientConfig?.service) return serviceTarget(clientConfig.service, query, roots, resolveService);
  if (clientConfig?.url === undefined) {
    throw new ClientConfigError('webhook clientConfig must have either service or url');
  }
  let url: URL;
  try {
    url = new URL(clientConfig.url);
  } catch {
    throw new ClientConfigError(`parse ${JSON.stringify(clientConfig.url)}: invalid URL`);
  }
  if (url.protocol !== 'https:') {
    throw new ClientConfigError(`webhook url must use https, got ${JSON.stringify(clientConfig.url)}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 443 : Number(url.port);
  return {
    url: `${url.origin}${url.pathname}${query}`,
    connect: { host, port },
    serverName: host,
    hostHeader: url.host,
    path: `${url.pathname}${query}`,
    roots,
  };
}

function serviceTarget(
  service: ServiceReference,
  query: string,
  roots: string[],
  resolveService: ResolveService,
): WebhookTarget {
  const port = service.port ?? 443;
  const serverName = `${service.name}.${service.namespace}.svc`;
  const path = `${service.path || '/'}${query}`;
  let connect: WebhookTarget['connect'];
  try {
    connect = resolveService(service.namespace, service.name, port) ?? {
      unreachable: `service "${service.name}" not found`,
    };
  } catch (err) {
    connect = { unreachable: err instanceof Error ? err.message : String(err) };
  }
  return {
    url: `https://${serverName}:${port}${path}`,
    connect,
    serverName,
    hostHeader: `${serverName}:${port}`,
    path,
    roots,
  };
}

let systemRoots: string[] | undefined;

/** The caBundle's certificates, or the system's roots when there is none (as Go's TLS client does). */
function rootsFor(caBundle: string | undefined): string[] {
  if (!caBundle) return (systemRoots ??= tls.getCACertificates('system'));
  const pem = Buffer.from(caBundle, 'base64').toString('utf8');
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const failure = 'unable to load root certificates: unable to parse bytes as PEM block';
  if (blocks.length === 0) throw new ClientConfigError(failure);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      throw new ClientConfigError(failure);
    }
  }
  return blocks;
}

/**
 * POSTs a JSON body and collects the reply, giving up after `timeoutMs`. Rejects with CallError, worded as
 * Go's url.Error: `Post "<url>": <cause>`.
 */
export function postJson(target: WebhookTarget, body: string, timeoutMs: number): Promise<HttpReply> {
  const { connect } = target;
  const failure = (cause: string): CallError => new CallError(`Post ${goQuote(target.url)}: ${cause}`);
  if ('unreachable' in connect) return Promise.reject(failure(connect.unreachable));
  return new Promise<HttpReply>((resolve, reject) => {
    const deadline = new Error('context deadline exceeded');
    const request = https.request({
      method: 'POST',
      host: connect.host,
      port: connect.port,
      path: target.path,
      // Node refuses an IP address as SNI; without one it verifies the certificate against `host`.
      ...(isIP(target.serverName) ? {} : { servername: target.serverName }),
      ca: target.roots,
      agent: false,
      headers: {
        host: target.hostHeader,
        'content-type': 'application/json',
        accept: 'application/json, */*',
        'content-length': Buffer.byteLength(body),
      },
    });
    const timer = setTimeout(() => request.destroy(deadline), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      reject(failure(err === deadline ? deadline.message : goNetError(err, connect)));
    };
    request.on('error', fail);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', fail);
      response.on('end', () => {
        clearTimeout(timer);
        resolve({
          statusCode: response.statusCode ?? 0,
          contentType: response.headers['content-type'] ?? '',
          body: Buffer.concat(chunks),
        });
      });
    });
    request.end(body);
  });
}

/**
 * The decoded JSON of a reply, as rest.Result.Into would decode it: a non-2xx status is an error worded
 * by apierrors.NewGenericServerResponse unless the body is itself a failure Status; an empty or
 * undecodable body is an error too. Throws CallError.
 */
export function decodeReply(reply: HttpReply): unknown {
  const { statusCode, contentType, body } = reply;
  const parsed = parseJson(body);
  if (statusCode < 200 || statusCode > 206) {
    if (isFailureStatus(parsed.value)) throw new CallError(statusMessage(parsed.value));
    const text = contentType.startsWith('text/') ? body.subarray(0, 2048).toString('utf8').trim() : 'unknown';
    throw new CallError(genericServerMessage(statusCode, text));
  }
  if (body.length === 0) {
    throw new CallError(`0-length response with status code: ${statusCode} and content type: ${contentType}`);
  }
  if (parsed.error !== undefined)
    throw new CallError(`couldn't get version/kind; json parse error: ${parsed.error}`);
  const value = parsed.value;
  if (isRecord(value) && value.kind === 'Status' && value.status !== 'Success') {
    throw new CallError(statusMessage(value));
  }
  return value;
}

function parseJson(body: Buffer): { value?: unknown; error?: string } {
  try {
    return { value: JSON.parse(body.toString('utf8')) as unknown };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

const statusMessage = (status: Record<string, unknown>): string =>
  typeof status.message === 'string' ? status.message : '';

const isFailureStatus = (value: unknown): value is Record<string, unknown> =>
  isRecord(value) && value.kind === 'Status' && value.status === 'Failure';

function genericServerMessage(code: number, serverMessage: string): string {
  switch (code) {
    case 400:
      return 'the server rejected our request for an unknown reason';
    case 401:
      return 'the server has asked for the client to provide credentials';
    case 403:
      return serverMessage;
    case 404:
      return 'the server could not find the requested resource';
    case 405:
      return 'the server does not allow this method on the requested resource';
    case 409:
      return 'the server reported a conflict';
    case 422:
      return 'the server rejected our request due to an error in our request';
    case 429:
      return 'the server has received too many requests and has asked us to try again later';
    case 504:
      return 'the server was unable to return a response in the time allotted, but may still be processing the request';
    default:
      return code >= 500
        ? `an error on the server (${goQuote(serverMessage)}) has prevented the request from succeeding`
        : `the server responded with the status code ${code} but did not return more information`;
  }
}

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** A Node socket/TLS error in the words Go's dialer and crypto/tls would have used. */
function goNetError(err: Error, connect: { host: string; port: number }): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const address = `${isIP(connect.host) === 6 ? `[${connect.host}]` : connect.host}:${connect.port}`;
  if (UNKNOWN_AUTHORITY.has(code))
    return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `tls: failed to verify certificate: ${hostnameError(err)}`;
  if (code === 'ECONNREFUSED') return `dial tcp ${address}: connect: connection refused`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `dial tcp: lookup ${connect.host}: no such host`;
  if (code === 'ECONNRESET' || err.message === 'socket hang up') return 'EOF';
  return err.message;
}

/** crypto/x509 HostnameError.Error(): the names the certificate is valid for, IPs when an IP was wanted. */
function hostnameError(err: Error): string {
  const { host = '', cert } = err as Error & { host?: string; cert?: { subjectaltname?: string } };
  const sans = (cert?.subjectaltname ?? '').split(', ').filter(Boolean);
  const wantIp = isIP(host) !== 0;
  const valid = sans
    .filter((san) => san.startsWith(wantIp ? 'IP Address:' : 'DNS:'))
    .map((san) => san.slice(san.indexOf(':') + 1));
  if (wantIp && valid.length === 0)
    return `x509: cannot validate certificate for ${host} because it doesn't contain any IP SANs`;
  if (valid.length === 0) return `x509: certificate is not valid for any names, but wanted to match ${host}`;
  return `x509: certificate is valid for ${valid.join(', ')}, not ${host}`;
}
