/**
 * The checks of `operator-sdk bundle validate --select-optional suite=operatorframework` and of
 * `opm validate`, as listed in the project's notes (read from operator-framework/api,
 * operator-registry and operator-sdk): neither tool runs from npm or Debian, so this module makes
 * them. Each function returns messages; an empty list is a pass. A bundle is its files by path
 * relative to the bundle root (`manifests/…`, `metadata/…`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse, parseAllDocuments } from 'yaml';

export type Bundle = Map<string, string>;
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const IMAGE =
  /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

export const ALLOWED_KINDS = new Set([
  'ClusterServiceVersion',
  'CustomResourceDefinition',
  'Secret',
  'ConfigMap',
  'Service',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
  'PrometheusRule',
  'ServiceMonitor',
  'PodMonitor',
  'PodDisruptionBudget',
  'PriorityClass',
  'VerticalPodAutoscaler',
  'NetworkPolicy',
  'ConsoleYAMLSample',
  'ConsoleQuickStart',
  'ConsoleCLIDownload',
  'ConsoleLink',
  'ConsolePlugin',
]);
export const CAPABILITIES = [
  'Basic Install',
  'Seamless Upgrades',
  'Full Lifecycle',
  'Deep Insights',
  'Auto Pilot',
];
export const CATEGORIES = new Set([
  'AI/Machine Learning',
  'Application Runtime',
  'Big Data',
  'Cloud Provider',
  'Database',
  'Developer Tools',
  'Drivers and plugins',
  'Integration & Delivery',
  'Logging & Tracing',
  'Modernization & Migration',
  'Monitoring',
  'Networking',
  'OpenShift Optional',
  'Security',
  'Storage',
  'Streaming & Messaging',
  'Observability',
]);
const ICON_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/svg+xml']);
const INSTALL_MODES = ['OwnNamespace', 'SingleNamespace', 'MultiNamespace', 'AllNamespaces'];
/** group/version/kind served no more from the given Kubernetes minor (the deprecated-API guide). */
const REMOVED_APIS: { apiVersion: string; kind?: string; removedIn: number }[] = [
  { apiVersion: 'apiextensions.k8s.io/v1beta1', removedIn: 22 },
  { apiVersion: 'rbac.authorization.k8s.io/v1beta1', removedIn: 22 },
  { apiVersion: 'admissionregistration.k8s.io/v1beta1', removedIn: 22 },
  { apiVersion: 'policy/v1beta1', kind: 'PodDisruptionBudget', removedIn: 25 },
  { apiVersion: 'batch/v1beta1', removedIn: 25 },
  { apiVersion: 'autoscaling/v2beta2', removedIn: 26 },
  { apiVersion: 'flowcontrol.apiserver.k8s.io/v1beta2', removedIn: 29 },
  { apiVersion: 'flowcontrol.apiserver.k8s.io/v1beta3', removedIn: 32 },
];
const MAX_GZIP_BYTES = 1024 * 1024;

