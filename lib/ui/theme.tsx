/**
 * Colour is optional: NO_COLOR (https://no-color.org) or `noColor` turns every colour off,
 * and every state is also spelled out in text so nothing depends on colour alone.
 */
import React, { createContext, useContext } from 'react';
import { Text } from 'ink';

export const ColorContext = createContext<boolean>(true);

/** True unless NO_COLOR is set to a non-empty value. */
export function colorFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
}

export type Tone = 'ok' | 'bad' | 'warn' | 'busy' | 'dim' | 'accent' | 'plain';

const TONE_COLOR: Record<Tone, string | undefined> = {
  ok: 'green',
  bad: 'red',
  warn: 'yellow',
  busy: 'cyan',
  dim: 'gray',
  accent: 'blue',
  plain: undefined,
};

export function T(props: { tone?: Tone; bold?: boolean; wrap?: 'wrap' | 'truncate-end'; children?: React.ReactNode }) {
  const color = useContext(ColorContext);
  const c = color ? TONE_COLOR[props.tone ?? 'plain'] : undefined;
  return (
    <Text {...(c ? { color: c } : {})} bold={color ? props.bold : false} wrap={props.wrap ?? 'truncate-end'}>
      {props.children}
    </Text>
  );
}
