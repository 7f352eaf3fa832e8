/**
 * Group commit for any statement that can do many items' work at once: a call made while none is
 * under way goes at once, alone; calls made while one is under way wait for it to end and then go
 * together, in one run of `run`, at most `max` at a time. A lone caller waits no longer than
 * before, and under load one round trip serves many (`bake serve` begins and ends a ledger row for
 * every write request: sixteen clients would otherwise cost thirty-two statements a commit round).
 *
 * `run` resolves with one outcome per item, in order; when it throws, every item of that run fails
 * with its error, and the next run goes on with what arrived meanwhile.
 */
export function coalescing<I, O>(run: (items: readonly I[]) => Promise<readonly O[]>, max = 256): (item: I) => Promise<O> {
  const waiting: { item: I; resolve: (value: O) => void; reject: (error: unknown) => void }[] = [];
  let running = false;
  const drain = async () => {
    running = true;
    try {
      while (waiting.length > 0) {
        const batch = waiting.splice(0, max);
        try {
          const outcomes = await run(batch.map((w) => w.item));
          if (outcomes.length !== batch.length) throw new Error(`coalescing: ${outcomes.length} outcomes for ${batch.length} items`);
          for (const [i, w] of batch.entries()) w.resolve(outcomes[i] as O);
        } catch (error) {
          for (const w of batch) w.reject(error);
        }
      }
    } finally {
      running = false;
    }
  };
  return (item) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (!running) void drain();
    });
}
