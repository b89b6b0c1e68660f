// Which of the other BitTorrent programs the live interop tests need are installed; a test that
// lacks one is skipped and says what to install.

import { execFileSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

function onPath(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let ltChecked: boolean | undefined;
export const have = {
  aria2: () => onPath('aria2c'),
  transmission: () => onPath('transmission-daemon') && onPath('transmission-remote'),
  opentracker: () => onPath('opentracker'),
  libtorrent: () => {
    if (ltChecked === undefined) {
      try {
        execFileSync(PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore', timeout: 20_000 });
        ltChecked = true;
      } catch {
        ltChecked = false;
      }
    }
    return ltChecked;
  },
};

/** The reason to skip, or undefined when every named client is installed. */
export function missing(...names: (keyof typeof have)[]): string | undefined {
  const absent = names.filter((n) => !have[n]());
  if (absent.length === 0) return undefined;
  const pkg = { aria2: 'aria2', transmission: 'transmission-daemon', opentracker: 'opentracker', libtorrent: 'python3-libtorrent' } as const;
  return `not installed: ${absent.map((a) => pkg[a]).join(', ')} (apt-get install -y ${absent.map((a) => pkg[a]).join(' ')})`;
}
