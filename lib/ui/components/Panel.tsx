import React, { useContext } from 'react';
import { Box } from 'ink';
import { ColorContext, T } from '../theme.js';

/** A bordered box with a title; the focused panel gets a marker (and a colour when allowed). */
export function Panel(props: { title: string; focused?: boolean; width: number; height: number; children?: React.ReactNode }) {
  const color = useContext(ColorContext);
  return (
    <Box
      flexDirection="column"
      width={props.width}
      height={props.height}
      borderStyle="single"
      {...(color && props.focused ? { borderColor: 'blue' } : {})}
      overflow="hidden"
    >
      <T tone="accent" bold>
        {props.focused ? '▶ ' : ''}
        {props.title}
      </T>
      {/* Rows never shrink: when content is taller than the panel it is cut at the bottom, not overlapped. */}
      {React.Children.map(props.children, (c) => (c === null || c === undefined || c === false ? null : <Box flexShrink={0}>{c}</Box>))}
    </Box>
  );
}

/** Lines available for content inside a panel of outer height `h` (border + title). */
export function innerLines(h: number): number {
  return Math.max(0, h - 3);
}

/** Columns available inside a panel of outer width `w`. */
export function innerCols(w: number): number {
  return Math.max(0, w - 2);
}
