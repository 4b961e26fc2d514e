/**
 * Adapts Tabula's RPC implementations to grpc-js, so that no input can crash the server or reach
 * a client as UNKNOWN:
 *
 * - every handler runs inside a promise; a throw (sync or async) becomes a status through
 *   `toServiceError` (status-map.ts), never an unhandled rejection;
 * - request bytes that are not a valid protobuf message are INVALID_ARGUMENT (grpc-js would answer
 *   INTERNAL): the deserializer is wrapped to return a `MalformedRequest` marker instead of throwing;
 * - every method of a service that Tabula does not implement answers UNIMPLEMENTED with a message
 *   naming the method, whatever its streaming kind;
 * - a response that is already a Buffer is sent as is: hot paths (ReadRows) encode their messages
 *   themselves (read-rows-encoder.ts) instead of going through protobufjs objects.
 *
 * Ownership: a server-streaming implementation writes messages but never ends the call; the
 * wrapper ends it (OK) when the implementation resolves, or reports the failure, unless the client
 * has cancelled the call meanwhile.
 */
import type {
  MethodDefinition,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  sendUnaryData,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { errors } from '../common/errors.js';
import type { InternalErrorHook } from './status-map.js';
import { toServiceError } from './status-map.js';

/** A unary RPC: the request in, the response (a plain object) out. */
// biome-ignore lint/suspicious/noExplicitAny: requests are decoded protobuf messages of many shapes.
export type UnaryRpc = (request: any, call: ServerUnaryCall<any, unknown>) => unknown | Promise<unknown>;
/** A server-streaming RPC: writes responses on `call`; resolves when done (the wrapper ends it). */
// biome-ignore lint/suspicious/noExplicitAny: requests are decoded protobuf messages of many shapes.
export type ServerStreamRpc = (request: any, call: ServerWritableStream<any, unknown>) => Promise<void>;

/** The implemented methods of one service, by method name as in the proto (e.g. `ReadRows`). */
export interface ServiceRpcs {
  readonly unary: Readonly<Record<string, UnaryRpc>>;
  readonly serverStreaming: Readonly<Record<string, ServerStreamRpc>>;
}

/** Marks a request whose bytes did not decode; handlers answer INVALID_ARGUMENT. */
export class MalformedRequest {
  constructor(readonly reason: string) {}
}

function checkedRequest<T>(request: T | MalformedRequest, method: string): T {
  if (request instanceof MalformedRequest) {
    throw errors.invalidArgument('request message is not a valid protobuf encoding', {
      method,
      reason: request.reason,
    });
  }
  return request;
}

function unaryHandler(method: string, rpc: UnaryRpc, onInternal: InternalErrorHook): UntypedHandleCall {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    (async () => rpc(checkedRequest(call.request, method), call))().then(
      (response) => callback(null, response),
      (err: unknown) => callback(toServiceError(err, method, onInternal)),
    );
  };
}

function streamHandler(
  method: string,
  rpc: ServerStreamRpc,
  onInternal: InternalErrorHook,
): UntypedHandleCall {
  return (call: ServerWritableStream<unknown, unknown>) => {
    (async () => rpc(checkedRequest(call.request, method), call))().then(
      () => {
        if (!call.cancelled && !call.writableEnded) call.end();
      },
      (err: unknown) => {
        if (!call.cancelled && !call.writableEnded)
          call.emit('error', toServiceError(err, method, onInternal));
      },
    );
  };
}

function unimplementedHandler(
  fullName: string,
  definition: MethodDefinition<unknown, unknown>,
): UntypedHandleCall {
  const err = () =>
    toServiceError(errors.unimplemented('method is not supported by tabula', { method: fullName }), fullName);
  if (!definition.requestStream && !definition.responseStream) {
    return (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => callback(err());
  }
  if (definition.requestStream && !definition.responseStream) {
    return (_call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) =>
      callback(err());
  }
  return (call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>) => {
    call.emit('error', err());
  };
}

function tolerantDefinition(
  definition: MethodDefinition<unknown, unknown>,
): MethodDefinition<unknown, unknown> {
  const decode = definition.requestDeserialize;
  const encode = definition.responseSerialize;
  return {
    ...definition,
    responseSerialize: (message: unknown) => (Buffer.isBuffer(message) ? message : encode(message)),
    requestDeserialize: (bytes: Buffer) => {
      try {
        return decode(bytes);
      } catch (e) {
        return new MalformedRequest(e instanceof Error ? e.message : String(e));
      }
    },
  };
}

/**
 * The definition (with tolerant deserializers) and implementation to pass to `Server.addService`
 * for `service`: the methods in `rpcs` wrapped, every other method UNIMPLEMENTED.
 */
export function buildService(
  serviceName: string,
  service: ServiceDefinition,
  rpcs: ServiceRpcs,
  onInternal: InternalErrorHook,
): { definition: ServiceDefinition; implementation: UntypedServiceImplementation } {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  const implementation: UntypedServiceImplementation = {};
  for (const [method, raw] of Object.entries(service)) {
    const methodDefinition = raw as MethodDefinition<unknown, unknown>;
    const fullName = `${serviceName}.${method}`;
    definition[method] = tolerantDefinition(methodDefinition);
    const unary = Object.hasOwn(rpcs.unary, method) ? rpcs.unary[method] : undefined;
    const streaming = Object.hasOwn(rpcs.serverStreaming, method) ? rpcs.serverStreaming[method] : undefined;
    if (unary !== undefined && !methodDefinition.requestStream && !methodDefinition.responseStream) {
      implementation[method] = unaryHandler(fullName, unary, onInternal);
    } else if (
      streaming !== undefined &&
      !methodDefinition.requestStream &&
      methodDefinition.responseStream
    ) {
      implementation[method] = streamHandler(fullName, streaming, onInternal);
    } else {
      implementation[method] = unimplementedHandler(fullName, methodDefinition);
    }
  }
  return { definition: definition as ServiceDefinition, implementation };
}
