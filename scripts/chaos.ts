/**
 * `npm run chaos`: the project's fault suite, with more calls than `npm test` runs.
 *
 * Prints one table row per fault and path (calls, answers by code, `INTERNAL_ERROR`, calls past
 * deadline + margin, repeated side effects, escaped requests, unexpected endings, result events
 * lost), then fuzzes every operation of every connector kind and `POST /v1/events`, and exits 1 when
 * any must-be-zero count is not zero. What each fault and column means: docs/fault-suite.md.
 *
 * Options: `--calls N` (calls per fault and path, default 10), `--fuzz N` (bodies per operation,
 * default 10000), `--only TEXT` (faults whose name contains TEXT), `--no-fuzz`, `--no-faults`.
 */
import { parseArgs } from 'node:util';
import { CHAOS_FAULTS } from '../test/support/chaos/faults.js';
import {
  FUZZ_SEED,
  formatFuzzTable,
  fuzzEvents,
  fuzzOperations,
  fuzzPasses,
} from '../test/support/chaos/fuzz.js';
import {
  type FaultReport,
  formatTable,
  passes,
  runFault,
  startChaosEnvironment,
} from '../test/support/chaos/runner.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '10' },
    fuzz: { type: 'string', default: '10000' },
    only: { type: 'string' },
    'no-fuzz': { type: 'boolean', default: false },
    'no-faults': { type: 'boolean', default: false },
  },
});
const calls = Number(values.calls);
const fuzzRuns = Number(values.fuzz);
if (!Number.isInteger(calls) || calls < 1 || !Number.isInteger(fuzzRuns) || fuzzRuns < 1) {
  process.stderr.write(
    'usage: npm run chaos -- [--calls N] [--fuzz N] [--only TEXT] [--no-fuzz] [--no-faults]\n',
  );
  process.exit(2);
}

// The connectors' JSON logs and metrics would drown the table: keep only errors of the suite itself.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_TRACE_ENABLED = 'false';

const print = (text: string) => process.stdout.write(`${text}\n`);
let failed = false;

if (!values['no-faults']) {
  const env = await startChaosEnvironment();
  const reports: FaultReport[] = [];
  try {
    for (const fault of CHAOS_FAULTS) {
      if (values.only && !fault.name.includes(values.only)) continue;
      for (const path of fault.paths) {
        const report = await runFault(env, fault, path, { calls });
        reports.push(report);
        print(formatTable([report]).split('\n').at(-1) ?? '');
      }
    }
  } finally {
    await env.close();
  }
  print(`\nFaults (${calls} calls or events per fault and path):\n`);
  print(formatTable(reports));
  const failing = reports.filter((report) => !passes(report));
  if (failing.length > 0) failed = true;
  print(`\n${failing.length} of ${reports.length} rows have a must-be-zero count that is not zero.\n`);
}

if (!values['no-fuzz']) {
  const operations = await fuzzOperations({
    runs: fuzzRuns,
    onReport: (report) => print(formatFuzzTable([report]).split('\n').at(-1) ?? ''),
  });
  const events = await fuzzEvents({ runs: fuzzRuns });
  const reports = [...operations, events];
  print(`\nFuzzing (${fuzzRuns} bodies per operation, seed ${FUZZ_SEED}):\n`);
  print(formatFuzzTable(reports));
  const failing = reports.filter((report) => !fuzzPasses(report));
  if (failing.length > 0) failed = true;
  print(
    `\n${failing.length} of ${reports.length} targets answered 500, a body that is no envelope, or let a key reach Object.prototype.\n`,
  );
}

process.exit(failed ? 1 : 0);
