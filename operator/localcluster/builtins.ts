/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- Kubernetes objects are untyped JSON here (Obj) */
/**
 * Defaults and validation of built-in kinds: the subset of the real server's that an operator
 * notices (allocated clusterIPs, Deployment and Pod template defaults, Secret stringData, Namespace
 * labels and finalizers; names, labels, Deployment selectors, Service ports). Each function works on
 * a fresh copy owned by the caller.
 */
import type { StatusCause } from './errors.js';
import type { NameRule, ResourceType } from './kinds.js';
import type { Obj } from './store.js';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

const q = (s: unknown): string => JSON.stringify(s);
const invalidCause = (field: string, value: unknown, detail: string): StatusCause => ({
  reason: 'FieldValueInvalid',
  field,
  message: `Invalid value: ${q(value)}: ${detail}`,
});
const requiredCause = (field: string, detail = ''): StatusCause => ({
  reason: 'FieldValueRequired',
  field,
  message: detail ? `Required value: ${detail}` : 'Required value',
});

export function validateName(name: string, rule: NameRule, field = 'metadata.name'): StatusCause[] {
  const out: StatusCause[] = [];
  switch (rule) {
    case 'path':
      if (name === '.' || name === '..') out.push(invalidCause(field, name, `may not be '${name}'`));
      for (const bad of ['/', '%'])
        if (name.includes(bad)) out.push(invalidCause(field, name, `may not contain '${bad}'`));
      break;
    case 'label':
      if (name.length > 63) out.push(invalidCause(field, name, 'must be no more than 63 characters'));
      if (!LABEL.test(name)) out.push(invalidCause(field, name, LABEL_MSG));
      break;
    case 'dns1035':
      if (name.length > 63) out.push(invalidCause(field, name, 'must be no more than 63 characters'));
      if (!DNS1035.test(name)) out.push(invalidCause(field, name, DNS1035_MSG));
      break;
    default:
      if (name.length > 253) out.push(invalidCause(field, name, 'must be no more than 253 characters'));
      if (!SUBDOMAIN.test(name)) out.push(invalidCause(field, name, SUBDOMAIN_MSG));
  }
  return out;
}

function validateQualifiedName(key: string, field: string): StatusCause[] {
  const parts = key.split('/');
  const out: StatusCause[] = [];
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length > 2) {
    out.push(
      invalidCause(
        field,
        key,
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
      ),
    );
    return out;
  }
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix.length === 0) out.push(invalidCause(field, key, 'prefix part must be non-empty'));
    else if (!SUBDOMAIN.test(prefix) || prefix.length > 253)
      out.push(invalidCause(field, key, `prefix part ${SUBDOMAIN_MSG}`));
  }
  if (name.length === 0) out.push(invalidCause(field, key, 'name part must be non-empty'));
  else if (name.length > 63) out.push(invalidCause(field, key, 'name part must be no more than 63 bytes'));
  else if (!QUALIFIED_NAME.test(name)) {
    out.push(
      invalidCause(
        field,
        key,
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ),
    );
  }
  return out;
}

/** Metadata checks common to every kind (ObjectMeta validation). */
export function validateMeta(obj: Obj, type: ResourceType): StatusCause[] {
  const md = obj.metadata ?? {};
  const out: StatusCause[] = [];
  if (!md.name) out.push(requiredCause('metadata.name', 'name or generateName is required'));
  else out.push(...validateName(md.name, type.nameRule));
  if (type.namespaced && !md.namespace) out.push(requiredCause('metadata.namespace'));
  for (const [k, v] of Object.entries((md.labels ?? {}) as Record<string, unknown>)) {
    out.push(...validateQualifiedName(k, 'metadata.labels'));
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
      out.push(
        invalidCause(
          'metadata.labels',
          v,
          typeof v === 'string' && v.length > 63
            ? 'must be no more than 63 characters'
            : "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
      );
    }
  }
  for (const k of Object.keys((md.annotations ?? {}) as Record<string, unknown>)) {
    out.push(...validateQualifiedName(k.toLowerCase(), 'metadata.annotations'));
  }
  for (const [i, ref] of ((md.ownerReferences ?? []) as Obj[]).entries()) {
    for (const f of ['apiVersion', 'kind', 'name', 'uid']) {
      if (!ref[f])
        out.push(
          requiredCause(`metadata.ownerReferences[${i}].${f}`, f === 'uid' ? 'uid must not be empty' : ''),
        );
    }
  }
  const controllers = ((md.ownerReferences ?? []) as Obj[]).filter((r) => r.controller === true);
  if (controllers.length > 1) {
    out.push(
      invalidCause(
        'metadata.ownerReferences',
        md.ownerReferences,
        'Only one reference can have Controller set to true. Found "true" in references for ' +
          controllers.map((c) => `${c.kind}/${c.name}`).join(' and '),
      ),
    );
  }
  return out;
}

