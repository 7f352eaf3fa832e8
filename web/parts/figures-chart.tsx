import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';
import type { FigureSample } from '../state';

/** Line colours by release order; the chart draws on canvas, so they never become style attributes. */
const COLOURS = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed', '#0891b2'];

/**
 * Requests per second each serving release took, over the readings this page received: a canary
 * at 20% draws a line at a fifth of the total. uPlot (this module owns it) draws it; each point
 * is the difference of two readings, so a window the router restarted (a new canary step) shows
 * as a fresh start, not a drop below zero. uPlot is loaded when the first chart is drawn, so the
 * first paint of the page does not wait for it.
 */
export function FiguresChart({ env, samples }: { env: string; samples: readonly FigureSample[] }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const releases = [...new Set(samples.flatMap((s) => s.serving.map((r) => r.release)))].sort((a, b) => a - b);
  const shape = releases.join(',');
  const data = rates(samples, releases);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    let gone = false;
    let cleanup: (() => void) | undefined;
    void import('uplot').then(({ default: UPlot }) => {
      if (gone) return;
      const chart = draw(UPlot, el);
      const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(240, el.clientWidth), height: 180 }));
      resize.observe(el);
      cleanup = () => {
        resize.disconnect();
        chart.destroy();
        plot.current = null;
      };
    });
    return () => {
      gone = true;
      cleanup?.();
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  function draw(UPlot: typeof uPlot, el: HTMLDivElement): uPlot {
    const chart = new UPlot(
      {
        width: Math.max(240, el.clientWidth),
        height: 180,
        // At least a minute wide, so the first readings do not stretch over years.
        scales: { x: { time: true, range: (_u, min, max) => [Math.min(min, max - 60), max] } },
        series: [
          {},
          ...releases.map((r, i) => ({ label: `release ${r} (req/s)`, stroke: COLOURS[i % COLOURS.length] ?? '#555', width: 2 })),
        ],
        axes: [{}, { label: 'requests / s' }],
        legend: { live: false },
        cursor: { show: false },
      },
      data,
      el,
    );
    plot.current = chart;
    return chart;
  }

  return (
    <figure class="chart" data-points={data[0].length}>
      <div ref={host} role="img" aria-label={`Requests per second by release in ${env}, over the last readings`} />
      <figcaption>Requests per second by release, as the router counted them (live).</figcaption>
    </figure>
  );
}

function rates(samples: readonly FigureSample[], releases: readonly number[]): uPlot.AlignedData {
  const xs: number[] = [];
  const series: (number | null)[][] = releases.map(() => []);
  for (let i = 1; i < samples.length; i++) {
    const before = samples[i - 1];
    const after = samples[i];
    if (!before || !after) continue;
    const seconds = (after.t - before.t) / 1000;
    if (seconds <= 0) continue;
    xs.push(after.t / 1000);
    releases.forEach((release, j) => {
      const a = after.serving.find((r) => r.release === release)?.figures.requests;
      const b = before.serving.find((r) => r.release === release)?.figures.requests ?? 0;
      series[j]?.push(a === undefined ? null : Math.max(0, a >= b ? a - b : a) / seconds);
    });
  }
  return [xs, ...series];
}
