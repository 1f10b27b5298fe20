/**
 * A tiny JSON Schema checker covering the keywords recipeJsonSchema() emits, so tests can show the
 * exported schema accepts the example recipes (and rejects bad ones) without another dependency.
 */
export function validateJson(schema: any, value: unknown, path = '$', root: any = schema): string[] {
  if (schema === true || schema === undefined || (typeof schema === 'object' && Object.keys(schema).length === 0)) return [];
  if (schema.$ref) return validateJson(resolveRef(root, schema.$ref), value, path, root);
  const errs: string[] = [];
  if (schema.anyOf) {
    const ok = schema.anyOf.some((s: any) => validateJson(s, value, path, root).length === 0);
    return ok ? [] : [`${path}: matches none of anyOf`];
  }
  if (schema.oneOf) {
    const n = schema.oneOf.filter((s: any) => validateJson(s, value, path, root).length === 0).length;
    if (n !== 1) errs.push(`${path}: matches ${n} of oneOf`);
  }
  if (schema.allOf) for (const s of schema.allOf) errs.push(...validateJson(s, value, path, root));
  if (schema.type && !typeOk(schema.type, value)) return [`${path}: expected ${schema.type}`];
  if (schema.enum && !schema.enum.includes(value)) errs.push(`${path}: not in enum`);
  if ('const' in schema && schema.const !== value) errs.push(`${path}: not const`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errs.push(`${path}: below minimum`);
    if (schema.maximum !== undefined && value > schema.maximum) errs.push(`${path}: above maximum`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) errs.push(`${path}: not above exclusiveMinimum`);
  }
  if (typeof value === 'string' && schema.pattern && !new RegExp(schema.pattern).test(value)) errs.push(`${path}: pattern`);
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errs.push(`${path}: too few items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errs.push(`${path}: too many items`);
    value.forEach((v, i) => errs.push(...validateJson(schema.prefixItems?.[i] ?? schema.items, v, `${path}[${i}]`, root)));
  } else if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) errs.push(`${path}: missing ${r}`);
    for (const [k, v] of Object.entries(obj)) {
      if (schema.properties?.[k]) errs.push(...validateJson(schema.properties[k], v, `${path}.${k}`, root));
      else if (schema.additionalProperties === false) errs.push(`${path}.${k}: additional property`);
      else if (typeof schema.additionalProperties === 'object') errs.push(...validateJson(schema.additionalProperties, v, `${path}.${k}`, root));
    }
  }
  return errs;
}

function typeOk(type: string | string[], v: unknown): boolean {
  const types = Array.isArray(type) ? type : [type];
  return types.some((t) =>
    t === 'integer' ? Number.isInteger(v) : t === 'number' ? typeof v === 'number' : t === 'array' ? Array.isArray(v) : t === 'object' ? !!v && typeof v === 'object' && !Array.isArray(v) : t === 'null' ? v === null : typeof v === t,
  );
}

function resolveRef(root: any, ref: string): any {
  return ref.replace(/^#\/?/, '').split('/').filter(Boolean).reduce((n, k) => n?.[k], root);
}
