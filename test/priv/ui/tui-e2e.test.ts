/**
 * End to end: the real TUI in a real terminal. tmux runs `geneve-lab tui recipes/quickstart.yaml`,
 * keys are sent with send-keys and the screen is read with capture-pane: the lab comes up, the
 * checks pass, a capture shows decoded packets, the lab goes away, and q quits.
 * Needs the engine's controller wired into the CLI (bin/geneve-lab.js).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { privTest, randomLabName } from '../../support/priv.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(root, 'bin/geneve-lab.js');
const recipe = path.join(root, 'recipes/quickstart.yaml');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

privTest('tui e2e in tmux: u, c, p, d, q', async (t) => {
  t.timeout(240_000);
  if (!existsSync(bin) || !existsSync(recipe)) {
    t.fail(`needs ${path.relative(root, bin)} and ${path.relative(root, recipe)} (the engine wiring) — not there yet`);
    return;
  }
  // The CLI must be built and the engine's controller wired to `tui` (cli/commands/tui-wiring.ts).
  let help = '';
  try {
    help = execFileSync('node', [bin, 'tui', '--help'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    help = `${err.stdout ?? ''}${err.stderr ?? ''}`;
  }
  if (!/Usage: geneve-lab tui/.test(help)) {
    t.fail(`\`geneve-lab tui\` is not available yet (build with \`npm run build\`; the engine must register it): ${help.trim().slice(0, 300)}`);
    return;
  }
  // A private tmux server (-L) so we never touch anyone else's sessions.
  const sock = `gl-${randomLabName('tui')}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', sock, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const alive = () => {
    try {
      tmux('has-session', '-t', 'tui');
      return true;
    } catch {
      return false;
    }
  };
  const screen = () => (alive() ? tmux('capture-pane', '-p', '-t', 'tui') : '');
  const waitFor = async (re: RegExp, what: string, ms = 60_000) => {
    const until = Date.now() + ms;
    for (;;) {
      const s = screen();
      if (re.test(s)) return s;
      if (Date.now() > until) throw new Error(`${what}: screen never matched ${re}; last screen:\n${s}`);
      await sleep(250);
    }
  };
  const key = (k: string) => tmux('send-keys', '-t', 'tui', k);
  const netns = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
  let prefix = '';
  t.teardown(() => {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
    // If the test failed half-way, let the CLI tear its lab down (it only removes what it owns).
    if (prefix && netns().some((n) => n.startsWith(prefix))) {
      try {
        execFileSync('node', [bin, 'down', recipe], { cwd: root, stdio: 'ignore', timeout: 60_000 });
      } catch {
        // reported by the assertions below
      }
    }
  });

  // The session keeps the pane around after exit so the last screen can be read.
  tmux('new-session', '-d', '-s', 'tui', '-x', '100', '-y', '30', '-c', root, 'node', bin, 'tui', recipe);
  tmux('set-option', '-t', 'tui', 'remain-on-exit', 'on');
  const first = await waitFor(/Topology — /, 'start');
  const lab = /geneve-lab · (\S+) ·/.exec(first)?.[1];
  t.truthy(lab, 'header names the lab');
  prefix = `gl-${lab}-`;

  key('u');
  await waitFor(/lab is up/, 'up', 120_000);
  const up = screen();
  t.regex(up, new RegExp(`geneve-lab · ${lab} · UP`));
  t.notRegex(up, /\[(planned|creating|FAILED)\]/, 'every object is up');
  t.true(netns().some((n) => n.startsWith(prefix)), `namespaces ${prefix}* exist`);

  key('c');
  const checks = await waitFor(/checks finished|checks failed/, 'checks', 120_000);
  t.regex(checks, /Checks — [1-9]\d* passed, 0 failed/, 'checks green');

  key('p');
  const pk = await waitFor(/captured on|capture on .* failed/, 'capture', 60_000);
  t.regex(pk, /Packets on /);
  t.notRegex(pk, /no packets captured/);
  t.regex(pk, /→/, 'decoded packets listed');
  key('Escape');
  await waitFor(/Topology — /, 'back from the packets view', 10_000);
  await sleep(300); // let the terminal's Esc timeout pass so the next key is not read as Alt+key

  key('d');
  const down = await waitFor(/lab is down|down failed/, 'down', 120_000);
  t.regex(down, /lab is down/);
  t.regex(down, /\[removed\]/);
  t.false(netns().some((n) => n.startsWith(prefix)), 'no namespace of the lab left');

  key('q');
  // Lab is down, so q quits without asking; the pane shows the program exited.
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    const dead = tmux('display-message', '-p', '-t', 'tui', '#{pane_dead}').trim();
    if (dead === '1') break;
    await sleep(200);
  }
  t.is(tmux('display-message', '-p', '-t', 'tui', '#{pane_dead}').trim(), '1', 'the TUI exited');
  t.is(tmux('display-message', '-p', '-t', 'tui', '#{pane_dead_status}').trim(), '0', 'exit status 0');
}, { tools: ['tmux'] });
