import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * The CRD's openAPIV3Schema as plain JSON Schema under ajv: an independent second reading of the
 * generated schema, beside the local API server's own validator. Kubernetes-only keywords are
 * declared so ajv's strict mode accepts them; int-or-string is checked as such.
 */
export function ajvValidator(openAPIV3Schema: object): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, useDefaults: true });
  addFormats.default(ajv);
  for (const keyword of [
    'x-kubernetes-validations',
    'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys',
    'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-embedded-resource',
    'x-kubernetes-map-type',
  ]) {
    ajv.addKeyword({ keyword, schemaType: ['string', 'array', 'boolean', 'object'] });
  }
  ajv.addKeyword({
    keyword: 'x-kubernetes-int-or-string',
    schemaType: 'boolean',
    validate: (enabled: boolean, data: unknown) =>
      !enabled || Number.isInteger(data) || typeof data === 'string',
  });
  return ajv.compile(openAPIV3Schema);
}
