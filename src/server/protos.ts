/**
 * Loads the official Cloud Bigtable protos (from `google-proto-files`) once and exports the gRPC
 * package definitions of the data API and the two admin APIs.
 *
 * The definitions are built here from one protobufjs root rather than by `@grpc/proto-loader`'s
 * `loadSync`: proto-loader also builds a descriptor (and re-encodes every file descriptor) for each
 * of the ~600 message types, for reflection that Tabula never serves — that took about half of the
 * load time at every start. Serializers and deserializers are the same as proto-loader's
 * (`fromObject` + `encode`; `decode` + `toObject` with `PROTO_LOADER_OPTIONS`), from the same
 * protobufjs instance, and each message type also gets proto-loader's `serialize`/`deserialize`.
 *
 * Invariant: every request Tabula decodes goes through `PROTO_LOADER_OPTIONS`, so the shapes in
 * `src/model/proto-types.ts` hold — int64 as decimal strings, bytes as Buffers, enums as names,
 * no default values filled in, and each oneof's chosen field name in a virtual string field.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import type { GrpcObject, MethodDefinition } from '@grpc/grpc-js';
import { loadPackageDefinition } from '@grpc/grpc-js';
import type { Options, PackageDefinition } from '@grpc/proto-loader';
import type * as Protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
/**
 * protobufjs as proto-loader resolves it (so its well-known types and this module share one
 * instance); importing proto-loader also registers the common protos it adds to protobufjs.
 */
const requireFromLoader = createRequire(require.resolve('@grpc/proto-loader'));
requireFromLoader('@grpc/proto-loader');
const protobuf = requireFromLoader('protobufjs') as typeof Protobuf;
/** The method-name conversion proto-loader uses for `originalName` (client method aliases). */
const camelCase = requireFromLoader('lodash.camelcase') as (name: string) => string;

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
  /** `loadPackageDefinition` of `dataDefinition` (client constructors; built on first use). */
  readonly data: GrpcObject;
  /** `loadPackageDefinition` of `adminDefinition` (client constructors; built on first use). */
  readonly admin: GrpcObject;
}

function loadRoot(files: string[]): Protobuf.Root {
  const root = new protobuf.Root();
  const fallback = root.resolvePath.bind(root);
  root.resolvePath = (origin, target) => {
    if (isAbsolute(target)) return target;
    const path = join(PROTO_INCLUDE_DIR, target);
    try {
      accessSync(path, fsConstants.R_OK);
      return path;
    } catch {
      return fallback(origin, target);
    }
  };
  root.loadSync(files, PROTO_LOADER_OPTIONS as Protobuf.IParseOptions);
  root.resolveAll();
  return root;
}

function serializer(type: Protobuf.Type): (value: object) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`cannot serialize an array as ${type.name}`);
    return type.encode(type.fromObject(value)).finish() as Buffer;
  };
}

function deserializer(type: Protobuf.Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), PROTO_LOADER_OPTIONS as Protobuf.IConversionOptions);
}

function serviceDefinition(
  service: Protobuf.Service,
  name: string,
): Record<string, MethodDefinition<object, object>> {
  const methods: Record<string, MethodDefinition<object, object>> = {};
  for (const method of service.methodsArray) {
    const request = method.resolvedRequestType as Protobuf.Type;
    const response = method.resolvedResponseType as Protobuf.Type;
    methods[method.name] = {
      path: `/${name}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response),
      originalName: camelCase(method.name),
    };
  }
  return methods;
}

/** Every service, message type and enum under `namespace`, by full name (as proto-loader names them). */
function packageDefinition(namespace: Protobuf.NamespaceBase, prefix: string, into: Record<string, unknown>) {
  for (const obj of namespace.nestedArray) {
    const name = prefix === '' ? obj.name : `${prefix}.${obj.name}`;
    if (obj instanceof protobuf.Service) into[name] = serviceDefinition(obj, name);
    else if (obj instanceof protobuf.Type) {
      into[name] = {
        format: 'Protocol Buffer 3 DescriptorProto',
        fileDescriptorProtos: [],
        serialize: serializer(obj),
        deserialize: deserializer(obj),
      };
    } else if (obj instanceof protobuf.Enum) {
      into[name] = { format: 'Protocol Buffer 3 EnumDescriptorProto', fileDescriptorProtos: [] };
    } else if (obj instanceof protobuf.Namespace) {
      // Like proto-loader: types nested in a message are reached through it, not listed.
      packageDefinition(obj, name, into);
    }
  }
  return into as PackageDefinition;
}

/** Loads (once, synchronously) and returns the Bigtable package definitions. */
export function loadBigtableProtos(): BigtableProtos {
  if (cached !== undefined) return cached;
  const dataDefinition = packageDefinition(loadRoot([BIGTABLE_DATA_PROTO]), '', {});
  const adminDefinition = packageDefinition(
    loadRoot([BIGTABLE_TABLE_ADMIN_PROTO, BIGTABLE_INSTANCE_ADMIN_PROTO]),
    '',
    {},
  );
  let data: GrpcObject | undefined;
  let admin: GrpcObject | undefined;
  cached = {
    dataDefinition,
    adminDefinition,
    get data() {
      data ??= loadPackageDefinition(dataDefinition);
      return data;
    },
    get admin() {
      admin ??= loadPackageDefinition(adminDefinition);
      return admin;
    },
  };
  return cached;
}
