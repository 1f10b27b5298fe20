/** ajv, the JSON Schema client editors and CI use, set up once for the tests (strict off: our schemas carry titles and ids). */
import AjvModule from 'ajv';
import Ajv2020Module from 'ajv/dist/2020.js';

type AjvClass = typeof AjvModule.default;
const unwrap = (m: unknown) => ((m as { default?: AjvClass }).default ?? m) as AjvClass;
const Ajv = unwrap(AjvModule);
const Ajv2020 = unwrap(Ajv2020Module);

/** A validator for `schema` (draft-07, or 2020-12 when it says so): undefined when the value conforms, else ajv's errors. */
export function schemaValidator(schema: object): (value: unknown) => string | undefined {
  const dialect = String((schema as { $schema?: string }).$schema ?? '');
  const ajv = dialect.includes('2020-12') ? new Ajv2020({ allErrors: true, strict: false }) : new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  return (value) => (validate(value) ? undefined : ajv.errorsText(validate.errors, { separator: '\n' }));
}

/** Every object key in `value` that is not snake_case, with its path. */
export function nonSnakeKeys(value: unknown, path = '$'): string[] {
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => nonSnakeKeys(v, `${path}[${i}]`));
  return Object.entries(value).flatMap(([k, v]) => [...(/[A-Z]/.test(k) && /^[a-z][A-Za-z0-9]*$/.test(k) ? [`${path}.${k}`] : []), ...nonSnakeKeys(v, `${path}.${k}`)]);
}
