import test from 'ava';
import { render } from 'ink-testing-library';
import { App } from '../../../lib/ui/App.js';
import { ApplyError } from '../../../lib/errors.js';
import type { LabEvent } from '../../../lib/engine/events.js';
import { FakeController } from './fixtures/fake-controller.js';
import { iperfFailed, pingPassed, sampleLab, samplePlan } from './fixtures/lab.js';

const lab = sampleLab();
const plan = samplePlan();
const tick = (ms = 80) => new Promise((r) => setTimeout(r, ms));
const KEY = { up: '\u001B[A', down: '\u001B[B', pgUp: '\u001B[5~', pgDown: '\u001B[6~', enter: '\r', tab: '\t', esc: '\u001B' };

const upEvents: LabEvent[] = [
  { type: 'plan', lab: 'quick', plan },
  { type: 'phase', phase: 'up', state: 'start', lab: 'quick' },
  ...plan.steps.flatMap((step): LabEvent[] => [{ type: 'step-start', step }, { type: 'step-done', step, durationMs: 2 }]),
  { type: 'phase', phase: 'up', state: 'done', lab: 'quick' },
];
const downEvents: LabEvent[] = [
  { type: 'phase', phase: 'down', state: 'start', lab: 'quick' },
  ...plan.steps.slice().reverse().flatMap((step): LabEvent[] => [{ type: 'undo-start', step }, { type: 'undo-done', step, durationMs: 1 }]),
  { type: 'phase', phase: 'down', state: 'done', lab: 'quick' },
];
const checkEvents: LabEvent[] = [
  { type: 'check-start', check: lab.checks[0]! },
  { type: 'check-done', result: pingPassed },
  { type: 'check-start', check: lab.checks[1]! },
  { type: 'check-done', result: iperfFailed },
];

async function start(ctrl: FakeController, size = { columns: 100, rows: 30 }) {
  const exits: { tornDown: boolean }[] = [];
  const r = render(<App controller={ctrl} size={size} onExit={(h) => exits.push(h)} />);
  await tick();
  for (let i = 0; i < 100 && !/Topology — /.test(r.lastFrame() ?? ''); i++) await tick(20);
  const press = async (k: string) => {
    r.stdin.write(k);
    await tick();
  };
  const frame = () => r.lastFrame() ?? '';
  /** Wait until the screen matches (renders are asynchronous); fails with the last frame. */
  const waitFor = async (re: RegExp, ms = 3000) => {
    const until = Date.now() + ms;
    while (!re.test(frame())) {
      if (Date.now() > until) throw new Error(`screen never matched ${re}:\n${frame()}`);
      await tick(20);
    }
  };
  /** u, then wait until the status line says the lab is up. */
  const bringUp = async () => {
    await press('u');
    await waitFor(/lab is up/);
  };
  return { ...r, press, exits, frame, waitFor, bringUp };
}

