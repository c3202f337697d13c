import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { vi } from 'vitest';

/**
 * A merchant's webhook receiver for tests: a real HTTP server on 127.0.0.1 that checks every
 * delivery with the `standardwebhooks` package (code we did not write) against each secret it is
 * told about, and answers as the test says (a status, headers, or hanging until released).
 * The package checks `webhook-timestamp` against Date.now() (±5 min): `now` says what "now" is
 * for the receiver (the test's fake clock), set with vi.setSystemTime around the check.
 */
export interface ReceivedDelivery {
  headers: Record<string, string>;
  body: string;
  payload: { id: string; type: string; timestamp: string; data: unknown };
  /** The secrets (of those given) whose signature verified. */
  verifiedWith: string[];
}

export type ReceiverAnswer = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface WebhookReceiver {
  url: string;
  received: ReceivedDelivery[];
  /** How the next requests are answered (default 200). */
  answer: (delivery: ReceivedDelivery, n: number) => ReceiverAnswer;
  /** The secrets deliveries are verified with. */
  secrets: string[];
  /** Answers every hanging request with `status`. */
  releaseHung(status?: number): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(now: () => Date): Promise<WebhookReceiver> {
  const hung: http.ServerResponse[] = [];
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    answer: () => ({ status: 200, body: 'ok' }),
    secrets: [],
    releaseHung(status = 200) {
      for (const res of hung.splice(0)) if (!res.writableEnded && !res.destroyed) res.writeHead(status).end('late');
    },
    async close() {
      receiver.releaseHung();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const verifiedWith: string[] = [];
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(now());
      try {
        for (const secret of receiver.secrets) {
          try {
            new Webhook(secret).verify(body, headers);
            verifiedWith.push(secret);
          } catch {
            // not this secret
          }
        }
      } finally {
        vi.useRealTimers();
      }
      const delivery: ReceivedDelivery = { headers, body, payload: JSON.parse(body), verifiedWith };
      receiver.received.push(delivery);
      const answer = receiver.answer(delivery, receiver.received.length);
      if (answer === 'hang') {
        hung.push(res);
        return;
      }
      res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}
