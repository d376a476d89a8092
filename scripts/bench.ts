/**
 * `npm run bench [-- --quick] [-- --no-synth]`: the project's benchmark (issue 9). Prints one table:
 * figure, goal, measured value (median and min–max over alternated rounds for ratios), verdict.
 *
 * - Warm calls: raw `fetch`, the `http` connector's handler and a hand-rolled peer
 *   (scripts/bench/peer.ts) against a loopback `node:http` upstream in this process, alternated round
 *   by round; the ratios are of throughput, taken per round.
 * - Logging and metrics stay on, as deployed (Powertools Logger at INFO, EMF metrics); their lines
 *   go to a sink: `process.stdout.write` is replaced while the bench runs, so every contender pays
 *   for formatting its lines but none for a terminal. The peer logs one Powertools line per call.
 *   Tracer is a no-op outside Lambda for both.
 * - Bundles are built from the current sources by an in-process synth of the stack (its own esbuild
 *   options); cold starts run them in fresh Node processes (scripts/bench/bundles.ts).
 * - The `openapi` kind (issue 14): connectors built from GitHub's description with 1, 5, 10 and 20
 *   operations, bundled as the stack bundles them; what each carries, whether Ajv's compiler is in
 *   the bundle, and the 20-operation connector's cold start against the `http` connector's, in the
 *   same alternated rounds (scripts/bench/openapi.ts).
 * - Shared breaker and rate limit (issue 13): DynamoDB requests per call in steady state, 1 and then
 *   4 handlers over dynalite at 100 calls/s in all (scripts/bench/fleet.ts).
 * - Reference rows (verdict `info`, no goal) measure why a goal is missed: the telemetry floor (fetch
 *   with a deadline signal, one Logger line, one EMF document) and the handler with its telemetry
 *   silenced; each bundle's parts and its size without Powertools; a bare handler that also reads
 *   its secret, then also loads the DynamoDB client and the X-Ray SDK (docs/performance.md).
 *
 * Run with `node --expose-gc` (the npm script does) for the heap figure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalDynamoDB } from '../local/dynamodb.js';
import { buildBundles, bundleParts, coldStarts, synthTimes } from './bench/bundles.js';
import { fleetFigures, fleetSteadyState } from './bench/fleet.js';
import {
  buildOpenApiBundles,
  OPENAPI_OPERATION_COUNTS,
  openapiBundleFigures,
  openapiColdStartFigure,
  openapiPartsFigure,
} from './bench/openapi.js';
import {
  bigBodyPeak,
  breakerOpen,
  heapGrowth,
  idempotentCalls,
  warmContenders,
  warmRounds,
} from './bench/runtime.js';
import { type Figure, formatSpread, formatTable, verdict } from './bench/stats.js';
import { BIG_BODY_BYTES, startUpstream } from './bench/upstream.js';

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const withSynth = !args.has('--no-synth') && !quick;
const KB = 1024;
const MB = 1024 * 1024;

const settings = quick
  ? {
      rounds: 3,
      calls1: 300,
      calls32: 1_500,
      breakerCalls: 1_000,
      idempotent: 20,
      heapCalls: 5_000,
      coldRounds: 2,
      fleetSeconds: 2,
    }
  : {
      rounds: 7,
      calls1: 1_500,
      calls32: 3_000,
      breakerCalls: 5_000,
      idempotent: 100,
      heapCalls: 20_000,
      coldRounds: 5,
      fleetSeconds: 5,
    };

const out = process.stdout.write.bind(process.stdout);
const err = process.stderr.write.bind(process.stderr);
const progress = (message: string) => err(`bench: ${message}\n`);
let sinkBytes = 0;
const sink = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  sinkBytes += chunk.length;
  (rest.find((arg) => typeof arg === 'function') as (() => void) | undefined)?.();
  return true;
}) as typeof process.stdout.write;
// Log lines (INFO on stdout, WARN and ERROR on stderr) and EMF metrics go to the sink.
process.stdout.write = sink;
process.stderr.write = sink;

const figures: Figure[] = [];
const upstream = await startUpstream();
const bundleDir = mkdtempSync(path.join(tmpdir(), 'bench-bundles-'));
try {
  const contenders = warmContenders(upstream);
  for (const [concurrency, calls] of [
    [1, settings.calls1],
    [32, settings.calls32],
  ] as const) {
    progress(`warm calls at concurrency ${concurrency}: ${settings.rounds} rounds of ${calls} calls each`);
    const warm = await warmRounds(contenders, { rounds: settings.rounds, calls, concurrency });
    const perCallMs = 1000 / warm.callsPerSecond.handler - 1000 / warm.callsPerSecond.fetch;
    figures.push(
      {
        name: `warm call c=${concurrency}: handler / fetch (throughput)`,
        goal: '≥ 0.85',
        measured: `${formatSpread(warm.vsFetch)}; ${warm.callsPerSecond.handler.toFixed(0)} vs ${warm.callsPerSecond.fetch.toFixed(0)} calls/s, +${perCallMs.toFixed(3)} ms/call`,
        verdict: verdict(warm.vsFetch.median >= 0.85),
      },
      {
        name: `warm call c=${concurrency}: handler / peer (throughput)`,
        goal: '≥ 1.0',
        measured: `${formatSpread(warm.vsPeer)}; peer ${warm.callsPerSecond.peer.toFixed(0)} calls/s`,
        verdict: verdict(warm.vsPeer.median >= 1.0),
      },
    );
    if (warm.floorVsFetch && warm.callsPerSecond.floor !== undefined) {
      figures.push({
        name: `warm call c=${concurrency}: telemetry floor / fetch (reference)`,
        goal: '—',
        measured: `${formatSpread(warm.floorVsFetch)}; ${warm.callsPerSecond.floor.toFixed(0)} calls/s (fetch + deadline signal + 1 Logger line + 1 EMF document)`,
        verdict: 'info',
      });
    }
    if (warm.quietVsPeer && warm.callsPerSecond.quiet !== undefined) {
      figures.push({
        name: `warm call c=${concurrency}: handler, Logger and Metrics silenced / peer (reference)`,
        goal: '—',
        measured: `${formatSpread(warm.quietVsPeer)}; ${warm.callsPerSecond.quiet.toFixed(0)} calls/s`,
        verdict: 'info',
      });
    }
  }

  progress(`breaker open: ${settings.breakerCalls} refused calls`);
  const breaker = await breakerOpen(upstream, settings.breakerCalls);
  figures.push({
    name: 'breaker open: fail-fast latency p50 / p99',
    goal: 'p99 ≤ 1 ms, 0 upstream calls',
    measured: `${breaker.p50Ms.toFixed(3)} / ${breaker.p99Ms.toFixed(3)} ms; ${breaker.upstreamCalls} upstream calls`,
    verdict: verdict(breaker.p99Ms <= 1 && breaker.upstreamCalls === 0),
  });

  progress(`idempotent calls over dynalite: ${settings.idempotent} new, then as many replays`);
  const dynamo = await startLocalDynamoDB();
  try {
    const { fresh, replay } = await idempotentCalls(upstream, dynamo, settings.idempotent);
    const commands = (byCommand: Record<string, number>) =>
      Object.entries(byCommand)
        .map(([name, count]) => `${name.replace(/Command$/, '')} ${(count / settings.idempotent).toFixed(2)}`)
        .join(', ');
    const replayOnDynamoDB = replay.perCall - replay.conditionFailuresWithoutItem / settings.idempotent;
    figures.push(
      {
        name: 'idempotent call: DynamoDB requests per new call',
        goal: '≤ 2',
        measured: `${fresh.perCall.toFixed(2)} (${commands(fresh.byCommand)})`,
        verdict: verdict(fresh.perCall <= 2),
      },
      {
        name: 'idempotent call: DynamoDB requests per replay',
        goal: '≤ 1 on DynamoDB',
        measured: `${replayOnDynamoDB.toFixed(2)} on DynamoDB; ${replay.perCall.toFixed(2)} on dynalite (${commands(replay.byCommand)})`,
        verdict: verdict(replayOnDynamoDB <= 1),
      },
    );
  } finally {
    await dynamo.close();
  }

  const fleetDynamo = await startLocalDynamoDB({ tableName: 'bench-fleet' });
  try {
    for (const instances of [1, 4]) {
      progress(
        `shared breaker and rate limit over dynalite: ${instances} instance(s), ${settings.fleetSeconds} s of steady calls`,
      );
      const steady = await fleetSteadyState(upstream, fleetDynamo, {
        instances,
        seconds: settings.fleetSeconds,
      });
      figures.push(...fleetFigures(steady, settings.fleetSeconds));
    }
  } finally {
    await fleetDynamo.close();
  }

  progress(
    `memory: heap across ${settings.heapCalls} calls after ${settings.heapCalls} warm-up calls, then a ${BIG_BODY_BYTES / MB} MB upstream body`,
  );
  const heap = await heapGrowth(contenders.handler, settings.heapCalls, settings.heapCalls);
  const afterBytes = heap.checkpointBytes.at(-1) as number;
  const growth = afterBytes - heap.warmedBytes;
  const mb = (bytes: number) => (bytes / MB).toFixed(1);
  figures.push({
    name: `memory: heap growth over ${settings.heapCalls} calls after ${settings.heapCalls} warm-up (c=32, after GC)`,
    goal: 'no growth (≤ 1 MB)',
    measured:
      `${(growth / MB).toFixed(2)} MB (${mb(heap.warmedBytes)} → ${heap.checkpointBytes.map(mb).join(' → ')} MB by quarters); ` +
      `warm-up ${((heap.warmedBytes - heap.startBytes) / MB).toFixed(2)} MB (${mb(heap.startBytes)} → ${mb(heap.warmedBytes)} MB)`,
    verdict: verdict(growth <= MB),
  });
  const big = await bigBodyPeak(upstream);
  figures.push({
    name: `memory: peak RSS growth, ${BIG_BODY_BYTES / MB} MB upstream body`,
    goal: 'bounded (≤ 64 MB)',
    measured: `${(big.peakGrowthBytes / MB).toFixed(1)} MB; answered ${big.status}`,
    verdict: verdict(big.peakGrowthBytes <= 64 * MB),
  });

  progress('bundles: in-process synth of the default suite with bundling');
  const built = await buildBundles(bundleDir);
  for (const connector of built) {
    const limitKb = connector.kind === 'http' ? 250 : 400;
    figures.push({
      name: `bundle: ${connector.name} (${connector.kind}) index.mjs, minified`,
      goal: `≤ ${limitKb} KB`,
      measured: `${(connector.bytes / KB).toFixed(0)} KB`,
      verdict: verdict(connector.bytes <= limitKb * KB),
    });
  }
  for (const kind of [...new Set(built.map((connector) => connector.kind))]) {
    const parts = await bundleParts(kind);
    const kb = (bytes: number) => (bytes / KB).toFixed(0);
    figures.push({
      name: `bundle parts: ${kind} (KB; reference)`,
      goal: '—',
      measured:
        `${parts.parts
          .slice(0, 6)
          .map((part) => `${part.name} ${kb(part.bytes)}`)
          .join(', ')}; ` +
        `${kb(parts.withPowertoolsLayerBytes)} KB with Powertools and the X-Ray SDK in Powertools' Lambda layer`,
      verdict: 'info',
    });
  }

  progress(`openapi bundles: GitHub's description with ${OPENAPI_OPERATION_COUNTS.join(', ')} operations`);
  const http = built.find((connector) => connector.kind === 'http');
  const openapi = await buildOpenApiBundles(path.join(bundleDir, 'openapi'), http?.environment ?? {});
  figures.push(...openapiBundleFigures(openapi));
  const openapiCold = openapi.byOperations.at(-1);
  if (openapiCold) figures.push(openapiPartsFigure(openapiCold));
  const coldContenders = openapiCold ? [...built, openapiCold] : built;

  progress(`cold starts: ${settings.coldRounds} rounds of ${coldContenders.length + 1} fresh processes`);
  const cold = await coldStarts(coldContenders, settings.coldRounds);
  const httpCold = cold.connectors.find((connector) => connector.name === http?.name);
  const openapiColdStart = cold.connectors.find((connector) => connector.name === openapiCold?.name);
  if (openapiCold && openapiColdStart && httpCold) {
    figures.push(openapiColdStartFigure(openapiCold, openapiColdStart, httpCold));
  }
  for (const connector of cold.connectors) {
    if (connector === openapiColdStart) continue;
    figures.push({
      name: `cold start: ${connector.name} / bare fetch handler`,
      goal: '≤ 1.5×',
      measured: `${formatSpread(connector.ratio)}; ${connector.firstCallMs.toFixed(0)} vs ${cold.bareMs.toFixed(0)} ms (import ${connector.importMs.toFixed(0)} ms), answered ${connector.status}${connector.code ? ` ${connector.code}` : ''}`,
      verdict: verdict(connector.ratio.median <= 1.5),
    });
  }
  for (const reference of cold.references) {
    figures.push({
      name: `cold start: ${reference.name} / bare (reference)`,
      goal: '—',
      measured: `${formatSpread(reference.ratio)}; ${reference.firstCallMs.toFixed(0)} vs ${cold.bareMs.toFixed(0)} ms (import ${reference.importMs.toFixed(0)} ms), answered ${reference.status}`,
      verdict: 'info',
    });
  }

  if (withSynth) {
    progress('cdk synth through the CLI: the default suite, then 10 connectors');
    const synth = await synthTimes(10);
    figures.push(
      {
        name: 'cdk synth: default suite (5 connectors)',
        goal: '≤ 30 s',
        measured: `${(synth.defaultMs / 1000).toFixed(1)} s`,
        verdict: verdict(synth.defaultMs <= 30_000),
      },
      {
        name: 'cdk synth: 10 connectors',
        goal: '≤ 45 s',
        measured: `${(synth.manyMs / 1000).toFixed(1)} s`,
        verdict: verdict(synth.manyMs <= 45_000),
      },
    );
  }
} finally {
  await upstream.close();
  rmSync(bundleDir, { recursive: true, force: true });
  process.stdout.write = out;
  process.stderr.write = err;
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
out(
  `\nnpm run bench${quick ? ' --quick' : ''}: ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpu}\n` +
    `(log and metric output of the contenders went to a sink: ${(sinkBytes / MB).toFixed(1)} MB)\n\n${formatTable(figures)}\n`,
);
// A report, not a gate: unmet goals show as `NOT met` and the exit code stays 0.
process.exit(0);