test.serial('u brings the lab up and the events are rendered', async (t) => {
  const ctrl = new FakeController(lab, { up: upEvents });
  const app = await start(ctrl);
  await app.waitFor(/\[planned\] tunnel tun0/);
  await app.bringUp();
  t.deepEqual(ctrl.calls, ['up']);
  const f = app.frame();
  t.regex(f, /geneve-lab · quick · UP · 8 up/);
  t.regex(f, /\[up\] tunnel tun0/);
  t.regex(f, /› ✓ #9 link\.add tunnel "tun0" on host "bo/, 'newest step selected');
  t.regex(f, /lab is up/);
  app.unmount();
});

test.serial('a failing up is shown in the status line, never as a raw stack; the app keeps running', async (t) => {
  const err = new ApplyError(8, { subject: 'tunnel "tun0" on host "box-1"', request: 'ip link add gnv0 type geneve id 99999999', kernelMessage: 'Geneve ID must be lower than 16777216', errno: 'ERANGE' }, { undone: 7, failures: [] });
  const ctrl = new FakeController(lab, { upError: err });
  const app = await start(ctrl);
  await app.press('u');
  const f = app.frame();
  t.regex(f.replace(/\s+/g, ' '), /up failed: step 8 failed: tunnel "tun0" on host "box-1": Geneve ID must be lower than 16777216 \(ERANGE\)/);
  t.notRegex(f, /\n\s+at /, 'no stack frames');
  t.notRegex(f, /ApplyError/);
  await app.press('?');
  t.regex(app.frame(), /Help — keys/, 'still responsive');
  app.unmount();
});

test.serial('c runs the checks; Enter re-runs the selected one; j/k move the selection', async (t) => {
  const ctrl = new FakeController(lab, { checks: checkEvents });
  const app = await start(ctrl);
  await app.press('c');
  await app.waitFor(/checks finished/);
  await app.waitFor(/1 passed, 1 failed/);
  await app.waitFor(/saw 212\.4 Mbit\/s/);
  await app.press(KEY.enter);
  await app.waitFor(/check left-to-right finished/);
  await app.press('j');
  await app.press(KEY.enter);
  await app.waitFor(/check throughput finished/);
  await app.press(KEY.up);
  await app.press(KEY.enter);
  await app.waitFor(/check left-to-right finished/);
  t.deepEqual(ctrl.calls, ['checks', 'rerun:left-to-right', 'rerun:throughput', 'rerun:left-to-right']);
  app.unmount();
});

test.serial('p captures on the selected interface and shows decoded packets; Esc closes', async (t) => {
  const ctrl = new FakeController(lab, {
    packets: [{ no: 1, time: 0, length: 148, src: '198.51.100.1', dst: '198.51.100.2', protocol: 'GENEVE', info: 'Echo (ping) request', geneve: { vni: 5001, options: [] } }],
  });
  const app = await start(ctrl);
  await app.press(KEY.tab); // checks → counters
  await app.waitFor(/▶ Live counters/);
  await app.press('j'); // second target: tun0@box-2
  await app.press('j'); // third: eth0@box-1
  await app.press('p');
  // What was captured, where, and how long it took.
  await app.waitFor(/1 packet captured on eth0 @ box-1 \(netns gl-quick-box-1\) in \d+\.\d s/);
  t.deepEqual(ctrl.calls, ['capture:box-1/eth0']);
  await app.waitFor(/Packets on eth0 @ box-1 \(netns gl-quick-box-1\) — 1 packet in \d+\.\d s/);
  await app.waitFor(/geneve vni 5001/);
  await app.press(KEY.esc);
  await app.waitFor(/Topology — quick/);
  app.unmount();
});

test.serial('a failing capture lands in the status line', async (t) => {
  const ctrl = new FakeController(lab, { captureError: new Error('tcpdump: eth0: No such device exists') });
  const app = await start(ctrl);
  await app.press('p');
  await app.waitFor(/failed: tcpdump/);
  await app.waitFor(/capture on gnv0@box-1 failed: tcpdump: eth0: No such device exists/);
  t.regex(app.frame(), /Topology — quick/, 'back on the main view');
  app.unmount();
});

test.serial('l shows the log of the selected step', async (t) => {
  const ctrl = new FakeController(lab, { up: upEvents, log: { 9: ['$ ip -n gl-quick-box-2 link add x9 type dummy', 'exit 0 in 2 ms'] } });
  const app = await start(ctrl);
  await app.press('l');
  await app.waitFor(/no step selected/);
  await app.bringUp();
  await app.press('l');
  t.true(ctrl.calls.includes('log:9'), 'the newest step is selected after up');
  await app.waitFor(/Log of step #9/);
  await app.waitFor(/\$ ip -n gl-quick-box-2 link add x9 type dummy/);
  await app.press(KEY.esc);
  await app.press(KEY.tab); // checks → counters
  await app.press(KEY.tab); // → topology
  await app.press(KEY.tab); // → progress
  await app.waitFor(/▶ Progress/);
  await app.press('k');
  await app.press('l');
  t.true(ctrl.calls.includes('log:8'));
  app.unmount();
});

test.serial('q with the lab up asks; y tears down then quits', async (t) => {
  const ctrl = new FakeController(lab, { up: upEvents, down: downEvents });
  const app = await start(ctrl);
  await app.bringUp();
  await app.press('q');
  await app.waitFor(/Tear the lab down\? y\/n/);
  t.deepEqual(app.exits, []);
  await app.press('y');
  for (let i = 0; i < 100 && app.exits.length === 0; i++) await tick(20);
  t.deepEqual(ctrl.calls, ['up', 'down']);
  t.deepEqual(app.exits, [{ tornDown: true }]);
});

test.serial('q with the lab up; n quits and leaves it running; Esc stays', async (t) => {
  const ctrl = new FakeController(lab, { up: upEvents });
  const app = await start(ctrl);
  await app.bringUp();
  await app.press('q');
  await app.press(KEY.esc);
  t.notRegex(app.frame(), /Tear the lab down/);
  t.deepEqual(app.exits, []);
  await app.press('q');
  await app.press('n');
  t.deepEqual(ctrl.calls, ['up']);
  t.deepEqual(app.exits, [{ tornDown: false }]);
});

test.serial('d with the lab up asks; Esc keeps it; y tears it down and the TUI stays; then q does not ask', async (t) => {
  const ctrl = new FakeController(lab, { up: upEvents, down: downEvents });
  const app = await start(ctrl);
  await app.bringUp();
  await app.press('d');
  await app.waitFor(/Tear the lab down\? y\/n/);
  t.regex(app.frame(), /y: tear it down · n or Esc: keep it/);
  await app.press(KEY.esc);
  t.notRegex(app.frame(), /Tear the lab down/);
  t.deepEqual(ctrl.calls, ['up']);
  await app.press('d');
  await app.waitFor(/Tear the lab down\? y\/n/);
  await app.press('y');
  await app.waitFor(/lab is down/);
  t.deepEqual(app.exits, [], 'd never quits');
  await app.waitFor(/\[removed\] tunnel tun0/);
  await app.press('q');
  t.deepEqual(app.exits, [{ tornDown: false }]);
  t.deepEqual(ctrl.calls, ['up', 'down']);
});

test.serial('80×24: nothing wider than 80 columns or taller than 24 rows, key panels visible', async (t) => {
  const ctrl = new FakeController(lab, { up: upEvents, checks: checkEvents });
  const app = await start(ctrl, { columns: 80, rows: 24 });
  await app.bringUp();
  await app.press('c');
  await app.waitFor(/checks finished/);
  const lines = app.frame().split('\n');
  t.true(lines.length <= 24, `${lines.length} rows`);
  for (const l of lines) t.true([...l].length <= 80, `too wide (${[...l].length}): ${l}`);
  const f = app.frame();
  t.regex(f, /\[up\] tunnel tun0 geneve/, 'the tunnel stays visible in a small terminal');
  t.regex(f, /box-1\(kernel\) ⇄ box-2\(ovs\)/);
  for (const p of ['Topology — quick', 'Progress — up: done', 'Checks — 1 passed, 1 failed', 'Live counters', 'lab is up|checks finished']) t.regex(f, new RegExp(p));
  app.unmount();
});

test.serial('counter samples pushed by the controller appear live', async (t) => {
  const ctrl = new FakeController(lab);
  const app = await start(ctrl);
  const totals = { ifname: 'eth0', ns: 'gl-quick-box-2', operstate: 'UP', mtu: 1500, rxBytes: 0, rxPackets: 0, txBytes: 0, txPackets: 0, errors: { rx_errors: 2, rx_frame_errors: 2 } };
  ctrl.pushCounters([{ ns: 'gl-quick-box-2', ifname: 'eth0', at: 1, intervalMs: 1000, rxPps: 12, txPps: 3, rxBps: 15_000, txBps: 300, totals, errorsDelta: { rx_errors: 2, rx_frame_errors: 2 }, reset: false }]);
  await app.waitFor(/rx 12 pps/);
  t.regex(app.frame(), /rx 12 pps 15\.0 KB\/s\s+tx 3 pps 300 B\/s/);
  t.regex(app.frame(), /err 2[\s\S]*! rx_errors \+2, rx_frame_errors \+2/);
  app.unmount();
});

test.serial('a key pressed right after a mode change is read in the new mode, not lost to the old one', async (t) => {
  const ctrl = new FakeController(lab);
  const app = await start(ctrl);
  // Two keys in one go (fast typing): "?" opens help, the "q" right behind it closes help.
  app.stdin.write('?');
  app.stdin.write('q');
  await tick();
  t.deepEqual(app.exits, [], 'q closed help; it did not quit from the main view');
  t.notRegex(app.frame(), /Help — keys/);
  // And back: "q" closes help, the "?" right behind it opens it again.
  await app.press('?');
  app.stdin.write('q');
  app.stdin.write('?');
  await tick();
  t.regex(app.frame(), /Help — keys/);
  app.unmount();
});

test.serial('i opens the selected check in full: message, figures, raw output; Esc closes', async (t) => {
  const raw = `$ iperf3 -c 203.0.113.2\n${'x'.repeat(150)}END`;
  const ctrl = new FakeController(lab, { checks: [checkEvents[0]!, checkEvents[1]!, checkEvents[2]!, { type: 'check-done', result: { ...iperfFailed, raw } }] });
  const app = await start(ctrl);
  await app.press('c');
  await app.waitFor(/1 passed, 1 failed/);
  await app.press('j');
  await app.press('i');
  await app.waitFor(/Check throughput — in full/);
  const f = app.frame();
  t.regex(f, /throughput \(iperf\): FAILED in 3100 ms/);
  t.regex(f, /expected at least 1\.00 Gbit\/s/);
  t.regex(f, /retransmits = 14/);
  t.regex(f, /\$ iperf3 -c 203\.0\.113\.2/);
  t.regex(f, /END/, 'a line longer than the screen is wrapped, not cut');
  await app.press(KEY.esc);
  await app.waitFor(/Topology — quick/);
  app.unmount();
});

/** The rows of the topology pane (left half of the top panes), borders and the right pane cut off. */
const topologyPane = (f: string) => {
  const lines = f.split('\n');
  const top = lines.findIndex((l) => /Topology — /.test(l));
  const out: string[] = [];
  for (const l of lines.slice(top)) {
    if (/^└/.test(l)) break;
    out.push(l.slice(1, l.indexOf('│', 1)).trimEnd());
  }
  return out;
};

test.serial('Tab reaches the topology pane; ↓/PgDn scroll it to the hidden rows, ↑/PgUp back; it says how many rows it hides; i shows it in full', async (t) => {
  const ctrl = new FakeController(lab, { up: upEvents });
  // 80×24: the topology pane has 7 rows for 10 rows of topology.
  const app = await start(ctrl, { columns: 80, rows: 24 });
  await app.bringUp();
  let pane = topologyPane(app.frame());
  t.regex(pane[1]!, /^\[up\] tunnel tun0 geneve\/v4/, 'the tunnel first');
  t.false(pane.some((l) => /host box-2/.test(l)), 'the last host is below the fold');
  const note = pane.find((l) => /^… /.test(l));
  t.truthy(note, 'the pane says it hides rows');
  const below = Number(/… (\d+) below \(↑\/↓\)$/.exec(note!)?.[1]);
  t.true(below >= 2, note);
  t.notRegex(app.frame(), /▶ Topology/, 'not focused at start (the checks are)');

  // checks → counters → topology
  await app.press(KEY.tab);
  await app.press(KEY.tab);
  await app.waitFor(/▶ Topology — quick/);
  t.notRegex(app.frame(), /▶ Checks/);

  await app.press(KEY.down);
  pane = topologyPane(app.frame());
  t.regex(pane.find((l) => /^… /.test(l)) ?? '', new RegExp(`^… 1 above, ${below - 1} below`), 'one row scrolled');
  t.notRegex(pane[1]!, /tunnel tun0/, 'the first row scrolled out');

  await app.press(KEY.pgDown);
  pane = topologyPane(app.frame());
  t.true(pane.some((l) => /\[up\] host box-2 · eth0 198\.51\.100\.2\/24/.test(l)), `the last row is revealed:\n${pane.join('\n')}`);
  t.regex(pane.find((l) => /^… /.test(l)) ?? '', /^… \d+ above \(↑\/↓\)$/, 'nothing below any more');
  await app.press(KEY.pgDown);
  await app.press(KEY.down);
  t.deepEqual(topologyPane(app.frame()), pane, 'scrolling stops at the last row');

  await app.press(KEY.pgUp);
  await app.press(KEY.up);
  await app.press(KEY.up);
  pane = topologyPane(app.frame());
  t.regex(pane[1]!, /^\[up\] tunnel tun0 geneve\/v4/, 'back at the top');
  t.regex(pane.find((l) => /^… /.test(l)) ?? '', new RegExp(`^… ${below} below`));

  // The cut guest lines in full.
  await app.press('i');
  await app.waitFor(/Topology — quick — in full/);
  t.regex(app.frame(), /\[up\] guest left on br1 · 203\.0\.113\.1\/24/);
  t.regex(app.frame(), /\[up\] host box-2 · eth0 198\.51\.100\.2\/24/);
  await app.press(KEY.esc);
  await app.waitFor(/▶ Topology — quick/);
  t.deepEqual(ctrl.calls, ['up'], 'scrolling and i called nothing on the lab');
  app.unmount();
});

test.serial('PgDn/PgUp move the selection by a page in a list pane', async (t) => {
  const ctrl = new FakeController(lab, { up: upEvents });
  const app = await start(ctrl, { columns: 80, rows: 24 });
  await app.bringUp();
  // Tab ×3: checks → counters → topology → progress; the newest step (#9) is selected.
  for (let i = 0; i < 3; i++) await app.press(KEY.tab);
  await app.waitFor(/▶ Progress/);
  await app.press(KEY.pgUp);
  const sel = /› ✓ #(\d+) /.exec(app.frame())?.[1];
  t.truthy(sel);
  t.true(Number(sel) < 8, `moved more than one step: #${sel}`);
  await app.press(KEY.pgDown);
  await app.press(KEY.pgDown);
  t.regex(app.frame(), /› ✓ #9 /, 'PgDn stops at the last step');
  app.unmount();
});

test.serial('keys typed faster than the screen redraws each count: k k moves two steps, then l opens the step they reached', async (t) => {
  const ctrl = new FakeController(lab, { up: upEvents, log: { 7: ['$ step seven'] } });
  const app = await start(ctrl);
  await app.bringUp();
  for (let i = 0; i < 3; i++) await app.press(KEY.tab); // checks → counters → topology → progress
  await app.waitFor(/▶ Progress/);
  t.regex(app.frame(), /› ✓ #9 /);
  // Three keys in one go (one read, no redraw between them).
  app.stdin.write('k');
  app.stdin.write('k');
  app.stdin.write('l');
  await tick();
  t.deepEqual(ctrl.calls.filter((c) => c.startsWith('log:')), ['log:7'], 'l read the selection the two k made');
  await app.waitFor(/Log of step #7/);
  await app.press(KEY.esc);
  await app.waitFor(/› ✓ #7 /);
  app.unmount();
});

test.serial('Tab then a key in one go: the key acts in the pane Tab moved to, as when typed slowly', async (t) => {
  /** Tab j p after the checks ran, typed slowly (a redraw between keys) or in one go. */
  const run = async (fast: boolean) => {
    const ctrl = new FakeController(lab, { checks: checkEvents });
    const app = await start(ctrl);
    await app.press('c');
    await app.waitFor(/1 passed, 1 failed/);
    const checksSel = () => /› \S+ (left-to-right|throughput)/.exec(app.frame())?.[1];
    t.is(checksSel(), 'left-to-right', 'the first check is selected');
    // Tab: checks → counters; j: the second counter target (not the second check); p: capture on it.
    for (const k of [KEY.tab, 'j', 'p']) {
      if (fast) app.stdin.write(k);
      else await app.press(k);
    }
    await tick();
    const captures = ctrl.calls.filter((c) => c.startsWith('capture:'));
    await app.waitFor(/Packets on /);
    await app.press(KEY.esc);
    await app.waitFor(/▶ Live counters/);
    t.is(checksSel(), 'left-to-right', `the checks selection did not move (${fast ? 'fast' : 'slow'})`);
    app.unmount();
    return captures;
  };
  const slow = await run(false);
  t.is(slow.length, 1);
  t.not(slow[0], 'capture:box-1/gnv0', 'j moved off the first target');
  t.deepEqual(await run(true), slow);
});

test.serial('a second action typed right behind the first waits its turn: u then c in one go runs up only, and says why', async (t) => {
  let release!: () => void;
  const upGate = new Promise<void>((r) => (release = r));
  const ctrl = new FakeController(lab, { up: upEvents, checks: checkEvents, upGate });
  const app = await start(ctrl);
  app.stdin.write('u');
  app.stdin.write('c');
  await tick();
  t.deepEqual(ctrl.calls, ['up'], 'no checks while up runs');
  await app.waitFor(/up is still running — wait for it to finish/);
  await app.press('p'); // a capture too: refused, and the packets view does not open
  t.deepEqual(ctrl.calls, ['up']);
  t.regex(app.frame(), /Topology — quick/, 'still the main view');
  release();
  await app.waitFor(/lab is up/);
  await app.press('c');
  await app.waitFor(/checks finished/);
  t.deepEqual(ctrl.calls, ['up', 'checks']);
  app.unmount();
});
