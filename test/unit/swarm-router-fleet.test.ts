import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlServer } from '../../src/router/control-server.js';
import { alignReplicas, routerFleet, sumFigures, type RouterReplica } from '../../src/router/router-fleet.js';
import { startRouter, type Router } from '../../src/router/router.js';

// The fan-out client bake drives the in-cluster router replicas with, against two real routers
// (each with its control API) and one real upstream, all on 127.0.0.1.
describe('a router fleet (the replicas of an in-cluster router)', () => {
  const routers: Router[] = [];
  const controls: { port: number; close(): Promise<void> }[] = [];
  let upstream: Server;
  let upstreamPort = 0;
  let replicas: RouterReplica[] = [];

  beforeAll(async () => {
    upstream = createServer((req, res) => res.writeHead(200).end(req.url === '/healthz' ? 'ok' : 'v1'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamPort = (upstream.address() as { port: number }).port;
    for (let i = 0; i < 2; i++) {
      const router = await startRouter({ web: 0 }, { healthIntervalMs: 50 });
      routers.push(router);
      controls.push(await startControlServer(router));
    }
    replicas = routers.map((r, i) => ({ node: `n${i}`, address: '127.0.0.1', control: controls[i]?.port ?? 0, listeners: r.listeners }));
  });

  afterAll(async () => {
    for (const c of controls) await c.close();
    for (const r of routers) await r.close();
    await new Promise((r) => upstream.close(r));
  });

  it('sends every change to each replica, with the address the replicas reach, and sums their counts', async () => {
    // What bake sees from its host (a node's published port) becomes what replicas reach (here the upstream).
    const fleet = routerFleet(replicas, async (i) => ({ ...i, host: '127.0.0.1', ports: { web: upstreamPort } }));
    await fleet.add({ id: 't1', release: 7, vector: { web: 1 }, ports: { web: 1 }, health: { web: '/healthz' }, host: '10.0.0.9' });
    await fleet.setToggle('new-ui', true);
    for (const r of routers) {
      expect(r.state().instances.map((i) => [i.id, i.host, i.ports['web']])).toEqual([['t1', '127.0.0.1', upstreamPort]]);
      expect(r.state().toggles).toEqual({ 'new-ui': true });
    }
    for (const [i, r] of routers.entries()) {
      for (let n = 0; n <= i; n++) expect((await fetch(`http://127.0.0.1:${r.listeners['web']}/`)).headers.get('x-bake-release')).toBe('7');
    }
    expect((await fleet.stats())['7']?.requests).toBe(3);
    await fleet.drain('t1');
    await fleet.remove('t1');
    for (const r of routers) expect(r.state().instances).toEqual([]);
  });

  it('aligns a replica that starts empty with the fullest one', async () => {
    routers[0]?.add({ id: 't2', release: 8, vector: { web: 2 }, ports: { web: upstreamPort }, health: {}, host: '127.0.0.1' });
    routers[0]?.setRoutes({ weights: { '8': 1 } });
    await alignReplicas(replicas);
    expect(routers[1]?.state().instances.map((i) => i.id)).toEqual(['t2']);
    expect(routers[1]?.state().routes).toEqual({ weights: { '8': 1 } });
  });

  it('sums figures: requests and errors add, the error rate follows, latency is the worst replica', () => {
    const a = { requests: 3, errors: 1, errorRate: 1 / 3, p50: 2, p99: 9 };
    const b = { requests: 1, errors: 0, errorRate: 0, p50: 5, p99: null };
    expect(sumFigures([{ '1': a }, { '1': b, '2': b }])).toEqual({
      '1': { requests: 4, errors: 1, errorRate: 0.25, p50: 5, p99: 9 },
      '2': { requests: 1, errors: 0, errorRate: 0, p50: 5, p99: null },
    });
  });
});