let nextIp = 10;
export function allocateClusterIP(used: Set<string>): string {
  for (;;) {
    const n = nextIp++;
    const ip = `10.96.${(n >> 8) & 255}.${n & 255}`;
    if ((n & 255) !== 0 && !used.has(ip)) return ip;
  }
}

function defaultContainer(c: Obj): void {
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  if (c.image && c.imagePullPolicy === undefined) {
    const tagged = /:[^/]+$/.test(c.image.split('@')[0]);
    c.imagePullPolicy = !tagged || c.image.split('@')[0].endsWith(':latest') ? 'Always' : 'IfNotPresent';
  }
  c.resources ??= {};
  for (const p of (c.ports ?? []) as Obj[]) p.protocol ??= 'TCP';
}

export function defaultPodSpec(spec: Obj | undefined): void {
  if (!spec) return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])] as Obj[]) defaultContainer(c);
}

export interface DefaultContext {
  usedClusterIPs: () => Set<string>;
}

/** Applies the kind's defaults to `obj` (a fresh copy); `old` is the live object on updates. */
export function applyBuiltinDefaults(
  type: ResourceType,
  obj: Obj,
  old: Obj | undefined,
  ctx: DefaultContext,
): void {
  const key = type.storageKey;
  if (key === '/namespaces') {
    obj.metadata.labels = {
      ...(obj.metadata.labels ?? {}),
      'kubernetes.io/metadata.name': obj.metadata.name,
    };
    obj.spec ??= {};
    obj.spec.finalizers ??= old?.spec?.finalizers ?? ['kubernetes'];
    obj.status = old?.status ?? { phase: 'Active' };
  } else if (key === '/services') {
    const spec = (obj.spec ??= {});
    spec.type ??= 'ClusterIP';
    spec.sessionAffinity ??= 'None';
    if (spec.type !== 'ExternalName') {
      if (!spec.clusterIP && old?.spec?.clusterIP) {
        spec.clusterIP = old.spec.clusterIP;
        spec.clusterIPs = old.spec.clusterIPs;
      }
      if (!spec.clusterIP) spec.clusterIP = allocateClusterIP(ctx.usedClusterIPs());
      spec.clusterIPs ??= [spec.clusterIP];
      spec.ipFamilies ??= ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
      spec.internalTrafficPolicy ??= 'Cluster';
    }
    for (const p of (spec.ports ?? []) as Obj[]) {
      p.protocol ??= 'TCP';
      if (spec.type !== 'ExternalName') p.targetPort ??= p.port;
    }
    obj.status ??= old?.status ?? { loadBalancer: {} };
  } else if (key === '/pods') {
    defaultPodSpec(obj.spec);
    if (obj.spec) {
      obj.spec.serviceAccountName ??= 'default';
      obj.spec.serviceAccount ??= obj.spec.serviceAccountName;
      obj.spec.enableServiceLinks ??= true;
      obj.spec.priority ??= 0;
    }
    obj.status ??= old?.status ?? { phase: 'Pending', qosClass: 'BestEffort' };
  } else if (key === 'apps/deployments') {
    const spec = (obj.spec ??= {});
    spec.replicas ??= 1;
    spec.strategy ??= { type: 'RollingUpdate' };
    if (spec.strategy.type === 'RollingUpdate') {
      spec.strategy.rollingUpdate ??= {};
      spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
      spec.strategy.rollingUpdate.maxSurge ??= '25%';
    }
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    defaultPodSpec(spec.template?.spec);
    obj.status ??= old?.status ?? {};
  } else if (key === '/secrets') {
    obj.type ??= 'Opaque';
    if (obj.stringData) {
      obj.data = { ...(obj.data ?? {}) };
      for (const [k, v] of Object.entries(obj.stringData as Record<string, string>)) {
        obj.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      }
      delete obj.stringData;
    }
  } else if (key === 'networking.k8s.io/networkpolicies') {
    const spec = (obj.spec ??= {});
    if (!spec.policyTypes) spec.policyTypes = spec.egress ? ['Ingress', 'Egress'] : ['Ingress'];
    for (const rule of [...(spec.ingress ?? []), ...(spec.egress ?? [])] as Obj[]) {
      for (const p of (rule.ports ?? []) as Obj[]) p.protocol ??= 'TCP';
    }
  } else if (key === 'admissionregistration.k8s.io/mutatingwebhookconfigurations') {
    for (const w of (obj.webhooks ?? []) as Obj[]) {
      w.failurePolicy ??= 'Fail';
      w.matchPolicy ??= 'Equivalent';
      w.namespaceSelector ??= {};
      w.objectSelector ??= {};
      w.sideEffects ??= 'Unknown';
      w.timeoutSeconds ??= 10;
      w.reinvocationPolicy ??= 'Never';
      if (w.clientConfig?.service) w.clientConfig.service.port ??= 443;
      for (const r of (w.rules ?? []) as Obj[]) r.scope ??= '*';
    }
  } else if (key === 'policy/poddisruptionbudgets') {
    obj.status ??= old?.status ?? {
      disruptionsAllowed: 0,
      currentHealthy: 0,
      desiredHealthy: 0,
      expectedPods: 0,
    };
  } else if (key === '/serviceaccounts' || key === '/configmaps' || key === '/endpoints') {
    // nothing
  }
}

