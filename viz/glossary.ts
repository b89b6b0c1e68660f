// What the replay page's words mean: every flowchart node (by id, so the compiler insists each node
// has one) and the BitTorrent and swarmlab terms the page uses. The one table behind the page's
// tooltips and its glossary panel. Pure TS: the page and the tests share it.

import { flowNodes, type NodeId } from '../engine/flowchart.ts';

/** Each flowchart node: what the Peer process does there. */
export const NODE_MEANINGS = {
  inbound: 'The process that reads the socket and hands each decoded wire message to the Peer process.',
  outbound: 'The process that writes queued messages to the remote peer as fast as the connection takes them.',
  peerMgr: 'The Peer Manager: one per client, it keeps the set of peers and decides whom to choke and unchoke.',
  pieceMgr: 'The Piece Manager: which pieces we hold, which blocks are in flight, and the SHA1 check of each piece.',
  loop: 'Loop/Sync: wait for the next event, a wire message from Inbound or a message from the Peer Manager.',
  exit: 'The Peer process ends (the connection closes); a bad message or a failed check leads here.',
  caseMsg: 'Dispatch on a wire message the remote peer sent.',
  casePMMsg: 'Dispatch on a message from the Peer Manager or Piece Manager: choke or unchoke the remote, a HAVE to broadcast, a request to cancel.',
  piece: 'PIECE received: a block of data from the remote peer.',
  have: 'HAVE received: the remote peer now holds a piece.',
  cancel: 'CANCEL received: the remote peer no longer wants a block it requested.',
  unchoke: 'UNCHOKE received: the remote peer will now answer our requests.',
  choke: 'CHOKE received: the remote peer will not answer our requests for now.',
  request: 'REQUEST received: the remote peer asks us for a block.',
  bitfield: 'BITFIELD received: the pieces the remote peer holds, sent once after the handshake.',
  ochoke: 'OCHOKE: the Peer Manager says choke the remote peer; we stop serving its requests.',
  ounchoke: 'OUNCHOKE: the Peer Manager says unchoke the remote peer; we serve its requests.',
  chokePrune: 'Outbound drops the PIECE messages still queued for a peer we just choked.',
  constructPieceSet: 'Build the set of pieces the remote holds from its BITFIELD (or HAVE ALL / HAVE NONE).',
  pieceOk: 'Was this block one we asked this peer for?',
  pieceStore: 'Store the block and take it off the queue of outstanding requests.',
  haveOk: 'Is the piece index of the HAVE a valid one?',
  cancelForward: 'Forward the CANCEL to Outbound, which drops the queued PIECE if it is still there.',
  clearPieceQueue: 'Give our outstanding requests to this peer back to the Piece Manager (it choked us).',
  requestChoked: 'Are we choking the remote peer? Then its request is not served.',
  requestIgnore: 'Ignore the request (or REJECT it, with the Fast extension).',
  queueRequest: 'Queue the request; the block is sent when its turn comes.',
  sizeCheck: 'Are fewer requests outstanding than the low watermark? Then ask for more blocks.',
  grabBlocks: 'Ask the Piece Manager for up to (high watermark − outstanding) blocks to request.',
  queueBlocks: 'Send REQUESTs for the new blocks.',
  connect: 'The connection opened (we dialled, or the remote did).',
  handshake: 'The BitTorrent handshake: protocol name, info-hash and peer id, checked.',
  register: 'Register the connection with the Peer Manager (refused when full, or the peer is banned).',
  sendBitfield: 'Send our BITFIELD (or HAVE ALL / HAVE NONE with the Fast extension).',
  interested: 'INTERESTED received: the remote peer wants pieces we hold.',
  notInterested: 'NOT INTERESTED received: the remote peer wants nothing we hold.',
  keepAlive: 'KEEP-ALIVE received: an empty message that keeps an idle connection open.',
  port: 'PORT received: the remote peer\'s DHT port.',
  ohave: 'OHAVE: tell the remote peer we now hold a piece (a HAVE broadcast to every connection).',
  ocancel: 'OCANCEL: cancel a request another peer already answered (endgame), then top up requests.',
  tick: 'The periodic timer of the connection: keep-alives, snubbing and time-outs are checked.',
  sendKeepAlive: 'Send a KEEP-ALIVE: we have sent nothing for a while.',
  snubbed: 'The remote peer sent no block for too long: it is marked snubbed and its requests given back.',
  idleTimeout: 'Nothing received for too long (or no request while unchoked): the connection is closed.',
  cleanup: 'Give the outstanding blocks back, unregister from the Peer Manager: the connection is gone.',
  sendExtHandshake: 'Send the BEP 10 extension handshake: the extensions we speak and the metadata size.',
  haveAll: 'HAVE ALL received (BEP 6): the remote peer is a seed; stands for a full BITFIELD.',
  haveNone: 'HAVE NONE received (BEP 6): the remote peer holds nothing; stands for an empty BITFIELD.',
  reject: 'REJECT received (BEP 6): the remote peer will not send a block we requested; it is asked for elsewhere.',
  allowedFast: 'ALLOWED FAST received (BEP 6): a piece we may request even while the remote chokes us.',
  suggest: 'SUGGEST received (BEP 6): the remote peer suggests a piece to download.',
  oreject: 'OREJECT (BEP 6): tell the remote peer we will not serve its requests (choked, pruned or cancelled).',
  oallowedFast: 'OALLOWED FAST (BEP 6): send the set of pieces a choked peer may still request from us.',
  osuggest: 'OSUGGEST (BEP 6): as a seed unchokes a peer, suggest the pieces it lacks that the fewest of our peers hold.',
  keepRequests: 'With the Fast extension a CHOKE keeps our requests: each still gets a PIECE or a REJECT.',
  extended: 'EXTENDED received (BEP 10): a message of an extension, by its id.',
  extHandshake: 'The remote peer\'s extension handshake (BEP 10): its client, extensions and metadata size.',
  metadataRequest: 'The remote peer asks for a piece of the info dictionary (BEP 9): send it or reject.',
  requestMetadata: 'Ask for pieces of the info dictionary (BEP 9; a magnet link\'s download starts here).',
  metadataData: 'A piece of the info dictionary arrived (BEP 9).',
  metadataCheck: 'Does the assembled info dictionary hash to the info-hash?',
  metadataReject: 'The remote peer rejected our metadata request (BEP 9).',
  ignored: 'A message the metadata fetcher does not act on.',
  pex: 'A PEX message (BEP 11): peers the remote knows, added to our peer list.',
  opex: 'OPEX (BEP 11): send the peers we are connected to, added and dropped since our last message.',
} as const satisfies Record<NodeId, string>;

