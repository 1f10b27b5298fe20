/** Address formatting (decoder output) and parsing (to compare user input with decoded values). */

export function formatMac(b: Uint8Array, off: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[off + i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}

export function formatIpv4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 canonical text: lower case, longest run (≥2) of zero groups compressed. */
export function formatIpv6(b: Uint8Array, off: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestLen < 2) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Parse IPv4/IPv6 text into bytes; undefined when it is not an address. */
export function parseIp(text: string): Uint8Array | undefined {
  const s = text.trim();
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) {
    const parts = s.split('.').map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return Uint8Array.from(parts);
  }
  if (!s.includes(':') || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIp(p);
        if (!v4 || v4.length !== 4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((v, i) => {
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** Canonical text of an address given by a user (so "2001:DB8:0::1" equals "2001:db8::1"). */
export function canonicalIp(text: string): string | undefined {
  const b = parseIp(text);
  if (!b) return undefined;
  return b.length === 4 ? formatIpv4(b, 0) : formatIpv6(b, 0);
}

/** Whether two address texts name the same address ("2001:db8::1" and "2001:DB8:0::1" do). */
export function sameIp(a: string, b: string): boolean {
  return a === b || (canonicalIp(a) !== undefined && canonicalIp(a) === canonicalIp(b));
}

/** Canonical MAC text (lower case, colon separated) or undefined. */
export function canonicalMac(text: string): string | undefined {
  const s = text.trim().toLowerCase();
  if (!/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/.test(s)) return undefined;
  return s.replace(/-/g, ':');
}
