/**
 * Test support for the injector (imported by its tests and test/controlplane; no tests of its own,
 * and named `.test.ts` so the build leaves it out): mesh configurations
 * as the operator writes them, pods, the kubelet's `$(VAR)` expansion, the acceptance checks the
 * bootstraps go through (Envoy's protos; `@grpc/grpc-js-xds`' own bootstrap validation), and a
 * test CA that issues serving certificates.
 */
import assert from 'node:assert/strict';
import { KeyObject, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import type { V1Pod } from '@kubernetes/client-node';
import { addCommonProtos, loadProtosWithOptionsSync } from '@grpc/proto-loader/build/src/util.js';
import { validateBootstrapConfig } from '@grpc/grpc-js-xds/build/src/xds-bootstrap.js';
import * as x509 from '@peculiar/x509';
import { meshConfigText } from '../../meshinstallation/desired.js';
import { meshInstallation, type SpecInput } from '../../meshinstallation/fixtures.test.js';
import { parseMeshConfig, type MeshConfig } from '../meshconfig.js';
import { envoyIncludeDirs, type Message, type ProtoRoot } from '../xds/protos.js';

// ---------------------------------------------------------------------------------------------
// Mesh configurations and pods

/** The mesh configuration of a MeshInstallation with `spec`, through the operator's writer and the control plane's reader. */
export const meshConfig = (spec: SpecInput = {}): MeshConfig =>
  parseMeshConfig(meshConfigText(meshInstallation({ spec })));

export const sidecarMesh = (spec: SpecInput = {}): MeshConfig =>
  meshConfig({ ...spec, dataPlane: { mode: 'Sidecar', ...spec.dataPlane } });
export const proxylessMesh = (spec: SpecInput = {}): MeshConfig =>
  meshConfig({ ...spec, dataPlane: { mode: 'Proxyless', ...spec.dataPlane } });

/** A pod as a Deployment's ReplicaSet creates it: generated name, no namespace yet. */
export function pod(
  overrides: { metadata?: V1Pod['metadata']; spec?: Partial<NonNullable<V1Pod['spec']>> } = {},
): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: 'checkout-7d9f-', labels: { app: 'checkout' }, ...overrides.metadata },
    spec: {
      serviceAccountName: 'checkout',
      containers: [{ name: 'app', image: 'shop/checkout:1.0', ports: [{ containerPort: 8080 }] }],
      ...overrides.spec,
    },
  };
}

/** The kubelet's `$(VAR)` expansion of a container's args and env values (`$$` escapes a `$`). */
export function expandVariables(text: string, variables: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name: string | undefined) =>
    name === undefined ? '$' : (variables[name] ?? match),
  );
}

export const POD_VARIABLES = { POD_NAME: 'checkout-7d9f-abcde', POD_NAMESPACE: 'shop', POD_IP: '10.1.0.7' };

// ---------------------------------------------------------------------------------------------
// Acceptance checks

/** What `@grpc/grpc-js-xds` makes of a bootstrap (`validateBootstrapConfig`: it throws on an invalid one). */
export const grpcValidateBootstrap = (bootstrap: unknown): ReturnType<typeof validateBootstrapConfig> =>
  validateBootstrapConfig(bootstrap as Parameters<typeof validateBootstrapConfig>[0]);

const ENVOY_FILES = [
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/service/discovery/v3/discovery.proto',
];

let bootstrapRoot: ProtoRoot | undefined;

/** The Envoy API with the bootstrap and everything the injected bootstrap puts in an Any. */
export function bootstrapProtos(): ProtoRoot {
  addCommonProtos();
  bootstrapRoot ??= loadProtosWithOptionsSync(ENVOY_FILES, {
    keepCase: true,
    includeDirs: envoyIncludeDirs(),
  });
  return bootstrapRoot;
}

type ReflectionType = ReturnType<ProtoRoot['lookupType']>;
type ReflectionField = ReflectionType['fieldsArray'][number];

const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map(
    (w) => `google.protobuf.${w}Value`,
  ),
);

