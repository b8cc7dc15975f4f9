/**
 * The package against real, published CRDs (cert-manager and Gateway API, with many CEL rules). They live
 * outside the repository; a checkout without them skips these tests.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { compileSchema, structuralErrors, type CompiledSchema } from './index.js';

const CRD_DIR = '/work/shared/crds';
const skip = existsSync(CRD_DIR)
  ? false
  : `${CRD_DIR} is not present on this machine; the published CRDs are not part of the repository`;

interface CrdVersion {
  file: string;
  kind: string;
  version: string;
  schema: object;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

function crdVersions(): CrdVersion[] {
  if (skip !== false) return [];
  return yamlFiles(CRD_DIR).flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8')).flatMap((doc) => {
      const crd = doc.toJS() as {
        spec: { names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: object } }[] };
      };
      return crd.spec.versions.map((v) => ({
        file,
        kind: crd.spec.names.kind,
        version: v.name,
        schema: v.schema.openAPIV3Schema,
      }));
    }),
  );
}

const versions = crdVersions();
const compiledCache = new Map<string, CompiledSchema>();

function compiled(kind: string, version: string): CompiledSchema {
  const cacheKey = `${kind}/${version}`;
  let schema = compiledCache.get(cacheKey);
  if (schema === undefined) {
    const found = versions.find((v) => v.kind === kind && v.version === version);
    assert.ok(found, `no CRD for ${cacheKey} in ${CRD_DIR}`);
    schema = compileSchema(found.schema);
    compiledCache.set(cacheKey, schema);
  }
  return schema;
}

/** What the API server does to a create request before validating it. */
function admit(kind: string, version: string, obj: unknown) {
  const schema = compiled(kind, version);
  return schema.validate(schema.applyDefaults(schema.prune(obj)));
}

describe('published CRDs', { skip }, () => {
  for (const v of versions) {
    it(`${v.kind} ${v.version} is structural and compiles every CEL rule (${v.file})`, () => {
      assert.deepEqual(structuralErrors(v.schema), []);
      const schema = compiled(v.kind, v.version);
      assert.deepEqual(schema.skippedRules, [], 'rules this evaluator could not compile');
    });
  }
});

const httpRoute = (rule: Record<string, unknown>) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    parentRefs: [{ name: 'gateway' }],
    rules: [{ backendRefs: [{ name: 'web', port: 8080 }], ...rule }],
  },
});

describe('Gateway API HTTPRoute', { skip }, () => {
  it('accepts a route with a parentRef and a backendRef', () => {
    assert.deepEqual(
      admit('HTTPRoute', 'v1', httpRoute({ matches: [{ path: { type: 'PathPrefix', value: '/api' } }] })),
      [],
    );
  });

  it('rejects a PathPrefix match whose value does not start with /', () => {
    assert.deepEqual(
      admit('HTTPRoute', 'v1', httpRoute({ matches: [{ path: { type: 'PathPrefix', value: 'api' } }] })),
      [
        {
          reason: 'FieldValueInvalid',
          field: 'spec.rules[0].matches[0].path',
          message: `Invalid value: "object": value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']`,
        },
      ],
    );
  });

  it('rejects two header matches with the same name', () => {
    const headers = [
      { name: 'x-env', value: 'a' },
      { name: 'x-env', value: 'b' },
    ];
    assert.deepEqual(admit('HTTPRoute', 'v1', httpRoute({ matches: [{ headers }] })), [
      {
        reason: 'FieldValueDuplicate',
        field: 'spec.rules[0].matches[0].headers[1]',
        message: 'Duplicate value: map[string]interface {}{"name":"x-env"}',
      },
    ]);
  });

  it('rejects a backend request timeout longer than the request timeout (durations compared in CEL)', () => {
    const causes = admit(
      'HTTPRoute',
      'v1',
      httpRoute({ timeouts: { request: '10s', backendRequest: '1m' } }),
    );
    assert.deepEqual(causes, [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.rules[0].timeouts',
        message: 'Invalid value: "object": backendRequest timeout cannot be longer than request timeout',
      },
    ]);
  });

  it('rejects a Service backendRef without port', () => {
    assert.deepEqual(admit('HTTPRoute', 'v1', httpRoute({ backendRefs: [{ name: 'web' }] })), [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.rules[0].backendRefs[0]',
        message: 'Invalid value: "object": Must have port for Service reference',
      },
    ]);
  });
});

describe('Gateway API GRPCRoute', { skip }, () => {
  const grpcRoute = (method: Record<string, unknown>) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GRPCRoute',
    metadata: { name: 'echo', namespace: 'default' },
    spec: {
      parentRefs: [{ name: 'gateway' }],
      rules: [{ matches: [{ method }], backendRefs: [{ name: 'echo', port: 9000 }] }],
    },
  });

  it('accepts a route matching a service and method', () => {
    assert.deepEqual(admit('GRPCRoute', 'v1', grpcRoute({ service: 'echo.v1.Echo', method: 'Say' })), []);
  });

  it('rejects a method name with invalid characters', () => {
    assert.deepEqual(
      admit('GRPCRoute', 'v1', grpcRoute({ service: 'echo.v1.Echo', method: 'Say-Hi' })).map(
        (c) => `${c.field}: ${c.message}`,
      ),
      [
        'spec.rules[0].matches[0].method: Invalid value: "object": method must only contain valid characters (matching ^[A-Za-z_][A-Za-z_0-9]*$)',
      ],
    );
  });
});

describe('cert-manager', { skip }, () => {
  const certificate = (spec: Record<string, unknown>) => ({
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: 'web', namespace: 'default' },
    spec: { secretName: 'web-tls', dnsNames: ['web.example.com'], ...spec },
  });

  it('accepts a Certificate with secretName and issuerRef', () => {
    assert.deepEqual(admit('Certificate', 'v1', certificate({ issuerRef: { name: 'ca' } })), []);
  });

  it('rejects a Certificate without issuerRef (and, having no CEL rules, reports nothing else)', () => {
    assert.deepEqual(admit('Certificate', 'v1', certificate({})), [
      { reason: 'FieldValueRequired', field: 'spec.issuerRef', message: 'Required value' },
    ]);
  });

  it('rejects an Issuer whose venafi section configures none of tpp, cloud or ngts', () => {
    const issuer = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: 'v' },
      spec: { venafi: { zone: 'z' } },
    };
    assert.deepEqual(admit('Issuer', 'v1', issuer), [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.venafi',
        message: 'Invalid value: "object": exactly one of tpp, cloud, or ngts must be configured',
      },
    ]);
  });

  it('accepts a self-signed Issuer', () => {
    const issuer = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: 's' },
      spec: { selfSigned: {} },
    };
    assert.deepEqual(admit('Issuer', 'v1', issuer), []);
  });
});
