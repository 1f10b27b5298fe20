/**
 * The TUI container: subscribes to engine events and counters, keeps view state, maps keys to
 * controller calls. It renders only; every decision and system call is the controller's.
 */
import React, { useEffect, useReducer, useRef, useState } from 'react';
import { Box, useApp, useInput, useWindowSize } from 'ink';
import type { LabEvent } from '../engine/events.js';
import type { Controller, DecodedPacketSummary } from './controller.js';
import type { CounterSample } from '../stats/linkstats.js';
import { initialUiState, objectSummary, uiReducer, type UiState } from './state.js';
import { keyToCommand, type Mode } from './keys.js';
import { clip } from './format.js';
import { innerLines } from './components/Panel.js';
import { ColorContext, T, colorFromEnv } from './theme.js';
import { TopologyPanel, topologyText, topologyWindow } from './components/Topology.js';
import { ProgressPanel } from './components/Progress.js';
import { ChecksPanel } from './components/Checks.js';
import { CountersPanel } from './components/Counters.js';
import { HelpOverlay, LogView, PacketsView, QuitConfirm } from './components/Overlays.js';
import { checkDetailText, wrapLines } from './detail.js';

export interface AppProps {
  controller: Controller;
  /** Force colours off (otherwise NO_COLOR decides). */
  noColor?: boolean;
  /** Fixed size (tests); otherwise the terminal's, following resizes. */
  size?: { columns: number; rows: number };
  /** Called after the app has decided to quit (and torn down if asked). */
  onExit?: (how: { tornDown: boolean }) => void;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * State whose latest value is also readable at once through a ref: set() updates both, so an
 * input handler running before the next render sees what the previous key set.
 */
function useLiveState<V>(initial: V): [V, (v: V) => void, { readonly current: V }] {
  const [value, setValue] = useState<V>(initial);
  const ref = useRef<V>(initial);
  const set = (v: V) => {
    ref.current = v;
    setValue(v);
  };
  return [value, set, ref];
}

/** The panes in reading order (Tab cycles through them); the topology pane scrolls, the others select. */
type Focus = 'topology' | 'progress' | 'checks' | 'counters';
const FOCUS_ORDER: Focus[] = ['topology', 'progress', 'checks', 'counters'];

interface Status {
  tone: 'bad' | 'ok' | 'busy' | 'warn' | 'dim';
  text: string;
}

/** The message of anything thrown, first line kept whole, never a stack trace. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

function clampSel(i: number, n: number): number {
  return n <= 0 ? 0 : Math.min(Math.max(0, i), n - 1);
}

export function App(props: AppProps) {
  const { controller } = props;
  const clock = props.now ?? Date.now;
  const app = useApp();
  const term = useWindowSize();
  const columns = Math.max(40, props.size?.columns ?? term.columns ?? 80);
  const rows = Math.max(12, props.size?.rows ?? term.rows ?? 24);
  const color = props.noColor ? false : colorFromEnv();

  const [ui, dispatch] = useReducer((s: UiState, e: LabEvent) => uiReducer(s, e, clock()), controller.lab, initialUiState);
  // Keys read mode, focus, selection and what runs through refs (useLiveState), not the rendered
  // values: keys typed faster than a redraw ("? q", "Tab j", "k k l", "u c" in one read) must act
  // on what the earlier keys chose, not on the last render.
  const [mode, setMode, modeRef] = useLiveState<Mode>('main');
  const [focus, setFocus, focusRef] = useLiveState<Focus>('checks');
  // For the topology pane: its top row (it has no selection), clamped to its last page.
  const [sel, setSelValue, selRef] = useLiveState<Record<Focus, number>>({ topology: 0, progress: 0, checks: 0, counters: 0 });
  const setSel = (next: (s: Record<Focus, number>) => Record<Focus, number>) => setSelValue(next(selRef.current));
  const [status, setStatus] = useState<Status>({ tone: 'dim', text: 'ready — u: up, c: checks, ?: help' });
  const [busy, setBusy, busyRef] = useLiveState<string | undefined>(undefined);
  const [samples, setSamples] = useState<Record<string, CounterSample>>({});
  const [counterError, setCounterError] = useState<string | undefined>();
  const [packets, setPackets] = useState<{ title: string; list: DecodedPacketSummary[] | 'capturing' }>({ title: '', list: [] });
  const [log, setLog] = useState<{ title: string; lines: string[] }>({ title: '', lines: [] });
  const [scroll, setScroll] = useState(0);
  const [now, setNow] = useState(clock());
  const targets = useRef(controller.watchTargets()).current;
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    const off = controller.bus.on((e) => {
      dispatch(e);
      if (e.type === 'notice') setStatus({ tone: e.level === 'warning' ? 'warn' : 'dim', text: e.message });
    });
    return () => {
      mounted.current = false;
      off();
    };
  }, [controller]);

  useEffect(() => {
    return controller.counters(
      (list) => {
        setCounterError(undefined);
        setSamples((old) => {
          const next = { ...old };
          for (const s of list) next[`${s.ns}/${s.ifname}`] = s;
          return next;
        });
      },
      (err) => setCounterError(errorText(err).split('\n')[0]),
    );
  }, [controller]);

  // Elapsed times tick while anything runs.
  const running = ui.steps.some((s) => s.state === 'running') || ui.checks.some((c) => c.state === 'running');
  useEffect(() => {
    if (!running) return;
    setNow(clock());
    const t = setInterval(() => setNow(clock()), 250);
    return () => clearInterval(t);
  }, [running]);

  // Follow the progress: the newest step is selected whenever a step is added.
  useEffect(() => {
    setSel((s) => ({ ...s, progress: Math.max(0, ui.steps.length - 1) }));
  }, [ui.steps.length]);

  /** True (and says so) when an action is still running: one action at a time. */
  const refusedWhileBusy = (): boolean => {
    if (!busyRef.current) return false;
    setStatus({ tone: 'warn', text: `${busyRef.current} is still running — wait for it to finish` });
    return true;
  };