/**
 * Reads proto3 JSON (what Envoy parses `--config-yaml` and SDS files as) into the object form
 * protobufjs encodes: Struct/Value/ListValue from plain JSON, Duration from `"1.5s"`, wrappers from
 * plain values, Anys by their `@type`. Strict where protobufjs is lenient: a field the message does
 * not have, an unknown enum name or a value of the wrong JSON type throws, naming the field.
 */
export function fromProto3Json(root: ProtoRoot, typeName: string, json: unknown, path = typeName): Message {
  return message(root, root.lookupType(typeName), json, path) as Message;
}

function message(root: ProtoRoot, type: ReflectionType, json: unknown, path: string): unknown {
  const name = type.fullName.replace(/^\./, '');
  if (name === 'google.protobuf.Struct') return struct(root, json, path);
  if (name === 'google.protobuf.Value') return protoValue(root, json, path);
  if (name === 'google.protobuf.ListValue')
    return { values: list(json, path).map((v, i) => protoValue(root, v, `${path}[${i}]`)) };
  if (name === 'google.protobuf.Duration') return duration(json, path);
  if (WRAPPERS.has(name)) return { value: scalar(type.fields.value!, json, path) };
  if (name === 'google.protobuf.Any') {
    const obj = object(json, path);
    const typeUrl = obj['@type'];
    assert.equal(typeof typeUrl, 'string', `${path}: an Any needs @type`);
    const inner = root.lookupType((typeUrl as string).slice((typeUrl as string).lastIndexOf('/') + 1));
    const { '@type': _, ...fields } = obj;
    return { '@type': typeUrl, ...(message(root, inner, fields, path) as Message) };
  }
  const obj = object(json, path);
  const out: Message = {};
  for (const [key, value] of Object.entries(obj)) {
    const field = type.fields[key];
    assert.ok(field, `${path}.${key}: ${name} has no field ${key}`);
    field.resolve();
    const at = `${path}.${key}`;
    if (field.map) {
      out[key] = Object.fromEntries(
        Object.entries(object(value, at)).map(([k, v]) => [k, fieldValue(root, field, v, `${at}[${k}]`)]),
      );
    } else if (field.repeated) {
      out[key] = list(value, at).map((v, i) => fieldValue(root, field, v, `${at}[${i}]`));
    } else {
      out[key] = fieldValue(root, field, value, at);
    }
  }
  return out;
}

function fieldValue(root: ProtoRoot, field: ReflectionField, json: unknown, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved && 'fields' in resolved) return message(root, resolved, json, path);
  if (resolved && 'values' in resolved) {
    assert.ok(
      typeof json === 'string' && json in resolved.values,
      `${path}: ${String(json)} is not a value of ${resolved.name}`,
    );
    return json;
  }
  return scalar(field, json, path);
}

function scalar(field: ReflectionField, json: unknown, path: string): unknown {
  switch (field.type) {
    case 'string':
    case 'bytes':
      assert.equal(typeof json, 'string', `${path}: expected a string`);
      return json;
    case 'bool':
      assert.equal(typeof json, 'boolean', `${path}: expected a boolean`);
      return json;
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      assert.ok(
        typeof json === 'number' || (typeof json === 'string' && /^-?[0-9]+$/.test(json)),
        `${path}: expected an integer`,
      );
      return Number(json);
    default:
      assert.equal(typeof json, 'number', `${path}: expected a number`);
      if (/int|fixed/.test(field.type)) assert.ok(Number.isInteger(json), `${path}: expected an integer`);
      if (field.type.startsWith('u') || field.type.startsWith('fixed'))
        assert.ok((json as number) >= 0, `${path}: expected ≥ 0`);
      return json;
  }
}

function object(json: unknown, path: string): Record<string, unknown> {
  assert.ok(json !== null && typeof json === 'object' && !Array.isArray(json), `${path}: expected an object`);
  return json as Record<string, unknown>;
}

function list(json: unknown, path: string): unknown[] {
  assert.ok(Array.isArray(json), `${path}: expected a list`);
  return json;
}

const struct = (root: ProtoRoot, json: unknown, path: string): Message => ({
  fields: Object.fromEntries(
    Object.entries(object(json, path)).map(([k, v]) => [k, protoValue(root, v, `${path}.${k}`)]),
  ),
});

