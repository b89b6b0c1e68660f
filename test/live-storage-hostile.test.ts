// Storage against hostile torrents and hostile folders: nothing is followed through a symbolic
// link below the output folder; names that land on one disk path once sanitised or shortened, and
// a file that is also a folder, are refused with both names; over-long names are shortened keeping
// the extension; what cannot fit is refused; an unwritable output folder is an error at start; a
// write failure ends the library's session and the `download` command. 127.0.0.1 only; every
// process is bounded and stopped by PID.

import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTorrent } from '../engine/metainfo.ts';
import type { TraceEvent } from '../engine/trace.ts';
import { FileStorage, StorageError, type StorageLayout } from '../live/file-storage.ts';
import { LiveSession } from '../live/session.ts';
import { TcpNetwork } from '../live/tcp-network.ts';
import { useLiveWorkspace } from './helpers/live-workspace.ts';
import { singlePayload } from './helpers/payloads.ts';
import { ROOT, sleep, SWARMLAB } from './helpers/processes.ts';
import { createTorrentFile, summaryOf } from './helpers/swarmlab-cli.ts';

const { procs, work, addCleanup } = useLiveWorkspace();

/** A multi-file layout named `name`, each file 4 bytes. */
function multi(name: string, paths: string[][]): StorageLayout {
  return { name, multiFile: true, length: 4 * paths.length, files: paths.map((path, i) => ({ path, length: 4, offset: 4 * i })) };
}

const single = (name: string): StorageLayout => ({ name, multiFile: false, length: 4, files: [{ path: [name], length: 4, offset: 0 }] });

/** The StorageError `action` throws. */
function storageError(action: () => unknown): StorageError {
  try {
    action();
  } catch (err) {
    expect(err).toBeInstanceOf(StorageError);
    return err as StorageError;
  }
  throw new Error('expected a StorageError');
}

const bytes = new Uint8Array([1, 2, 3, 4]);

describe('nothing is followed through a symbolic link below the output folder', () => {
  it('a linked folder inside the torrent folder: a clear error naming it, nothing written through it', () => {
    const dir = work('link-folder');
    mkdirSync(join(dir, 'elsewhere'));
    mkdirSync(join(dir, 'out', 'album'), { recursive: true });
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'out', 'album', 'evil'));
    const s = new FileStorage(join(dir, 'out'), multi('album', [['evil', 'x']]));
    expect(storageError(() => s.checkDisk()).message).toMatch(/out\/album\/evil is a symbolic link/);
    expect(storageError(() => s.write(0, bytes)).message).toMatch(/out\/album\/evil is a symbolic link/);
    expect(readdirSync(join(dir, 'elsewhere'))).toEqual([]);
  });

  it('a linked single file: refused, its target untouched', () => {
    const dir = work('link-file');
    mkdirSync(join(dir, 'out'));
    writeFileSync(join(dir, 'target'), 'keep');
    symlinkSync(join(dir, 'target'), join(dir, 'out', 'one.bin'));
    const s = new FileStorage(join(dir, 'out'), single('one.bin'));
    expect(storageError(() => s.write(0, bytes)).message).toMatch(/out\/one\.bin is a symbolic link/);
    expect(storageError(() => s.read(0, 4)).message).toMatch(/symbolic link/);
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('keep');
  });

  it('a linked top folder: refused, naming it', () => {
    const dir = work('link-top');
    mkdirSync(join(dir, 'elsewhere'));
    mkdirSync(join(dir, 'out'));
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'out', 'album'));
    const s = new FileStorage(join(dir, 'out'), multi('album', [['a.bin']]));
    expect(storageError(() => s.anyOnDisk()).message).toMatch(/out\/album is a symbolic link/);
    expect(storageError(() => s.write(0, bytes)).message).toMatch(/out\/album is a symbolic link/);
    expect(readdirSync(join(dir, 'elsewhere'))).toEqual([]);
  });

  it('the output folder itself may be a link: the user chose it', () => {
    const dir = work('link-root');
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real'), join(dir, 'out'));
    const s = new FileStorage(join(dir, 'out'), multi('album', [['sub', 'a.bin']]));
    s.write(0, bytes);
    s.close();
    expect(Array.from(readFileSync(join(dir, 'real', 'album', 'sub', 'a.bin')))).toEqual([1, 2, 3, 4]);
  });

  it('a file where a folder goes, or a folder where a file goes: a clear error at the check', () => {
    const dir = work('in-the-way');
    mkdirSync(join(dir, 'out', 'album', 'a.bin'), { recursive: true });
    writeFileSync(join(dir, 'out', 'album', 'sub'), 'file');
    expect(storageError(() => new FileStorage(join(dir, 'out'), multi('album', [['a.bin']])).checkDisk()).message).toMatch(/album\/a\.bin is in the way: album\/a\.bin must be a file/);
    expect(storageError(() => new FileStorage(join(dir, 'out'), multi('album', [['sub', 'b']])).checkDisk()).message).toMatch(/album\/sub is in the way: album\/sub\/b needs a folder/);
  });

  it('LiveSession refuses the torrent at once when a link is in the way', async () => {
    const dir = work('link-session');
    mkdirSync(join(dir, 'out'));
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'out', 'p.bin'));
    const { torrent } = createTorrent({ name: 'p.bin', pieceLength: 16384, files: bytes });
    const network = await TcpNetwork.create({ host: '127.0.0.1' });
    addCleanup(() => network.close());
    expect(() => new LiveSession({ torrent, dir: join(dir, 'out'), network })).toThrow(/out\/p\.bin is a symbolic link/);
  });
});

