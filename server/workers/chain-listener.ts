import { http, createPublicClient } from 'viem';
import type { CoreContext } from '../../core/context/index.js';
import type { Leadership } from '../../core/db/leader.js';
import { type ChainListenerState, type ChainReader, type ListenableChain, type PollReport, newListenerState, pollChain } from '../../core/chain/listener.js';
import type { RunningWorker } from './usage-indexer.js';

/**
 * The chain listener (issue 16; core/chain/listener.ts does the work): one loop per listenable
 * chain, each running `pollChain` every `pollMs` — at once again while it is behind, with a
 * growing pause after failures (an RPC down is retried, not hammered). Across replicas on
 * PostgreSQL only the leader of `chain-listener:<chainId>` reads (server.ts elects one per chain);
 * a step that overlaps another replica's for an instant still applies nothing twice.
 */
export interface ChainListenerOptions {
  chains: readonly ListenableChain[];
  pollMs?: number;
  /** The RPC client of a chain (tests wrap the transport); default: viem over HTTP. */
  client?: (chain: ListenableChain) => ChainReader;
  /** Runs a chain's loop only while this says so; default: always. */
  leadership?: (chainId: number) => Pick<Leadership, 'isLeader'>;
  /** Blocks one step reads at most before the loop yields (and goes again at once). */
  maxBlocksPerStep?: number;
  /** Every step that read blocks with logs, or that shrank its chunk. */
  onReport?: (chain: ListenableChain, report: PollReport) => void;
  onError?: (chain: ListenableChain, e: unknown) => void;
}

export const DEFAULT_CHAIN_POLL_MS = 4_000;
const MAX_BACKOFF_MS = 5 * 60_000;

export interface RunningChainListener extends RunningWorker {
  /** Steps run per chain id (tests wait on it). */
  steps(chainId: number): number;
  /** One step of a chain, awaited (waits for one in flight first). */
  runOnce(chainId: number): Promise<PollReport>;
  /** The chunk size each chain's loop last used. */
  state(chainId: number): ChainListenerState | undefined;
}

export function defaultChainClient(chain: ListenableChain): ChainReader {
  return createPublicClient({ transport: http(chain.rpcUrl, { timeout: 20_000, retryCount: 2 }) });
}

export function startChainListener(ctx: CoreContext, options: ChainListenerOptions): RunningChainListener {
  const pollMs = options.pollMs ?? DEFAULT_CHAIN_POLL_MS;
  const maxBlocks = options.maxBlocksPerStep ?? 200_000;
  let stopped = false;
  const loops = new Map(
    options.chains.map((chain) => [
      chain.chainId,
      {
        chain,
        client: (options.client ?? defaultChainClient)(chain),
        state: newListenerState(),
        timer: undefined as NodeJS.Timeout | undefined,
        running: undefined as Promise<unknown> | undefined,
        failures: 0,
        steps: 0,
      },
    ]),
  );
  type Loop = NonNullable<ReturnType<typeof loops.get>>;

  const step = async (loop: Loop) => {
    const report = await pollChain(ctx, loop.chain, loop.client, { state: loop.state, maxBlocks });
    loop.steps++;
    if (report.logs > 0 || report.shrinks > 0) options.onReport?.(loop.chain, report);
    return report;
  };

  const tick = (loop: Loop) => {
    loop.timer = undefined;
    let delay = pollMs;
    let run: Promise<void> | undefined;
    run = (async () => {
      await Promise.resolve();
      try {
        if (options.leadership && !options.leadership(loop.chain.chainId).isLeader) return;
        const report = await step(loop);
        loop.failures = 0;
        if (!report.caughtUp && report.toBlock >= report.fromBlock) delay = 0;
      } catch (e) {
        loop.failures++;
        delay = Math.min(MAX_BACKOFF_MS, pollMs * 2 ** Math.min(loop.failures, 10));
        options.onError?.(loop.chain, e);
      } finally {
        if (loop.running === run) loop.running = undefined;
        if (!stopped) loop.timer = setTimeout(() => tick(loop), delay);
      }
    })();
    loop.running = run;
  };
  for (const loop of loops.values()) loop.timer = setTimeout(() => tick(loop), Math.min(pollMs, 1_000));

  const loopOf = (chainId: number) => {
    const loop = loops.get(chainId);
    if (!loop) throw new Error(`the chain listener does not read chain ${chainId}`);
    return loop;
  };
  return {
    steps: (chainId) => loopOf(chainId).steps,
    state: (chainId) => loops.get(chainId)?.state,
    async runOnce(chainId) {
      const loop = loopOf(chainId);
      while (loop.running) await loop.running;
      const run = step(loop);
      loop.running = run;
      try {
        return await run;
      } finally {
        if (loop.running === run) loop.running = undefined;
      }
    },
    async stop() {
      stopped = true;
      for (const loop of loops.values()) if (loop.timer) clearTimeout(loop.timer);
      for (const loop of loops.values()) while (loop.running) await loop.running.catch(() => {});
    },
  };
}

/** One line for the server log. */
export function describeChainReport(chain: ListenableChain, r: PollReport): string {
  const blocks = r.toBlock >= r.fromBlock ? `blocks ${r.fromBlock}–${r.toBlock}` : 'no blocks';
  const shrunk = r.shrinks > 0 ? `; the RPC refused large ranges ${r.shrinks}× (chunk now ${r.chunkSize} blocks)` : '';
  return `${chain.name} (${chain.chainId}): ${blocks}, ${r.logs} logs (${r.applied} applied, ${r.unmatched} unmatched, ${r.ignored} ignored, ${r.duplicates} already seen); safe ${r.safe}, head ${r.head}${shrunk}`;
}