/** Kind-specific validation beyond metadata (a pragmatic subset of the real server's). */
export function validateBuiltin(type: ResourceType, obj: Obj, old: Obj | undefined): StatusCause[] {
  const out: StatusCause[] = [];
  const key = type.storageKey;
  if (key === '/configmaps' || key === '/secrets') {
    for (const field of ['data', 'binaryData', 'stringData']) {
      for (const k of Object.keys((obj[field] ?? {}) as Record<string, unknown>)) {
        if (!/^[-._a-zA-Z0-9]+$/.test(k) || k.length > 253) {
          out.push(
            invalidCause(
              `${field}[${k}]`,
              k,
              "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
            ),
          );
        }
      }
    }
    if (key === '/secrets' && old && old.type !== obj.type)
      out.push(invalidCause('type', obj.type, 'field is immutable'));
    if (
      old?.immutable === true &&
      (JSON.stringify(old.data) !== JSON.stringify(obj.data) ||
        JSON.stringify(old.binaryData) !== JSON.stringify(obj.binaryData))
    ) {
      out.push({
        reason: 'FieldValueForbidden',
        field: 'data',
        message: 'Forbidden: field is immutable when `immutable` is set',
      });
    }
  } else if (key === '/services') {
    const spec = obj.spec ?? {};
    const types = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
    if (!types.includes(spec.type))
      out.push({
        reason: 'FieldValueNotSupported',
        field: 'spec.type',
        message: `Unsupported value: ${q(spec.type)}: supported values: ${types.map(q).join(', ')}`,
      });
    const ports = (spec.ports ?? []) as Obj[];
    if (ports.length === 0 && spec.clusterIP !== 'None' && spec.type !== 'ExternalName')
      out.push(requiredCause('spec.ports'));
    ports.forEach((p, i) => {
      if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
        out.push(invalidCause(`spec.ports[${i}].port`, p.port, 'must be between 1 and 65535, inclusive'));
      if (ports.length > 1 && !p.name) out.push(requiredCause(`spec.ports[${i}].name`));
    });
    if (
      old?.spec?.clusterIP &&
      obj.spec?.clusterIP !== old.spec.clusterIP &&
      old.spec.type !== 'ExternalName'
    ) {
      out.push(invalidCause('spec.clusterIPs[0]', obj.spec?.clusterIP, 'may not change once set'));
    }
  } else if (key === 'apps/deployments') {
    const spec = obj.spec ?? {};
    if (!spec.selector) out.push(requiredCause('spec.selector'));
    else {
      const labels = spec.template?.metadata?.labels ?? {};
      const ml = (spec.selector.matchLabels ?? {}) as Record<string, string>;
      const matches = Object.entries(ml).every(([k, v]) => labels[k] === v);
      if (!matches || (Object.keys(ml).length === 0 && !(spec.selector.matchExpressions ?? []).length)) {
        out.push(
          invalidCause(
            'spec.template.metadata.labels',
            labels,
            '`selector` does not match template `labels`',
          ),
        );
      }
      if (old && JSON.stringify(old.spec?.selector) !== JSON.stringify(spec.selector)) {
        out.push(invalidCause('spec.selector', spec.selector, 'field is immutable'));
      }
    }
    if (typeof spec.replicas === 'number' && spec.replicas < 0)
      out.push(invalidCause('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
    out.push(...validatePodSpec(spec.template?.spec, 'spec.template.spec'));
  } else if (key === '/pods') {
    out.push(...validatePodSpec(obj.spec, 'spec'));
  } else if (key === '/namespaces') {
    // the name rule covers it
  }
  return out;
}

function validatePodSpec(spec: Obj | undefined, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const containers = (spec?.containers ?? []) as Obj[];
  if (containers.length === 0) out.push(requiredCause(`${path}.containers`));
  containers.forEach((c, i) => {
    if (!c.name) out.push(requiredCause(`${path}.containers[${i}].name`));
    else out.push(...validateName(c.name, 'label', `${path}.containers[${i}].name`));
    if (!c.image) out.push(requiredCause(`${path}.containers[${i}].image`));
  });
  return out;
}
