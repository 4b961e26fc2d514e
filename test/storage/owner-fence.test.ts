/**
 * Owner-epoch fencing (src/storage/owner-fence.ts, docs/rfcs/0003-epoch-fencing.md): an engine A
 * of epoch 1 writes; an engine B opens the same directory with epoch 2; then each commit point of A
 * — write acknowledgement, new WAL segment, flush result, compaction result, manifest edit
 * (adoption) — fails with FAILED_PRECONDITION `owner epoch is stale`, and B never sees what A did
 * after the fence. Each commit point is tested on a fresh pair, with A's job already past its start
 * when B fences where that matters (a gated executor), so each test fails if its check is removed.
 * Run on the crashable in-memory file system and on a real directory.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SeededRand } from '../../src/common/clock.js';
import { ErrorCode, hasCode } from '../../src/common/errors.js';
import { type CompactionExecutor, InlineExecutor } from '../../src/storage/compaction-executor.js';
import { Engine, type EngineOptions } from '../../src/storage/engine.js';
import { parseFileName } from '../../src/storage/file-names.js';
import { ManifestStore } from '../../src/storage/manifest-store.js';
import { MemVfs } from '../../src/storage/mem-vfs.js';
import { RealVfs } from '../../src/storage/real-vfs.js';
import type { Vfs } from '../../src/storage/vfs.js';

const b = (s: string) => Buffer.from(s);
const isStale = (e: unknown) =>
  hasCode(e, ErrorCode.FailedPrecondition) && (e as Error).message.startsWith('owner epoch is stale:');

/** An executor whose jobs wait at `gate` once their inputs are taken: B fences meanwhile. */
class GatedExecutor implements CompactionExecutor {
  private readonly inner: InlineExecutor;
  gate: Promise<void> | undefined;
  entered: (() => void) | undefined;
  constructor(vfs: Vfs) {
    this.inner = new InlineExecutor(vfs);
  }
  private async wait(): Promise<void> {
    this.entered?.();
    if (this.gate) await this.gate;
  }
  async flush(...args: Parameters<CompactionExecutor['flush']>) {
    await this.wait();
    return this.inner.flush(...args);
  }
  async compact(...args: Parameters<CompactionExecutor['compact']>) {
    await this.wait();
    return this.inner.compact(...args);
  }
  workerMemory() {
    return this.inner.workerMemory();
  }
  close() {
    return this.inner.close();
  }
}

interface Setup {
  vfs: Vfs;
  dir: string;
}

function options(s: Setup, ownerEpoch: number, executor?: CompactionExecutor): EngineOptions {
  return {
    dir: s.dir,
    vfs: s.vfs,
    ownerEpoch,
    executor: executor ?? 'inline',
    autoCompact: false,
    rand: new SeededRand(ownerEpoch),
  };
}

/** A of epoch 1 with keys a0..a4 acknowledged (and flushed to one SSTable when `flushed`). */
async function openA(s: Setup, executor?: CompactionExecutor, flushed = false): Promise<Engine> {
  const a = await Engine.open(options(s, 1, executor));
  for (let i = 0; i < 5; i++) await a.put(b(`a${i}`), b('v1'));
  if (flushed) await a.flush();
  return a;
}

/** Asserts that B, reopened, holds exactly A's pre-fence keys and `own`. */
async function assertBView(s: Setup, own: string[] = []): Promise<void> {
  const again = await Engine.open(options(s, 2));
  const keys = [...again.scan()].map(([k]) => k.toString());
  await again.close();
  assert.deepEqual(keys, [...['a0', 'a1', 'a2', 'a3', 'a4'], ...own].sort());
}

async function walNumbers(s: Setup): Promise<number[]> {
  return (await s.vfs.list(s.dir)).flatMap((n) => {
    const p = parseFileName(n);
    return p?.kind === 'wal' ? [p.number] : [];
  });
}

/**
 * Starts `job` on A, lets B fence while the job waits in the gated executor (past its start), then
 * requires the job to fail as stale and B's view to hold only A's pre-fence writes.
 */
async function fenceDuringJob(s: Setup, gated: GatedExecutor, a: Engine, job: () => Promise<void>) {
  let open!: () => void;
  gated.gate = new Promise((r) => (open = r));
  const entered = new Promise<void>((r) => (gated.entered = r));
  const running = job();
  await entered;
  const bEngine = await Engine.open(options(s, 2));
  open();
  await assert.rejects(running, isStale);
  await bEngine.close();
}

type Case = (s: Setup) => Promise<void>;