/** Reads a bundle directory (`olm/bundle`) into memory, hidden files and folders included. */
export function loadBundle(dir: string): Bundle {
  const files: Bundle = new Map();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

const yamlDocs = (text: string): Obj[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter(isObj);

/** The objects of `manifests/`. */
export function manifests(bundle: Bundle): { path: string; obj: Obj }[] {
  return [...bundle]
    .filter(([p]) => p.startsWith('manifests/'))
    .flatMap(([path, text]) =>
      (path.endsWith('.json') ? [JSON.parse(text) as Obj] : yamlDocs(text)).map((obj) => ({ path, obj })),
    );
}

const meta = (o: Obj): Obj => (isObj(o.metadata) ? o.metadata : {});
const gvk = (group: string, version: string, kind: string) => `${group}/${version}/${kind}`;

// ------------------------------------------------------------------------------ the bundle

export function validateBundle(bundle: Bundle): string[] {
  const out: string[] = [];
  out.push(...checkFormat(bundle));
  out.push(...checkAnnotations(bundle));
  const objs = manifests(bundle);
  const csvs = objs.filter((m) => m.obj.kind === 'ClusterServiceVersion');
  if (csvs.length !== 1) {
    out.push(`manifests/ must hold exactly one ClusterServiceVersion, found ${csvs.length}`);
    return out;
  }
  const csv = csvs[0]!.obj;
  const crds = objs.filter((m) => m.obj.kind === 'CustomResourceDefinition').map((m) => m.obj);
  for (const { path, obj } of objs) {
    const kind = String(obj.kind);
    const name = meta(obj).name;
    if (!ALLOWED_KINDS.has(kind)) out.push(`${path}: kind ${kind} is not allowed in a bundle`);
    if (!str(name) || !DNS1123_SUBDOMAIN.test(name) || name.length > 253)
      out.push(`${path}: ${kind} name ${JSON.stringify(name)} is not a DNS-1123 subdomain`);
    if (kind === 'CustomResourceDefinition' && obj.apiVersion !== 'apiextensions.k8s.io/v1')
      out.push(`${path}: CRD ${String(name)} must be apiextensions.k8s.io/v1, is ${String(obj.apiVersion)}`);
  }
  out.push(...checkCsv(csv, crds));
  out.push(
    ...checkRemovedApis(
      csv,
      objs.map((m) => m.obj),
    ),
  );
  const size = gzipSync(Buffer.from([...bundle.values()].join('\n'))).length;
  if (size > MAX_GZIP_BYTES) out.push(`bundle is ${size} bytes compressed, more than the 1 MiB limit`);
  return out;
}

function checkFormat(bundle: Bundle): string[] {
  const out: string[] = [];
  const paths = [...bundle.keys()];
  for (const dir of ['manifests/', 'metadata/'])
    if (!paths.some((p) => p.startsWith(dir))) out.push(`bundle has no ${dir} directory`);
  for (const p of paths.filter((p) => p.startsWith('manifests/'))) {
    const rest = p.slice('manifests/'.length);
    if (rest.includes('/')) out.push(`manifests/ must be flat: ${p} is in a sub-directory`);
    if (rest.split('/').some((s) => s.startsWith('.')))
      out.push(`manifests/ must not hold hidden files: ${p}`);
  }
  return out;
}

function checkAnnotations(bundle: Bundle): string[] {
  const text = bundle.get('metadata/annotations.yaml');
  if (text === undefined) return ['metadata/annotations.yaml is missing'];
  const doc = parse(text) as unknown;
  if (!isObj(doc) || !isObj(doc.annotations)) return ['metadata/annotations.yaml has no annotations: map'];
  const a = doc.annotations;
  const p = 'operators.operatorframework.io.bundle';
  const out: string[] = [];
  const want: Record<string, string> = {
    [`${p}.mediatype.v1`]: 'registry+v1',
    [`${p}.manifests.v1`]: 'manifests/',
    [`${p}.metadata.v1`]: 'metadata/',
  };
  for (const [k, v] of Object.entries(want))
    if (a[k] !== v) out.push(`annotation ${k} must be ${JSON.stringify(v)}, is ${JSON.stringify(a[k])}`);
  if (!str(a[`${p}.package.v1`])) out.push(`annotation ${p}.package.v1 is missing`);
  const channels =
    typeof a[`${p}.channels.v1`] === 'string' ? (a[`${p}.channels.v1`] as string).split(',') : [];
  if (!channels.some((c) => c.trim())) out.push(`annotation ${p}.channels.v1 is missing or empty`);
  for (const c of channels.map((c) => c.trim()).filter(Boolean))
    if (!/^(stable|fast|candidate)/.test(c))
      out.push(`channel ${c} should start with stable, fast or candidate (warning)`);
  const def: unknown = a[`${p}.channel.default.v1`];
  if (def !== undefined && !channels.map((c) => c.trim()).includes(JSON.stringify(def).replaceAll('"', '')))
    out.push(`default channel ${JSON.stringify(def)} is not one of the channels ${channels.join(',')}`);
  return out;
}

function checkCsv(csv: Obj, crds: Obj[]): string[] {
  const out: string[] = [];
  const m = meta(csv);
  const spec = isObj(csv.spec) ? csv.spec : {};
  const ann = isObj(m.annotations) ? (m.annotations as Record<string, unknown>) : {};

  // name and version
  const name = m.name;
  const nameMatch = str(name) ? /^([a-z0-9-]+)\.v(.+)$/.exec(name) : null;
  if (!str(name) || !nameMatch || !SEMVER.test(nameMatch[2]!))
    out.push(`CSV name ${JSON.stringify(name)} must be <package>.v<semver>`);
  if (str(name) && (name.length > 63 || !DNS1123_SUBDOMAIN.test(name)))
    out.push(`CSV name ${name} must be a DNS-1123 name of at most 63 characters`);
  if (spec.replaces !== undefined && (!str(spec.replaces) || !DNS1123_SUBDOMAIN.test(spec.replaces)))
    out.push(`spec.replaces ${JSON.stringify(spec.replaces)} is not a valid CSV name`);
  if (!str(spec.version) || !SEMVER.test(spec.version))
    out.push(`spec.version ${JSON.stringify(spec.version)} is not semver`);
  else if (nameMatch && nameMatch[2] !== spec.version)
    out.push(`CSV name ${String(name)} does not carry spec.version ${spec.version}`);

  // required fields
  if (!str(spec.displayName)) out.push('spec.displayName is required');
  if (!str(spec.description)) out.push('spec.description is required');
  if (!isObj(spec.provider) || !str(spec.provider.name)) out.push('spec.provider.name is required');
  if (!str(spec.maturity)) out.push('spec.maturity is required');
  if (!Array.isArray(spec.keywords) || spec.keywords.length === 0 || !spec.keywords.every(str))
    out.push('spec.keywords must be a non-empty list of strings');
  if (!str(spec.minKubeVersion)) out.push('spec.minKubeVersion is required');
  else if (!SEMVER.test(spec.minKubeVersion))
    out.push(`spec.minKubeVersion ${spec.minKubeVersion} is not semver`);

  const maintainers = Array.isArray(spec.maintainers) ? spec.maintainers : [];
  if (maintainers.length === 0) out.push('spec.maintainers is required');
  for (const mt of maintainers) {
    if (!isObj(mt) || !str(mt.name)) out.push('a maintainer has no name');
    if (!isObj(mt) || !str(mt.email) || !EMAIL.test(mt.email))
      out.push(`maintainer email ${JSON.stringify(isObj(mt) ? mt.email : mt)} is not valid`);
  }
  const links = Array.isArray(spec.links) ? spec.links : [];
  if (links.length === 0) out.push('spec.links is required');
  for (const l of links) {
    if (!isObj(l) || !str(l.name)) out.push('a link has no name');
    let ok = false;
    try {
      ok = isObj(l) && str(l.url) && ['http:', 'https:'].includes(new URL(l.url).protocol);
    } catch {
      ok = false;
    }
    if (!ok) out.push(`link url ${JSON.stringify(isObj(l) ? l.url : l)} is not a valid URL`);
  }

  // icon
  const icons = Array.isArray(spec.icon) ? spec.icon : [];
  if (icons.length !== 1) out.push(`spec.icon must hold exactly one icon, holds ${icons.length}`);
  for (const icon of icons) {
    if (!isObj(icon) || !ICON_TYPES.has(String(icon.mediatype)))
      out.push(
        `icon mediatype ${JSON.stringify(isObj(icon) ? icon.mediatype : icon)} is not png, jpeg, gif or svg+xml`,
      );
    const data = isObj(icon) ? icon.base64data : undefined;
    if (!str(data) || !/^[A-Za-z0-9+/]+={0,2}$/.test(data) || data.length % 4 !== 0)
      out.push('icon base64data is not base64');
  }

  // annotations
  for (const key of [
    'capabilities',
    'categories',
    'containerImage',
    'createdAt',
    'repository',
    'support',
    'description',
  ])
    if (!str(ann[key])) out.push(`metadata.annotations.${key} is required`);
  if (str(ann.capabilities) && !CAPABILITIES.includes(ann.capabilities))
    out.push(`capabilities ${JSON.stringify(ann.capabilities)} is not one of ${CAPABILITIES.join(', ')}`);
  if (str(ann.categories))
    for (const c of ann.categories.split(',').map((c) => c.trim()))
      if (!CATEGORIES.has(c)) out.push(`category ${JSON.stringify(c)} is not a standard category`);
  if (str(ann.containerImage) && !IMAGE.test(ann.containerImage))
    out.push(`containerImage ${ann.containerImage} is not an image reference`);
  if (str(ann.createdAt) && Number.isNaN(Date.parse(ann.createdAt)))
    out.push(`createdAt ${ann.createdAt} is not a date`);
  for (const key of Object.keys(ann))
    if (key !== 'olm.skipRange' && key.toLowerCase() === 'olm.skiprange')
      out.push(`annotation ${key} must be spelled olm.skipRange`);

  // owned CRDs, both ways, with descriptions and descriptors
  const crdDefs = isObj(spec.customresourcedefinitions) ? spec.customresourcedefinitions : {};
  const owned = (Array.isArray(crdDefs.owned) ? crdDefs.owned : []).filter(isObj);
  const bundled = new Map<string, Obj>();
  for (const crd of crds) {
    const cs = isObj(crd.spec) ? crd.spec : {};
    const names = isObj(cs.names) ? cs.names : {};
    for (const v of Array.isArray(cs.versions) ? cs.versions.filter(isObj) : [])
      bundled.set(gvk(String(cs.group), String(v.name), String(names.kind)), crd);
  }
  const ownedKeys = new Set<string>();
  for (const o of owned) {
    const group = str(o.name) ? o.name.split('.').slice(1).join('.') : '';
    const key = gvk(group, String(o.version), String(o.kind));
    ownedKeys.add(key);
    if (!bundled.has(key)) out.push(`owned CRD ${key} (${String(o.name)}) is not in the bundle`);
    if (!str(o.description)) out.push(`owned CRD ${String(o.name)} has no description`);
    if (!str(o.displayName)) out.push(`owned CRD ${String(o.name)} has no displayName`);
    if (!Array.isArray(o.resources) || o.resources.length === 0)
      out.push(`owned CRD ${String(o.name)} lists no resources`);
    const crd = bundled.get(key);
    const props = crd ? topLevelFields(crd, String(o.version)) : undefined;
    for (const section of ['spec', 'status'] as const) {
      const listed = new Set(
        (Array.isArray(o[`${section}Descriptors`]) ? (o[`${section}Descriptors`] as unknown[]) : [])
          .filter(isObj)
          .map((d) => String(d.path)),
      );
      for (const field of props?.[section] ?? [])
        if (!listed.has(field))
          out.push(`owned CRD ${String(o.name)} has no ${section}Descriptor for ${field}`);
    }
  }
  for (const key of bundled.keys())
    if (!ownedKeys.has(key)) out.push(`CRD ${key} is in the bundle but not owned`);

  // alm-examples
  if (!str(ann['alm-examples'])) out.push('metadata.annotations.alm-examples is required');
  else {
    let examples: unknown;
    try {
      examples = JSON.parse(ann['alm-examples']);
    } catch (e) {
      out.push(`alm-examples is not valid JSON: ${(e as Error).message}`);
    }
    if (examples !== undefined) {
      const list = Array.isArray(examples) ? examples.filter(isObj) : [];
      const exampled = new Set<string>();
      for (const ex of list) {
        const [group, version] = String(ex.apiVersion).split('/');
        const key = gvk(group ?? '', version ?? '', String(ex.kind));
        exampled.add(key);
        if (!ownedKeys.has(key)) out.push(`alm-examples: ${key} is not an owned CRD`);
      }
      for (const key of ownedKeys) if (!exampled.has(key)) out.push(`owned CRD ${key} has no alm-example`);
    }
  }

  // install modes
  const modes = (Array.isArray(spec.installModes) ? spec.installModes : []).filter(isObj);
  if (!modes.some((mo) => mo.supported === true)) out.push('spec.installModes: no install mode is supported');
  for (const mo of modes)
    if (!INSTALL_MODES.includes(String(mo.type))) out.push(`install mode ${String(mo.type)} is unknown`);

  // install strategy
  const install = isObj(spec.install) ? spec.install : {};
  if (install.strategy !== 'deployment') out.push('spec.install.strategy must be deployment');
  const ispec = isObj(install.spec) ? install.spec : {};
  const deployments = (Array.isArray(ispec.deployments) ? ispec.deployments : []).filter(isObj);
  if (deployments.length === 0) out.push('spec.install.spec.deployments must hold at least one deployment');
  for (const d of deployments) {
    if (!str(d.name) || !DNS1123_SUBDOMAIN.test(d.name))
      out.push(`deployment name ${JSON.stringify(d.name)} is not DNS-1123`);
    const pod = (((d.spec as Obj | undefined)?.template as Obj | undefined)?.spec ?? {}) as Obj;
    for (const c of [
      ...(Array.isArray(pod.initContainers) ? (pod.initContainers as unknown[]) : []),
      ...(Array.isArray(pod.containers) ? (pod.containers as unknown[]) : []),
    ].filter(isObj)) {
      const requests = isObj(c.resources) && isObj(c.resources.requests) ? c.resources.requests : {};
      if (!requests.cpu || !requests.memory)
        out.push(
          `container ${String(c.name)} of deployment ${String(d.name)} has no cpu and memory requests (warning)`,
        );
    }
  }
  for (const key of ['clusterPermissions', 'permissions'])
    for (const perm of (Array.isArray(ispec[key]) ? (ispec[key] as unknown[]) : []).filter(isObj))
      for (const rule of (Array.isArray(perm.rules) ? perm.rules : []).filter(isObj)) {
        const groups = (rule.apiGroups ?? []) as string[];
        const resources = (rule.resources ?? []) as string[];
        const verbs = (rule.verbs ?? []) as string[];
        if (
          (groups.includes('apiextensions.k8s.io') || groups.includes('*')) &&
          (resources.includes('customresourcedefinitions') || resources.includes('*')) &&
          verbs.some((v) => ['create', 'patch', '*'].includes(v))
        )
          out.push(`${key} of ${String(perm.serviceAccountName)} may create or patch CRDs (warning)`);
      }

  // related images
  for (const ri of (Array.isArray(spec.relatedImages) ? spec.relatedImages : []).filter(isObj))
    if (!str(ri.image) || !IMAGE.test(ri.image))
      out.push(`relatedImages: ${JSON.stringify(ri.image)} is not a valid image reference`);

  // webhooks
  for (const wh of (Array.isArray(spec.webhookdefinitions) ? spec.webhookdefinitions : []).filter(isObj)) {
    if (!Array.isArray(wh.admissionReviewVersions) || wh.admissionReviewVersions.length === 0)
      out.push(`webhook ${String(wh.generateName)} has no admissionReviewVersions`);
    if (!str(wh.sideEffects)) out.push(`webhook ${String(wh.generateName)} has no sideEffects`);
  }
  return out;
}

function topLevelFields(crd: Obj, version: string): { spec: string[]; status: string[] } {
  const v = ((crd.spec as Obj).versions as Obj[]).find((x) => x.name === version);
  const props = (((v?.schema as Obj | undefined)?.openAPIV3Schema as Obj | undefined)?.properties ??
    {}) as Record<string, Obj>;
  const of = (s: string) => Object.keys(props[s]?.properties ?? {});
  return { spec: of('spec'), status: of('status') };
}

function checkRemovedApis(csv: Obj, objs: Obj[]): string[] {
  const minor = Number(
    /^\d+\.(\d+)/.exec(
      JSON.stringify((csv.spec as Obj | undefined)?.minKubeVersion ?? '').replaceAll('"', ''),
    )?.[1] ?? NaN,
  );
  const out: string[] = [];
  for (const o of objs)
    for (const r of REMOVED_APIS)
      if (o.apiVersion === r.apiVersion && (!r.kind || r.kind === o.kind) && !(minor < r.removedIn))
        out.push(
          `${String(o.kind)} ${String(meta(o).name)} uses ${r.apiVersion}, removed in Kubernetes 1.${r.removedIn}`,
        );
  return out;
}

// ------------------------------------------------------------------------------ the catalog (opm validate)

export function loadCatalog(file: string): Obj[] {
  return yamlDocs(readFileSync(file, 'utf8'));
}

export function validateCatalog(docs: Obj[]): string[] {
  const out: string[] = [];
  const packages = docs.filter((d) => d.schema === 'olm.package');
  const channels = docs.filter((d) => d.schema === 'olm.channel');
  const bundles = docs.filter((d) => d.schema === 'olm.bundle');
  if (packages.length !== 1) out.push(`catalog must hold exactly one olm.package, holds ${packages.length}`);
  const pkg = packages[0];
  const pkgName = pkg ? String(pkg.name) : '';
  if (pkg && !channels.some((c) => c.name === pkg.defaultChannel && c.package === pkgName))
    out.push(`default channel ${JSON.stringify(pkg.defaultChannel)} of package ${pkgName} does not exist`);
  const bundleNames = new Set(bundles.map((b) => String(b.name)));
  const inChannels = new Set<string>();
  for (const ch of channels) {
    const entries = (Array.isArray(ch.entries) ? ch.entries : []).filter(isObj);
    if (entries.length === 0) out.push(`channel ${String(ch.name)} has no entries`);
    const names = new Set(entries.map((e) => String(e.name)));
    const replaced = new Set<string>();
    for (const e of entries) {
      inChannels.add(String(e.name));
      if (!bundleNames.has(String(e.name)))
        out.push(`channel ${String(ch.name)}: entry ${String(e.name)} has no olm.bundle`);
      if (str(e.replaces)) replaced.add(e.replaces);
      for (const s of Array.isArray(e.skips) ? e.skips : []) replaced.add(String(s));
    }
    const heads = [...names].filter((n) => !replaced.has(n));
    if (heads.length !== 1)
      out.push(
        `channel ${String(ch.name)} must have exactly one head, has ${heads.length}: ${heads.join(', ')}`,
      );
    // cycles in replaces
    const next = new Map(
      entries.filter((e) => str(e.replaces)).map((e) => [String(e.name), String(e.replaces)]),
    );
    for (const start of names) {
      const seen = new Set<string>();
      for (let n: string | undefined = start; n !== undefined; n = next.get(n)) {
        if (seen.has(n)) {
          out.push(`channel ${String(ch.name)}: replaces chain from ${start} has a cycle`);
          break;
        }
        seen.add(n);
      }
      if (out.some((m) => m.includes('has a cycle'))) break;
    }
  }
  for (const b of bundles) {
    const name = String(b.name);
    if (!str(b.image)) out.push(`olm.bundle ${name} has no image`);
    if (b.package !== pkgName)
      out.push(`olm.bundle ${name} belongs to package ${String(b.package)}, not ${pkgName}`);
    const props = (Array.isArray(b.properties) ? b.properties : []).filter(isObj);
    const pkgProps = props.filter((p) => p.type === 'olm.package');
    if (pkgProps.length !== 1)
      out.push(`olm.bundle ${name} must have exactly one olm.package property, has ${pkgProps.length}`);
    if (!inChannels.has(name)) out.push(`olm.bundle ${name} is stranded: no channel lists it`);
  }
  return out;
}
