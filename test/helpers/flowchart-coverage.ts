// Which control edges of the Peer process flowchart a test file took, against those it is
// responsible for. test/peer-flowchart.test.ts takes every edge of the base protocol,
// test/extension-paths.test.ts every edge that touches a step of the extensions (BEP 6, 10, 9);
// together, every control edge of the diagram.

import { type FlowEdge, flowEdges, isControlEdge } from '../../engine/flowchart.ts';
import type { Bench } from './puppet.ts';

/** The steps of BEP 6 Fast, BEP 10 and BEP 9 (engine/extensions.ts, engine/metadata.ts). */
export const EXTENSION_STEPS: ReadonlySet<string> = new Set([
  'sendExtHandshake',
  'haveAll',
  'haveNone',
  'reject',
  'allowedFast',
  'suggest',
  'oreject',
  'extended',
  'extHandshake',
  'metadataRequest',
  'requestMetadata',
  'metadataData',
  'metadataCheck',
  'metadataReject',
  'ignored',
  'oallowedFast',
  'keepRequests',
  'pex',
  'opex',
  'osuggest',
]);

/** Edges between base-protocol steps that only BEP 6 takes: an unrequested PIECE ends the connection under Fast. */
const FAST_ONLY_EDGES: ReadonlySet<string> = new Set(['pieceOk>exit']);

export function touchesExtension(edge: FlowEdge): boolean {
  return EXTENSION_STEPS.has(edge.from) || EXTENSION_STEPS.has(edge.to) || FAST_ONLY_EDGES.has(`${edge.from}>${edge.to}`);
}

export class EdgeCoverage {
  private readonly taken = new Set<string>();

  /** `owns` picks the control edges this file's tests must take between them. */
  constructor(private readonly owns: (edge: FlowEdge) => boolean) {}

  /** Adds the edges a bench's trace took. */
  readonly record = (bench: Bench): void => {
    for (const e of bench.edges()) this.taken.add(e);
  };

  /** The control edges this file owns that no test took, as `from->to`. */
  missing(): string[] {
    return flowEdges.filter((e) => e.type === 'control' && this.owns(e) && !this.taken.has(`${e.from}>${e.to}`)).map((e) => `${e.from}->${e.to}`);
  }

  /** Step pairs the traces took that are no control edge of the diagram. */
  offChart(): string[] {
    return [...this.taken].filter((k) => !isControlEdge(...(k.split('>') as [string, string])));
  }
}
