/**
 * Parsing of the resource names in requests: `projects/{project}/instances/{instance}` and
 * `projects/{project}/instances/{instance}/tables/{table}` (clusters too). Tabula serves one
 * instance under any project and instance name, so those segments are only checked for shape;
 * the table id is validated against the Cloud Bigtable syntax (src/model/mutation.ts).
 *
 * Malformed names are INVALID_ARGUMENT naming the field. Requests addressed to an authorized view
 * or a materialized view are UNIMPLEMENTED: Tabula has neither.
 */
import { errors } from '../common/errors.js';
import { RESOURCE_NAME_CHARS_MAX } from '../common/limits.js';
import { validateTableId } from '../model/mutation.js';

export { RESOURCE_NAME_CHARS_MAX };

/** A parsed instance name. */
export interface InstanceName {
  readonly project: string;
  readonly instance: string;
  /** `projects/{project}/instances/{instance}`. */
  readonly name: string;
}

/** A parsed table name. */
export interface TableName extends InstanceName {
  readonly tableId: string;
  /** `projects/{project}/instances/{instance}/tables/{table}`. */
  readonly tableName: string;
}

/** A parsed cluster name. */
export interface ClusterName extends InstanceName {
  readonly clusterId: string;
}

function segments(name: unknown, field: string, shape: string, count: number): string[] {
  if (typeof name !== 'string' || name.length === 0) {
    throw errors.invalidArgument('resource name is missing', { field, expected: shape });
  }
  if (name.length > RESOURCE_NAME_CHARS_MAX) {
    throw errors.invalidArgument('resource name too long', {
      field,
      chars: name.length,
      charsMax: RESOURCE_NAME_CHARS_MAX,
    });
  }
  const parts = name.split('/');
  const literals = shape.split('/');
  const ok =
    parts.length === count && parts.every((p, i) => (i % 2 === 0 ? p === literals[i] : p.length > 0));
  if (!ok) throw errors.invalidArgument('malformed resource name', { field, expected: shape, name });
  return parts;
}

const INSTANCE_SHAPE = 'projects/{project}/instances/{instance}';
const TABLE_SHAPE = 'projects/{project}/instances/{instance}/tables/{table}';
const CLUSTER_SHAPE = 'projects/{project}/instances/{instance}/clusters/{cluster}';
const PROJECT_SHAPE = 'projects/{project}';
const INSTANCE_SEGMENTS = 4;
const CHILD_SEGMENTS = 6;
const PROJECT_SEGMENTS = 2;

/** Parses `projects/{project}`; returns the project id. */
export function parseProjectName(name: unknown, field = 'parent'): string {
  return segments(name, field, PROJECT_SHAPE, PROJECT_SEGMENTS)[1] as string;
}

/** Parses `projects/{project}/instances/{instance}`. */
export function parseInstanceName(name: unknown, field = 'name'): InstanceName {
  const [, project, , instance] = segments(name, field, INSTANCE_SHAPE, INSTANCE_SEGMENTS) as string[];
  return { project: project!, instance: instance!, name: name as string };
}

/** Parses `projects/{project}/instances/{instance}/tables/{table}`, validating the table id. */
export function parseTableName(name: unknown, field = 'name'): TableName {
  const parts = segments(name, field, TABLE_SHAPE, CHILD_SEGMENTS);
  const [, project, , instance, , table] = parts as string[];
  const tableId = validateTableId(table, field);
  return {
    project: project!,
    instance: instance!,
    name: `projects/${project}/instances/${instance}`,
    tableId,
    tableName: name as string,
  };
}

/** Parses `projects/{project}/instances/{instance}/clusters/{cluster}`. */
export function parseClusterName(name: unknown, field = 'name'): ClusterName {
  const [, project, , instance, , clusterId] = segments(
    name,
    field,
    CLUSTER_SHAPE,
    CHILD_SEGMENTS,
  ) as string[];
  return {
    project: project!,
    instance: instance!,
    name: `projects/${project}/instances/${instance}`,
    clusterId: clusterId!,
  };
}

/** The full name of table `tableId` in `instance`. */
export function tableNameOf(instance: InstanceName, tableId: string): string {
  return `${instance.name}/tables/${tableId}`;
}

/** The view-addressing fields a data request may carry besides `table_name`. */
export interface DataRequestNames {
  tableName?: string;
  authorizedViewName?: string;
  materializedViewName?: string;
}

/**
 * The table a data request addresses. UNIMPLEMENTED when it names an authorized or materialized
 * view; INVALID_ARGUMENT when `table_name` is missing or malformed.
 */
export function dataRequestTable(request: DataRequestNames): TableName {
  if (nonEmpty(request.authorizedViewName)) {
    throw errors.unimplemented('authorized views are not supported', { field: 'authorized_view_name' });
  }
  if (nonEmpty(request.materializedViewName)) {
    throw errors.unimplemented('materialized views are not supported', { field: 'materialized_view_name' });
  }
  return parseTableName(request.tableName, 'table_name');
}

function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0;
}
