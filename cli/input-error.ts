// An error in what the user gave (a file, an argument): printed as one line, exit code 2.
// The exit codes of every command (docs/cli.md): 0 ok, 1 a check failed, 2 bad input or usage,
// 130 interrupted.

export class InputError extends Error {}

/** A socket that could not listen (port in use, an address this machine does not have) as one line. */
export function listenError(err: unknown, host: string, port: number): InputError | unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  const why: Record<string, string> = {
    EADDRINUSE: 'the port is in use',
    EADDRNOTAVAIL: 'the address is not one of this machine\'s',
    EACCES: 'not allowed (a port below 1024 needs privileges)',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'the host name could not be looked up',
    EINVAL: 'not a valid address',
  };
  if (code === undefined || !(code in why)) return err;
  return new InputError(`cannot listen on ${host}:${port}: ${why[code]} (${code})`);
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERRUPTED = 130;
