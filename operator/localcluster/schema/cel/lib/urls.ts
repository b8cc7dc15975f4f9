/**
 * Kubernetes' CEL URL library: `url()`, `isURL()` and the URL accessors, with Go's url.ParseRequestURI
 * rules (an absolute URI or an absolute path; nothing is normalised).
 */
import type { Environment } from '@marcbachmann/cel-js';
import { celError } from '../errors.js';

class KubernetesURL {
  constructor(
    readonly scheme: string,
    readonly host: string,
    readonly path: string,
    readonly rawQuery: string,
    readonly opaque: string,
  ) {}
}

export function registerUrls(env: Environment): void {
  env
    .registerType('kubernetes.URL', KubernetesURL)
    .registerFunction('url(string): kubernetes.URL', toUrl)
    .registerFunction('isURL(string): bool', (s: string) => parseRequestUri(s) !== undefined)
    .registerFunction('kubernetes.URL.getScheme(): string', (u: KubernetesURL) => u.scheme)
    .registerFunction('kubernetes.URL.getHost(): string', (u: KubernetesURL) => u.host)
    .registerFunction('kubernetes.URL.getHostname(): string', (u: KubernetesURL) => hostname(u.host))
    .registerFunction('kubernetes.URL.getPort(): string', (u: KubernetesURL) => port(u.host))
    .registerFunction('kubernetes.URL.getEscapedPath(): string', (u: KubernetesURL) => u.path)
    .registerFunction('kubernetes.URL.getQuery(): map<string, list<string>>', (u: KubernetesURL) =>
      parseQuery(u.rawQuery),
    );
}

function toUrl(s: string): KubernetesURL {
  return (
    parseRequestUri(s) ??
    celError(
      `URL parse error during conversion from string: parse ${JSON.stringify(s)}: invalid URI for request`,
    )
  );
}

export function parseRequestUri(raw: string): KubernetesURL | undefined {
  if (raw === '' || /\s/.test(raw) || [...raw].some(isControlCharacter)) return undefined;
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(raw);
  if (schemeMatch === null && !raw.startsWith('/')) return undefined;
  const scheme = schemeMatch?.[1] ?? '';
  let rest = schemeMatch === null ? raw : raw.slice(schemeMatch[0].length);
  const queryAt = rest.indexOf('?');
  const rawQuery = queryAt >= 0 ? rest.slice(queryAt + 1) : '';
  if (queryAt >= 0) rest = rest.slice(0, queryAt);
  if (!rest.startsWith('/'))
    return scheme === '' ? undefined : new KubernetesURL(scheme, '', '', rawQuery, rest);
  let host = '';
  if (scheme !== '' && rest.startsWith('//')) {
    const end = rest.indexOf('/', 2);
    const authority = end < 0 ? rest.slice(2) : rest.slice(2, end);
    host = authority.slice(authority.lastIndexOf('@') + 1);
    rest = end < 0 ? '' : rest.slice(end);
    if (!isValidHost(host)) return undefined;
  }
  return new KubernetesURL(scheme, host, rest, rawQuery, '');
}

function isControlCharacter(c: string): boolean {
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}

function isValidHost(host: string): boolean {
  if (host.startsWith('[')) return /^\[[0-9A-Fa-f:.]+(%[^\]]*)?\](:\d*)?$/.test(host);
  return /^[^\s/?#[\]@]*$/.test(host) && (host.match(/:/g) ?? []).length <= 1;
}

function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

function port(host: string): string {
  const colon = host.lastIndexOf(':');
  if (colon < 0 || host.lastIndexOf(']') > colon) return '';
  const p = host.slice(colon + 1);
  return /^\d*$/.test(p) ? p : '';
}

function parseQuery(rawQuery: string): Record<string, string[]> {
  const query: Record<string, string[]> = {};
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const k = unescapeQuery(eq < 0 ? pair : pair.slice(0, eq));
    const v = unescapeQuery(eq < 0 ? '' : pair.slice(eq + 1));
    if (k === undefined || v === undefined) continue;
    (query[k] ??= []).push(v);
  }
  return query;
}

function unescapeQuery(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
