/**
 * Terminal behaviour: colours on/off (NO_COLOR) and following resizes. Colours are forced on
 * for this process *before* ink loads, so that "no colour" is a real difference to observe.
 */
import test from 'ava';
import { EventEmitter } from 'node:events';
import { FakeController } from './fixtures/fake-controller.js';
import { iperfFailed, pingPassed, sampleLab } from './fixtures/lab.js';

process.env.FORCE_COLOR = '1';
const { render: renderTest } = await import('ink-testing-library');
const { render } = await import('ink');
const { App } = await import('../../../lib/ui/App.js');
const { colorFromEnv } = await import('../../../lib/ui/theme.js');

const tick = (ms = 60) => new Promise((r) => setTimeout(r, ms));
const COLOR_SGR = /\u001B\[(3[0-79]|4[0-79]|9[0-7]|10[0-7]|38;|48;)/; // foreground/background colour codes

async function failedChecksFrame(noColor: boolean): Promise<string> {
  const lab = sampleLab();
  const ctrl = new FakeController(lab, { checks: [{ type: 'check-done', result: pingPassed }, { type: 'check-done', result: iperfFailed }] });
  const r = renderTest(<App controller={ctrl} size={{ columns: 80, rows: 24 }} noColor={noColor} />);
  await tick();
  r.stdin.write('c');
  for (let i = 0; i < 150 && !/checks finished/.test(r.lastFrame() ?? ''); i++) await tick(20);
  const f = r.lastFrame() ?? '';
  r.unmount();
  return f;
}

test.serial('NO_COLOR: no colour codes at all, states still spelled out', async (t) => {
  const colored = await failedChecksFrame(false);
  t.regex(colored, COLOR_SGR, 'colours are on by default (control)');
  const plain = await failedChecksFrame(true);
  t.notRegex(plain, COLOR_SGR);
  t.regex(plain, /FAILED/);
  t.regex(plain, /passed/);
  t.regex(plain, /\[planned\]/);
});

test('NO_COLOR is read from the environment (any non-empty value)', (t) => {
  t.false(colorFromEnv({ NO_COLOR: '1' }));
  t.false(colorFromEnv({ NO_COLOR: 'yes' }));
  t.true(colorFromEnv({ NO_COLOR: '' }));
  t.true(colorFromEnv({}));
});

class FakeTerm extends EventEmitter {
  isTTY = true;
  frames: string[] = [];
  constructor(public columns: number, public rows: number) {
    super();
  }
  write = (s: string) => {
    this.frames.push(s);
    return true;
  };
}

test.serial('follows terminal resizes (80×24 → 120×30 → 80×24)', async (t) => {
  const stdout = new FakeTerm(80, 24);
  const stdin = Object.assign(new EventEmitter(), { isTTY: true, setRawMode() {}, setEncoding() {}, resume() {}, pause() {}, ref() {}, unref() {}, read: () => null });
  const ctrl = new FakeController(sampleLab());
  const app = render(<App controller={ctrl} noColor />, { stdout: stdout as any, stdin: stdin as any, debug: true, patchConsole: false, exitOnCtrlC: false });
  const widest = () => {
    const last = stdout.frames.at(-1) ?? '';
    return { width: Math.max(...last.split('\n').map((l) => [...l].length)), height: last.split('\n').length };
  };
  /** Renders are asynchronous: wait (bounded) until the last frame has the expected size. */
  const settle = async (want: { width: number; height: number }) => {
    for (let i = 0; i < 150; i++) {
      const w = widest();
      if (w.width === want.width && w.height === want.height) return;
      await tick(20);
    }
  };
  await settle({ width: 80, height: 24 });
  t.deepEqual(widest(), { width: 80, height: 24 });
  stdout.columns = 120;
  stdout.rows = 30;
  stdout.emit('resize');
  await settle({ width: 120, height: 30 });
  t.deepEqual(widest(), { width: 120, height: 30 });
  stdout.columns = 80;
  stdout.rows = 24;
  stdout.emit('resize');
  await settle({ width: 80, height: 24 });
  t.deepEqual(widest(), { width: 80, height: 24 });
  app.unmount();
});