/**
 * A google.protobuf.Value. proto-loader's common protos come from JSON descriptors whose field names
 * are camelCase (`stringValue`) even with `keepCase`, so the names are read from the type itself.
 */
function protoValue(root: ProtoRoot, json: unknown, path: string): Message {
  const fields = root.lookupType('google.protobuf.Value').fields;
  const key = (snake: string): string =>
    snake in fields ? snake : snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  if (json === null) return { [key('null_value')]: 'NULL_VALUE' };
  if (Array.isArray(json)) {
    return { [key('list_value')]: { values: json.map((v, i) => protoValue(root, v, `${path}[${i}]`)) } };
  }
  switch (typeof json) {
    case 'string':
      return { [key('string_value')]: json };
    case 'number':
      return { [key('number_value')]: json };
    case 'boolean':
      return { [key('bool_value')]: json };
    default:
      return { [key('struct_value')]: struct(root, json, path) };
  }
}

function duration(json: unknown, path: string): Message {
  assert.ok(
    typeof json === 'string' && /^-?[0-9]+(\.[0-9]{1,9})?s$/.test(json),
    `${path}: expected a duration like "1.5s"`,
  );
  const [seconds, fraction = ''] = json.slice(0, -1).split('.');
  return { seconds: Number(seconds), nanos: Number(fraction.padEnd(9, '0')) };
}

/**
 * Reads `json` as proto3 JSON of `typeName`, encodes it with the Envoy protos, decodes it again and
 * asserts nothing was lost: every field exists in the Envoy API with the type given. Returns the
 * decoded message (Anys as `{'@type', …}`).
 */
export function assertEnvoyDecodes(typeName: string, json: unknown): Message {
  const root = bootstrapProtos();
  const type = root.lookupType(typeName);
  const object = fromProto3Json(root, typeName, json);
  const decoded = type.toObject(type.decode(type.encode(type.fromObject(object)).finish()), {
    json: true,
    enums: String,
    longs: Number,
  });
  assert.deepEqual(decoded, object);
  return decoded;
}

// ---------------------------------------------------------------------------------------------
// A test CA

export interface IssuedCertificate {
  /** PEM. */
  cert: string;
  /** PEM, PKCS#8. */
  key: string;
  /** Hex, upper case, as Node's `X509Certificate.serialNumber` and `getPeerCertificate()` give it. */
  serialNumber: string;
}

export interface TestCa {
  /** PEM: what a webhook's `caBundle` holds (base64 of it). */
  caCert: string;
  /** A serving certificate for `hosts` (IP addresses become IP SANs), with the given serial. */
  issue(hosts: string[], serialNumber: string): Promise<IssuedCertificate>;
}

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' };

/** A throwaway CA (ECDSA P-256) valid from a minute before `now` for a day. */
export async function createTestCa(now = new Date()): Promise<TestCa> {
  const crypto = webcrypto;
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + 86_400_000);
  const caKeys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: 'CN=meshwright-injector-test-ca',
      keys: caKeys,
      serialNumber: '01',
      notBefore,
      notAfter,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return {
    caCert: ca.toString('pem'),
    async issue(hosts, serialNumber) {
      const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
      const cert = await x509.X509CertificateGenerator.create(
        {
          subject: 'CN=meshwright-injector-test',
          issuer: ca.subject,
          publicKey: keys.publicKey,
          signingKey: caKeys.privateKey,
          serialNumber,
          notBefore,
          notAfter,
          signingAlgorithm: SIGNING_ALGORITHM,
          extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
            new x509.SubjectAlternativeNameExtension(
              hosts.map((h) => ({ type: isIP(h) === 0 ? 'dns' : 'ip', value: h })),
              false,
            ),
            await x509.AuthorityKeyIdentifierExtension.create(ca, false, crypto),
          ],
        },
        crypto,
      );
      return {
        cert: cert.toString('pem'),
        key: KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string,
        serialNumber: serialNumber.toUpperCase(),
      };
    },
  };
}
