import { loadRecipeText, type LoadedRecipe } from '../../../lib/recipe/load.js';
import { RecipeError, type Problem } from '../../../lib/errors.js';

/** Load YAML text; returns the result or the problems it was rejected with. */
export function tryLoad(text: string, file = 'recipe.yaml'): { ok: LoadedRecipe; problems?: undefined } | { ok?: undefined; problems: Problem[] } {
  try {
    return { ok: loadRecipeText(text, file) };
  } catch (e) {
    if (e instanceof RecipeError) return { problems: e.problems };
    throw e;
  }
}

/** A valid two-host lab; `extra` is appended (tunnels/checks sections), `tunnel` lines go under tunnels[0]. */
export function baseRecipe(opts: { tunnel?: string; checks?: string; guests?: string; hostsExtra?: string; top?: string } = {}): string {
  return `lab: t
${opts.top ?? ''}
hosts:
  - name: box-1
    interfaces: [{ ipv4: 192.0.2.11/24, ipv6: "2001:db8::11/64" }]
  - name: box-2
    interfaces: [{ ipv4: 192.0.2.12/24, ipv6: "2001:db8::12/64" }]
${opts.hostsExtra ?? ''}
switches:
  - { name: sw1, host: box-1 }
  - { name: sw2, host: box-2 }
guests:
  - { name: left, switch: sw1, addresses: [203.0.113.1/24] }
  - { name: right, switch: sw2, addresses: [203.0.113.2/24] }
${opts.guests ?? ''}
tunnels:
  - name: tun0
    between: [sw1, sw2]
${(opts.tunnel ?? '').split('\n').filter(Boolean).map((l) => '    ' + l).join('\n')}
checks:
${opts.checks ?? '  - ping: { from: left, to: right }'}
`;
}

export function errorsOf(r: ReturnType<typeof tryLoad>): Problem[] {
  return (r.problems ?? []).filter((p) => p.severity === 'error');
}
