// What live mode does with an exception caught in an IO callback (a socket event, a timer, an
// HTTP or UDP reply): it is reported, the connection or request it belongs to is dropped by the
// caller, and the process goes on. Shared by the clock, the TCP network and the trackers.

/** Told of an exception an IO callback threw. */
export type ErrorReporter = (error: unknown) => void;

/** Hands `error` to `onError`, or to stderr when there is none; never throws itself. */
export function reportError(onError: ErrorReporter | undefined, where: string, error: unknown): void {
  try {
    if (onError) onError(error);
    else process.stderr.write(`swarmlab: internal error in ${where}: ${describeError(error)}\n`);
  } catch {
    // Reporting failed too; the process still goes on.
  }
}

/** One line for an exception of any type. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
