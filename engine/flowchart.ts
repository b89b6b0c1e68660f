// The Peer process flowchart (shared/design/peer-flowchart.md) as data: the node ids the engine
// traces and the visualizer draws. The 30 original nodes keep the ids of combinatorrent's
// doc/Peer.dot; steps the diagram does not draw are marked `added`. The node lists are `as const`,
// so `NodeId` is the union of every id: a step, an edge or a layout entry naming a node that does
// not exist is a compile error. The control edges are the contract a Peer process keeps: see
// `StepTracker` below (docs/peer-flowchart.md is generated from these tables).

export type NodeKind = 'process' | 'step' | 'decision' | 'terminal';

/** How a node is written in the tables below (its id still a literal type). */
interface NodeSpec {
  readonly id: string;
  readonly label: string;
  readonly kind: NodeKind;
  /** The dotted cluster "Unchoke checked fill blocks". */
  readonly cluster?: 'fill';
  /** Drawn as a dotted box (done by another process). */
  readonly dotted?: boolean;
}

export interface FlowNode extends NodeSpec {
  readonly id: NodeId;
  /** True for steps swarmlab adds to the original diagram. */
  readonly added?: boolean;
}

export interface FlowEdge {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly label?: string;
  /** 'control' = solid arrow; 'sync' = dotted synchronisation with another process. */
  readonly type: 'control' | 'sync';
  readonly added?: boolean;
}

const original = [
  { id: 'inbound', label: 'Inbound', kind: 'process' },
  { id: 'outbound', label: 'Outbound', kind: 'process' },
  { id: 'peerMgr', label: 'Peer Manager', kind: 'process' },
  { id: 'pieceMgr', label: 'Piece Mgr', kind: 'process' },
  { id: 'loop', label: 'Loop/Sync', kind: 'step' },
  { id: 'exit', label: 'Exit', kind: 'terminal' },
  { id: 'caseMsg', label: 'Case msg', kind: 'step' },
  { id: 'casePMMsg', label: 'Case msg', kind: 'step' },
  { id: 'piece', label: 'PIECE', kind: 'step' },
  { id: 'have', label: 'HAVE', kind: 'step' },
  { id: 'cancel', label: 'CANCEL', kind: 'step' },
  { id: 'unchoke', label: 'UNCHOKE', kind: 'step' },
  { id: 'choke', label: 'CHOKE', kind: 'step' },
  { id: 'request', label: 'REQUEST', kind: 'step' },
  { id: 'bitfield', label: 'BITFIELD', kind: 'step' },
  { id: 'ochoke', label: 'OCHOKE', kind: 'step' },
  { id: 'ounchoke', label: 'OUNCHOKE', kind: 'step' },
  { id: 'chokePrune', label: 'Prune Queue of PIECE messages', kind: 'step', dotted: true },
  { id: 'constructPieceSet', label: 'Construct Piece Set', kind: 'step' },
  { id: 'pieceOk', label: 'Ok?', kind: 'decision' },
  { id: 'pieceStore', label: 'Store block; Update Queue', kind: 'step' },
  { id: 'haveOk', label: 'Ok?', kind: 'decision' },
  { id: 'cancelForward', label: 'Forward', kind: 'step' },
  { id: 'clearPieceQueue', label: 'Clear Piece Queue', kind: 'step' },
  { id: 'requestChoked', label: 'Choked?', kind: 'decision' },
  { id: 'requestIgnore', label: 'Ignore request', kind: 'step' },
  { id: 'queueRequest', label: 'Queue request', kind: 'step' },
  { id: 'sizeCheck', label: 'Sz < Lo watermark', kind: 'decision', cluster: 'fill' },
  { id: 'grabBlocks', label: 'Grab up to Hi-Sz blocks', kind: 'step', cluster: 'fill' },
  { id: 'queueBlocks', label: 'Queue new blocks', kind: 'step', cluster: 'fill' },
] as const satisfies readonly NodeSpec[];

/** Steps a complete client takes that the 2009 diagram does not draw. */
const additions = [
  { id: 'connect', label: 'Connect', kind: 'step' },
  { id: 'handshake', label: 'Handshake', kind: 'step' },
  { id: 'register', label: 'Register with Peer Mgr', kind: 'step' },
  { id: 'sendBitfield', label: 'Send BITFIELD', kind: 'step' },
  { id: 'interested', label: 'INTERESTED', kind: 'step' },
  { id: 'notInterested', label: 'NOT INTERESTED', kind: 'step' },
  { id: 'keepAlive', label: 'KEEP-ALIVE', kind: 'step' },
  { id: 'port', label: 'PORT', kind: 'step' },
  { id: 'ohave', label: 'OHAVE (broadcast)', kind: 'step' },
  { id: 'ocancel', label: 'OCANCEL (endgame)', kind: 'step' },
  { id: 'tick', label: 'Timer tick', kind: 'step' },
  { id: 'sendKeepAlive', label: 'Send KEEP-ALIVE', kind: 'step' },
  { id: 'snubbed', label: 'Mark snubbed', kind: 'step' },
  { id: 'idleTimeout', label: 'Idle time-out', kind: 'step' },
  { id: 'cleanup', label: 'Clean up: give back blocks, unregister', kind: 'step' },
] as const satisfies readonly NodeSpec[];

