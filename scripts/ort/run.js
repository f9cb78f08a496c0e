#!/usr/bin/env node
// Runs an ONNX model on ONNX Runtime (CPU, graphOptimizationLevel 'all'): the
// reference bnfold is compared with.
//
//   node scripts/ort/run.js MODEL --input NAME=FILE ... --output-dir DIR
//        [--threads T] [--format npy|pb] [--warmup W] [--iters K]
//        [--overhead-model PATH] [--profile]
//
// Inputs are .npy or TensorProto .pb files. Outputs go to
// DIR/output_<i>.<format> in graph output order (.pb carries the output
// name, like `bnfold run`). With --iters K the model runs K more times after
// W warm-up runs and median/p90/min/mean times are reported, computed as
// `bnfold bench` does (nearest rank). Prints one JSON line with load_ms
// (InferenceSession.create: parse, graph optimizations, kernel setup),
// first_run_ms and max_rss_mb (this process's peak resident memory, Node
// itself included).
//
// --overhead-model PATH measures the per-call cost of this binding in the
// same process: a second session (same options) on PATH, which must have one
// float32 input of fixed shape, fed zeros. With --iters it is timed
// interleaved with MODEL, in blocks of min(25, K) MODEL runs then as many
// overhead runs until both have K, after W warm-up runs of each, so both see
// the same machine state while the tiny overhead run does not disturb the
// MODEL's caches on every run. The JSON then carries overhead_median_ms,
// overhead_p90_ms, overhead_min_ms, overhead_max_ms, overhead_mean_ms and
// overhead_iters (same percentiles).
// --profile turns on ORT's profiler for MODEL and adds to the JSON
// "profile": {"runs", "steps": [{"label", "op", "output_shape", "median_ms"}]}:
// each node ORT ran (after its own fusions: its names and op types), in run
// order, with its median kernel time over the K timed runs, as `bnfold bench
// --profile` reports steps. The run times then include the profiler's cost.
// The overhead session is created after MODEL's first run, so load_ms and
// first_run_ms are MODEL's alone; max_rss_mb includes it.
// Exit codes follow the bnfold CLI: 0 ok, 2 bad usage or input.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { readTensorFile, writeTensorFile } = require('./tensor_files');

const ORT_DIR = process.env.BNFOLD_ORT_DIR || path.join(__dirname, '..', '..', '.cache', 'ort');

function usage(message) {
  process.stderr.write(`ort/run: ${message}\n` +
    'usage: run.js MODEL --input NAME=FILE ... --output-dir DIR [--threads T] ' +
    '[--format npy|pb] [--warmup W] [--iters K] [--overhead-model PATH] [--profile]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const args = {
    inputs: [], threads: 0, format: 'npy', warmup: 0, iters: 0, outputDir: '', overheadModel: '',
    profile: false,
  };
  const positional = [];
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    if (a === '--profile') {
      args.profile = true;
      continue;
    }
    const eq = a.indexOf('=');
    const flag = eq < 0 ? a : a.slice(0, eq);
    let value = eq < 0 ? undefined : a.slice(eq + 1);
    if (value === undefined) {
      if (i + 1 >= argv.length) usage(`${flag} needs a value`);
      value = argv[++i];
    }
    const integer = () => {
      if (!/^\d+$/.test(value)) usage(`${flag} expects a non-negative integer, got '${value}'`);
      return Number(value);
    };
    if (flag === '--input') args.inputs.push(value);
    else if (flag === '--output-dir') args.outputDir = value;
    else if (flag === '--threads') args.threads = integer();
    else if (flag === '--warmup') args.warmup = integer();
    else if (flag === '--iters') args.iters = integer();
    else if (flag === '--overhead-model') args.overheadModel = value;
    else if (flag === '--format') {
      if (value !== 'npy' && value !== 'pb') usage(`--format must be npy or pb, got '${value}'`);
      args.format = value;
    } else usage(`unknown option ${flag}`);
  }
  if (positional.length !== 1) usage('expected exactly one MODEL');
  args.model = positional[0];
  return args;
}

