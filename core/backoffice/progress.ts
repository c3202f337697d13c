/**
 * Progress reports of long commands (`ctx.progress(done, total)`), thinned for a transport: a
 * handler may report every row, but a screen needs no more than ~20 updates a second, and each
 * one crosses a process or a socket.
 */
export function throttleProgress(report: (done: number, total: number) => void, intervalMs = 50, now: () => number = Date.now): (done: number, total: number) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (done, total) => {
    const t = now();
    // The first and the last report always pass: the bar must start and must reach its end.
    if (done < total && t - last < intervalMs) return;
    last = t;
    report(done, total);
  };
}
