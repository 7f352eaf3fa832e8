import { exact, relative } from '../format';
import { useApp } from '../state';

/** A moment as "3 minutes ago", with the exact time for machines (datetime) and for people (title). */
export function When({ at }: { at: string | null | undefined }) {
  const { now } = useApp();
  if (!at) return <span>—</span>;
  return (
    <time dateTime={at} title={exact(at)}>
      {relative(at, now)}
    </time>
  );
}
