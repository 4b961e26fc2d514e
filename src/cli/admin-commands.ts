/**
 * The admin commands: `tables` (list, create, delete), `families` (list, create, delete) and `gc`
 * (set a family's GC rule). Each connects through the Tabula Node API, makes one admin call and
 * prints one line per result on standard output.
 */
import type { Command } from 'commander';
import type { FamilyOptions, TableInfo } from '../client/index.js';
import { type ConnectionFlags, collect, usage, withConnectionFlags, withServer } from './cli-output.js';
import { formatGcRule, parseGcRule } from './gc-rule-syntax.js';

interface CreateTableFlags extends ConnectionFlags {
  family?: string[];
  deletionProtection?: boolean;
}

/** `family` or `family=RULE` of `tables create --family`. */
function familyOption(spec: string): [string, FamilyOptions] {
  const eq = spec.indexOf('=');
  const name = eq < 0 ? spec : spec.slice(0, eq);
  if (name.length === 0) usage(`--family needs a family name, got ${JSON.stringify(spec)}`);
  const rule = eq < 0 ? undefined : parseGcRule(spec.slice(eq + 1));
  return [name, rule ?? {}];
}

function printFamilies(info: TableInfo): void {
  for (const family of info.families.values()) {
    console.log(`${family.name}\t${formatGcRule(family.gcRule)}`);
  }
}

function registerTables(program: Command): void {
  const tables = program.command('tables').description('list, create and delete tables');
  withConnectionFlags(tables.command('list').description('print the name of every table')).action(
    (flags: ConnectionFlags) =>
      withServer(flags, async (db) => {
        for (const t of await db.listTables()) console.log(t.name);
      }),
  );
  withConnectionFlags(
    tables
      .command('create')
      .description('create a table')
      .argument('<table>', 'table name')
      .option('--family <name[=rule]>', 'add a family, with an optional GC rule (repeatable)', collect)
      .option('--deletion-protection', 'refuse deletion until turned off'),
  ).action((table: string, flags: CreateTableFlags) =>
    withServer(flags, async (db) => {
      const families = new Map((flags.family ?? []).map(familyOption));
      await db.createTable(table, { families, deletionProtection: flags.deletionProtection === true });
      console.log(`created table ${table}`);
    }),
  );
  withConnectionFlags(
    tables.command('delete').description('delete a table and all its data').argument('<table>', 'table name'),
  ).action((table: string, flags: ConnectionFlags) =>
    withServer(flags, async (db) => {
      await db.deleteTable(table);
      console.log(`deleted table ${table}`);
    }),
  );
}

function registerFamilies(program: Command): void {
  const families = program.command('families').description('list, create and delete column families');
  withConnectionFlags(
    families
      .command('list')
      .description('print each family of a table with its GC rule')
      .argument('<table>', 'table name'),
  ).action((table: string, flags: ConnectionFlags) =>
    withServer(flags, async (db) => printFamilies(await db.getTable(table))),
  );
  withConnectionFlags(
    families
      .command('create')
      .description('add a family to a table')
      .argument('<table>', 'table name')
      .argument('<family>', 'family name')
      .argument('[rule...]', 'GC rule, e.g. maxversions=2 or "maxage=1d or maxversions=2"'),
  ).action((table: string, family: string, rule: string[], flags: ConnectionFlags) =>
    withServer(flags, async (db) => {
      const gcRule = rule.length === 0 ? undefined : parseGcRule(rule.join(' '));
      await db.modifyFamilies(table, [gcRule ? { create: family, gcRule } : { create: family }]);
      console.log(`created family ${family} in table ${table}`);
    }),
  );
  withConnectionFlags(
    families
      .command('delete')
      .description('drop a family and all its cells')
      .argument('<table>', 'table name')
      .argument('<family>', 'family name'),
  ).action((table: string, family: string, flags: ConnectionFlags) =>
    withServer(flags, async (db) => {
      await db.modifyFamilies(table, [{ drop: family }]);
      console.log(`deleted family ${family} from table ${table}`);
    }),
  );
}

function registerGc(program: Command): void {
  withConnectionFlags(
    program
      .command('gc')
      .description("set a family's GC rule")
      .argument('<table>', 'table name')
      .argument('<family>', 'family name')
      .argument('<rule...>', 'never | maxversions=N | maxage=DURATION, joined with and / or')
      .addHelpText(
        'after',
        '\nDurations: 500ms, 10s, 90m, 12h, 30d. "and" binds tighter than "or".\n' +
          'Examples:\n  tabula gc users profile maxversions=1\n  tabula gc users events maxage=30d or maxversions=5\n',
      ),
  ).action((table: string, family: string, rule: string[], flags: ConnectionFlags) =>
    withServer(flags, async (db) => {
      const gcRule = parseGcRule(rule.join(' '));
      const info = await db.modifyFamilies(table, [gcRule ? { update: family, gcRule } : { update: family }]);
      console.log(`${family}\t${formatGcRule(info.families.get(family)?.gcRule)}`);
    }),
  );
}

/** Registers `tables`, `families` and `gc` on `program`. */
export function registerAdminCommands(program: Command): void {
  registerTables(program);
  registerFamilies(program);
  registerGc(program);
}
