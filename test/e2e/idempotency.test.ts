import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, countKeys, createTenant, fixture, startTestService, type TestService } from '../harness.js';

type UploadBody = { asset: { id: string }; run: { id: string } };

describe('Idempotency-Key on POSTs that create work', () => {
  let service: TestService;
  let key: string;
  let jpeg: Buffer;

  beforeAll(async () => {
    // No render/inference workers: runs stay queued, so the test sees only what the API did.
    service = await startTestService({ WORKER_QUEUES: 'publish' });
    ({ key } = await createTenant(service));
    jpeg = await readFile(fixture('HappyFish.jpg'));
  });
  afterAll(async () => service?.stop());

  const uploadWithKey = (idempotencyKey: string) => {
    const form = new FormData();
    form.append('file', new Blob([jpeg], { type: 'image/jpeg' }), 'fish.jpg');
    return fetch(`${service.url}/v1/assets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'idempotency-key': idempotencyKey },
      body: form,
    });
  };
  const startRun = (assetId: string, idempotencyKey: string, widths = [320]) =>
    fetch(`${service.url}/v1/assets/${assetId}/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify({ steps: [{ name: 'render', options: { widths } }] }),
    });

  it('replays the first upload: same status, body, asset and run, and no second run', async () => {
    const first = await uploadWithKey('upload-1');
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const body = (await first.json()) as UploadBody;
    const again = await uploadWithKey('upload-1');
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(body);
    expect(await countKeys(`${service.prefix}:run:*`)).toBe(1);

    const run = await startRun(body.asset.id, 'run-1');
    expect(run.status).toBe(202);
    const runBody = (await run.json()) as { id: string };
    const replay = await startRun(body.asset.id, 'run-1');
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(((await replay.json()) as { id: string }).id).toBe(runBody.id);
    expect(await countKeys(`${service.prefix}:run:*`)).toBe(2);
  });

  it('refuses a key reused for a different request with 422 IDEMPOTENCY_MISMATCH', async () => {
    const asset = ((await (await uploadWithKey('upload-2')).json()) as UploadBody).asset.id;
    const otherRoute = await startRun(asset, 'upload-2');
    expect(otherRoute.status).toBe(422);
    expect(((await otherRoute.json()) as { error: { code: string } }).error.code).toBe('IDEMPOTENCY_MISMATCH');
    expect((await startRun(asset, 'run-2', [320])).status).toBe(202);
    const otherBody = await startRun(asset, 'run-2', [640]);
    expect(otherBody.status).toBe(422);
    expect(((await otherBody.json()) as { error: { code: string } }).error.code).toBe('IDEMPOTENCY_MISMATCH');
  });

  it('answers 409 IDEMPOTENCY_CONFLICT while the first request is still in flight', async () => {
    // The first upload sends its headers and half its body, then stalls: it holds the key.
    const boundary = 'idem-boundary';
    const head = Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="fish.jpg"\r\ncontent-type: image/jpeg\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    let finish!: () => void;
    const stalled = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(head);
        controller.enqueue(jpeg.subarray(0, 1000));
        await new Promise<void>((resolve) => (finish = resolve));
        controller.enqueue(jpeg.subarray(1000));
        controller.enqueue(tail);
        controller.close();
      },
    });
    const first = fetch(`${service.url}/v1/assets`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'idempotency-key': 'upload-3',
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      body: stalled,
      duplex: 'half',
    } as RequestInit);
    let conflict: Response | undefined;
    for (let i = 0; i < 50 && conflict?.status !== 409; i++) {
      await new Promise((r) => setTimeout(r, 50));
      conflict = await uploadWithKey('upload-3');
    }
    expect(conflict!.status).toBe(409);
    expect(conflict!.headers.get('retry-after')).toBe('1');
    expect(((await conflict!.json()) as { error: { code: string } }).error.code).toBe('IDEMPOTENCY_CONFLICT');
    finish();
    const done = await first;
    expect(done.status).toBe(202);
    const replay = await uploadWithKey('upload-3');
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toEqual(await done.json());
  });

  it('replays admin tenant creation, and refuses keys over 255 characters', async () => {
    const create = () =>
      fetch(`${service.url}/v1/tenants`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', 'idempotency-key': 'tenant-1' },
        body: JSON.stringify({ name: 'Once' }),
      });
    const first = await create();
    expect(first.status).toBe(201);
    const again = await create();
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(await first.json());

    const tooLong = await uploadWithKey('k'.repeat(256));
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
  });
});