  /** Run one controller action; its error lands in the status line. */
  const act = async (label: string, fn: () => Promise<unknown>, doneText: string | (() => string)): Promise<boolean> => {
    if (refusedWhileBusy()) return false;
    setBusy(label);
    setStatus({ tone: 'busy', text: `${label}…` });
    try {
      await fn();
      if (mounted.current) setStatus({ tone: 'ok', text: typeof doneText === 'function' ? doneText() : doneText });
      return true;
    } catch (e) {
      if (mounted.current) setStatus({ tone: 'bad', text: `${label} failed: ${errorText(e)}` });
      return false;
    } finally {
      if (mounted.current) setBusy(undefined);
    }
  };

  const quit = (tornDown: boolean) => {
    props.onExit?.({ tornDown });
    app.exit();
  };

  // Layout: header, two rows of two panels, status line. Everything fits in columns × rows.
  const leftW = Math.floor(columns / 2);
  const rightW = columns - leftW;
  const body = rows - 4; // header, two status lines, key hints
  const topH = Math.floor(body / 2);
  const botH = body - topH;
  const topo = topologyWindow(controller.lab, ui.objects, leftW, topH, sel.topology);
  const lists: Record<Focus, number> = { topology: topo.maxTop + 1, progress: ui.steps.length, checks: ui.checks.length, counters: targets.length };
  /** How far PgUp/PgDn move in each pane: about one pane's worth of rows (counters take two per item). */
  const page: Record<Focus, number> = {
    topology: Math.max(1, topo.end - topo.start),
    progress: Math.max(1, innerLines(topH) - 2),
    checks: Math.max(1, innerLines(botH) - 2),
    counters: Math.max(1, Math.floor((innerLines(botH) - 1) / 2)),
  };

