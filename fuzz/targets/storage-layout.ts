// Where live/file-storage.ts would put each file of a torrent, computed by FileStorage's
// constructor without touching the disk (the folder is never created). Input: a torrent layout
// whose names are hostile (see ../hostile.ts), as parseTorrent would hand it over. Properties: the
// layout is refused with a StorageError, or every file lies inside the folder, no two files share
// a disk path, no file is also another file's folder, and no path component is longer than a
// filesystem allows (255 bytes).

import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import * as fc from 'fast-check';
import { FileStorage, type StorageLayout, StorageError } from '../../live/file-storage.ts';
import { pathComponent } from '../hostile.ts';
import { expect, type FuzzTarget, typedOutcome } from '../target.ts';

/** Never created: the constructor only computes paths. */
const ROOT = join(tmpdir(), 'swarmlab-fuzz-never-created', 'out');
/** NAME_MAX of ext4, xfs, btrfs, APFS and NTFS (in UTF-16 units there, bytes here). */
const NAME_MAX_BYTES = 255;

export const layoutArbitrary: fc.Arbitrary<StorageLayout> = fc
  .record({
    name: pathComponent,
    multiFile: fc.boolean(),
    files: fc.array(fc.record({ path: fc.array(pathComponent, { minLength: 1, maxLength: 4 }), length: fc.integer({ min: 0, max: 1000 }) }), { minLength: 1, maxLength: 6 }),
  })
  .map(({ name, multiFile, files }) => {
    const chosen = multiFile ? files : [{ path: [name], length: files[0].length }];
    let offset = 0;
    const withOffsets = chosen.map((f) => {
      const file = { ...f, offset };
      offset += f.length;
      return file;
    });
    return { name, multiFile, length: offset, files: withOffsets };
  });

/** The storage-layout properties, also checked for every torrent the metainfo target accepts. */
export function checkLayout(layout: StorageLayout): void {
  const outcome = typedOutcome(() => new FileStorage(ROOT, layout), [StorageError], 'new FileStorage');
  if ('error' in outcome) return;
  const files = outcome.value.files();
  expect(files.length === layout.files.length, `${layout.files.length} files in the torrent, ${files.length} placed`);
  const byPath = new Map<string, string>();
  for (const [index, f] of files.entries()) {
    const where = `file ${index} (${JSON.stringify(layout.files[index].path)})`;
    expect(f.path.startsWith(ROOT + sep), `${where} is placed at ${f.path}, outside ${ROOT}`);
    const components = relative(ROOT, f.path).split(sep);
    for (const c of components) {
      expect(c !== '' && c !== '.' && c !== '..', `${where} has the path component "${c}"`);
      const size = Buffer.byteLength(c);
      expect(size <= NAME_MAX_BYTES, `${where} has a path component of ${size} bytes, over the ${NAME_MAX_BYTES} a filesystem allows`);
    }
    const owner = byPath.get(f.path);
    expect(owner === undefined, `${where} and ${owner} land on one disk path ${JSON.stringify(f.path)}`);
    byPath.set(f.path, where);
  }
  for (const [path, where] of byPath) {
    for (let folder = path.slice(0, path.lastIndexOf(sep)); folder.length > ROOT.length; folder = folder.slice(0, folder.lastIndexOf(sep))) {
      const owner = byPath.get(folder);
      expect(owner === undefined, `${owner} is a file at ${JSON.stringify(folder)}, which ${where} needs as a folder`);
    }
  }
}

export const storageLayoutTarget: FuzzTarget<StorageLayout> = {
  name: 'storage-layout',
  description: 'live/file-storage.ts paths: inside the folder, distinct, no file-as-folder, components fit',
  ciRuns: 300,
  slowMs: 200,
  arbitrary: layoutArbitrary,
  check: checkLayout,
};
