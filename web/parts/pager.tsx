import { count } from '../format';

export interface PagerProps {
  total: number;
  offset: number;
  limit: number;
  /** What the items are called ("versions"), for the summary. */
  noun: string;
  /** The link to the page starting at `offset`. */
  hrefAt(offset: number): string;
}

/** "41–60 of 20,000 versions" with links to the newer and older pages: one page at a time, never the whole history. */
export function Pager({ total, offset, limit, noun, hrefAt }: PagerProps) {
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(total, offset + limit);
  const newer = offset > 0 ? Math.max(0, offset - limit) : undefined;
  const older = offset + limit < total ? offset + limit : undefined;
  return (
    <nav class="pager" aria-label={`Pages of ${noun}`}>
      <p class="pager-summary" aria-live="polite">
        {count(first)}–{count(last)} of {count(total)} {noun}
      </p>
      <ul class="pager-links">
        <li>{newer !== undefined ? <a href={hrefAt(newer)}>← Newer</a> : <span aria-disabled="true">← Newer</span>}</li>
        <li>{older !== undefined ? <a href={hrefAt(older)}>Older →</a> : <span aria-disabled="true">Older →</span>}</li>
      </ul>
    </nav>
  );
}