describe('no two torrent files on one disk path', () => {
  const cases: [string, string[], string[]][] = [
    ['names that differ in control characters', ['x\u0001'], ['x\u0002']],
    ['a name and one whose control character becomes "_"', ['x_'], ['x\u0007']],
    ['a file that is also a folder of a later file', ['a'], ['a', 'b']],
    ['a file that is also a folder of an earlier file', ['a', 'b'], ['a']],
    ['two names the same once shortened', ['n'.repeat(300) + '1.mkv'], ['n'.repeat(300) + '2.mkv']],
  ];
  it.each(cases)('%s: refused when the torrent is opened, naming both', (_name, first, second) => {
    const error = storageError(() => new FileStorage(work('collide'), multi('album', [first, second])));
    expect(error.message).toContain(JSON.stringify(['album', ...first].join('/')));
    expect(error.message).toContain(JSON.stringify(['album', ...second].join('/')));
  });

  it('so a torrent of such names never reports complete with wrong bytes: the download refuses it, exit 2', async () => {
    const dir = work('collide-cli');
    const { bytes: file } = createTorrent({ name: 'album', pieceLength: 16384, files: [{ path: ['x\u0001'], data: bytes }, { path: ['x\u0002'], data: bytes }] });
    writeFileSync(join(dir, 'c.torrent'), file);
    const p = procs().swarmlab('download', ['download', join(dir, 'c.torrent'), '-o', join(dir, 'out'), '--bind', '127.0.0.1'], 30);
    expect(await p.exit(30_000)).toBe(2);
    expect(p.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^swarmlab: cannot store the torrent in .*out: "album\/x\\u0001" and "album\/x\\u0002" would both be stored as album\/x_$/)]);
  }, 40_000);
});

describe('long and deep names', () => {
  it('an over-long name is shortened to 240 bytes keeping its extension, and said so', () => {
    const dir = work('long');
    const lines: string[] = [];
    const long = 'a'.repeat(300) + '.mkv';
    const s = new FileStorage(dir, multi('album', [[long]]), { log: (l) => lines.push(l) });
    s.write(0, bytes);
    s.close();
    expect(readdirSync(join(dir, 'album'))).toEqual(['a'.repeat(240) + '.mkv']);
    expect(lines).toEqual([`storage: the name ${JSON.stringify(long)} is too long for the file system; stored as ${JSON.stringify('a'.repeat(240) + '.mkv')}`]);
  });

  it('shortens by bytes without splitting a character; a long "extension" is not kept', () => {
    const s = new FileStorage(work('long-utf8'), multi('album', [['é'.repeat(200) + '.txt'], ['b'.repeat(300) + '.' + 'c'.repeat(20)]]));
    const [utf8Name, noExtension] = s.files().map((f) => f.display.split('/')[1]);
    expect(utf8Name).toBe('é'.repeat(120) + '.txt');
    expect(noExtension).toBe('b'.repeat(240));
  });

  it('a path longer than PATH_MAX, or deeper than the limit: refused, naming the torrent path', () => {
    const folders = Array.from({ length: 30 }, (_, i) => `${i}`.padEnd(200, 'd'));
    expect(storageError(() => new FileStorage(work('too-long'), multi('album', [[...folders, 'f']]))).message).toMatch(/would be a path of \d+ bytes .* over the system's limit of 4095/);
    const deep = Array.from({ length: 150 }, () => 'd');
    expect(storageError(() => new FileStorage(work('too-deep'), multi('album', [[...deep, 'f']]))).message).toMatch(/"album\/d\/d.*\/f" is 152 folders deep, over the limit of 100/);
  });
});

describe('an unwritable output folder is an error at start', () => {
  it('download -o under a regular file: one line, exit 2, not a stall', async () => {
    const dir = work('unwritable');
    const file = singlePayload(join(dir, 'seed'), 'payload.bin', 65536);
    createTorrentFile(file, join(dir, 'x.torrent'), { pieceLength: 16384 });
    writeFileSync(join(dir, 'plain-file'), 'not a folder');
    const p = procs().swarmlab('download', ['download', join(dir, 'x.torrent'), '-o', join(dir, 'plain-file', 'out'), '--bind', '127.0.0.1'], 30);
    expect(await p.exit(30_000)).toBe(2);
    expect(p.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^swarmlab: cannot create the output folder .*plain-file\/out: ENOTDIR/)]);
  }, 40_000);
});

