/**
 * Who is on the other end of a stream: the node a proxy announces in its first request, and on the
 * mTLS listener the SPIFFE ID of its client certificate, which must agree with what the node claims.
 *
 * The node's metadata is only a claim; the certificate is proof. A proxy whose certificate names
 * namespace `a` cannot pass itself off as a node of namespace `b` and be served `b`'s view.
 */
import type { PeerCertificate } from 'node:tls';
import { NODE_METADATA, parseSpiffeId } from '../names.js';
import type { ProtoNode, ProtoStruct, ProtoValue } from './protocol.js';

export interface NodeInfo {
  id: string;
  cluster: string;
  /** google.protobuf.Struct decoded to plain JSON. */
  metadata: Record<string, unknown>;
  userAgent?: string;
  /** SPIFFE ID of the client certificate (TLS listeners only). */
  peerIdentity?: string;
}

/** The node of a first request, as plain data. */
export function nodeInfo(node: ProtoNode, peerIdentity?: string): NodeInfo {
  const userAgent = node.user_agent_name
    ? node.user_agent_version
      ? `${node.user_agent_name}/${node.user_agent_version}`
      : node.user_agent_name
    : undefined;
  return {
    id: node.id ?? '',
    cluster: node.cluster ?? '',
    metadata: structToJson(node.metadata ?? undefined),
    ...(userAgent !== undefined ? { userAgent } : {}),
    ...(peerIdentity !== undefined ? { peerIdentity } : {}),
  };
}

/** A `google.protobuf.Struct` as proto-loader decodes it, as plain JSON. */
export function structToJson(struct: ProtoStruct | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) out[key] = valueToJson(value);
  return out;
}

// proto-loader names the google.protobuf types' fields in camelCase even with keepCase; accept both.
const pick = (value: ProtoValue, camel: string, snake: string): unknown => value[camel] ?? value[snake];

function valueToJson(value: ProtoValue | undefined): unknown {
  if (value == null) return null;
  const kind = value.kind;
  const is = (camel: string, snake: string) =>
    kind === camel || kind === snake || (kind === undefined && pick(value, camel, snake) !== undefined);
  if (is('stringValue', 'string_value')) return pick(value, 'stringValue', 'string_value');
  if (is('numberValue', 'number_value')) return Number(pick(value, 'numberValue', 'number_value'));
  if (is('boolValue', 'bool_value')) return pick(value, 'boolValue', 'bool_value');
  if (is('structValue', 'struct_value'))
    return structToJson(pick(value, 'structValue', 'struct_value') as ProtoStruct);
  if (is('listValue', 'list_value')) {
    const list = pick(value, 'listValue', 'list_value') as { values?: ProtoValue[] } | undefined;
    return (list?.values ?? []).map(valueToJson);
  }
  return null;
}

/**
 * The URI SANs of a certificate from Node's `subjectaltname` text (`URI:spiffe://…, DNS:x`), where a
 * value with special characters is a JSON string (`URI:"…"`).
 */
export function uriSans(subjectaltname: string | undefined): string[] {
  const out: string[] = [];
  let i = 0;
  const text = subjectaltname ?? '';
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon === -1) break;
    const type = text.slice(i, colon).trim();
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      // A JSON string: find its closing quote, skipping escapes.
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      end = j + 1;
      try {
        value = JSON.parse(text.slice(colon + 1, end)) as string;
      } catch {
        value = text.slice(colon + 2, j);
      }
    } else {
      const comma = text.indexOf(', ', colon + 1);
      end = comma === -1 ? text.length : comma;
      value = text.slice(colon + 1, end);
    }
    if (type === 'URI') out.push(value);
    const next = text.indexOf(', ', end);
    if (next === -1) break;
    i = next + 2;
  }
  return out;
}

/** The SPIFFE ID of a peer certificate, or why there is none. */
export function spiffeIdOf(cert: PeerCertificate | undefined): { id: string } | { error: string } {
  if (cert === undefined || Object.keys(cert).length === 0) return { error: 'no client certificate' };
  const uris = uriSans(cert.subjectaltname);
  const ids = uris.filter((u) => parseSpiffeId(u) !== undefined);
  if (ids.length === 1) return { id: ids[0]! };
  if (ids.length === 0) {
    return {
      error: `the client certificate has no SPIFFE workload ID (spiffe://<trust domain>/ns/<namespace>/sa/<service account>) among its URI SANs [${uris.join(', ')}]`,
    };
  }
  return {
    error: `the client certificate has several SPIFFE IDs (${ids.join(', ')}); an SVID has exactly one`,
  };
}

/**
 * Why `identity` may not act as `node`, or undefined when it may: the certificate's namespace must be
 * the node's `NAMESPACE` metadata, its service account the node's `SERVICE_ACCOUNT` when the node
 * gives one, and its trust domain `trustDomain` when the server is given one.
 */
export function refusal(node: NodeInfo, identity: string, trustDomain?: string): string | undefined {
  const id = parseSpiffeId(identity);
  if (id === undefined) return `${identity} is not a SPIFFE workload ID`;
  if (trustDomain !== undefined && id.trustDomain !== trustDomain) {
    return `the client certificate ${identity} is not of trust domain ${trustDomain}`;
  }
  const namespace = node.metadata[NODE_METADATA.namespace];
  if (typeof namespace !== 'string' || namespace === '') {
    return `node ${JSON.stringify(node.id)} gives no ${NODE_METADATA.namespace} in its metadata; over mTLS it must, and it must match the client certificate (${identity})`;
  }
  if (namespace !== id.namespace) {
    return `node ${JSON.stringify(node.id)} claims namespace ${JSON.stringify(namespace)} but its client certificate is ${identity} (namespace ${JSON.stringify(id.namespace)})`;
  }
  const serviceAccount = node.metadata[NODE_METADATA.serviceAccount];
  if (serviceAccount !== undefined && serviceAccount !== id.serviceAccount) {
    return `node ${JSON.stringify(node.id)} claims service account ${JSON.stringify(serviceAccount)} but its client certificate is ${identity} (service account ${JSON.stringify(id.serviceAccount)})`;
  }
  return undefined;
}
