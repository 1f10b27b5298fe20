/**
 * Pid files of the processes geneve-lab starts on SSH hosts, and how they are signalled.
 *
 * A pid file holds `PID START`: the process id and its start time (field 22 of /proc/PID/stat,
 * clock ticks since the host booted), written by the wrapper that started it. While that wrapper
 * runs, the pid cannot be reused (the wrapper has not reaped its child), so the live stop path
 * signals the first field as it is. After a crash — gc, down or up collecting a dead run's helpers,
 * hours later perhaps — the pid may belong to someone else by then: those scripts signal a pid only
 * when its start time is still the recorded one (the local side does the same with
 * lib/engine/procs.ts). A pid file without a start time (written by an older geneve-lab) proves
 * nothing and is removed without signalling anything.
 *
 * Everything here is remote shell (POSIX sh, as dash and busybox run it): argv arrays, the
 * variable parts passed as positional parameters, never spliced into the script text.
 */

/**
 * Sets `s` to the start time of pid `$p` (empty when there is no such process). The command
 * name in /proc/PID/stat is in parentheses and may itself contain ") ", so the fields are taken
 * after the LAST ") ": field 3 (state) is then the first, field 22 (starttime) the 20th.
 * Clobbers the positional parameters.
 */
const START_OF_P = 's=; if read -r l 2>/dev/null </proc/"$p"/stat; then set -- ${l##*) }; s=${20}; fi';

/**
 * argv prefix of a remote start: `sh -c WRAPPER sh PIDFILE PROGRAM ARGS…` runs the program in the
 * background, writes `PID START` to PIDFILE (atomically: .tmp then mv), waits for it, removes the
 * pid file and exits with the program's status.
 */
export function pidFileWrapper(pidFile: string): string[] {
  return [
    'sh', '-c',
    `f=$1; shift; "$@" & p=$!; ${START_OF_P}; echo "$p $s" >"$f.tmp" && mv "$f.tmp" "$f"; wait "$p"; r=$?; rm -f "$f"; exit "$r"`,
    'sh', pidFile,
  ];
}

/**
 * Live stop of a process this connection started (its wrapper is still waiting for it):
 * signal the pid of the pid file; with `wait`, first wait up to 5 s for the wrapper to write it
 * (stop() may follow start() at once).
 */
export function signalLiveScript(pidFile: string, sig: 'TERM' | 'KILL', waitForPid: boolean): string[] {
  return [
    'sh', '-c',
    'i=0; while [ ! -s "$1" ] && [ "$2" = wait ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; ' +
      '[ -s "$1" ] && read -r p rest <"$1" && kill -"$3" "$p" 2>/dev/null; true',
    'sh', pidFile, waitForPid ? 'wait' : 'nowait', sig,
  ];
}

/**
 * `ours FILE` prints the pid FILE names when that process still has the recorded start time,
 * nothing otherwise (gone, reused pid, or a pid file without a start time). A shell function
 * so that the callers below share one definition.
 */
const OURS = `ours() { p=; s0=; read -r p s0 2>/dev/null <"$1" || [ -n "$p" ] || return 1; case $p in ''|*[!0-9]*) return 1;; esac; [ -n "$s0" ] || return 1; ${START_OF_P}; [ "$s" = "$s0" ] && echo "$p"; }`;

/**
 * After a crash: stop the process one pid file names (TERM, then KILL 0.2 s later) if it is still
 * the one recorded, then remove the pid file.
 */
export function collectPidFileScript(pidFile: string): string[] {
  return [
    'sh', '-c',
    `${OURS}; f=$1; if p=$(ours "$f"); then kill -TERM "$p" 2>/dev/null; sleep 0.2; p=$(ours "$f") && kill -KILL "$p" 2>/dev/null; fi; rm -f -- "$f"; true`,
    'sh', pidFile,
  ];
}

/**
 * Remove a connection's private remote directory, first sending TERM to each process its pid
 * files name that is still the one recorded.
 */
export function removeRemoteDirScript(dir: string): string[] {
  return [
    'sh', '-c',
    `${OURS}; d=$1; for f in "$d"/*.pid; do [ -s "$f" ] || continue; p=$(ours "$f") && kill -TERM "$p" 2>/dev/null; done; ` +
      // A stopped wrapper removes its own pid file meanwhile; busybox's rm -rf fails on that race.
      'rm -rf -- "$d" 2>/dev/null || { sleep 0.3; rm -rf -- "$d"; }',
    'sh', dir,
  ];
}