describe('a storage write failure ends the download', () => {
  it('LiveSession: the first failed write stops the session and resolves storageFailure with the cause', async () => {
    const dir = work('session-fail');
    const payload = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff);
    const { torrent } = createTorrent({ name: 'p.bin', pieceLength: 32768, files: payload });
    mkdirSync(join(dir, 'seed'));
    writeFileSync(join(dir, 'seed', 'p.bin'), payload);
    const seedNetwork = await TcpNetwork.create({ host: '127.0.0.1' });
    const seed = new LiveSession({ torrent, dir: join(dir, 'seed'), network: seedNetwork, initial: 'check' });
    seed.start();
    addCleanup(() => seed.stop('test over', 100));

    const events: TraceEvent[] = [];
    const leecher = new LiveSession({ torrent, dir: join(dir, 'out'), network: await TcpNetwork.create({ host: '127.0.0.1' }), peers: [seedNetwork.localAddress], trace: { emit: (e) => events.push({ ...e }) } });
    addCleanup(() => leecher.stop('test over', 100));
    let writes = 0;
    const write = leecher.storage.write.bind(leecher.storage);
    leecher.storage.write = (offset, data) => {
      if (++writes > 3) throw new Error('ENOSPC: no space left on device, write');
      write(offset, data);
    };
    leecher.start();
    const failure = await Promise.race([leecher.storageFailure, sleep(20_000).then(() => 'no failure reported within 20 s')]);
    expect(failure).toBe('ENOSPC: no space left on device, write');
    await leecher.stop();
    expect(events.filter((e) => e.kind === 'leave').map((e) => e.reason)).toEqual(['storage failed: ENOSPC: no space left on device, write']);
    const attempts = writes;
    await sleep(300);
    expect(writes).toBe(attempts); // no retry loop once stopped
    expect(leecher.client.connectionCount).toBe(0);
  }, 30_000);

  /**
   * swarmlab under a file size limit of at most 2 MiB (sh counts 512- or 1024-byte blocks): writes
   * past it fail with EFBIG (Node ignores SIGXFSZ), whatever our user, root included.
   */
  function swarmlabWithFileLimit(name: string, args: string[]) {
    return procs().spawn(name, 'sh', ['-c', 'ulimit -f 2048; exec "$0" "$@"', process.execPath, SWARMLAB, ...args], { seconds: 60, cwd: ROOT });
  }

  /** A 4 MiB single-file torrent and a seed of it; returns the torrent and the seed's port. */
  async function seededTorrent(dir: string): Promise<{ torrent: string; port: string }> {
    const file = singlePayload(join(dir, 'seed'), 'payload.bin', 4 * 1024 * 1024);
    createTorrentFile(file, join(dir, 'x.torrent'), { pieceLength: 65536 });
    const seed = procs().swarmlab('seed', ['seed', join(dir, 'x.torrent'), join(dir, 'seed'), '--bind', '127.0.0.1'], 60);
    const port = (await seed.waitFor(/seeding payload.bin on port (\d+)/, 30_000))[1];
    return { torrent: join(dir, 'x.torrent'), port };
  }

  it('download: a write failing mid-download (file size limit) is one clear line and exit 1', async () => {
    const dir = work('cli-fail');
    const { torrent, port } = await seededTorrent(dir);
    const download = swarmlabWithFileLimit('download', ['download', torrent, '-o', join(dir, 'out'), '--bind', '127.0.0.1', '--peer', `127.0.0.1:${port}`, '--json']);
    expect(await download.exit(45_000), download.stderr).toBe(1);
    const summary = summaryOf(download)!;
    expect(summary).toMatchObject({ ok: false, complete: false });
    expect(summary.reason).toMatch(/^storage failed: cannot write payload\.bin: EFBIG: file too large, write$/);
    expect(download.stderr).not.toMatch(/\n\s+at /); // no stack trace
  }, 90_000);

  it('seed: fetching what is missing into a folder that cannot take it is one clear line and exit 1', async () => {
    const dir = work('seed-fail');
    const { torrent, port } = await seededTorrent(dir);
    mkdirSync(join(dir, 'partial'));
    writeFileSync(join(dir, 'partial', 'payload.bin'), readFileSync(join(dir, 'seed', 'payload.bin')).subarray(0, 65536));
    const seed = swarmlabWithFileLimit('seed-partial', ['seed', torrent, join(dir, 'partial'), '--bind', '127.0.0.1', '--peer', `127.0.0.1:${port}`]);
    expect(await seed.exit(45_000), seed.stderr).toBe(1);
    expect(seed.stdout).toMatch(/^payload\.bin: stopped \(storage failed: cannot write payload\.bin: EFBIG: file too large, write\); uploaded/m);
    expect(seed.stderr).not.toMatch(/\n\s+at /);
  }, 90_000);
});
