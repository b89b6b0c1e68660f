// Progress of a live download or seed: a bar on a terminal (cli-progress), plain lines otherwise,
// JSON Lines with --json. Logs go to stderr so that stdout stays clean for --json.

import cliProgress from 'cli-progress';

export type ProgressMode = 'tty' | 'plain' | 'json';

export interface ProgressStats {
  have: number;
  pieces: number;
  length: number;
  left: number;
  downloaded: number;
  uploaded: number;
  peers: number;
  complete: boolean;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class Progress {
  private readonly multi: cliProgress.MultiBar | undefined;
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly samples: { t: number; down: number; up: number }[] = [];
  private lastPlain = 0;

  constructor(
    readonly mode: ProgressMode,
    private readonly name: string,
  ) {
    if (mode === 'tty') {
      this.multi = new cliProgress.MultiBar(
        {
          format: ' {bar} {percentage}% | {have}/{pieces} pieces | ↓ {down} ↑ {up} | {peers} peers | ETA {etaText}',
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          etaBuffer: 20,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar = this.multi.create(100, 0, { have: 0, pieces: 0, down: '-', up: '-', peers: 0, etaText: '--' });
    }
  }

  log(line: string): void {
    if (this.mode === 'json') process.stdout.write(JSON.stringify({ type: 'log', message: line }) + '\n');
    else if (this.multi) this.multi.log(line + '\n');
    else process.stderr.write(line + '\n');
  }

  /** Called about once a second. */
  update(s: ProgressStats, nowMs = Date.now()): void {
    this.samples.push({ t: nowMs, down: s.downloaded, up: s.uploaded });
    while (this.samples.length > 1 && nowMs - this.samples[0].t > 5_000) this.samples.shift();
    const first = this.samples[0];
    const span = Math.max(1, nowMs - first.t) / 1000;
    const down = this.samples.length > 1 ? (s.downloaded - first.down) / span : 0;
    const up = this.samples.length > 1 ? (s.uploaded - first.up) / span : 0;
    const percent = s.length === 0 ? 100 : ((s.length - s.left) / s.length) * 100;
    const eta = s.complete ? 0 : down > 0 ? s.left / down : Infinity;
    if (this.mode === 'json') {
      process.stdout.write(
        JSON.stringify({
          type: 'progress',
          percent: Math.round(percent * 100) / 100,
          have: s.have,
          pieces: s.pieces,
          downloaded: s.downloaded,
          uploaded: s.uploaded,
          downRate: Math.round(down),
          upRate: Math.round(up),
          peers: s.peers,
          eta: Number.isFinite(eta) ? Math.round(eta) : null,
        }) + '\n',
      );
    } else if (this.bar) {
      this.bar.update(Math.floor(percent), {
        have: s.have,
        pieces: s.pieces,
        down: `${mb(down)} MB/s`,
        up: `${mb(up)} MB/s`,
        peers: s.peers,
        etaText: formatEta(eta),
      });
    } else if (nowMs - this.lastPlain >= 2_000 || s.complete) {
      this.lastPlain = nowMs;
      process.stderr.write(
        `${this.name}: ${percent.toFixed(1)}% (${s.have}/${s.pieces} pieces), down ${mb(down)} MB/s, up ${mb(up)} MB/s, ${s.peers} peers, ETA ${formatEta(eta)}\n`,
      );
    }
  }

  /** Ends the display and prints the summary (one JSON object with --json). */
  finish(summary: Record<string, unknown>, lines: string[]): void {
    this.multi?.stop();
    if (this.mode === 'json') process.stdout.write(JSON.stringify({ type: 'summary', ...summary }) + '\n');
    else for (const l of lines) process.stdout.write(l + '\n');
  }
}

export function progressMode(json: boolean | undefined): ProgressMode {
  return json ? 'json' : process.stderr.isTTY ? 'tty' : 'plain';
}
