/**
 * End to end: the real TUI in a real terminal. tmux runs `geneve-lab tui recipes/quickstart.yaml`,
 * keys are sent with send-keys and the screen is read with capture-pane: the lab comes up, the
 * checks pass, a capture shows decoded packets, the lab goes away, and q quits. A second test
 * runs `geneve-lab up RECIPE --tui` (the lab comes up without a key) and quits with teardown (q, y).
 * Needs the CLI built (`npm run build`; bin/geneve-lab.js runs dist/) with the engine's controller
 * wired in (cli/commands/tui-wiring.ts). The recipe is a copy of the shipped quickstart under a
 * random lab name, so runs never collide; GENEVE_LAB_TUI_RECIPE runs the same on another recipe.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { privTest, randomLabName } from '../../support/priv.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(root, 'bin/geneve-lab.js');
const shipped = path.resolve(root, process.env.GENEVE_LAB_TUI_RECIPE ?? 'recipes/quickstart.yaml');
/**
 * Pauses before a key that follows a new view: keys sent the instant a view was drawn were lost
 * in CI a few times. Not from reading keys in a stale state — the app reads mode, focus,
 * selection and what runs through refs (lib/ui/App.tsx; the pure tests type keys faster than
 * the screen redraws) — so the cause is elsewhere (tmux or ink's input path) and not found; the
 * margins stay until it is.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const netns = () =>
  // stderr ignored: `ip` complains about namespaces other tests are removing at that moment.
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);

/** Processes (other than us) whose command line mentions `needle`: daemons, tcpdump, ping of the lab. */
function processesMentioning(needle: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (cmd.includes(needle)) out.push(`${pid}: ${cmd}`);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** True when the built CLI has `tui` (else the test fails with the reason). */
function cliReady(t: ExecutionContext): boolean {
  if (!existsSync(bin) || !existsSync(shipped)) {
    t.fail(`needs ${path.relative(root, bin)} and ${path.relative(root, shipped)} — not there yet`);
    return false;
  }
  let help = '';
  try {
    help = execFileSync('node', [bin, 'tui', '--help'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    help = `${err.stdout ?? ''}${err.stderr ?? ''}`;
  }
  if (!/Usage: geneve-lab tui/.test(help)) {
    t.fail(`\`geneve-lab tui\` is not available (build with \`npm run build\`): ${help.trim().slice(0, 300)}`);
    return false;
  }
  return true;
}

/**
 * The quickstart under a random lab name, and the TUI running `args` on it in a private tmux
 * server (-L, so nobody else's sessions are touched). Teardown kills the server, takes the lab
 * down if the test stopped half-way (`down` only removes what the lab owns) and removes the copy.
 */
function openTui(t: ExecutionContext, args: (recipe: string) => string[]) {
  const labName = randomLabName('tui');
  const text = readFileSync(shipped, 'utf8');
  t.regex(text, /^lab:\s*\S+\s*$/m, 'the recipe names its lab on a `lab:` line');
  const dir = mkdtempSync(path.join(tmpdir(), 'geneve-lab-tui-e2e-'));
  const recipe = path.join(dir, path.basename(shipped));
  writeFileSync(recipe, text.replace(/^lab:\s*\S+\s*$/m, `lab: ${labName}`));

  const sock = `gl-${randomLabName('tmux')}`;
  const tmux = (...a: string[]) => execFileSync('tmux', ['-L', sock, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const alive = () => {
    try {
      tmux('has-session', '-t', 'tui');
      return true;
    } catch {
      return false;
    }
  };
  const screen = () => (alive() ? tmux('capture-pane', '-p', '-t', 'tui') : '');
  let socketPath = '';
  t.teardown(() => {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
    // tmux leaves its socket file behind after kill-server.
    if (socketPath) rmSync(socketPath, { force: true });
    try {
      execFileSync('node', [bin, 'down', labName], { cwd: root, stdio: 'ignore', timeout: 120_000 });
    } catch {
      // reported by the assertions
    }
    rmSync(dir, { recursive: true, force: true });
  });
  // tmux sometimes leaves the pane's process unreaped (a zombie), so #{pane_dead_status} stays
  // empty: a shell prints the exit status instead (values are passed as arguments, never parsed),
  // then waits, because tmux wipes a pane's screen when its process ends. Each run prints its own
  // number, so an earlier run's line is never taken for this one. kill-server ends the wait.
  let run = 0;
  const program = (argv: string[]) => ['sh', '-c', 'r=$1; shift; node "$@"; echo "[run $r: exit status $?]"; exec sleep 600', 'sh', String(run), bin, ...argv];
  const start = (argv: string[]) => {
    run++;
    // A second program reuses the (dead) pane: killing the last session would stop the server,
    // and a new-session racing with that shutdown fails.
    if (alive()) {
      tmux('respawn-pane', '-k', '-t', 'tui', '-c', root, ...program(argv));
      return;
    }
    tmux('new-session', '-d', '-s', 'tui', '-x', '100', '-y', '30', '-c', root, ...program(argv));
  };
  start(args(recipe));
  socketPath = tmux('display-message', '-p', '#{socket_path}').trim();
  return {
    /** Run another command line on the same recipe copy, in the same pane (the previous program must have exited). */
    restart: (next: (recipe: string) => string[]) => start(next(recipe)),
    labName,
    prefix: `gl-${labName}-`,
    screen,
    key: (k: string) => tmux('send-keys', '-t', 'tui', k),
    async waitFor(re: RegExp, what: string, ms = 60_000): Promise<string> {
      const until = Date.now() + ms;
      for (;;) {
        const s = screen();
        if (re.test(s)) return s;
        if (Date.now() > until) throw new Error(`${what}: screen never matched ${re}; last screen:\n${s}`);
        await sleep(250);
      }
    },
    /** Wait for the program to exit: its exit status ('0'), or 'still running' with the screen. */
    async exitStatus(ms = 30_000): Promise<string> {
      const until = Date.now() + ms;
      for (;;) {
        const m = new RegExp(`\\[run ${run}: exit status (\\d+)\\]`).exec(screen());
        if (m) return m[1]!;
        if (Date.now() > until) return `still running after ${ms} ms; screen:\n${screen()}`;
        await sleep(200);
      }
    },
  };
}

/** Nothing of the lab is left: namespaces, daemons and captures in them, processes using its run dir. */
function assertNothingLeft(t: ExecutionContext, labName: string, prefix: string) {
  t.false(netns().some((n) => n.startsWith(prefix)), 'no namespace of the lab left');
  t.deepEqual(processesMentioning(prefix), [], 'no process runs in a namespace of the lab');
  t.deepEqual(processesMentioning(`/${labName}/`), [], "no process uses the lab's run directory");
}

/** q, then y at the teardown prompt: the TUI tears the lab down, exits 0, and nothing of the lab is left. */
async function quitAndTearDown(t: ExecutionContext, tui: ReturnType<typeof openTui>): Promise<void> {
  tui.key('q');
  await tui.waitFor(/Tear the lab down\? y\/n/, 'quit asks whether to tear down', 10_000);
  await sleep(500); // margin: a key sent the instant a view is drawn was lost once in CI (see the note at `sleep`)
  tui.key('y');
  t.is(await tui.exitStatus(150_000), '0', 'the TUI tore the lab down and exited with status 0');
  assertNothingLeft(t, tui.labName, tui.prefix);
}

privTest('tui e2e in tmux: u, c, p, d, q', async (t) => {
  t.timeout(300_000);
  if (!cliReady(t)) return;
  const tui = openTui(t, (recipe) => ['tui', recipe]);
  const first = await tui.waitFor(/Topology — /, 'start');
  t.is(/geneve-lab · (\S+) ·/.exec(first)?.[1], tui.labName, 'header names the lab');

  tui.key('u');
  await tui.waitFor(/lab is up/, 'up', 150_000);
  const up = tui.screen();
  t.regex(up, new RegExp(`geneve-lab · ${tui.labName} · UP`));
  t.notRegex(up, /\[(planned|creating|FAILED)\]/, 'every object is up');
  t.true(netns().some((n) => n.startsWith(tui.prefix)), `namespaces ${tui.prefix}* exist`);

  tui.key('c');
  const checks = await tui.waitFor(/checks finished|checks failed/, 'checks', 120_000);
  t.regex(checks, /Checks — [1-9]\d* passed, 0 failed/, 'checks green');

  tui.key('p');
  const pk = await tui.waitFor(/captured on|capture on .* failed/, 'capture', 60_000);
  t.regex(pk, /Packets on /);
  t.notRegex(pk, /no packets captured/);
  // Numbered, decoded lines: "1 0.000s <src> → <dst> <PROTO> <n> B".
  t.regex(pk, /^│?\s*1 \d+\.\d{3}s \S+ → \S+ [A-Z][A-Za-z0-9]* \d+ B/m, 'decoded packets listed');
  tui.key('Escape');
  await tui.waitFor(/Topology — /, 'back from the packets view', 10_000);
  await sleep(300); // let the terminal's Esc timeout pass so the next key is not read as Alt+key

  tui.key('d');
  await tui.waitFor(/Tear the lab down\? y\/n/, 'd asks first', 10_000);
  await sleep(500); // margin: a key sent the instant a view is drawn was lost once in CI (see the note at `sleep`)
  tui.key('y');
  const down = await tui.waitFor(/lab is down|down failed/, 'down', 150_000);
  t.regex(down, /lab is down/);
  t.regex(down, /\[removed\]/);
  assertNothingLeft(t, tui.labName, tui.prefix);

  tui.key('q');
  // The lab is down, so q quits without asking.
  t.is(await tui.exitStatus(), '0', 'the TUI exited with status 0');
}, { tools: ['tmux'] });

privTest('up RECIPE --tui --junit FILE builds the lab at once and runs its checks; Tab reaches the topology; q, n keeps it and writes the report; tui takes it over; q, y tears it down', async (t) => {
  t.timeout(400_000);
  if (!cliReady(t)) return;
  const junitDir = mkdtempSync(path.join(tmpdir(), 'geneve-lab-tui-junit-'));
  t.teardown(() => rmSync(junitDir, { recursive: true, force: true }));
  const junit = path.join(junitDir, 'up-tui.xml');
  const tui = openTui(t, (recipe) => ['up', recipe, '--tui', '--junit', junit]);
  await tui.waitFor(new RegExp(`geneve-lab · ${tui.labName} · UP`), 'up without a key', 150_000);
  t.notRegex(tui.screen(), /\[(planned|creating|FAILED)\]/, 'every object is up');
  t.true(netns().some((n) => n.startsWith(tui.prefix)), `namespaces ${tui.prefix}* exist`);
  // Then its checks run, as `up` runs them.
  const checked = await tui.waitFor(/Checks — ([1-9]\d*) passed, 0 failed, \1 total/, 'the checks ran without a key, all passed', 120_000);
  const passed = Number(/Checks — (\d+) passed/.exec(checked)![1]);

  // Tab: checks → counters → topology (the pane gets the focus marker). Keys sent in the instant
  // the checks' end is drawn were lost once in CI (both Tabs, focus still on Checks): wait for the
  // idle status line and let the app re-subscribe, as before the other mode changes here.
  await tui.waitFor(/ready — u: up/, 'idle after the checks', 30_000);
  await sleep(500);
  tui.key('Tab');
  await tui.waitFor(/▶ Live counters/, 'Tab moves the focus to the counters', 10_000);
  tui.key('Tab');
  await tui.waitFor(/▶ Topology — /, 'Tab reaches the topology pane', 10_000);
  tui.key('PgDn'); // scrolls when it overflows; never an error either way
  await sleep(300);
  t.regex(tui.screen(), /▶ Topology — /);

  // Quit and keep the lab running.
  tui.key('q');
  await tui.waitFor(/Tear the lab down\? y\/n/, 'quit asks whether to tear down', 10_000);
  await sleep(500); // margin: a key sent the instant a view is drawn was lost once in CI (see the note at `sleep`)
  tui.key('n');
  t.is(await tui.exitStatus(), '0', 'quit, lab kept: exit status 0');
  t.true(netns().some((n) => n.startsWith(tui.prefix)), 'the lab is still there after quitting with n');
  // --junit: written when the TUI closed, with the checks it showed (all passed).
  t.true(existsSync(junit), '--junit FILE written by up --tui');
  const xml = existsSync(junit) ? readFileSync(junit, 'utf8') : '';
  t.regex(xml, new RegExp(`<testsuite name="${tui.labName}" tests="${passed}" failures="0" errors="0"`));

  // A new TUI on the running lab says so, and u takes it over without rebuilding.
  tui.restart((recipe) => ['tui', recipe]);
  await tui.waitFor(/is up \(brought up earlier\): attached/, 'the new TUI says the lab is up', 30_000);
  // Attached: shown UP with its objects before any key.
  t.regex(tui.screen(), new RegExp(`geneve-lab · ${tui.labName} · UP`));
  t.notRegex(tui.screen(), /\[(planned|creating|FAILED)\]/, 'every object is up');
  tui.key('u');
  // Already shown UP: wait for u itself to finish (it converges: nothing to rebuild).
  await tui.waitFor(/lab is up|nothing to change/, 'taken over', 60_000);
  t.regex(tui.screen(), new RegExp(`geneve-lab · ${tui.labName} · UP`));

  await quitAndTearDown(t, tui);
}, { tools: ['tmux'] });

privTest('up RECIPE --tui --no-checks builds the lab and runs no check until c; q, y tears it down', async (t) => {
  t.timeout(400_000);
  if (!cliReady(t)) return;
  const tui = openTui(t, (recipe) => ['up', recipe, '--tui', '--no-checks']);
  await tui.waitFor(new RegExp(`geneve-lab · ${tui.labName} · UP`), 'up without a key', 150_000);
  // Checks would have started right after up; give them the time they take to show, then look.
  await sleep(3000);
  t.regex(tui.screen(), /Checks — 0 passed, 0 failed/, 'no check ran by itself');
  tui.key('c');
  await tui.waitFor(/Checks — ([1-9]\d*) passed, 0 failed, \1 total/, 'c runs them on demand', 120_000);
  await quitAndTearDown(t, tui);
}, { tools: ['tmux'] });

privTest('tui attaches to a lab `up` built in another process: UP with live objects, c checks it, d asks, y tears it down and the TUI stays', async (t) => {
  t.timeout(400_000);
  if (!cliReady(t)) return;
  // The TUI starts on a lab that does not exist yet; `up` in another process builds it, then a new TUI attaches.
  const tui = openTui(t, () => ['--version']);
  t.is(await tui.exitStatus(), '0');
  const recipe = path.join(tmpdir(), `${tui.labName}.yaml`);
  writeFileSync(recipe, readFileSync(shipped, 'utf8').replace(/^lab:\s*\S+\s*$/m, `lab: ${tui.labName}`));
  t.teardown(() => rmSync(recipe, { force: true }));
  execFileSync('node', [bin, 'up', '--no-checks', recipe], { cwd: root, stdio: 'ignore', timeout: 150_000 });
  tui.restart(() => ['tui', recipe]);
  await tui.waitFor(/is up \(brought up earlier\): attached/, 'attached', 30_000);
  const attached = tui.screen();
  t.regex(attached, new RegExp(`geneve-lab · ${tui.labName} · UP · [1-9]\\d* up`));
  t.notRegex(attached, /\[(planned|creating|FAILED)\]/, 'every object is up');
  tui.key('c');
  const checks = await tui.waitFor(/checks finished|checks failed/, 'checks on the attached lab', 120_000);
  t.regex(checks, /Checks — [1-9]\d* passed, 0 failed/);
  tui.key('d');
  await tui.waitFor(/Tear the lab down\? y\/n/, 'd asks first', 10_000);
  await sleep(500);
  tui.key('y');
  await tui.waitFor(/lab is down/, 'down', 150_000);
  t.regex(tui.screen(), /\[removed\]/, 'the TUI is still open, showing the objects removed');
  assertNothingLeft(t, tui.labName, tui.prefix);
  tui.key('q');
  t.is(await tui.exitStatus(), '0');
}, { tools: ['tmux'] });
