/**
 * A raw gRPC client of the Cloud Bigtable data and table-admin APIs, built from the same proto
 * definitions the server loads (`loadBigtableProtos`), over insecure credentials. The differential
 * suite talks to Tabula and to the official emulator through two instances of it, so both see
 * byte-identical requests.
 *
 * Every call resolves to an `Outcome`: the decoded response, or the gRPC status code NAME of the
 * failure (messages legitimately differ between servers and are never compared). ReadRows chunks
 * are reassembled into rows here (chunk-assembler.ts), so a protocol error in the chunk stream is
 * reported as the pseudo-code `BAD_CHUNKS`.
 *
 * Concurrency: calls may overlap, but the suite issues them one at a time per server so that both
 * servers see the same order of operations.
 */
import type { Client, ClientReadableStream, ServiceClientConstructor, ServiceError } from '@grpc/grpc-js';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { loadBigtableProtos } from '../../src/server/protos.js';
import { ChunkAssembler, type ReadRow } from './chunk-assembler.js';

/** Deadline of one call; generous, since a hung server must fail the suite, not stall it. */
const CALL_DEADLINE_MS = 20_000;
/** Metadata key through which clients announce optional features (feature_flags.proto). */
const FEATURES_METADATA_KEY = 'bigtable-features';
/** base64url of FeatureFlags{reverse_scans: true}: field 1, varint 1. The emulator requires it. */
const REVERSE_SCANS_FEATURE = Buffer.from([0x08, 0x01]).toString('base64url').padEnd(4, '=');

/** The result of one call: a value, or the status code name of the failure. */
export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: string };

/** A decoded message, as proto-loader yields it. */
// biome-ignore lint/suspicious/noExplicitAny: decoded protobuf messages are dynamic.
export type Message = any;

/** One entry of a MutateRows response, by request index. */
export interface MutateRowsEntryStatus {
  readonly index: number;
  readonly code: string;
}

function codeName(err: ServiceError | Error): string {
  const code = (err as ServiceError).code;
  return typeof code === 'number' ? (status[code] ?? `CODE_${code}`) : 'CLIENT_ERROR';
}

function deadline(): Date {
  return new Date(Date.now() + CALL_DEADLINE_MS);
}

function unary<T>(client: Client, method: string, request: Message): Promise<Outcome<T>> {
  return new Promise((resolve) => {
    // biome-ignore lint/suspicious/noExplicitAny: methods are attached dynamically by grpc-js.
    (client as any)[method](request, { deadline: deadline() }, (err: ServiceError | null, res: T) => {
      resolve(err ? { ok: false, code: codeName(err) } : { ok: true, value: res });
    });
  });
}

function collect<T>(stream: ClientReadableStream<Message>, onData: (m: Message) => void, done: () => T) {
  return new Promise<Outcome<T>>((resolve) => {
    let failed: string | undefined;
    stream.on('data', (m: Message) => {
      if (failed !== undefined) return;
      try {
        onData(m);
      } catch (err) {
        failed = (err as Error).message;
        stream.cancel();
      }
    });
    stream.on('error', (err: ServiceError) => {
      if (failed === undefined) resolve({ ok: false, code: codeName(err) });
      else resolve({ ok: false, code: 'BAD_CHUNKS' });
    });
    stream.on('end', () => {
      if (failed !== undefined) return resolve({ ok: false, code: 'BAD_CHUNKS' });
      try {
        resolve({ ok: true, value: done() });
      } catch {
        resolve({ ok: false, code: 'BAD_CHUNKS' });
      }
    });
  });
}

/** A connection to one server (data API and table admin API). */
export class BigtableClient {
  private readonly data: Client;
  private readonly admin: Client;

  /** `address` is host:port, as in BIGTABLE_EMULATOR_HOST. */
  constructor(readonly address: string) {
    const protos = loadBigtableProtos();
    // biome-ignore lint/suspicious/noExplicitAny: package objects are dynamic.
    const v2 = (protos.data as any).google.bigtable.v2;
    // biome-ignore lint/suspicious/noExplicitAny: package objects are dynamic.
    const adminV2 = (protos.admin as any).google.bigtable.admin.v2;
    const creds = credentials.createInsecure();
    this.data = new (v2.Bigtable as ServiceClientConstructor)(address, creds);
    this.admin = new (adminV2.BigtableTableAdmin as ServiceClientConstructor)(address, creds);
  }

  /** Closes both channels. */
  close(): void {
    this.data.close();
    this.admin.close();
  }

  createTable(request: Message): Promise<Outcome<Message>> {
    return unary(this.admin, 'createTable', request);
  }

  modifyColumnFamilies(request: Message): Promise<Outcome<Message>> {
    return unary(this.admin, 'modifyColumnFamilies', request);
  }

  deleteTable(request: Message): Promise<Outcome<Message>> {
    return unary(this.admin, 'deleteTable', request);
  }

  mutateRow(request: Message): Promise<Outcome<Message>> {
    return unary(this.data, 'mutateRow', request);
  }

  checkAndMutateRow(request: Message): Promise<Outcome<Message>> {
    return unary(this.data, 'checkAndMutateRow', request);
  }

  readModifyWriteRow(request: Message): Promise<Outcome<Message>> {
    return unary(this.data, 'readModifyWriteRow', request);
  }

  /** MutateRows: per-entry status codes ordered by index. */
  mutateRows(request: Message): Promise<Outcome<MutateRowsEntryStatus[]>> {
    const entries: MutateRowsEntryStatus[] = [];
    // biome-ignore lint/suspicious/noExplicitAny: methods are attached dynamically by grpc-js.
    const stream = (this.data as any).mutateRows(request, { deadline: deadline() });
    return collect(
      stream,
      (m) => {
        for (const e of m.entries ?? []) {
          entries.push({ index: Number(e.index ?? 0), code: status[e.status?.code ?? 0] ?? 'UNKNOWN' });
        }
      },
      () => entries.sort((a, b) => a.index - b.index),
    );
  }

  /** ReadRows, reassembled into rows in stream order. */
  readRows(request: Message): Promise<Outcome<ReadRow[]>> {
    const metadata = new Metadata();
    metadata.set(FEATURES_METADATA_KEY, REVERSE_SCANS_FEATURE);
    const assembler = new ChunkAssembler(request.reversed === true);
    // biome-ignore lint/suspicious/noExplicitAny: methods are attached dynamically by grpc-js.
    const stream = (this.data as any).readRows(request, metadata, { deadline: deadline() });
    return collect(
      stream,
      (m) => assembler.accept(m),
      () => assembler.finish(),
    );
  }

  /** SampleRowKeys: the number of samples (contents legitimately differ between servers). */
  sampleRowKeys(request: Message): Promise<Outcome<number>> {
    let count = 0;
    // biome-ignore lint/suspicious/noExplicitAny: methods are attached dynamically by grpc-js.
    const stream = (this.data as any).sampleRowKeys(request, { deadline: deadline() });
    return collect(
      stream,
      () => {
        count++;
      },
      () => count,
    );
  }
}