  /** The log of the selected step (l), in the log view. */
  const showStepLog = () => {
    const s = ui.steps[selRef.current.progress];
    if (!s) return setStatus({ tone: 'warn', text: 'no step selected (run u first)' });
    let lines: string[];
    try {
      lines = controller.stepLog(s.stepId);
    } catch (e) {
      return setStatus({ tone: 'bad', text: `log of step ${s.stepId} failed: ${errorText(e)}` });
    }
    setLog({ title: `Log of step #${s.stepId} — ${s.subject}`, lines: [...(s.error ? [s.error] : []), ...lines] });
    setScroll(0);
    setMode('log');
  };

  useInput((input, key) => {
    const mode = modeRef.current;
    const focus = focusRef.current;
    const sel = selRef.current;
    const cmd = keyToCommand(mode, input, key);
    if (!cmd) return;
    switch (cmd) {
      case 'up':
        void act('up', () => controller.up(), 'lab is up');
        return;
      case 'down':
        // A lab that is up is asked about first (it may be one an earlier `up` built: attached).
        if (ui.labUp) setMode('confirm-down');
        else void act('down', () => controller.down(), 'lab is down');
        return;
      case 'down-confirmed':
        setMode('main');
        void act('down', () => controller.down(), 'lab is down');
        return;
      case 'checks':
        setFocus('checks');
        void act('checks', () => controller.runChecks(), 'checks finished');
        return;
      case 'rerun': {
        const c = ui.checks[sel.checks];
        if (!c) return setStatus({ tone: 'warn', text: 'no check selected' });
        void act(`check ${c.name}`, () => controller.rerunCheck(c.name), `check ${c.name} finished`);
        return;
      }
      case 'prev':
      case 'next':
      case 'page-up':
      case 'page-down': {
        const paged = cmd === 'page-up' || cmd === 'page-down';
        const sign = cmd === 'prev' || cmd === 'page-up' ? -1 : 1;
        if (mode === 'packets' || mode === 'log') return setScroll((x) => Math.max(0, x + sign * (paged ? Math.max(1, body - 4) : 1)));
        // The topology's top row starts from where it is drawn (a resize may have clamped it).
        const from = focus === 'topology' ? Math.min(Math.max(0, sel.topology), topo.maxTop) : sel[focus];
        setSel((s) => ({ ...s, [focus]: clampSel(from + sign * (paged ? page[focus] : 1), lists[focus]) }));
        return;
      }
      case 'focus-next':
        setFocus(FOCUS_ORDER[(FOCUS_ORDER.indexOf(focus) + 1) % FOCUS_ORDER.length]!);
        return;
      case 'capture': {
        const t = targets[sel.counters];
        if (!t) return setStatus({ tone: 'warn', text: 'no interface to capture on' });
        // Refused before the packets view opens (it would wait for a capture that never starts).
        if (refusedWhileBusy()) return;
        // Say what is captured, where (the namespace) and, once done, how many in how long.
        const where = `${t.ifname} @ ${t.host}${t.ns ? ` (netns ${t.ns})` : ''}`;
        const title = `Packets on ${where}`;
        const started = clock();
        let summary = `captured on ${t.ifname}@${t.host}`;
        setPackets({ title: `${title} — capturing while pinging across it…`, list: 'capturing' });
        setScroll(0);
        setMode('packets');
        void act(
          `capture on ${t.ifname}@${t.host}`,
          async () => {
            try {
              const list = await controller.capture(t.host, t.ifname);
              summary = `${list.length} packet${list.length === 1 ? '' : 's'} captured on ${where} in ${((clock() - started) / 1000).toFixed(1)} s`;
              if (mounted.current) setPackets({ title: `${title} — ${summary.split(' captured')[0]} in ${((clock() - started) / 1000).toFixed(1)} s`, list });
            } catch (e) {
              if (mounted.current) {
                setPackets({ title, list: [] });
                setMode('main');
              }
              throw e;
            }
          },
          () => summary,
        );
        return;
      }
      case 'detail': {
        // The whole of the selected check; with the progress pane focused, the step's log (as l);
        // with the topology focused, every object and tunnel parameter uncut.
        if (focus === 'topology') {
          setLog({ title: `Topology — ${ui.lab} — in full`, lines: wrapLines(topologyText(controller.lab, ui.objects), columns - 4) });
          setScroll(0);
          setMode('log');
          return;
        }
        const c = focus === 'checks' ? ui.checks[sel.checks] : undefined;
        if (focus === 'checks' && !c) return setStatus({ tone: 'warn', text: 'no check selected' });
        if (c) {
          setLog({ title: `Check ${c.name} — in full`, lines: wrapLines(checkDetailText(c), columns - 4) });
          setScroll(0);
          setMode('log');
          return;
        }
        showStepLog();
        return;
      }
      case 'log':
        showStepLog();
        return;
      case 'help':
        setMode('help');
        return;
      case 'quit':
        if (ui.labUp || busyRef.current) setMode('quit');
        else quit(false);
        return;
      case 'quit-keep':
        quit(false);
        return;
      case 'quit-teardown':
        setMode('main');
        void (async () => {
          const ok = busyRef.current ? false : await act('down', () => controller.down(), 'lab is down');
          if (ok) quit(true);
        })();
        return;
      case 'close':
        setMode('main');
        return;
    }
  });

