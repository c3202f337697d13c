import type { AddressInfo } from 'node:net';
import http, { type RequestListener } from 'node:http';
import { type Clock, type CoreContext, createContext } from '../core/context/index.js';
import { type Db, openDatabase, parseDatabaseUrl } from '../core/db/index.js';
import { startCheckpointer } from '../core/db/checkpointer.js';
import { migrateWithBackup } from '../core/db/backup.js';
import { createUsageIngest, installUsageIngest, usageIngestFor } from '../core/usage/ingest.js';
import { type ThreadedUsageEventWriter, createThreadedUsageWriterAndIndexer } from '../core/usage/worker-writer.js';
import { createThreadedUsageReader, installUsageReader } from '../core/usage/reader.js';
import { createEventFeedBuffer } from '../core/usage/event-feed.js';
import { createRequestListener } from './app.js';
import { type RunningInvoiceScheduler, startInvoiceScheduler } from './workers/invoice-scheduler.js';
import { startLeaderElection } from '../core/db/leader.js';
import { startUsageIndexer } from './workers/usage-indexer.js';
import { type ServerConfig, loadConfig, loadSecrets } from './config.js';
import { installPaymentChannels, installRefundNotifyUrl, installSandboxPayer } from '../core/payments/index.js';
import { sandboxPeerStore } from '../core/payments/setup/sandbox-peer-store.js';
import { type PaymentChannelSetup, type SandboxChannelPeers, createPaymentChannelRegistry, createSandboxChannelPeers, createSandboxPayer } from './payments/index.js';
import { type RunningPaymentsReconcile, describeReconcileReport, startPaymentsReconcile } from './workers/payments-reconcile.js';
import { type RunningWebhookDelivery, startWebhookDelivery } from './workers/webhook-delivery.js';
import { type RunningChainListener, describeChainReport, startChainListener } from './workers/chain-listener.js';
import { listenableChains } from '../core/chain/config.js';
import { describeChainError } from '../core/chain/listener.js';
import { installChainConfigs } from '../core/chain/status.js';

export interface RunningServer {
  url: string;
  port: number;
  ctx: CoreContext;
  db: Db;
  config: ServerConfig;
  /** The payment channels this server installed (notify and hosted-page URLs, the sandbox keys). */
  payments: PaymentChannelSetup;
  /** The sandbox channel peers served on this listener (absent with BUFFMONEY_SANDBOX_CHANNELS=0). */
  sandboxPeers?: SandboxChannelPeers;
  /** The usage writer thread, when the server runs one (tests kill it to prove recovery). */
  usageWriter?: ThreadedUsageEventWriter;
  /** The webhook delivery worker (absent with BUFFMONEY_WEBHOOK_DELIVERY=0). */
  webhookDelivery?: RunningWebhookDelivery;
  /** The chain listener (absent with BUFFMONEY_CHAIN_LISTENER=0 or no chain with an RPC URL and a contract). */
  chainListener?: RunningChainListener;
  close(): Promise<void>;
}

export interface StartOptions {
  config?: Partial<Omit<ServerConfig, 'limits'>> & { limits?: Partial<ServerConfig['limits']> };
  clock?: Clock;
  /** Where the payment channels' variables are read (BUFFMONEY_WECHAT_*, BUFFMONEY_ALIPAY_*); default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The WeChat Pay clients' fetch (tests). */
  channelFetch?: typeof fetch;
  resolveHost?: (hostname: string) => Promise<string[]>;
  /** Wraps the request listener (tests observe every response with it). */
  wrapListener?: (listener: RequestListener) => RequestListener;
}

