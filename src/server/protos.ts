/**
 * Loads the official Cloud Bigtable protos (from `google-proto-files`) once and exports the gRPC
 * package definitions of the data API and the two admin APIs.
 *
 * Invariant: every request Tabula decodes goes through `PROTO_LOADER_OPTIONS`, so the shapes in
 * `src/model/proto-types.ts` hold — int64 as decimal strings, bytes as Buffers, enums as names,
 * no default values filled in, and each oneof's chosen field name in a virtual string field.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { GrpcObject } from '@grpc/grpc-js';
import { loadPackageDefinition } from '@grpc/grpc-js';
import type { Options, PackageDefinition } from '@grpc/proto-loader';
import { loadSync } from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

/** The directory holding `google/...` proto files (the root of `google-proto-files`). */
export const PROTO_INCLUDE_DIR = dirname(require.resolve('google-proto-files/package.json'));

/** Data API proto path, relative to `PROTO_INCLUDE_DIR`. */
export const BIGTABLE_DATA_PROTO = 'google/bigtable/v2/bigtable.proto';
/** Table admin API proto path, relative to `PROTO_INCLUDE_DIR`. */
export const BIGTABLE_TABLE_ADMIN_PROTO = 'google/bigtable/admin/v2/bigtable_table_admin.proto';
/** Instance admin API proto path, relative to `PROTO_INCLUDE_DIR`. */
export const BIGTABLE_INSTANCE_ADMIN_PROTO = 'google/bigtable/admin/v2/bigtable_instance_admin.proto';

/** The decoding options every Tabula gRPC service uses. Changing one changes every message shape. */
export const PROTO_LOADER_OPTIONS: Options = Object.freeze({
  keepCase: false,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_INCLUDE_DIR],
});

let cached: BigtableProtos | undefined;

/** The loaded package definitions. */
export interface BigtableProtos {
  /** Raw definition of the data API (`google.bigtable.v2`), for `Server.addService`. */
  readonly dataDefinition: PackageDefinition;
  /** Raw definition of both admin APIs (`google.bigtable.admin.v2`). */
  readonly adminDefinition: PackageDefinition;
  /** `loadPackageDefinition` of `dataDefinition`. */
  readonly data: GrpcObject;
  /** `loadPackageDefinition` of `adminDefinition`. */
  readonly admin: GrpcObject;
}

/** Loads (once, synchronously) and returns the Bigtable package definitions. */
export function loadBigtableProtos(): BigtableProtos {
  if (cached !== undefined) return cached;
  const dataDefinition = loadSync(BIGTABLE_DATA_PROTO, PROTO_LOADER_OPTIONS);
  const adminDefinition = loadSync(
    [BIGTABLE_TABLE_ADMIN_PROTO, BIGTABLE_INSTANCE_ADMIN_PROTO],
    PROTO_LOADER_OPTIONS,
  );
  cached = {
    dataDefinition,
    adminDefinition,
    data: loadPackageDefinition(dataDefinition),
    admin: loadPackageDefinition(adminDefinition),
  };
  return cached;
}
