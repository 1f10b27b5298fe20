/**
 * The rules `validate` enforces in code (superRefine, transforms), written as JSON Schema so that
 * editors using the published schema (`geneve-lab schema`) reject the same recipes: name and
 * address syntax, unicast MACs, loss percentages, TOS without ECN bits. Each pattern mirrors the
 * check named beside it; test/pure/recipe/bad-schema-corpus.test.ts holds the two together.
 */
import { LAB_NAME_MAX } from '../model/names.js';

/** nameProblem (lib/model/names.ts): a letter first, then letters/digits with single "-" between, no "-" at the end. */
export const NAME_PATTERN = '^[a-z](?:-?[a-z0-9])*$';
export const LAB_NAME_RULES = { pattern: NAME_PATTERN, maxLength: LAB_NAME_MAX };

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const V4 = `(?:${OCTET}\\.){3}${OCTET}`;
const H = '[0-9a-fA-F]{1,4}';
/** node:net isIPv6 (what parseCidr/familyOf use): full, compressed, and IPv4-suffixed forms. */
const V6 =
  `(?:(?:${H}:){7}${H}|(?:${H}:){1,7}:|(?:${H}:){1,6}:${H}|(?:${H}:){1,5}(?::${H}){1,2}|(?:${H}:){1,4}(?::${H}){1,3}|` +
  `(?:${H}:){1,3}(?::${H}){1,4}|(?:${H}:){1,2}(?::${H}){1,5}|${H}:(?::${H}){1,6}|:(?:(?::${H}){1,7}|:)|` +
  `(?:${H}:){6}${V4}|(?:${H}:){1,5}:${V4}|::(?:${H}:){0,5}${V4})`;
const V4_PREFIX = '(?:3[0-2]|[12]?[0-9])';
const V6_PREFIX = '(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])';

/** parseCidr (lib/recipe/addr.ts): ADDRESS/PREFIX of the family (IPv4 ≤ 32, IPv6 ≤ 128, no zone). */
export function cidrPattern(family?: 'ipv4' | 'ipv6'): string {
  const v4 = `${V4}/${V4_PREFIX}`;
  const v6 = `${V6}/${V6_PREFIX}`;
  return `^(?:${family === 'ipv4' ? v4 : family === 'ipv6' ? v6 : `${v4}|${v6}`})$`;
}

/** familyOf: an IPv4 or IPv6 address (an IPv6 one may carry a zone, fe80::1%eth0). */
export const ADDRESS_PATTERN = `^(?:${V4}|${V6}(?:%[^\\s/%]+)?)$`;

/** Six hex pairs with the group bit of the first byte clear (unicast), as guests and ports need. */
export const UNICAST_MAC_PATTERN = '^[0-9a-fA-F][02468aceACE](?::[0-9a-fA-F]{2}){5}$';

/** `percent` (max_loss, impair loss): a number 0..100, or that number as text with an optional "%". */
export const PERCENT_RULES = {
  anyOf: [
    { type: 'number', minimum: 0, maximum: 100 },
    { type: 'string', pattern: '^\\s*(?:100(?:\\.0+)?|[0-9]{1,2}(?:\\.[0-9]+)?)\\s*%?\\s*$' },
  ],
};

/** A TOS byte whose ECN bits (the low two) are clear: a multiple of 4 (hex strings end in 0, 4, 8 or c). */
export const TOS_BYTE_RULES = { type: 'integer', minimum: 0, maximum: 252, multipleOf: 4 };
export const TOS_HEX_PATTERN = '^0x0*(?:[0-9a-fA-F]?[048cC])$';

/** A string that uses a recipe variable: accepted wherever a pattern would refuse it (substituted before validation). */
export const VARIABLE_USE_PATTERN = '\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}';
