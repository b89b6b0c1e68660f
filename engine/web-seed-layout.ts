// BEP 19's URL rules: where a web seed keeps each file of a torrent, and how a range of the
// torrent's byte space splits into one HTTP range per file. Pure; shared by the engine's web seed,
// the simulator's web-seed host and the tests' HTTP servers, so that all three agree.
//
// Single-file torrent: a URL ending in '/' is a folder and gets the torrent's name; any other URL
// is the file itself. Multi-file torrent: the URL is the folder holding the torrent's folder,
// url/name/path… (a missing trailing '/' is added, as libtorrent does). Every name and path
// component is percent-encoded.

export interface WebSeedFile {
  readonly path: readonly string[];
  readonly length: number;
  /** Start of the file in the torrent's byte space. */
  readonly offset: number;
}

export interface WebSeedTorrent {
  readonly name: string;
  readonly multiFile: boolean;
  /** In byte-space order (as metainfo.ts gives them). */
  readonly files: readonly WebSeedFile[];
}

/** One HTTP request's worth: a file's URL, an inclusive byte range of it, and where the bytes go. */
export interface WebSeedSegment {
  url: string;
  rangeStart: number;
  rangeEnd: number;
  /** Offset of these bytes in the requested range of the torrent's byte space. */
  at: number;
}

/** The URL of `file` on the web seed at `base`. */
export function webSeedFileUrl(base: string, torrent: WebSeedTorrent, file: WebSeedFile): string {
  const name = encodeURIComponent(torrent.name);
  if (!torrent.multiFile) return base.endsWith('/') ? base + name : base;
  const folder = base.endsWith('/') ? base : `${base}/`;
  return `${folder}${name}/${file.path.map((component) => encodeURIComponent(component)).join('/')}`;
}

/** The index of the file holding byte `offset` (files are in byte-space order; empty ones hold nothing). */
function fileAt(files: readonly WebSeedFile[], offset: number): number {
  let lo = 0;
  let hi = files.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (files[mid].offset <= offset) lo = mid;
    else hi = mid - 1;
  }
  // Several files may start at `offset` when some are empty: take the first that holds a byte.
  while (lo < files.length - 1 && files[lo].offset + files[lo].length <= offset) lo++;
  return lo;
}

/** Splits [offset, offset + length) of the torrent's byte space into one segment per file. */
export function webSeedSegments(base: string, torrent: WebSeedTorrent, offset: number, length: number): WebSeedSegment[] {
  const segments: WebSeedSegment[] = [];
  const end = offset + length;
  let position = offset;
  for (let i = fileAt(torrent.files, offset); position < end && i < torrent.files.length; i++) {
    const file = torrent.files[i];
    const fileEnd = file.offset + file.length;
    if (file.length === 0 || fileEnd <= position) continue;
    const take = Math.min(end, fileEnd) - position;
    const start = position - file.offset;
    segments.push({ url: webSeedFileUrl(base, torrent, file), rangeStart: start, rangeEnd: start + take - 1, at: position - offset });
    position += take;
  }
  return segments;
}
