/**
 * Progress events the library emits for long work. The CLI renders them on a terminal; everyone
 * else ignores them. Keeping this a plain callback keeps the library free of terminal concerns.
 */
export type ProgressEvent = { kind: 'step'; message: string } | { kind: 'done'; message: string } | { kind: 'wait'; message: string };

export type ProgressSink = (event: ProgressEvent) => void;

export const silent: ProgressSink = () => undefined;
