// The package's library entry (`import … from 'swarmlab'`): what a user's own code needs to run
// scenarios and swarms, make and read torrents, join real swarms and read traces. The vitest
// helpers are the `swarmlab/vitest` entry (sim/scenario/vitest.ts); the CLI is cli/main.ts.

// Scenario files: load, check, run.
export {
  checkScenario,
  loadScenario,
  loadScenarioFile,
  parseScenarioText,
  runScenario,
  ScenarioFileError,
  type ScenarioFile,
  type ScenarioRunOptions,
} from './sim/scenario/load.ts';
export type { Failure, Scenario, ScenarioResult } from './sim/scenario/types.ts';
export { describeFailure, reproduceCommand } from './sim/scenario/report.ts';
export { runSuite, type SuiteEntry, type SuiteOptions, type SuiteResult, type SuiteRun } from './sim/scenario/suite.ts';
export { runScenarioOnTcp, type TcpRunOptions, type TcpScenarioResult } from './sim/tcp/run.ts';

// The swarm runner: virtual peers on virtual time.
export {
  defaultSwarm,
  runSwarm,
  Swarm,
  swarmOf,
  type PeerGroup,
  type PeerReport,
  type SwarmOptions,
  type SwarmResult,
} from './sim/swarm.ts';

// Torrents.
export {
  createTorrent,
  MetainfoError,
  parseInfo,
  parseTorrent,
  type CreateOptions,
  type Torrent,
  type TorrentFile,
  type TorrentInfo,
} from './engine/metainfo.ts';
export { MagnetError, parseMagnet, type Magnet } from './live/magnet.ts';
export { defaultSettings, resolveSettings, SettingsError, type EngineSettings } from './engine/settings.ts';

// Live mode: the same engine on real sockets and files.
export { fetchMetadata, LiveSession, type FetchOptions, type SessionOptions } from './live/session.ts';
export { TcpNetwork, type TcpNetworkOptions } from './live/tcp-network.ts';

// Traces: the format, the reader, the replay page.
export { TRACE_FORMAT, TRACE_VERSION, type TraceEvent } from './engine/trace.ts';
export { eventLine, eventObject, parseTrace, TraceError, type TraceHeader, type TraceTable } from './viz/trace-table.ts';
export { reportHtml, writeReport, type TraceSource } from './viz/report.ts';
export { ENGINE_VERSION } from './engine/version.ts';