/** BitTorrent and swarmlab terms the page uses. */
export const TERMS = {
  piece: 'The unit of the payload that is SHA1-checked; a torrent is a list of pieces.',
  block: 'The unit the wire carries: 16 KiB of a piece, asked for by a REQUEST and sent in a PIECE.',
  seed: 'A peer that holds every piece and only uploads.',
  leecher: 'A peer still downloading.',
  choke: 'A peer chokes another when it will not answer its requests; unchoking lets it download.',
  unchoke: 'Lets the other peer download: its requests are answered.',
  interested: 'A peer is interested in another when that one holds pieces it lacks.',
  'optimistic unchoke': 'An unchoke given to a random peer now and then, so newcomers can start and better partners be found.',
  endgame: 'Near the end of a download the last blocks are asked of several peers at once; the copies that arrive late are cancelled.',
  snubbed: 'A peer that sent nothing for a while although it unchoked us; its requests are given back.',
  watermarks: 'The low and high marks of outstanding requests per connection: below the low one, requests are topped up to the high one.',
  bitfield: 'The map of the pieces a peer holds, sent once after the handshake.',
  'info-hash': 'The SHA1 of the torrent\'s info dictionary: the name of the torrent on the wire.',
  tracker: 'The server that tells each peer of others in the swarm (announce).',
  PEX: 'Peer Exchange (BEP 11): peers tell each other of peers they know.',
  'Fast extension': 'BEP 6: HAVE ALL, HAVE NONE, REJECT, ALLOWED FAST and SUGGEST.',
  'hash failure': 'A piece whose bytes do not hash to its SHA1: it is thrown away and fetched again.',
  ban: 'An honest peer stops talking to a peer that sent it corrupt data (its trust fell too low).',
  adversary: 'A malicious peer of the simulator (corrupt, liar, unsolicited, malformed, huge-length, request-flood, silent, drop): it runs no engine.',
  violation: 'A safety invariant broken (a check from outside the engine), or a wire rule a peer broke.',
  failure: 'A check of the run that failed: a safety invariant, liveness (every leecher completes in time) or an expectation of the scenario.',
  fault: 'Something the simulator did to the swarm on purpose: a partition, a crash, lost packets, a full disk…',
} as const;

export interface GlossaryEntry {
  term: string;
  /** For a node: its id (its label is `term`). */
  node?: NodeId;
  meaning: string;
}

/** The glossary as the panel lists it: the BitTorrent terms, then the flowchart's nodes. */
export function glossaryEntries(): GlossaryEntry[] {
  const terms = Object.entries(TERMS).map(([term, meaning]) => ({ term, meaning }));
  const nodes = flowNodes.map((n) => ({ term: `${n.label} (${n.id})`, node: n.id, meaning: NODE_MEANINGS[n.id] }));
  return [...terms, ...nodes];
}

/** What a word the page shows means: a node id (an event list's step), an event kind or a term; undefined when unknown. */
export function meaningOf(word: string): string | undefined {
  if (Object.hasOwn(NODE_MEANINGS, word)) return NODE_MEANINGS[word as NodeId];
  if (Object.hasOwn(TERMS, word)) return TERMS[word as keyof typeof TERMS];
  return undefined;
}
