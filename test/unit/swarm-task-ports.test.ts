import { describe, expect, it } from 'vitest';
import { taskFromEngine } from '../../src/engine/swarm/swarm-engine.js';

// A task's published ports as the engine reported them on a test-swarm node restarted with its data
// root: each target port listed twice (IPv4, then IPv6), the two families on different host ports.
const raw = {
  ID: 't2qabbn0xyz',
  NodeID: 'v8momo',
  Slot: 1,
  DesiredState: 'running',
  Status: {
    State: 'running',
    PortStatus: {
      Ports: [
        { TargetPort: 8080, PublishedPort: 32780 },
        { TargetPort: 8080, PublishedPort: 32779 },
        { TargetPort: 8082, PublishedPort: 32778 },
        { TargetPort: 8082, PublishedPort: 32777 },
        { TargetPort: 8081, PublishedPort: 32779 },
        { TargetPort: 8081, PublishedPort: 32778 },
      ],
    },
  },
  Spec: { ContainerSpec: { Image: 'registry/repo@sha256:abc', Labels: {} } },
};

describe('a swarm task from the engine', () => {
  it('takes the first (IPv4) binding of each port when the two families differ', () => {
    expect(taskFromEngine(raw).ports).toEqual({ 8080: 32780, 8081: 32779, 8082: 32778 });
  });
  it('takes the shared host port when both families have it', () => {
    const same = structuredClone(raw);
    same.Status.PortStatus.Ports = [
      { TargetPort: 8080, PublishedPort: 32863 },
      { TargetPort: 8080, PublishedPort: 32863 },
    ];
    expect(taskFromEngine(same).ports).toEqual({ 8080: 32863 });
  });
});
