/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return -- Kubernetes objects are untyped JSON here (Obj) */
/** CustomResourceDefinitions: defaults, validation, and the types a CRD serves. */
import { validateName } from './builtins.js';
import type { StatusCause } from './errors.js';
import type { Hooks } from './hooks.js';
import { ALL_VERBS, type PrinterColumn, type ResourceType } from './kinds.js';
import type { Obj } from './store.js';

export const CRD_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

/** Defaults the real server applies to a CRD (names, conversion, finalizer, status). */
export function prepareCrd(crd: Obj, old: Obj | undefined): void {
  const spec = (crd.spec ??= {});
  const names = (spec.names ??= {});
  if (names.kind) {
    names.singular ??= String(names.kind).toLowerCase();
    names.listKind ??= `${names.kind}List`;
  }
  spec.conversion ??= { strategy: 'None' };
  for (const v of (spec.versions ?? []) as Obj[]) {
    if (v.schema?.openAPIV3Schema === undefined) continue;
  }
  if (!old) {
    const fins = (crd.metadata.finalizers ??= []) as string[];
    if (!fins.includes(CRD_FINALIZER)) fins.push(CRD_FINALIZER);
    crd.status = {
      conditions: [],
      acceptedNames: { kind: '', plural: '' },
      storedVersions: ((spec.versions ?? []) as Obj[]).filter((v) => v.storage).map((v) => v.name),
    };
  } else {
    crd.status = old.status;
  }
}

const inv = (field: string, value: unknown, detail: string): StatusCause => ({
  reason: 'FieldValueInvalid',
  field,
  message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
});
const req = (field: string, detail = ''): StatusCause => ({
  reason: 'FieldValueRequired',
  field,
  message: detail ? `Required value: ${detail}` : 'Required value',
});

export function validateCrd(
  crd: Obj,
  old: Obj | undefined,
  structuralErrors: (schema: object) => string[],
): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  if (!spec.group) out.push(req('spec.group'));
  else if (!String(spec.group).includes('.'))
    out.push(inv('spec.group', spec.group, 'should be a domain with at least one dot'));
  if (!names.plural) out.push(req('spec.names.plural'));
  else out.push(...validateName(names.plural, 'label', 'spec.names.plural'));
  if (!names.kind) out.push(req('spec.names.kind'));
  if (names.singular) out.push(...validateName(names.singular, 'label', 'spec.names.singular'));
  if (names.plural && spec.group && crd.metadata.name !== `${names.plural}.${spec.group}`) {
    out.push(inv('metadata.name', crd.metadata.name, 'must be spec.names.plural+"."+spec.group'));
  }
  if (!['Namespaced', 'Cluster'].includes(spec.scope)) {
    out.push(
      spec.scope
        ? {
            reason: 'FieldValueNotSupported',
            field: 'spec.scope',
            message: `Unsupported value: ${JSON.stringify(spec.scope)}: supported values: "Cluster", "Namespaced"`,
          }
        : req('spec.scope'),
    );
  }
  const versions = (spec.versions ?? []) as Obj[];
  if (versions.length === 0)
    out.push(req('spec.versions', 'must have exactly one version marked as storage version'));
  else if (versions.filter((v) => v.storage).length !== 1)
    out.push(inv('spec.versions', versions, 'must have exactly one version marked as storage version'));
  versions.forEach((v, i) => {
    if (!v.name) out.push(req(`spec.versions[${i}].name`));
    const schema = v.schema?.openAPIV3Schema as object | undefined;
    if (!schema) {
      out.push(req(`spec.versions[${i}].schema.openAPIV3Schema`, 'schemas are required'));
      return;
    }
    for (const e of structuralErrors(schema)) {
      const m = /^([^:\s]*): (.*)$/s.exec(e);
      const sub = m?.[1] ?? '';
      const field = `spec.versions[${i}].schema.openAPIV3Schema${sub && !sub.startsWith('[') ? '.' : ''}${sub}`;
      out.push({ reason: reasonOf(m?.[2] ?? e), field, message: m?.[2] ?? e });
    }
  });
  if (old) {
    if (old.spec?.group !== spec.group) out.push(inv('spec.group', spec.group, 'field is immutable'));
    if (old.spec?.scope !== spec.scope) out.push(inv('spec.scope', spec.scope, 'field is immutable'));
  }
  return out;
}

function reasonOf(message: string): string {
  if (message.startsWith('Required value')) return 'FieldValueRequired';
  if (message.startsWith('Forbidden')) return 'FieldValueForbidden';
  if (message.startsWith('Unsupported value')) return 'FieldValueNotSupported';
  return 'FieldValueInvalid';
}

/** The types a CRD serves, one per served version, sharing one storage. */
export function crdTypes(crd: Obj, hooks: Pick<Hooks, 'compileSchema'>): ResourceType[] {
  const spec = crd.spec;
  const names = spec.names;
  return ((spec.versions ?? []) as Obj[])
    .filter((v) => v.served !== false)
    .map((v) => {
      const schema = v.schema?.openAPIV3Schema as object | undefined;
      let compiled;
      try {
        compiled = schema ? hooks.compileSchema(schema) : undefined;
      } catch (e) {
        console.error(`localcluster: compiling the schema of ${crd.metadata.name} ${v.name}:`, e);
      }
      return {
        group: spec.group,
        version: v.name,
        kind: names.kind,
        listKind: names.listKind ?? `${names.kind}List`,
        plural: names.plural,
        singular: names.singular ?? String(names.kind).toLowerCase(),
        namespaced: spec.scope === 'Namespaced',
        shortNames: names.shortNames ?? [],
        categories: names.categories ?? [],
        statusSubresource: v.subresources?.status !== undefined,
        generation: 'all',
        nameRule: 'subdomain',
        verbs: ALL_VERBS,
        storageKey: `${spec.group}/${names.plural}`,
        custom: {
          crdName: crd.metadata.name,
          schema: compiled,
          openAPIV3Schema: schema,
          printerColumns: (v.additionalPrinterColumns ?? []) as PrinterColumn[],
          ...(v.subresources?.scale ? { scaleSubresource: v.subresources.scale } : {}),
        },
      } satisfies ResourceType;
    });
}