/** Opens the database, brings it to the latest schema, and serves the API. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const base = loadConfig();
  const config: ServerConfig = { ...base, ...options.config, limits: { ...base.limits, ...options.config?.limits } };
  // An embedded file database gets a checkpointer thread: WAL checkpoints leave the commit path.
  const location = parseDatabaseUrl(config.dbPath);
  const fileDb = location.engine === 'sqlite' && location.file !== ':memory:';
  const db = openDatabase(config.dbPath, { durable: config.durable, autoCheckpoint: !fileDb, poolSize: config.dbPoolSize });
  const embeddedFile = db.capabilities.embeddedFile;
  try {
    // Also the first contact with a PostgreSQL server: a wrong URL or a server down fails here.
    // A SQLite file with data and pending migrations is copied first (core/db/backup.ts).
    const { backup } = await migrateWithBackup(db, { now: (options.clock ?? { now: () => new Date() }).now() });
    if (backup) console.log(`[buffmoney] database backed up before migrating (${backup.pending.join(', ')}): ${backup.file}`);
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  const ctx = createContext({
    db,
    secrets: loadSecrets(config.dataDir),
    clock: options.clock,
    bcryptCost: config.bcryptCost,
    policy: { production: config.production, allowPrivateWebhooks: config.allowPrivateWebhooks },
    resolveHost: options.resolveHost,
  });
  let usageWriter: ThreadedUsageEventWriter | undefined;
  // What the writer thread commits, handed to the usage reader thread in shared memory
  // (core/usage/event-feed.ts), so reads do not load every new event back from the file.
  const eventFeed = config.ingestThread && embeddedFile !== null ? createEventFeedBuffer() : undefined;
  if (config.ingestThread && embeddedFile !== null) {
    // Commits on one thread, the per-customer index on another (its own file and write lock).
    usageWriter = createThreadedUsageWriterAndIndexer({
      dbPath: embeddedFile,
      durable: config.durable,
      clock: ctx.clock,
      autoCheckpoint: !fileDb,
      feed: eventFeed,
      onThreadDeath: (reason) => console.error('[buffmoney] usage writer thread died; restarting it:', reason),
    });
    installUsageIngest(ctx, createUsageIngest(ctx, { writer: usageWriter }));
  }
  // Usage reads off the HTTP thread where its connection is synchronous (an embedded file); on
  // PostgreSQL the in-process reader already reads on a pooled connection without blocking.
  const usageReader =
    embeddedFile !== null
      ? createThreadedUsageReader({
          file: embeddedFile,
          nice: config.backgroundNice,
          feed: eventFeed,
          onThreadDeath: (reason) => console.error('[buffmoney] usage reader thread died:', reason),
        })
      : undefined;
  if (usageReader) installUsageReader(ctx, usageReader);
  const checkpointer =
    embeddedFile !== null
      ? startCheckpointer({ file: embeddedFile, durable: config.durable, nice: config.backgroundNice, onError: (m) => console.error('[buffmoney] WAL checkpoint failed:', m) })
      : undefined;
  // Payment channels: live from the environment, the sandbox peers on this listener. The public
  // URL (and with PORT=0 the port) is known once listening; everything reads it lazily.
  let publicUrl = config.publicUrl;
  let localUrl: string | undefined;
  const urlNotYet = () => {
    throw new Error('the server is not listening yet');
  };
  let payments: PaymentChannelSetup;
  try {
    payments = await createPaymentChannelRegistry({
      env: options.env ?? process.env,
      dataDir: config.dataDir,
      publicUrl: () => publicUrl ?? urlNotYet(),
      // The server's own clients reach its peers directly, not through a proxy in front.
      sandboxPeerUrl: () => localUrl ?? urlNotYet(),
      sandbox: config.sandboxChannels,
      clock: ctx.clock,
      fetch: options.channelFetch,
    });
  } catch (error) {
    await usageWriter?.close().catch(() => {});
    await usageReader?.close().catch(() => {});
    await checkpointer?.stop().catch(() => {});
    await db.close().catch(() => {});
    throw error;
  }
  installPaymentChannels(ctx, payments.channels);
  installRefundNotifyUrl(ctx, (channel) => payments.notifyUrl(channel));
  const sandboxPeers = payments.sandboxKeys ? createSandboxChannelPeers(payments.sandboxKeys, { clock: ctx.clock, store: (channel) => sandboxPeerStore(ctx, channel) }) : undefined;
  if (sandboxPeers) installSandboxPayer(ctx, createSandboxPayer(ctx, sandboxPeers, payments));
  const listener = createRequestListener({ ctx, config, payments, sandboxPeers });
  const usageIndexer = startUsageIndexer(usageIngestFor(ctx), {
    // With the indexer thread (SQLite: the index in its own file) a slice no longer holds the
    // writer, so slices are large — cheaper per row: each customer's last page is rewritten once
    // per slice whatever the slice's size (core/usage/README.md, "Sustained ingestion").
    ...(usageWriter ? { batchRows: 25_000, loadSliceRows: 50_000 } : {}),
    onError: (e) => console.error('[buffmoney] usage indexer failed:', e),
  });
  // One invoice run at a time across replicas: only the leader of `invoice-scheduler` runs them
  // (always this process on SQLite). Its lock connection names this process in pg_stat_activity.
  let invoiceScheduler: RunningInvoiceScheduler | undefined;
  let lastElectionError = '';
  const invoiceLeadership = config.invoiceScheduler
    ? startLeaderElection(db, {
        name: 'invoice-scheduler',
        applicationName: `buffmoney:server:${process.pid}`,
        onChange: (leader) => {
          lastElectionError = '';
          console.log(`[buffmoney] invoice-scheduler: this process (pid ${process.pid}) is ${leader ? 'now the leader' : 'no longer the leader'}`);
          if (leader) invoiceScheduler?.wake();
        },
        onError: (e) => {
          // Said once per distinct failure, not every try while the database is away.
          const message = e instanceof Error ? e.message : String(e);
          if (message !== lastElectionError) console.error('[buffmoney] invoice-scheduler leader election:', message);
          lastElectionError = message;
        },
      })
    : undefined;
  invoiceScheduler = invoiceLeadership
    ? startInvoiceScheduler(ctx, {
        leadership: invoiceLeadership,
        graceMs: config.invoiceGraceMinutes * 60_000,
        onReport: (r) =>
          console.log(
            `[buffmoney] invoice run: ${r.created.length} created, ${r.failed.length} failed${r.failed.length ? ` (${r.failed.map((f) => `${f.contractId} ${f.periodStart}: ${f.error}`).join('; ')})` : ''}`,
          ),
        onError: (e) => console.error('[buffmoney] invoice run failed:', e),
      })
    : undefined;
  // Payment reconciliation: one run at a time across replicas, like invoices.
  let paymentsReconcile: RunningPaymentsReconcile | undefined;
  let lastReconcileElectionError = '';
  const reconcileLeadership = config.paymentsReconcile
    ? startLeaderElection(db, {
        name: 'payments-reconcile',
        applicationName: `buffmoney:server:${process.pid}`,
        onChange: (leader) => {
          lastReconcileElectionError = '';
          console.log(`[buffmoney] payments-reconcile: this process (pid ${process.pid}) is ${leader ? 'now the leader' : 'no longer the leader'}`);
        },
        onError: (e) => {
          const message = e instanceof Error ? e.message : String(e);
          if (message !== lastReconcileElectionError) console.error('[buffmoney] payments-reconcile leader election:', message);
          lastReconcileElectionError = message;
        },
      })
    : undefined;
  paymentsReconcile = reconcileLeadership
    ? startPaymentsReconcile(ctx, {
        leadership: reconcileLeadership,
        intervalMs: config.paymentsReconcileSeconds * 1000,
        refundNotifyUrl: (channel) => payments.notifyUrl(channel),
        onReport: (report) => {
          for (const line of describeReconcileReport(report)) console.log(`[buffmoney] payments reconcile: ${line}`);
        },
        onError: (e) => console.error('[buffmoney] payments reconcile failed:', e),
      })
    : undefined;
  // Webhooks: every replica delivers (leased claims share the work; core/webhooks).
  const webhookDelivery = config.webhookDelivery
    ? startWebhookDelivery(ctx, {
        pollMs: config.webhookPollMs,
        worker: `buffmoney:server:${process.pid}`,
        onError: (e) => console.error('[buffmoney] webhook delivery failed:', e),
      })
    : undefined;
  // The chain listener: one loop per chain with an RPC URL and a contract; on PostgreSQL one
  // elected leader per chain reads it (core/chain/README.md).
  installChainConfigs(ctx, async () => config.chains);
  const chains = config.chainListener ? listenableChains(config.chains) : [];
  const chainElectionErrors = new Map<number, string>();
  const chainLeadership = new Map(
    chains.map((chain) => [
      chain.chainId,
      startLeaderElection(db, {
        name: `chain-listener:${chain.chainId}`,
        applicationName: `buffmoney:server:${process.pid}`,
        onChange: (leader) => {
          chainElectionErrors.delete(chain.chainId);
          console.log(`[buffmoney] chain-listener:${chain.chainId}: this process (pid ${process.pid}) is ${leader ? 'now the leader' : 'no longer the leader'}`);
        },
        onError: (e) => {
          const message = e instanceof Error ? e.message : String(e);
          if (message !== chainElectionErrors.get(chain.chainId)) console.error(`[buffmoney] chain-listener:${chain.chainId} leader election:`, message);
          chainElectionErrors.set(chain.chainId, message);
        },
      }),
    ]),
  );
  const chainErrors = new Map<number, string>();
  const chainListener =
    chains.length > 0
      ? startChainListener(ctx, {
          chains,
          pollMs: config.chainPollMs,
          leadership: (chainId) => chainLeadership.get(chainId)!,
          onReport: (chain, report) => {
            chainErrors.delete(chain.chainId);
            console.log(`[buffmoney] chain listener: ${describeChainReport(chain, report)}`);
          },
          // Said once per distinct failure, not at every retry while an RPC is down.
          onError: (chain, e) => {
            const message = describeChainError(e);
            if (message !== chainErrors.get(chain.chainId)) console.error(`[buffmoney] chain listener: ${chain.name} (${chain.chainId}) failed:`, message);
            chainErrors.set(chain.chainId, message);
          },
        })
      : undefined;
  const server = http.createServer(options.wrapListener ? options.wrapListener(listener) : listener);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  // A wildcard listener is reached on loopback.
  localUrl = `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : host}:${port}`;
  publicUrl ??= localUrl;
  return {
    url: `http://${host}:${port}`,
    port,
    ctx,
    db,
    config: { ...config, publicUrl },
    payments,
    sandboxPeers,
    usageWriter,
    webhookDelivery,
    chainListener,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      sandboxPeers?.close();
      await webhookDelivery?.stop();
      await chainListener?.stop();
      for (const election of chainLeadership.values()) await election.stop();
      await paymentsReconcile?.stop();
      await reconcileLeadership?.stop();
      await invoiceScheduler?.stop();
      await invoiceLeadership?.stop();
      await usageIndexer.stop();
      await usageWriter?.close();
      await usageReader?.close();
      await checkpointer?.stop();
      await db.close();
    },
  };
}
