/**
 * A real Apache Kafka broker (KRaft, single node) for tests, CI and local scale mode.
 *
 * - Docker engine reachable (`docker info` exits 0): Testcontainers' Kafka module.
 * - Otherwise: the official Kafka jars from infra/kafka/lib (fetched by infra/kafka/fetch.sh,
 *   run automatically when missing) started with the machine's Java 17+. The java process is
 *   spawned directly, so a test can kill and restart the broker mid-ingest.
 *
 * Force a path with CAIRN_KAFKA_MODE=local|container. No fakes: see ARCHITECTURE.md.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';

// kafkajs is CommonJS: Node's ESM loader cannot see all of its named exports.
const { Kafka, logLevel } = kafkajs;

export interface KafkaBroker {
  /** Bootstrap servers, e.g. `['127.0.0.1:40123']`. Stable across `kill()`/`restart()`. */
  brokers: string[];
  /** Graceful shutdown and cleanup (process, exit hooks, a data dir this helper created). Final. */
  stop(): Promise<void>;
  /** SIGKILL: simulates a crash. Data stays; bring it back with `restart()`. */
  kill(): Promise<void>;
  /** (Graceful stop if running, then) start again on the same port and data; waits until ready. */
  restart(): Promise<void>;
}

export interface StartKafkaBrokerOptions {
  /** Client port on 127.0.0.1; a free port when omitted. */
  port?: number;
  /** Kept after `stop()` when given; a temp dir (removed by `stop()`) when omitted. */
  dataDir?: string;
  /** Default 90 s (a cold JVM on 2 cores takes a few seconds). */
  readyTimeoutMs?: number;
}

const execFileAsync = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const kafkaInfraDir = join(repoRoot, 'infra', 'kafka');
const libDir = join(kafkaInfraDir, 'lib');
/** Confluent Platform 8.x ships Apache Kafka 4.x; the Testcontainers module needs a cp-kafka image. */
const containerImage = process.env['CAIRN_KAFKA_IMAGE'] ?? 'confluentinc/cp-kafka:8.1.0';
const defaultHeapOpts = '-Xms128m -Xmx384m';
/** C1 only + serial GC: starts in ~2 s on 2 cores; plenty for tests. Override for throughput. */
const defaultJvmOpts = '-XX:+UseSerialGC -XX:TieredStopAtLevel=1';

export async function startKafkaBroker(opts: StartKafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const mode =
    process.env['CAIRN_KAFKA_MODE'] ?? ((await dockerAvailable()) ? 'container' : 'local');
  if (mode === 'container') return startContainerBroker(opts);
  if (mode === 'local') return startLocalBroker(opts);
  throw new Error(`CAIRN_KAFKA_MODE must be "local" or "container", got "${mode}"`);
}

// ---------------------------------------------------------------------------------------------
// Local path: java -cp infra/kafka/lib/* kafka.Kafka server.properties

