/** ajv, the JSON Schema client editors and CI use, set up once for the tests (strict off: our schemas carry titles and ids). */
import AjvModule from 'ajv';

type AjvClass = typeof AjvModule.default;
const Ajv = ((AjvModule as unknown as { default?: AjvClass }).default ?? AjvModule) as AjvClass;

/** A validator for `schema`: undefined when the value conforms, else ajv's errors as one readable string. */
export function schemaValidator(schema: object): (value: unknown) => string | undefined {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  return (value) => (validate(value) ? undefined : ajv.errorsText(validate.errors, { separator: '\n' }));
}

/** Every object key in `value` that is not snake_case, with its path. */
export function nonSnakeKeys(value: unknown, path = '$'): string[] {
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => nonSnakeKeys(v, `${path}[${i}]`));
  return Object.entries(value).flatMap(([k, v]) => [...(/[A-Z]/.test(k) && /^[a-z][A-Za-z0-9]*$/.test(k) ? [`${path}.${k}`] : []), ...nonSnakeKeys(v, `${path}.${k}`)]);
}