/** Steps of the extensions (engine/extensions.ts, engine/metadata.ts): BEP 6 Fast, BEP 10, BEP 9. */
const extensionNodes = [
  { id: 'sendExtHandshake', label: 'Send extension handshake (BEP 10)', kind: 'step' },
  { id: 'haveAll', label: 'HAVE ALL', kind: 'step' },
  { id: 'haveNone', label: 'HAVE NONE', kind: 'step' },
  { id: 'reject', label: 'REJECT: give the block back', kind: 'step' },
  { id: 'allowedFast', label: 'ALLOWED FAST', kind: 'step' },
  { id: 'suggest', label: 'SUGGEST', kind: 'step' },
  { id: 'oreject', label: 'OREJECT (requests we will not serve)', kind: 'step' },
  { id: 'oallowedFast', label: 'OALLOWED FAST (the set a choked peer may request)', kind: 'step' },
  { id: 'osuggest', label: 'OSUGGEST (pieces a seed suggests)', kind: 'step' },
  { id: 'keepRequests', label: 'Keep requests until PIECE or REJECT (Fast)', kind: 'step' },
  { id: 'extended', label: 'EXTENDED', kind: 'step' },
  { id: 'extHandshake', label: 'Extension handshake', kind: 'step' },
  { id: 'metadataRequest', label: 'Metadata request: send piece or reject', kind: 'step' },
  // The metadata fetcher's process (magnet links): ask for the info dictionary, check its hash.
  { id: 'requestMetadata', label: 'Request metadata pieces', kind: 'step' },
  { id: 'metadataData', label: 'Metadata piece', kind: 'step' },
  { id: 'metadataCheck', label: 'SHA1 = info-hash?', kind: 'decision' },
  { id: 'metadataReject', label: 'Metadata rejected', kind: 'step' },
  { id: 'ignored', label: 'Ignore (fetching metadata)', kind: 'step' },
  // BEP 11 Peer Exchange: peers learnt from a PEX message, and ours sent each interval.
  { id: 'pex', label: 'PEX: add peers to the list', kind: 'step' },
  { id: 'opex', label: 'OPEX (peers we are connected to)', kind: 'step' },
] as const satisfies readonly NodeSpec[];

/** Every node id the engine may step to (original and added). */
export type NodeId = (typeof original)[number]['id'] | (typeof additions)[number]['id'] | (typeof extensionNodes)[number]['id'];

const addedNode = (n: NodeSpec & { id: NodeId }): FlowNode => ({ ...n, added: true });

export const flowNodes: readonly FlowNode[] = [...original, ...additions.map(addedNode), ...extensionNodes.map(addedNode)];

const c = (from: NodeId, to: NodeId, label?: string): FlowEdge => ({ from, to, label, type: 'control' });
const s = (from: NodeId, to: NodeId): FlowEdge => ({ from, to, type: 'sync' });
const added = (e: FlowEdge): FlowEdge => ({ ...e, added: true });

const originalEdges: FlowEdge[] = [
  c('loop', 'caseMsg'), c('loop', 'casePMMsg'),
  c('casePMMsg', 'ounchoke'), c('ounchoke', 'loop'),
  c('casePMMsg', 'ochoke'), c('ochoke', 'loop'),
  c('caseMsg', 'bitfield'), c('bitfield', 'constructPieceSet'),
  c('constructPieceSet', 'exit', 'Not Init'), c('constructPieceSet', 'sizeCheck'),
  c('caseMsg', 'piece'), c('piece', 'pieceOk'),
  c('pieceOk', 'loop', 'No'), c('pieceOk', 'pieceStore', 'Yes'), c('pieceStore', 'sizeCheck'),
  c('caseMsg', 'have'), c('have', 'haveOk'),
  c('haveOk', 'exit', 'No'), c('haveOk', 'sizeCheck', 'Yes'),
  c('caseMsg', 'cancel'), c('cancel', 'cancelForward'), c('cancelForward', 'loop'),
  c('caseMsg', 'unchoke'), c('unchoke', 'sizeCheck'),
  c('caseMsg', 'choke'), c('choke', 'clearPieceQueue'), c('clearPieceQueue', 'loop'),
  c('caseMsg', 'request'), c('request', 'requestChoked'),
  c('requestChoked', 'requestIgnore', 'Yes'), c('requestIgnore', 'loop'),
  c('requestChoked', 'queueRequest', 'No'), c('queueRequest', 'loop'),
  c('sizeCheck', 'loop', 'No'), c('sizeCheck', 'grabBlocks', 'Yes'),
  c('grabBlocks', 'queueBlocks'), c('queueBlocks', 'loop'),
  s('inbound', 'caseMsg'), s('peerMgr', 'casePMMsg'),
  s('ounchoke', 'outbound'), s('ochoke', 'chokePrune'), s('chokePrune', 'outbound'),
  s('pieceStore', 'pieceMgr'), s('clearPieceQueue', 'pieceMgr'),
  s('cancelForward', 'outbound'), s('queueRequest', 'outbound'),
  s('grabBlocks', 'pieceMgr'), s('pieceMgr', 'grabBlocks'),
];