async function startLocalBroker(opts: StartKafkaBrokerOptions): Promise<KafkaBroker> {
  await ensureJars();
  const java = process.env['JAVA_HOME'] ? join(process.env['JAVA_HOME'], 'bin', 'java') : 'java';
  const port = opts.port ?? (await freePort());
  const controllerPort = await freePort([port]);
  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'cairn-kafka-'));
  mkdirSync(dataDir, { recursive: true });
  const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
  const brokers = [`127.0.0.1:${port}`];
  const propertiesFile = join(dataDir, 'server.properties');
  const logFile = join(dataDir, 'broker.log');
  const pidFile = join(dataDir, 'broker.pid');
  const log4jFile = join(dataDir, 'log4j2.properties');
  writeFileSync(
    propertiesFile,
    brokerProperties({ port, controllerPort, logDir: join(dataDir, 'kraft-logs') }),
  );
  writeFileSync(log4jFile, log4jProperties);
  const jvmArgs = [
    ...splitArgs(process.env['KAFKA_HEAP_OPTS'] ?? defaultHeapOpts),
    ...splitArgs(process.env['KAFKA_JVM_OPTS'] ?? defaultJvmOpts),
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jFile}`,
    '-cp',
    `${libDir}/*`,
  ];

  if (!existsSync(join(dataDir, 'kraft-logs', 'meta.properties'))) {
    const clusterId = randomBytes(16).toString('base64url');
    // `--cluster-id=<id>`, not `-t <id>`: a base64url id starts with "-" one time in 64, and the
    // tool's argument parser then takes it for an option ("expected one argument").
    await execFileAsync(
      java,
      [
        ...jvmArgs,
        'kafka.tools.StorageTool',
        'format',
        `--cluster-id=${clusterId}`,
        '-c',
        propertiesFile,
      ],
      {
        timeout: 60_000,
      },
    ).catch((error: unknown) => {
      throw new Error(`formatting Kafka storage in ${dataDir} failed (is Java 17+ installed?)`, {
        cause: error,
      });
    });
  }

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopped = false;
  const onExit = (): void => {
    child?.kill('SIGKILL');
    if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  process.on('exit', onExit);

  const launch = async (): Promise<void> => {
    const logFd = openSync(logFile, 'a');
    const proc = spawn(java, [...jvmArgs, 'kafka.Kafka', propertiesFile], {
      stdio: ['ignore', logFd, logFd],
    });
    closeSync(logFd);
    child = proc;
    let exitReason: string | undefined;
    exited = new Promise((resolve) => {
      const done = (reason: string): void => {
        exitReason ??= reason;
        if (child === proc) child = undefined;
        resolve();
      };
      proc.once('exit', (code, signal) => done(`exited with ${signal ?? String(code)}`));
      proc.once('error', (error) =>
        done(`could not be started (${error.message}): is Java 17+ installed?`),
      );
    });
    if (proc.pid !== undefined) {
      writeFileSync(pidFile, `${proc.pid}\n`);
      startWatchdog(proc.pid, ownsDataDir ? dataDir : '');
    }
    await waitUntilReady(brokers, readyTimeoutMs, () =>
      exitReason === undefined
        ? undefined
        : `Kafka ${exitReason} during startup; log ${logFile}:\n${tail(logFile)}`,
    ).catch(async (error: unknown) => {
      proc.kill('SIGKILL');
      await exited;
      throw error;
    });
  };

  const terminate = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    const proc = child;
    if (!proc) return;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
    rmSync(pidFile, { force: true });
  };

  await launch().catch((error: unknown) => {
    process.off('exit', onExit);
    if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });

  return {
    brokers,
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate('SIGTERM');
      process.off('exit', onExit);
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    async kill() {
      await terminate('SIGKILL');
    },
    async restart() {
      if (stopped)
        throw new Error(
          'KafkaBroker.restart() after stop(): stop() is final, use kill() or restart()',
        );
      await terminate('SIGTERM');
      await launch();
    },
  };
}

/** Keep in sync with infra/kafka/start.sh. */
function brokerProperties(p: { port: number; controllerPort: number; logDir: string }): string {
  return `${[
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${p.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${p.port},CONTROLLER://127.0.0.1:${p.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${p.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${p.logDir}`,
    'num.partitions=1',
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=4',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=4',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // After a crash the restarted broker waits out its old session (default 9 s) to re-register.
    'broker.heartbeat.interval.ms=500',
    'broker.session.timeout.ms=3000',
  ].join('\n')}\n`;
}

const log4jProperties = `status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
`;

/**
 * If this Node process dies without running its exit hooks (SIGKILL, OOM), a detached shell
 * kills the orphaned broker and removes a temp data dir. It ends by itself when the broker does.
 */
function startWatchdog(brokerPid: number, tempDataDir: string): void {
  const script = [
    'while kill -0 "$0" 2>/dev/null; do kill -0 "$1" 2>/dev/null || exit 0; sleep 1; done',
    'kill -9 "$1" 2>/dev/null',
    'if [ -n "$2" ]; then sleep 1; rm -rf "$2"; fi',
  ].join('\n');
  spawn('sh', ['-c', script, String(process.pid), String(brokerPid), tempDataDir], {
    detached: true,
    stdio: 'ignore',
  }).unref();
}

async function ensureJars(): Promise<void> {
  const pom = readFileSync(join(kafkaInfraDir, 'pom.xml'), 'utf8');
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
  if (version !== undefined && existsSync(join(libDir, `.fetched-kafka-${version}`))) return;
  await execFileAsync('bash', [join(kafkaInfraDir, 'fetch.sh')], { timeout: 600_000 }).catch(
    (error: unknown) => {
      throw new Error(
        'fetching the Kafka jars failed: run infra/kafka/fetch.sh (needs Maven and Java 17+)',
        {
          cause: error,
        },
      );
    },
  );
}

function splitArgs(value: string): string[] {
  return value.split(/\s+/).filter((arg) => arg.length > 0);
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------------------------
// Container path: Testcontainers' Kafka module (KRaft, cp-kafka 8.x = Apache Kafka 4.x)

async function startContainerBroker(opts: StartKafkaBrokerOptions): Promise<KafkaBroker> {
  const [{ KafkaContainer }, { getContainerRuntimeClient }] = await Promise.all([
    import('@testcontainers/kafka'),
    import('testcontainers'),
  ]);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
  // A fixed host port: the advertised listener is baked in at first start, so a restarted
  // container must come back on the same port.
  const port = opts.port ?? (await freePort());
  const container = await new KafkaContainer(containerImage)
    .withKraft()
    .withExposedPorts({ container: 9093, host: port })
    .start();
  const brokers = [`${container.getHost()}:${port}`];
  await waitUntilReady(brokers, readyTimeoutMs, () => undefined);
  let stopped = false;
  return {
    brokers,
    async stop() {
      if (stopped) return;
      stopped = true;
      await container.stop();
    },
    async kill() {
      const client = await getContainerRuntimeClient();
      await client.container.getById(container.getId()).kill({ signal: 'SIGKILL' });
    },
    async restart() {
      if (stopped)
        throw new Error(
          'KafkaBroker.restart() after stop(): stop() is final, use kill() or restart()',
        );
      await container.restart({ timeout: 30 });
      await waitUntilReady(brokers, readyTimeoutMs, () => undefined);
    },
  };
}

async function dockerAvailable(): Promise<boolean> {
  try {
    await execFileAsync('docker', ['info'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------

/** Ready = the broker answers a Metadata request (kafkajs admin) listing itself. */
async function waitUntilReady(
  brokers: string[],
  timeoutMs: number,
  failed: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const kafka = new Kafka({
    clientId: 'cairn-kafka-ready-check',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
    retry: { retries: 0 },
  });
  let lastError: unknown;
  for (;;) {
    const failure = failed();
    if (failure !== undefined) throw new Error(failure);
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0 && cluster.controller !== null) return;
    } catch (error) {
      lastError = error;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    if (Date.now() > deadline) {
      throw new Error(`Kafka at ${brokers.join(',')} not ready after ${timeoutMs} ms`, {
        cause: lastError,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function freePort(exclude: number[] = []): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() =>
          typeof address === 'object' && address
            ? resolve(address.port)
            : reject(new Error('no port')),
        );
      });
    });
    if (!exclude.includes(port)) return port;
  }
}
