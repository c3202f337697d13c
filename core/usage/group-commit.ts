import type { IngestJob, JobOutcome, UsageEventWriter } from './writer.js';

interface Waiting {
  job: IngestJob;
  resolve: (outcome: JobOutcome) => void;
}

/**
 * The single writer queue. Requests validate on their own, then queue their batch here; the
 * queue drains everything waiting into one `commitGroup` (when idle, after the current I/O
 * phase, so batches that arrived together share a transaction; when a group commits, at once,
 * before that group's outcomes are delivered, so the next group's first round trip overlaps the
 * responses), at most `maxGroupEvents` events per group to keep latency bounded. Outcomes are
 * delivered only after the writer's COMMIT.
 *
 * A writer that groups again on its side (the writer thread merges every group waiting for it
 * into one transaction) says so with `maxInFlightGroups` > 1: groups are then handed over
 * without waiting for the previous COMMIT, so the writer never idles while this thread is busy,
 * and the writer still applies them one after another, in order.
 */
export class GroupCommitQueue {
  private waiting: Waiting[] = [];
  private scheduled = false;
  private draining = false;
  private pauses = 0;
  private inFlight = 0;
  private readonly maxInFlight: number;

  constructor(
    private readonly writer: UsageEventWriter,
    private readonly maxGroupEvents = 10_000,
  ) {
    this.maxInFlight = Math.max(1, writer.maxInFlightGroups ?? 1);
  }

  submit(job: IngestJob): Promise<JobOutcome> {
    if (this.writer.prepare) {
      try {
        this.writer.prepare(job);
      } catch {
        // Only an optimisation: the group decides the job anyway.
      }
    }
    return new Promise((resolve) => {
      this.waiting.push({ job, resolve });
      this.schedule();
    });
  }

  /** Batches queued and not yet committed. */
  get pending(): number {
    return this.waiting.length;
  }

  /**
   * Holds every write until the returned function is called (batches keep queueing). A seam
   * for tests that need a request to stay in flight deterministically; also usable around
   * maintenance such as a file backup.
   */
  pause(): () => void {
    this.pauses++;
    let resumed = false;
    return () => {
      if (resumed) return;
      resumed = true;
      this.pauses--;
      this.schedule();
    };
  }

  private schedule(): void {
    if (this.scheduled || this.draining || this.pauses > 0 || this.waiting.length === 0 || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.waiting.length > 0 && this.pauses === 0 && this.inFlight < this.maxInFlight) {
        let take = 0;
        let events = 0;
        while (take < this.waiting.length && (take === 0 || events + this.waiting[take].job.batch.validCount <= this.maxGroupEvents)) {
          events += this.waiting[take].job.batch.validCount;
          take++;
        }
        const group = this.waiting.splice(0, take);
        this.inFlight++;
        this.commit(group);
      }
    } finally {
      this.draining = false;
    }
  }

  private async commit(group: Waiting[]): Promise<void> {
    let outcomes: JobOutcome[];
    try {
      outcomes = await this.writer.commitGroup(group.map((w) => w.job));
    } catch (error) {
      outcomes = group.map(() => ({ kind: 'failed', error }));
    }
    this.inFlight--;
    // The next group first: its first round trip then overlaps the responses of this one
    // (rendering and writing them is the caller's work, on this thread). A writer that takes
    // several groups in flight already has the next ones.
    if (this.pauses === 0) this.drain();
    for (let i = 0; i < group.length; i++) group[i].resolve(outcomes[i]);
    this.schedule();
  }
}
