/**
 * docker-compose.yml and deploy/kubernetes/pipeline.yaml, parsed: the topology docs/scaling.md
 * promises (one worker service per queue kind, Redis with AOF and noeviction, Varnish with our
 * VCL, KEDA on our queue-depth metric), and every variable they set is one the README documents.
 * No Docker engine or cluster runs here, so this is what keeps them from drifting.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { QUEUE_KINDS } from '../../workers/config.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (rel: string) => readFileSync(path.join(root, rel), 'utf8');
const readmeTable = () => read('README.md').slice(read('README.md').indexOf('## Configuration'));
const documented = (name: string) => readmeTable().includes(`\`${name}\``);

interface ComposeService {
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: unknown;
}
interface Container {
  args?: string[];
  env?: Array<{ name: string }>;
}
interface K8sDoc {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
  const services = compose.services;

  it('runs the API, one worker service per queue kind, Redis and Varnish', () => {
    expect(Object.keys(services).sort()).toEqual(['api', ...QUEUE_KINDS, 'redis', 'varnish'].sort());
    expect(services.api!.environment!.WORKER_QUEUES).toBe('');
    for (const kind of QUEUE_KINDS) {
      expect(services[kind]!.command).toEqual(['node', 'dist/bin/worker.js', kind]);
      // The image's healthcheck probes the API's port; a worker answers on its metrics port.
      expect(JSON.stringify(services[kind]!.healthcheck)).toContain(`:${services[kind]!.environment!.WORKER_METRICS_PORT}/healthz`);
    }
  });

  it('gives Redis AOF and noeviction, and Varnish our VCL', () => {
    const redis = services.redis!.command!.join(' ');
    expect(redis).toContain('--appendonly yes');
    expect(redis).toContain('--maxmemory-policy noeviction');
    const mounts = services.varnish!.volumes!.map((v) => v.split(':'));
    expect(mounts.map(([, target]) => target).sort()).toEqual([
      '/etc/varnish/default.vcl',
      '/etc/varnish/public-keys.vcl',
      '/etc/varnish/site.vcl',
    ]);
    for (const [source] of mounts) expect(existsSync(path.join(root, source!))).toBe(true);
  });

  it('sets only variables the README configuration table documents, and a public URL that is not the container', () => {
    const set = new Set(Object.values(services).flatMap((s) => Object.keys(s.environment ?? {})));
    const pipelineServices = ['api', ...QUEUE_KINDS].map((name) => services[name]!);
    const ours = new Set(pipelineServices.flatMap((s) => Object.keys(s.environment ?? {})));
    expect(set).toEqual(ours);
    expect([...ours].filter((v) => !documented(v))).toEqual([]);
    for (const s of pipelineServices) expect(s.environment!.PUBLIC_BASE_URL).not.toMatch(/\/\/(localhost|127\.0\.0\.1):3000/);
  });
});

describe('deploy/kubernetes/pipeline.yaml', () => {
  const docs = parseAllDocuments(read('deploy/kubernetes/pipeline.yaml')).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as K8sDoc;
  });
  const containers = (doc: K8sDoc) => (doc.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers;
  const deployments = docs.filter((d) => d.kind === 'Deployment');

  it('has a Deployment per worker kind, each scaled by KEDA on its own queue_jobs backlog', () => {
    for (const kind of QUEUE_KINDS) {
      const deployment = deployments.find((d) => containers(d).some((c) => c.args?.join(' ') === `node dist/bin/worker.js ${kind}`));
      expect(deployment, kind).toBeDefined();
      const scaler = docs.find(
        (d) =>
          d.kind === 'ScaledObject' && (d.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === deployment!.metadata.name,
      );
      expect(scaler, kind).toBeDefined();
      const [trigger] = (scaler!.spec as { triggers: Array<{ type: string; metadata: { query: string } }> }).triggers;
      expect(trigger!.type).toBe('prometheus');
      expect(trigger!.metadata.query).toMatch(new RegExp(`queue_jobs\\{queue="${kind}"`));
    }
    // The metric the scalers read is the one the API serves.
    expect(read('lib/metrics.ts')).toContain("name: 'queue_jobs'");
  });

  it('sets only variables the README configuration table documents', () => {
    const set = new Set<string>();
    for (const doc of docs) {
      if (doc.kind === 'ConfigMap') Object.keys(doc.data ?? {}).forEach((k) => set.add(k));
      if (doc.kind === 'Deployment') for (const c of containers(doc)) for (const e of c.env ?? []) set.add(e.name);
    }
    expect(set.size).toBeGreaterThan(5);
    expect([...set].filter((v) => !documented(v))).toEqual([]);
  });
});