const cases: Record<string, Case> = {
  'the next write is not acknowledged and never seen by B': async (s) => {
    const a = await openA(s);
    const bEngine = await Engine.open(options(s, 2));
    await assert.rejects(a.put(b('late'), b('x')), isStale);
    assert.equal(bEngine.get(b('late')), undefined);
    await bEngine.put(b('b0'), b('v2'));
    await bEngine.close();
    await a.close();
    await assertBView(s, ['b0']);
  },
  'a new WAL segment is not created': async (s) => {
    const a = await openA(s);
    const bEngine = await Engine.open(options(s, 2));
    await bEngine.close();
    const before = await walNumbers(s);
    // flush() freezes the memtable with its WAL: the rotation's new segment is the commit point.
    await assert.rejects(a.flush(), isStale);
    assert.deepEqual(await walNumbers(s), before, 'the fenced owner created a WAL segment');
    await a.close();
    await assertBView(s);
  },
  'a flush result is not committed': async (s) => {
    const gated = new GatedExecutor(s.vfs);
    const a = await openA(s, gated);
    await fenceDuringJob(s, gated, a, () => a.flush());
    assert.equal(a.stats().flushes, 0, 'the fenced owner committed a flush');
    await a.close();
    await assertBView(s);
  },
  'a compaction result is not committed': async (s) => {
    const gated = new GatedExecutor(s.vfs);
    const a = await openA(s, gated, true);
    await a.put(b('a4'), b('v1'));
    await a.flush();
    await fenceDuringJob(s, gated, a, () => a.compactAll());
    assert.equal(a.stats().compactions, 0, 'the fenced owner committed a compaction');
    await a.close();
    await assertBView(s);
  },
  'a manifest edit (an adoption) is not committed': async (s) => {
    const a = await Engine.open(options(s, 1));
    const bEngine = await Engine.open(options(s, 2));
    await assert.rejects(a.adoptFiles([], 1_000), isStale);
    assert.equal(a.stats().lastSequence, 1_000, 'the adoption moved the sequence in memory only');
    await bEngine.close();
    await a.close();
    const again = await Engine.open(options(s, 2));
    assert.equal(again.stats().lastSequence, 0, 'the fenced owner committed a manifest edit');
    await again.close();
  },
  'an owner with a lower epoch is refused, and its late manifest pointer is ignored': async (s) => {
    const a = await openA(s);
    await a.close();
    const bEngine = await Engine.open(options(s, 2));
    await bEngine.put(b('b0'), b('v2'));
    await bEngine.flush();
    await assert.rejects(Engine.open(options(s, 1)), isStale);
    await assert.rejects(Engine.open(options(s, 2)), (e) => hasCode(e, ErrorCode.FailedPrecondition));
    await bEngine.close();
    // A fenced owner whose check passed just before the fence renames its pointer late: an empty
    // manifest under CURRENT-1. The live pointer is the highest epoch's.
    await (
      await ManifestStore.create(s.vfs, s.dir, 999, { addedFiles: [], deletedFiles: [] }, 'CURRENT-1')
    ).close();
    await assertBView(s, ['b0']);
    await assert.rejects(Engine.open(options(s, 1)), isStale);
    const c = await Engine.open(options(s, 3));
    assert.equal(c.get(b('b0'))?.toString(), 'v2');
    await c.close();
  },
};

for (const [name, run] of Object.entries(cases)) {
  test(`fencing on the in-memory file system: ${name}`, () => run({ vfs: new MemVfs(), dir: '/store' }));
  test(`fencing on a real directory: ${name}`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tabula-fence-'));
    try {
      await run({ vfs: new RealVfs(), dir });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('without an owner epoch nothing changes: no fence, CURRENT, and the store lock', async () => {
  const vfs = new MemVfs();
  const e = await Engine.open({ dir: '/s', vfs, executor: 'inline' });
  await e.put(b('k'), b('v'));
  assert.equal(e.ownerEpoch, undefined);
  await assert.rejects(Engine.open({ dir: '/s', vfs }), (err) => hasCode(err, ErrorCode.FailedPrecondition));
  await e.close();
  const names = await vfs.list('/s');
  assert.ok(names.includes('CURRENT'));
  assert.ok(!names.some((n) => n.startsWith('FENCE-') || n.startsWith('CURRENT-')), names.join(' '));
});

test("'next' takes one more than the highest fence, and an unfenced opener keeps the live pointer", async () => {
  const vfs = new MemVfs();
  const first = await Engine.open({ dir: '/s', vfs, ownerEpoch: 'next', executor: 'inline' });
  assert.equal(first.ownerEpoch, 1);
  await first.put(b('k'), b('1'));
  await first.close();
  const second = await Engine.open({ dir: '/s', vfs, ownerEpoch: 'next', executor: 'inline' });
  assert.equal(second.ownerEpoch, 2);
  await second.put(b('k'), b('2'));
  await second.close();
  const tool = await Engine.open({ dir: '/s', vfs, executor: 'inline' });
  assert.equal(tool.get(b('k'))?.toString(), '2');
  await tool.put(b('k'), b('3'));
  await tool.close();
  const names = await vfs.list('/s');
  assert.deepEqual(
    names.filter((n) => n.startsWith('FENCE-') || n.startsWith('CURRENT')),
    ['CURRENT-2', 'FENCE-2'],
  );
  const third = await Engine.open({ dir: '/s', vfs, ownerEpoch: 'next', executor: 'inline' });
  assert.equal(third.ownerEpoch, 3);
  assert.equal(third.get(b('k'))?.toString(), '3');
  await third.close();
});