const addedEdges: FlowEdge[] = [
  // Startup: dial (or accept), handshake, register, send our pieces, enter the loop.
  c('connect', 'handshake'), c('connect', 'exit', 'Failed'), c('handshake', 'exit', 'Bad'), c('handshake', 'register'),
  c('register', 'exit', 'Refused'), c('register', 'sendBitfield'), c('sendBitfield', 'loop'),
  s('register', 'peerMgr'), s('sendBitfield', 'outbound'),
  // Messages the diagram accepted and otherwise ignored.
  c('caseMsg', 'interested'), c('interested', 'loop'),
  c('caseMsg', 'notInterested'), c('notInterested', 'loop'),
  c('caseMsg', 'keepAlive'), c('keepAlive', 'loop'),
  c('caseMsg', 'port'), c('port', 'loop'),
  // A wire message that breaks the protocol ends the process.
  c('caseMsg', 'exit', 'Malformed'),
  // Serving a queued request reads the block: a storage read that fails ends the process.
  c('queueRequest', 'exit', 'Read failed'),
  // Peer Manager: HAVE broadcast on piece completion; endgame cancels.
  c('casePMMsg', 'ohave'), c('ohave', 'loop'), s('ohave', 'outbound'),
  c('casePMMsg', 'ocancel'), c('ocancel', 'sizeCheck'), s('ocancel', 'outbound'),
  // Timers: keep-alive, snubbing, idle time-out.
  c('loop', 'tick'), c('tick', 'sendKeepAlive'), c('sendKeepAlive', 'loop'), s('sendKeepAlive', 'outbound'),
  c('tick', 'snubbed'), c('snubbed', 'loop'), c('tick', 'sizeCheck', 'Endgame, idle'), c('tick', 'idleTimeout'), c('idleTimeout', 'exit'),
  // Disconnect from anywhere in the loop, then clean up.
  c('loop', 'exit', 'Closed'), c('exit', 'cleanup'),
  s('cleanup', 'pieceMgr'), s('cleanup', 'peerMgr'),
].map(added);

const extensionEdges: FlowEdge[] = [
  // BEP 10: our extension handshake follows our piece set.
  c('sendBitfield', 'sendExtHandshake'), c('sendExtHandshake', 'loop'), s('sendExtHandshake', 'outbound'),
  // BEP 6: HAVE ALL / HAVE NONE stand for a BITFIELD.
  c('caseMsg', 'haveAll'), c('haveAll', 'constructPieceSet'),
  c('caseMsg', 'haveNone'), c('haveNone', 'constructPieceSet'),
  // BEP 6: a REJECT gives the block back and refills; one for nothing we asked is ignored.
  c('caseMsg', 'reject'), c('reject', 'sizeCheck'), c('reject', 'loop', 'Not asked'), s('reject', 'pieceMgr'),
  c('caseMsg', 'allowedFast'), c('allowedFast', 'loop'), c('allowedFast', 'sizeCheck'),
  // BEP 6: our allowed-fast set follows our piece set; a CHOKE keeps our requests pending (each
  // gets a PIECE or a REJECT), and allowed-fast pieces may still be requested; a PIECE we never
  // asked for (nor cancelled) ends the connection.
  c('sendBitfield', 'oallowedFast'), c('oallowedFast', 'sendExtHandshake'), c('oallowedFast', 'loop'), s('oallowedFast', 'outbound'),
  c('choke', 'keepRequests'), c('keepRequests', 'sizeCheck'),
  c('pieceOk', 'exit', 'Unrequested (Fast)'),
  // BEP 6: a cancelled request still queued is answered with a REJECT.
  c('cancelForward', 'oreject'),
  c('caseMsg', 'suggest'), c('suggest', 'loop'),
  // BEP 6: a seed's SUGGEST of the rarest pieces the peer lacks, as it unchokes it (suggestPieces).
  c('ounchoke', 'osuggest'), c('osuggest', 'loop'), s('osuggest', 'outbound'),
  // BEP 6: requests we ignore, or prune on choking, are rejected explicitly.
  c('requestIgnore', 'oreject'), c('ochoke', 'oreject'), c('oreject', 'loop'), s('oreject', 'outbound'),
  // BEP 10 and BEP 9 (serving our info dictionary).
  c('caseMsg', 'extended'), c('extended', 'extHandshake'), c('extHandshake', 'loop'), c('extHandshake', 'exit', 'Malformed'),
  c('extended', 'metadataRequest'), c('metadataRequest', 'loop'), s('metadataRequest', 'outbound'),
  c('extended', 'loop', 'Ignored'), c('extended', 'exit', 'Malformed'),
  // The metadata fetcher (magnet links).
  c('handshake', 'sendExtHandshake'),
  c('extHandshake', 'requestMetadata'), c('requestMetadata', 'loop'), s('requestMetadata', 'outbound'),
  c('extended', 'metadataData'), c('metadataData', 'loop'), c('metadataData', 'metadataCheck'), c('metadataData', 'exit', 'Malformed'),
  c('metadataCheck', 'exit', 'Done / Bad hash'),
  c('extended', 'metadataReject'), c('metadataReject', 'exit'),
  c('caseMsg', 'ignored'), c('ignored', 'loop'),
  // BEP 11: a PEX message (taken, or ignored with a reason) goes back to the loop; ours is sent
  // when the Peer Manager says the interval has passed.
  c('extended', 'pex'), c('pex', 'loop'), s('pex', 'peerMgr'),
  c('casePMMsg', 'opex'), c('opex', 'loop'), s('opex', 'outbound'),
].map(added);

