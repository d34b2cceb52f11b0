// Throughput of the npm package aws-local-stepfunctions on the same definitions as benches/simulate.rs, for
// BENCHMARKS.md. Usage (after `npm install aws-local-stepfunctions@3.0.0` in DIR; the definitions are written
// by `SIM_BENCH_EXPORT=/tmp/simbench cargo bench --bench simulate`):
//   SFN_NODE_MODULES=DIR node operator/benches/simulate_node.mjs <definition.asl.json> <poller|big> <iterations>
// Prints executions per second of the in-process loop; run it with iterations=1 under `time` for the
// whole-process cost.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [, , file, mode, iterations = '100'] = process.argv;
// The package uses Promise.withResolvers (Node 22); provide it on older Node versions.
if (!Promise.withResolvers) {
  Promise.withResolvers = () => {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}
const require = createRequire(pathToFileURL(`${process.env.SFN_NODE_MODULES ?? `${process.cwd()}/.tools`}/`));
const { StateMachine } = await import(require.resolve('aws-local-stepfunctions'));

const definition = JSON.parse(readFileSync(file, 'utf8'));
const sm = new StateMachine(definition, { validationOptions: { checkPaths: false, checkArn: false } });

function pollerOverrides() {
  let polls = 0;
  const answers = ['RUNNING', 'RUNNING', 'RUNNING', 'SUCCEEDED'];
  return {
    taskResourceLocalHandlers: {
      'Submit Job': async () => ({ jobId: 'job-42' }),
      'Get Job Status': async () => answers[Math.min(polls++, answers.length - 1)],
      'Get Final Job Status': async () => ({ status: 'SUCCEEDED' }),
    },
    waitTimeOverrides: { 'Wait X Seconds': 0 },
  };
}

const input = mode === 'poller' ? { wait_time: 30 } : { count: 0 };
const n = Number(iterations);
const start = process.hrtime.bigint();
let last;
for (let i = 0; i < n; i++) {
  const overrides = mode === 'poller' ? pollerOverrides() : {};
  last = await sm.run(input, { overrides }).result;
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({ mode, iterations: n, seconds, executionsPerSecond: n / seconds, output: last }));
