// Whether a client's programs are installed: a program on PATH, or Debian's python3 with the
// libtorrent module. The client adapters check before starting one; the interop tests skip with
// the same words.

import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Only Debian's own python3 sees python3-libtorrent (not a pyenv or venv python). */
export const PYTHON = '/usr/bin/python3';

/** The path of `program` (a path, or a name looked up on PATH) if it is an executable file. */
export function findExecutable(program: string): string | undefined {
  const candidates = program.includes('/') ? [program] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, program));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

let libtorrentModule: Promise<boolean> | undefined;
/** Whether PYTHON imports libtorrent (asked once per process). */
export function hasLibtorrentModule(): Promise<boolean> {
  libtorrentModule ??= new Promise((resolve) => {
    if (!findExecutable(PYTHON)) return resolve(false);
    execFile(PYTHON, ['-c', 'import libtorrent'], { timeout: 20_000 }, (err) => resolve(!err));
  });
  return libtorrentModule;
}

/** What each built-in client needs: its programs and the Debian packages that bring them. */
export const CLIENT_PROGRAMS = {
  aria2: { programs: ['aria2c'], packages: ['aria2'] },
  libtorrent: { programs: [PYTHON], packages: ['python3-libtorrent'] },
  transmission: { programs: ['transmission-daemon', 'transmission-remote'], packages: ['transmission-daemon', 'transmission-cli'] },
} as const;

/** Undefined when the client is installed, else what is missing and how to install it. */
export async function notInstalled(client: keyof typeof CLIENT_PROGRAMS): Promise<string | undefined> {
  const need = CLIENT_PROGRAMS[client];
  const absent = need.programs.filter((p) => !findExecutable(p));
  const install = `(apt-get install ${need.packages.join(' ')})`;
  if (absent.length > 0) return `${absent.join(' and ')} ${absent.length > 1 ? 'are' : 'is'} not installed ${install}`;
  if (client === 'libtorrent' && !(await hasLibtorrentModule())) return `${PYTHON} cannot import libtorrent ${install}`;
  return undefined;
}
