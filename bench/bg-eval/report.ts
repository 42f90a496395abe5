/**
 * Tables and verdicts of the background-removal benchmark: per evaluation set, each metric per class
 * of scene and overall for every side, then PASS/MISS against the fixed targets.
 */
import type { AlphaScore } from './metrics.js';
import { mean } from '../timing.js';

/** One side's result on one scene. */
export interface Outcome {
  side: string;
  set: string;
  name: string;
  cls: string;
  score: AlphaScore;
  ms: number;
  cpuMs: number;
}

/** The targets, fixed in the brief: do not loosen them to make a run pass. */
export const TARGETS = {
  /** default IoU ≥ peer IoU + this, on each set */
  defaultIouLead: 0.005,
  /** default alpha MAE ≤ this × the peer's, on each set */
  defaultMaeRatio: 0.8,
  /** best-quality IoU ≥ peer IoU + this, on each set */
  bestIouLead: 0.01,
  /** wall time: peer / ours ≥ this, same model (default vs peer, small vs peer-small) */
  speedup: 2,
};

const METRICS: Array<{ key: keyof AlphaScore; title: string }> = [
  { key: 'iou', title: 'IoU (alpha ≥ 0.5 against mask ≥ 0.5; higher is better)' },
  { key: 'mae', title: 'alpha MAE (0..1, whole image; lower is better)' },
  { key: 'boundary', title: 'boundary error (mean alpha error within 3 px of the true edge; lower is better)' },
];

const f = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const avg = (xs: Outcome[], key: keyof AlphaScore) => (xs.length ? mean(xs.map((o) => o.score[key])) : NaN);

/** The mean of `key` over a set's scenes for `side` (NaN when the side did not run). */
export function setMean(outcomes: Outcome[], set: string, side: string, key: keyof AlphaScore): number {
  return avg(
    outcomes.filter((o) => o.set === set && o.side === side),
    key,
  );
}

/** One markdown table per metric: classes (alphabetical) then **all**, one column per side. */
export function classTables(outcomes: Outcome[], set: string, sides: string[]): string[] {
  const inSet = outcomes.filter((o) => o.set === set);
  const classes = [...new Set(inSet.map((o) => o.cls))].sort();
  const lines: string[] = [];
  for (const { key, title } of METRICS) {
    lines.push(`${set}: ${title}`, '', `| class | n | ${sides.join(' | ')} |`, `| --- | ---: |${sides.map(() => ' ---: |').join('')}`);
    for (const cls of classes) {
      const n = new Set(inSet.filter((o) => o.cls === cls).map((o) => o.name)).size;
      const cells = sides.map((s) =>
        f(
          avg(
            inSet.filter((o) => o.cls === cls && o.side === s),
            key,
          ),
        ),
      );
      lines.push(`| ${cls} | ${n} | ${cells.join(' | ')} |`);
    }
    const n = new Set(inSet.map((o) => o.name)).size;
    lines.push(`| **all** | **${n}** | ${sides.map((s) => `**${f(setMean(outcomes, set, s, key))}**`).join(' | ')} |`, '');
  }
  return lines;
}

/** Per-scene IoU / boundary error of every side, for tuning (PER_IMAGE=1). */
export function sceneTable(outcomes: Outcome[], set: string, sides: string[]): string[] {
  const names = [...new Set(outcomes.filter((o) => o.set === set).map((o) => o.name))];
  const lines = [
    `${set}: per scene, IoU / boundary error`,
    '',
    `| scene | class | ${sides.join(' | ')} |`,
    `| --- | --- |${sides.map(() => ' ---: |').join('')}`,
  ];
  for (const name of names) {
    const of = (s: string) => outcomes.find((o) => o.set === set && o.name === name && o.side === s);
    const cls = of(sides[0]!)?.cls ?? '';
    lines.push(
      `| ${name} | ${cls} | ${sides.map((s) => (of(s) ? `${f(of(s)!.score.iou)} / ${f(of(s)!.score.boundary, 3)}` : '–')).join(' | ')} |`,
    );
  }
  return [...lines, ''];
}

const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

/** PASS/MISS per quality target on each set, and per speed target over all scenes. */
export function verdicts(outcomes: Outcome[], sets: string[], sides: string[]): string[] {
  const out: string[] = [];
  const has = (s: string) => sides.includes(s);
  for (const set of sets) {
    const m = (side: string, key: keyof AlphaScore) => setMean(outcomes, set, side, key);
    if (has('default') && has('peer')) {
      const lead = m('default', 'iou') - m('peer', 'iou');
      out.push(
        `${verdict(lead >= TARGETS.defaultIouLead)} ${set}: default IoU ${f(m('default', 'iou'))} vs peer ${f(m('peer', 'iou'))} (${lead >= 0 ? '+' : ''}${f(lead)}; target ≥ +${TARGETS.defaultIouLead})`,
      );
      const ratio = m('default', 'mae') / m('peer', 'mae');
      out.push(
        `${verdict(ratio <= TARGETS.defaultMaeRatio)} ${set}: default alpha MAE ${f(m('default', 'mae'))} vs peer ${f(m('peer', 'mae'))} (${f(ratio, 2)}×; target ≤ ${TARGETS.defaultMaeRatio}×)`,
      );
    }
    if (has('best') && has('peer')) {
      const lead = m('best', 'iou') - m('peer', 'iou');
      out.push(
        `${verdict(lead >= TARGETS.bestIouLead)} ${set}: best IoU ${f(m('best', 'iou'))} vs peer ${f(m('peer', 'iou'))} (${lead >= 0 ? '+' : ''}${f(lead)}; target ≥ +${TARGETS.bestIouLead})`,
      );
    }
    if (has('small') && has('peer-small')) {
      const ok = m('small', 'iou') >= m('peer-small', 'iou');
      out.push(`${verdict(ok)} ${set}: small IoU ${f(m('small', 'iou'))} vs peer-small ${f(m('peer-small', 'iou'))} (target: no lower)`);
    }
  }
  const ms = (side: string) => mean(outcomes.filter((o) => o.side === side).map((o) => o.ms));
  const cpu = (side: string) => mean(outcomes.filter((o) => o.side === side).map((o) => o.cpuMs));
  for (const [ours, peer] of [
    ['default', 'peer'],
    ['small', 'peer-small'],
  ] as const) {
    if (!has(ours) || !has(peer)) continue;
    const speedup = ms(peer) / ms(ours);
    out.push(
      `${verdict(speedup >= TARGETS.speedup)} speed ${ours} vs ${peer}: ${f(ms(ours), 0)} vs ${f(ms(peer), 0)} ms per image, ${f(speedup, 2)}× (target ≥ ${TARGETS.speedup}×); CPU ${f(cpu(ours), 0)} vs ${f(cpu(peer), 0)} ms`,
    );
  }
  if (has('best')) out.push(`cost of best: ${f(ms('best'), 0)} ms per image, ${f(ms('best') / ms('default'), 2)}× default`);
  return out;
}