function loadOrt() {
  try {
    return require(path.join(ORT_DIR, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    process.stderr.write(`ort/run: ONNX Runtime is not installed in ${ORT_DIR} ` +
      `(run scripts/ort/install.sh): ${e.message}\n`);
    process.exit(2);
  }
}

// Peak resident memory of this process in MiB: VmHWM, as `bnfold bench`
// reports it. getrusage's maxRSS is the fallback only: Linux carries it
// across exec, so it includes whatever the parent that spawned us had mapped.
function peakRssMb() {
  try {
    const m = /^VmHWM:\s*(\d+)\s*kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch (e) {
    // no /proc: fall through
  }
  return process.resourceUsage().maxRSS / 1024;  // kB
}

// Nearest-rank statistics, as `bnfold bench` reports them.
function timeStats(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const percentile = (p) =>
    sorted[Math.max(0, Math.min(sorted.length, Math.ceil(p * sorted.length)) - 1)];
  return {
    median_ms: percentile(0.5),
    p90_ms: percentile(0.9),
    min_ms: sorted[0],
    max_ms: sorted[sorted.length - 1],
    mean_ms: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    iters: sorted.length,
  };
}

// MODEL runs per block before switching to the overhead model: long enough
// that MODEL's working set is warm again after the switch, short enough that
// both still see the same machine state.
const OVERHEAD_BLOCK = 25;

// The per-call cost model: its single float32 input, of fixed shape, is fed
// zeros (the data does not matter to an Identity-like model).
async function openOverheadSession(ort, modelPath, options) {
  const session = await ort.InferenceSession.create(modelPath, options);
  const inputs = session.inputMetadata;
  const input = inputs.length === 1 ? inputs[0] : null;
  if (!input || !input.isTensor || input.type !== 'float32' ||
      !input.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    usage(`--overhead-model ${modelPath}: expected one float32 input of fixed shape, got ` +
          JSON.stringify(inputs));
  }
  const size = input.shape.reduce((a, b) => a * b, 1);
  const feeds = { [input.name]: new ort.Tensor('float32', new Float32Array(size), input.shape) };
  return { session, feeds };
}

// The per-node kernel times of ORT's profile file `file` for the last
// `runs` runs, summarized per node in the order nodes ran.
function summarizeProfile(file, runs) {
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  const starts = events.filter((e) => e.cat === 'Session' && e.name === 'model_run')
    .map((e) => e.ts).sort((a, b) => a - b);
  const firstTimed = starts.length >= runs ? starts[starts.length - runs] : 0;
  const nodes = new Map();  // name -> {op, output_shape, times}
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < firstTimed) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!nodes.has(name)) {
      const shapes = (e.args && e.args.output_type_shape) || [];
      const first = shapes.length > 0 ? Object.values(shapes[0])[0] : [];
      nodes.set(name, { op: (e.args && e.args.op_name) || '?', output_shape: first, times: [] });
    }
    nodes.get(name).times.push(e.dur / 1000);  // us -> ms
  }
  const steps = [];
  for (const [name, n] of nodes) {
    steps.push({
      label: `${n.op} '${name}'`, op: n.op, output_shape: n.output_shape,
      median_ms: timeStats(n.times).median_ms,
    });
  }
  return { runs: Math.min(runs, starts.length), steps };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const feeds = {};
  for (const spec of args.inputs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) usage(`--input expects NAME=FILE, got '${spec}'`);
    const name = spec.slice(0, eq);
    let t;
    try {
      t = readTensorFile(spec.slice(eq + 1));
    } catch (e) {
      usage(e.message);
    }
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  }
  const options = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
  };
  if (args.threads > 0) options.intraOpNumThreads = args.threads;
  let profileDir = '';
  const modelOptions = { ...options };
  if (args.profile) {
    profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort-profile-'));
    Object.assign(modelOptions, { enableProfiling: true, profileFilePrefix: path.join(profileDir, 'p') });
  }
  const startLoad = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(args.model, modelOptions);
  const loadMs = Number(process.hrtime.bigint() - startLoad) / 1e6;
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length > 0) usage(`no --input for ${missing.join(', ')}`);

  const startFirst = process.hrtime.bigint();
  let results = await session.run(feeds);
  const firstRunMs = Number(process.hrtime.bigint() - startFirst) / 1e6;
  const overhead = args.overheadModel
    ? await openOverheadSession(ort, args.overheadModel, options) : null;
  // `count` runs of session `s`, each timed into `into` unless it is null;
  // returns the last run's outputs (or `last` when count is 0).
  const runTimed = async (s, f, count, into, last) => {
    let out = last;
    for (let i = 0; i < count; ++i) {
      const start = process.hrtime.bigint();
      out = await s.run(f);
      if (into) into.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return out;
  };
  const times = [];
  const overheadTimes = [];
  results = await runTimed(session, feeds, args.warmup, null, results);
  if (overhead) {
    await runTimed(overhead.session, overhead.feeds, args.warmup, null);
    const block = Math.max(1, Math.min(OVERHEAD_BLOCK, args.iters));
    while (times.length < args.iters) {
      const count = Math.min(block, args.iters - times.length);
      results = await runTimed(session, feeds, count, times, results);
      await runTimed(overhead.session, overhead.feeds, count, overheadTimes);
    }
  } else {
    results = await runTimed(session, feeds, args.iters, times, results);
  }

  const report = { outputs: [], load_ms: loadMs, first_run_ms: firstRunMs };
  if (args.outputDir) fs.mkdirSync(args.outputDir, { recursive: true });
  session.outputNames.forEach((name, i) => {
    const t = results[name];
    const entry = { name, type: t.type, shape: t.dims };
    if (args.outputDir) {
      entry.file = path.join(args.outputDir, `output_${i}.${args.format}`);
      writeTensorFile(entry.file, name, t.type, t.dims, t.data);
    }
    report.outputs.push(entry);
  });
  if (times.length > 0) Object.assign(report, timeStats(times), { warmup: args.warmup });
  if (overheadTimes.length > 0) {
    for (const [key, value] of Object.entries(timeStats(overheadTimes))) {
      report[`overhead_${key}`] = value;
    }
  }
  if (args.profile) {
    await session.endProfiling();
    const files = fs.readdirSync(profileDir).filter((f) => f.endsWith('.json'));
    if (files.length !== 1) usage(`--profile: expected one profile file in ${profileDir}`);
    report.profile = summarizeProfile(path.join(profileDir, files[0]), times.length);
    fs.rmSync(profileDir, { recursive: true, force: true });
  }
  report.threads = args.threads;
  report.ort_version = ort.env.versions ? ort.env.versions.common : undefined;
  report.max_rss_mb = peakRssMb();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((e) => {
  process.stderr.write(`ort/run: ${e.message}\n`);
  process.exit(2);
});
