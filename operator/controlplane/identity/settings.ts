/**
 * What the identity controller needs of the mesh: the trust domain, the key algorithm, the workload
 * certificate lifetimes and the issuer. They come from the control plane's `mesh.yaml` (built by the
 * operator from a validated MeshInstallation, see `meshConfigData`), and are checked again here:
 * the file is read from disk, and a Certificate built from a half-understood setting would be
 * refused by cert-manager (or worse, issued).
 */
import { z } from 'zod';
import { GO_DURATION_PATTERN, parseDuration } from '../../api/duration.js';
import type { MeshInstallationSpec } from '../../api/meshinstallation.js';

export type KeyAlgorithm = MeshInstallationSpec['mtls']['keyAlgorithm'];

export interface IdentitySettings {
  /** SPIFFE trust domain: identities read `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`. */
  trustDomain: string;
  keyAlgorithm: KeyAlgorithm;
  /** Go durations, as cert-manager reads them (`24h`, `90m`). */
  duration: string;
  renewBefore: string;
  /** The cert-manager issuer of every workload certificate. */
  issuerRef: { name: string; kind: string; group: string };
}

/** The settings cannot be used (a message naming each field). */
export class InvalidSettingsError extends Error {
  override readonly name = 'InvalidSettingsError';
}

const KEY_ALGORITHMS = [
  'ECDSAP256',
  'ECDSAP384',
  'RSA2048',
  'RSA4096',
  'Ed25519',
] as const satisfies readonly KeyAlgorithm[];

/** cert-manager refuses certificates shorter than this. */
const MIN_DURATION_MS = 3_600_000;

const GO_DURATION = new RegExp(GO_DURATION_PATTERN);
const millis = (text: unknown): number | undefined =>
  typeof text === 'string' && GO_DURATION.test(text) ? parseDuration(text) : undefined;

const goDuration = z.string().regex(GO_DURATION, 'must be a Go duration such as 24h or 90m');

/** The same rule as the MeshInstallation API's `mtls.trustDomain`: lower-case DNS-like labels. */
const trustDomain = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be lower-case letters, digits, dashes and dots (a SPIFFE trust domain)',
  );

const settingsSchema = z
  .object({
    trustDomain,
    keyAlgorithm: z.enum(KEY_ALGORITHMS),
    duration: goDuration,
    renewBefore: goDuration,
    issuerRef: z.object({
      name: z.string().min(1),
      kind: z.string().min(1),
      group: z.string().min(1),
    }),
  })
  .superRefine((s, ctx) => {
    // zod runs this even when a field failed above: compare only what parses
    const duration = millis(s.duration);
    const renewBefore = millis(s.renewBefore);
    if (duration !== undefined && duration < MIN_DURATION_MS)
      ctx.addIssue({
        code: 'custom',
        path: ['duration'],
        message: 'must be at least 1h (cert-manager refuses shorter certificates)',
      });
    if (duration !== undefined && renewBefore !== undefined && renewBefore >= duration)
      ctx.addIssue({ code: 'custom', path: ['renewBefore'], message: 'must be shorter than duration' });
  });

const fieldName = (path: readonly PropertyKey[]): string => path.map(String).join('.') || '(root)';

function parse(value: unknown, rename: (field: string) => string): IdentitySettings {
  const r = settingsSchema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${rename(fieldName(i.path))}: ${i.message}`);
  throw new InvalidSettingsError(`invalid identity settings: ${issues.join('; ')}`);
}

/** `value` as settings (unknown keys dropped); throws `InvalidSettingsError` naming every bad field. */
export function parseIdentitySettings(value: unknown): IdentitySettings {
  return parse(value, (field) => field);
}

/** Where each setting sits in `mesh.yaml`, for messages. */
const MESH_CONFIG_PATHS: Record<string, string> = {
  keyAlgorithm: 'mtls.keyAlgorithm',
  duration: 'mtls.workloadCertificate.duration',
  renewBefore: 'mtls.workloadCertificate.renewBefore',
  issuerRef: 'mtls.issuerRef',
};

/**
 * The settings in the control plane's `mesh.yaml` (as parsed YAML): `trustDomain`, `mtls.keyAlgorithm`,
 * `mtls.workloadCertificate.{duration,renewBefore}`, `mtls.issuerRef`. Throws `InvalidSettingsError`
 * naming the fields that are missing or wrong as `mesh.yaml` spells them.
 */
export function identitySettingsFromMeshConfig(meshConfig: unknown): IdentitySettings {
  const o = (v: unknown): Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const mesh = o(meshConfig);
  const mtls = o(mesh.mtls);
  const cert = o(mtls.workloadCertificate);
  return parse(
    {
      trustDomain: mesh.trustDomain,
      keyAlgorithm: mtls.keyAlgorithm,
      duration: cert.duration,
      renewBefore: cert.renewBefore,
      issuerRef: mtls.issuerRef,
    },
    (field) => {
      const [head = '', ...rest] = field.split('.');
      return [MESH_CONFIG_PATHS[head] ?? head, ...rest].join('.');
    },
  );
}
