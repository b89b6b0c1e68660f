// `npm run bench:relay`: payload throughput through the TCP relay (sim/tcp/relay.ts, no fault
// set) against a direct loopback connection: 256 MiB written socket to socket, three runs each,
// in this one process (the relay's cost as a TCP run pays it). Prints each median in MB/s
// (10^6 bytes/s, first write to the last byte read). BENCH_RELAY_MIB and BENCH_RELAY_RUNS change
// the size and the number of runs.

import { createServer, type Server, Socket } from 'node:net';
import { RealClock } from '../live/clock.ts';
import { SeededRandom } from '../sim/random.ts';
import { claimBlock, hostAddress, PRIVATE_PORT, PUBLIC_PORT } from '../sim/tcp/addresses.ts';
import { TcpRelay } from '../sim/tcp/relay.ts';

const SIZE = Number(process.env.BENCH_RELAY_MIB ?? 256) * 1024 * 1024;
const RUNS = Number(process.env.BENCH_RELAY_RUNS ?? 3);
const CHUNK = 1024 * 1024;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

/** A sink on `ip:port` that counts what it reads and resolves `done` at SIZE bytes. */
function sink(ip: string, port: number): Promise<{ server: Server; next(): Promise<number> }> {
  let waiting: ((t: number) => void) | undefined;
  const server = createServer((socket) => {
    let got = 0;
    socket.on('data', (d) => {
      got += d.length;
      if (got >= SIZE) {
        waiting?.(performance.now());
        socket.destroy();
      }
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve({ server, next: () => new Promise<number>((r) => (waiting = r)) }));
  });
}

/** Dials `ip:port` from `from` and writes SIZE bytes as fast as the socket takes them; ms from the first write to the sink's last read. */
async function transfer(from: string, ip: string, port: number, arrived: Promise<number>): Promise<number> {
  const block = Buffer.alloc(CHUNK, 0x5a);
  const socket = new Socket();
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.connect({ host: ip, port, localAddress: from }, resolve));
  const start = performance.now();
  for (let sent = 0; sent < SIZE; sent += CHUNK) {
    if (!socket.write(block)) await new Promise((r) => socket.once('drain', r));
  }
  const end = await arrived;
  socket.destroy();
  return end - start;
}

async function main(): Promise<void> {
  const relay = await TcpRelay.create({ random: new SeededRandom('bench-relay'), clock: new RealClock() });
  const { block } = await claimBlock('bench/relay', (b) => relay.addHost({ name: hostAddress(b, 0), upload: Infinity, download: Infinity, latency: 0 }));
  const [a, b] = [hostAddress(block, 0), hostAddress(block, 1)];
  await relay.addHost({ name: b, upload: Infinity, download: Infinity, latency: 0 });
  const target = await sink(b, PRIVATE_PORT);
  const rates = { direct: [] as number[], relay: [] as number[] };
  for (let run = 0; run < RUNS; run++) {
    rates.direct.push(mbps(SIZE, await transfer(a, b, PRIVATE_PORT, target.next())));
    rates.relay.push(mbps(SIZE, await transfer(a, b, PUBLIC_PORT, target.next())));
  }
  await relay.close();
  await new Promise<void>((r) => target.server.close(() => r()));
  const mib = SIZE / 1024 / 1024;
  console.log(`payload throughput, ${mib} MiB socket to socket on loopback, median of ${RUNS} (MB/s):`);
  console.log(`  direct           ${median(rates.direct).toFixed(0).padStart(6)}   (${rates.direct.map((r) => r.toFixed(0)).join(', ')})`);
  console.log(`  through relay    ${median(rates.relay).toFixed(0).padStart(6)}   (${rates.relay.map((r) => r.toFixed(0)).join(', ')})`);
  console.log(`  relay / direct   ${((median(rates.relay) / median(rates.direct)) * 100).toFixed(0)} %`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