export const flowEdges: readonly FlowEdge[] = [...originalEdges, ...addedEdges, ...extensionEdges];

export const ORIGINAL_NODE_IDS: readonly NodeId[] = original.map((n) => n.id);

const controlEdgeKeys = new Set(flowEdges.filter((e) => e.type === 'control').map((e) => `${e.from}>${e.to}`));

/** True when `from -> to` is a control edge of the flowchart (original or added). */
export function isControlEdge(from: string, to: string): boolean {
  return controlEdgeKeys.has(`${from}>${to}`);
}

// ---- The contract, checked as steps are taken -------------------------------------------------------

/** Where every connection's process starts (dialled or accepted). */
export const ENTRY_NODE: NodeId = 'connect';

/** Control successors of each node, for the per-step check (one Set lookup a step). */
const successors: ReadonlyMap<NodeId, ReadonlySet<NodeId>> = (() => {
  const next = new Map<NodeId, Set<NodeId>>(flowNodes.map((n) => [n.id, new Set<NodeId>()]));
  for (const e of flowEdges) if (e.type === 'control') next.get(e.from)!.add(e.to);
  return next;
})();

/**
 * What a step that follows no control edge does: 'throw' an `OffChartStepError` at once (the
 * simulator and tests: the bug is found where it happens, as h11's `_state.py` does), or 'record'
 * it as a `violation` trace event and go on (live mode: a real peer's connection is not dropped
 * for our own bookkeeping).
 */
export type OffChartPolicy = 'throw' | 'record';

export const OFF_CHART_POLICIES = ['throw', 'record'] as const satisfies readonly OffChartPolicy[];

/** A step from `from` to `to` that the flowchart does not draw. */
export class OffChartStepError extends Error {
  constructor(
    readonly from: NodeId | undefined,
    readonly to: NodeId,
    where: string,
  ) {
    super(`${where}: step ${from ?? '(start)'} → ${to} follows no control edge of the flowchart (engine/flowchart.ts)`);
    this.name = 'OffChartStepError';
  }
}

/**
 * One connection's place on the flowchart: `enter(node)` checks that the step follows a control
 * edge from the previous one (the first step must be `connect`). Off the chart, it throws or
 * reports, as the policy says, and carries on from the new node.
 */
export class StepTracker {
  private last: NodeId | undefined;

  constructor(
    private readonly policy: OffChartPolicy,
    /** Names the connection in the message ("peer A, connection to B"). */
    private readonly where: () => string,
    /** Called with the error under 'record'. */
    private readonly record: (error: OffChartStepError) => void,
  ) {}

  /** The node of the last step (undefined before the first). */
  get node(): NodeId | undefined {
    return this.last;
  }

  enter(node: NodeId): void {
    const from = this.last;
    this.last = node;
    if (from === undefined ? node === ENTRY_NODE : successors.get(from)!.has(node)) return;
    const error = new OffChartStepError(from, node, this.where());
    if (this.policy === 'throw') throw error;
    this.record(error);
  }
}