  const sum = objectSummary(ui);
  const header =
    `geneve-lab · ${ui.lab} · ${ui.labUp ? 'UP' : ui.phase?.state === 'start' ? ui.phase.name + '…' : 'down'}` +
    ` · ${sum.up} up${sum.creating ? `, ${sum.creating} creating` : ''}${sum.failed ? `, ${sum.failed} failed` : ''}`;

  let main: React.ReactNode;
  if (mode === 'help') main = <HelpOverlay width={columns} height={body} />;
  else if (mode === 'packets') main = <PacketsView title={packets.title} packets={packets.list} scroll={scroll} width={columns} height={body} />;
  else if (mode === 'log') main = <LogView title={log.title} lines={log.lines} scroll={scroll} width={columns} height={body} />;
  else
    main = (
      <Box flexDirection="column">
        <Box>
          <TopologyPanel lab={controller.lab} objects={ui.objects} focused={focus === 'topology'} scroll={sel.topology} width={leftW} height={topH} />
          <ProgressPanel state={ui} selected={sel.progress} focused={focus === 'progress'} now={now} width={rightW} height={topH} />
        </Box>
        <Box>
          <ChecksPanel checks={ui.checks} selected={sel.checks} focused={focus === 'checks'} now={now} width={leftW} height={botH} />
          <CountersPanel targets={targets} samples={samples} selected={sel.counters} focused={focus === 'counters'} error={counterError} width={rightW} height={botH} />
        </Box>
      </Box>
    );

  return (
    <ColorContext.Provider value={color}>
      <Box flexDirection="column" width={columns} height={rows}>
        <Box justifyContent="space-between">
          <T bold tone="accent">
            {clip(header, columns - 10)}
          </T>
          <T tone="dim">?: help</T>
        </Box>
        {mode === 'quit' || mode === 'confirm-down' ? <QuitConfirm width={columns} busy={busy} stay={mode === 'confirm-down'} /> : null}
        {mode === 'quit' || mode === 'confirm-down' ? null : main}
        {/* Errors wrap over two lines rather than being cut; the rest is in the step log (l). */}
        <Box height={2} overflow="hidden">
          <T tone={status.tone} wrap="wrap">
            {status.text.split('\n')[0]}
          </T>
        </Box>
        <T tone="dim">{clip('u up · d down · c checks · ⏎ rerun · i details · Tab focus · p capture · l log · q quit', columns)}</T>
      </Box>
    </ColorContext.Provider>
  );
}
