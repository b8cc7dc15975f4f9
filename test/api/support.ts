import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { KINDS, type Kind } from '../../operator/api/index.js';
import { compileSchema, type CompiledSchema } from '../../operator/localcluster/schema/index.js';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: unknown;
}

/** The openAPIV3Schema of each CRD as `npm run generate` wrote it to crds/, by kind. */
export async function crdOpenAPISchemas(): Promise<Map<string, object>> {
  const schemas = new Map<string, object>();
  for (const file of await readdir(join(ROOT, 'crds'))) {
    const crd = parse(await readFile(join(ROOT, 'crds', file), 'utf8')) as {
      spec: { names: { kind: string }; versions: { schema: { openAPIV3Schema: object } }[] };
    };
    schemas.set(crd.spec.names.kind, crd.spec.versions[0]!.schema.openAPIV3Schema);
  }
  return schemas;
}

/** The CRDs in crds/, compiled as the API server compiles them. */
export async function crdSchemas(): Promise<Map<string, CompiledSchema>> {
  const compiled = new Map<string, CompiledSchema>();
  for (const [kind, schema] of await crdOpenAPISchemas()) compiled.set(kind, compileSchema(schema));
  return compiled;
}

export function kindOf(name: string): Kind {
  const kind = KINDS.find((k) => k.kind === name);
  if (!kind) throw new Error(`no kind ${name}`);
  return kind;
}

/** What the API server answers for a create: defaults applied to the pruned object, then validation. */
export function serverCauses(schema: CompiledSchema, resource: unknown) {
  return schema.validate(schema.applyDefaults(schema.prune(resource)));
}

/** zod's verdict on a spec, with issue paths written as Kubernetes field paths. */
export function zodCauses(kind: Kind, resource: Resource): { field: string; message: string }[] {
  const result = kind.spec.safeParse(resource.spec);
  if (result.success) return [];
  return result.error.issues.map((issue) => ({
    field: fieldPath(['spec', ...issue.path]),
    message: issue.message,
  }));
}

export function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

export interface InvalidFixture {
  file: string;
  why: string;
  field: string;
  message: string;
  resource: Resource;
}

/** `test/fixtures/invalid/*.yaml`: a resource under a header naming the field and message refused. */
export async function invalidFixtures(): Promise<InvalidFixture[]> {
  const dir = join(ROOT, 'test', 'fixtures', 'invalid');
  const fixtures: InvalidFixture[] = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort()) {
    const text = await readFile(join(dir, file), 'utf8');
    const header = (key: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`# ${key}: `));
      if (!line) throw new Error(`${file}: no "# ${key}:" line`);
      return line.slice(`# ${key}: `.length);
    };
    const why = text.split('\n')[0]!.replace(/^# /, '');
    fixtures.push({
      file,
      why,
      field: header('field'),
      message: header('message'),
      resource: parse(text) as Resource,
    });
  }
  return fixtures;
}

export async function samples(): Promise<{ file: string; resource: Resource }[]> {
  const dir = join(ROOT, 'config', 'samples');
  const out: { file: string; resource: Resource }[] = [];
  const resources = (await readdir(dir)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  for (const file of resources.sort()) {
    for (const doc of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      out.push({ file, resource: doc.toJS() as Resource });
    }
  }
  return out;
}
