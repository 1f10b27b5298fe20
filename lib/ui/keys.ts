/** Pure key map: which command a key press means in the current mode. */

/** `confirm-down`: d asked "Tear the lab down?" (like q, but the TUI stays open afterwards). */
export type Mode = 'main' | 'help' | 'quit' | 'confirm-down' | 'packets' | 'log';

export type Command =
  | 'up'
  | 'down'
  | 'down-confirmed'
  | 'checks'
  | 'rerun'
  | 'prev'
  | 'next'
  | 'page-up'
  | 'page-down'
  | 'focus-next'
  | 'capture'
  | 'log'
  | 'detail'
  | 'help'
  | 'quit'
  | 'quit-teardown'
  | 'quit-keep'
  | 'close';

/** The subset of ink's Key we look at. */
export interface KeyInfo {
  upArrow?: boolean;
  downArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  return?: boolean;
  escape?: boolean;
  tab?: boolean;
  ctrl?: boolean;
  /** Esc followed quickly by a key arrives as meta+key; in a view that means "close". */
  meta?: boolean;
}

export function keyToCommand(mode: Mode, input: string, key: KeyInfo): Command | undefined {
  if (key.ctrl && input === 'c') return mode === 'quit' ? 'quit-keep' : 'quit';
  if (mode === 'quit') {
    if (input === 'y' || input === 'Y') return 'quit-teardown';
    if (input === 'n' || input === 'N') return 'quit-keep';
    if (key.escape) return 'close';
    return undefined;
  }
  if (mode === 'confirm-down') {
    if (input === 'y' || input === 'Y') return 'down-confirmed';
    if (input === 'n' || input === 'N' || key.escape) return 'close';
    return undefined;
  }
  if (mode === 'help') return key.escape || key.meta || input === '?' || input === 'q' ? 'close' : undefined;
  if (mode === 'packets' || mode === 'log') {
    if (key.escape || key.meta || input === 'q') return 'close';
    if (key.upArrow || input === 'k') return 'prev';
    if (key.downArrow || input === 'j') return 'next';
    if (key.pageUp) return 'page-up';
    if (key.pageDown) return 'page-down';
    return undefined;
  }
  if (key.upArrow || input === 'k') return 'prev';
  if (key.downArrow || input === 'j') return 'next';
  if (key.pageUp) return 'page-up';
  if (key.pageDown) return 'page-down';
  if (key.return) return 'rerun';
  if (key.tab) return 'focus-next';
  switch (input) {
    case 'u':
      return 'up';
    case 'd':
      return 'down';
    case 'c':
      return 'checks';
    case 'p':
      return 'capture';
    case 'l':
      return 'log';
    case 'i':
      return 'detail';
    case '?':
      return 'help';
    case 'q':
      return 'quit';
  }
  return undefined;
}
