// Which of the other BitTorrent programs the live interop tests need are installed (the client
// adapters' own definitions, sim/tcp/clients/installed.ts, plus opentracker); a test that lacks
// one is skipped and says what to install.

import { execFileSync } from 'node:child_process';
import { CLIENT_PROGRAMS, findExecutable, PYTHON } from '../../sim/tcp/clients/installed.ts';

export { PYTHON };

const onPath = (bin: string) => findExecutable(bin) !== undefined;

let ltChecked: boolean | undefined;
export const have = {
  aria2: () => CLIENT_PROGRAMS.aria2.programs.every(onPath),
  transmission: () => CLIENT_PROGRAMS.transmission.programs.every(onPath),
  opentracker: () => onPath('opentracker'),
  libtorrent: () => {
    if (ltChecked === undefined) {
      try {
        // Synchronous (the tests decide at load time whether to skip); the adapters ask the same asynchronously.
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
  const pkg = (n: keyof typeof have): readonly string[] => (n === 'opentracker' ? ['opentracker'] : CLIENT_PROGRAMS[n].packages);
  const packages = absent.flatMap(pkg);
  return `not installed: ${packages.join(', ')} (apt-get install -y ${packages.join(' ')})`;
}
