/**
 * Parse `ovs-vsctl --format=json --data=json list|find TABLE` output into plain records.
 * OVSDB's JSON encodes atoms as ["uuid", "…"], sets as ["set", [...]] (a one-element set may be
 * the bare element) and maps as ["map", [[k, v], ...]].
 */
export type OvsdbValue = string | number | boolean | null | OvsdbValue[] | { [k: string]: OvsdbValue };
export type OvsdbRow = Record<string, OvsdbValue>;

function decode(v: unknown): OvsdbValue {
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string') {
    const [tag, body] = v as [string, unknown];
    if (tag === 'uuid' || tag === 'named-uuid') return String(body);
    if (tag === 'set') return (body as unknown[]).map(decode);
    if (tag === 'map') return Object.fromEntries((body as [unknown, unknown][]).map(([k, x]) => [String(decode(k)), decode(x)]));
  }
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return null;
}

export function parseOvsdbTable(json: string): OvsdbRow[] {
  let doc: { headings?: unknown; data?: unknown };
  try {
    doc = JSON.parse(json);
  } catch {
    throw new Error(`ovs-vsctl printed something that is not JSON: ${json.slice(0, 200)}`);
  }
  if (!Array.isArray(doc.headings) || !Array.isArray(doc.data)) throw new Error('ovs-vsctl JSON lacks "headings"/"data"');
  const headings = doc.headings as string[];
  return (doc.data as unknown[][]).map((row) => Object.fromEntries(headings.map((h, i) => [h, decode(row[i])])));
}

/** A set column as an array (a one-element set arrives as the bare element, an empty one as []). */
export function asList(v: OvsdbValue | undefined): OvsdbValue[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** An optional scalar column: empty set → undefined. */
export function asOptional<T extends string | number | boolean>(v: OvsdbValue | undefined): T | undefined {
  if (Array.isArray(v)) return v.length ? (v[0] as T) : undefined;
  return v === null || v === undefined ? undefined : (v as T);
}

export function asMap(v: OvsdbValue | undefined): Record<string, string> {
  if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
  return {};
}
