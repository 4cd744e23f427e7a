// Static checks of the deployment files (Docker cannot run here): docker-compose.yml names the
// services docs/deploy.md describes, pins its images, gates every service on health, hands the app
// a valid configuration; the Dockerfile starts the CLI that the build produces.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/config/paths.js';
import { configSchema, parseConfig } from '../../src/config/config.js';

// ---------------------------------------------------------------------------------------------
// A small YAML reader for the subset docker-compose.yml is kept to: block mappings and sequences,
// flow sequences of scalars, plain and quoted scalars, comments. Anchors, aliases, merge keys,
// block scalars and flow mappings are refused loudly, so the file stays within what is checked.

type Yaml = string | Yaml[] | { [key: string]: Yaml } | null;

interface Line {
  no: number;
  indent: number;
  text: string;
}

class YamlSubsetError extends Error {
  constructor(line: number, message: string) {
    super(`docker-compose.yml line ${line}: ${message} (the test's YAML reader handles plain block YAML only)`);
  }
}

function stripComment(text: string): string {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) return text.slice(0, i);
  }
  return text;
}

function splitFlow(inner: string, no: number): string[] {
  const items: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (quote) {
      current += c;
      if (c === '\\' && quote === '"') current += inner[++i] ?? '';
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      current += c;
    } else if (c === '[' || c === '{') throw new YamlSubsetError(no, 'nested flow collections');
    else if (c === ',') {
      items.push(current.trim());
      current = '';
    } else current += c;
  }
  if (quote) throw new YamlSubsetError(no, 'unterminated quote');
  if (current.trim()) items.push(current.trim());
  return items;
}

function scalar(raw: string, no: number): Yaml {
  const s = raw.trim();
  if (s === '' || s === '~' || s === 'null') return null;
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) throw new YamlSubsetError(no, 'unterminated double quote');
    return JSON.parse(s) as string;
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new YamlSubsetError(no, 'unterminated single quote');
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (s.startsWith('[')) {
    if (!s.endsWith(']')) throw new YamlSubsetError(no, 'multi-line flow sequences');
    return splitFlow(s.slice(1, -1), no).map((item) => scalar(item, no));
  }
  if (/^[&*!{|>]/.test(s) || s.startsWith('<<')) throw new YamlSubsetError(no, `unsupported construct "${s.slice(0, 20)}"`);
  return s;
}

/** `key: rest` → [key, rest]; undefined when the text is not a mapping entry. */
function mappingEntry(text: string, no: number): [string, string] | undefined {
  const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s"'#][^:#]*?)\s*:(?:\s+(.*)|$)/.exec(text);
  if (!m) return undefined;
  const key = scalar(m[1]!, no);
  if (typeof key !== 'string') throw new YamlSubsetError(no, 'non-string key');
  if (key === '<<') throw new YamlSubsetError(no, 'merge keys');
  return [key, m[2] ?? ''];
}

function parseYamlSubset(source: string): Yaml {
  const lines: Line[] = [];
  source.split('\n').forEach((raw, i) => {
    if (/^\s*(---|\.\.\.)\s*$/.test(raw)) throw new YamlSubsetError(i + 1, 'document markers');
    if (/^\t/.test(raw)) throw new YamlSubsetError(i + 1, 'tab indentation');
    const text = stripComment(raw).trimEnd();
    if (text.trim()) lines.push({ no: i + 1, indent: text.length - text.trimStart().length, text: text.trim() });
  });
  let pos = 0;

  const block = (indent: number): Yaml => {
    const first = lines[pos]!;
    if (first.text === '-' || first.text.startsWith('- ')) return sequence(indent);
    return mapping(indent);
  };

  const sequence = (indent: number): Yaml[] => {
    const out: Yaml[] = [];
    while (pos < lines.length && lines[pos]!.indent === indent && (lines[pos]!.text === '-' || lines[pos]!.text.startsWith('- '))) {
      const line = lines[pos]!;
      const rest = line.text.slice(1).trimStart();
      if (!rest) {
        pos++;
        out.push(pos < lines.length && lines[pos]!.indent > indent ? block(lines[pos]!.indent) : null);
      } else if (mappingEntry(rest, line.no)) {
        // `- key: value` starts a mapping whose keys sit where `key` starts.
        lines[pos] = { no: line.no, indent: indent + (line.text.length - rest.length), text: rest };
        out.push(mapping(lines[pos]!.indent));
      } else {
        pos++;
        out.push(scalar(rest, line.no));
      }
    }
    return out;
  };

  const mapping = (indent: number): { [key: string]: Yaml } => {
    const out: { [key: string]: Yaml } = {};
    while (pos < lines.length && lines[pos]!.indent === indent) {
      const line = lines[pos]!;
      const entry = mappingEntry(line.text, line.no);
      if (!entry) throw new YamlSubsetError(line.no, `expected "key: value", got "${line.text}"`);
      const [key, rest] = entry;
      if (key in out) throw new YamlSubsetError(line.no, `duplicate key "${key}"`);
      pos++;
      if (rest) out[key] = scalar(rest, line.no);
      else if (pos < lines.length && lines[pos]!.indent > indent) out[key] = block(lines[pos]!.indent);
      else if (pos < lines.length && lines[pos]!.indent === indent && lines[pos]!.text.startsWith('- ')) out[key] = sequence(indent);
      else out[key] = null;
    }
    if (pos < lines.length && lines[pos]!.indent > indent) {
      throw new YamlSubsetError(lines[pos]!.no, 'unexpected indentation');
    }
    return out;
  };

  if (lines.length === 0) return null;
  const doc = block(lines[0]!.indent);
  if (pos < lines.length) throw new YamlSubsetError(lines[pos]!.no, 'unexpected dedent');
  return doc;
}

// ---------------------------------------------------------------------------------------------

type Mapping = { [key: string]: Yaml };

function isMapping(v: Yaml | undefined): v is Mapping {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asMapping(v: Yaml | undefined, what: string): Mapping {
  assert.ok(isMapping(v), `${what} should be a mapping`);
  return v;
}

/** A service's environment as a map, whether written as a mapping or a KEY=VALUE list. */
function environmentOf(service: Mapping): Record<string, string> {
  const env = service.environment;
  if (env === undefined || env === null) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((item) => {
        assert.equal(typeof item, 'string');
        const s = item as string;
        const i = s.indexOf('=');
        return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(asMapping(env, 'environment')).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** What compose would hand the container: `${X:-default}` → default, `${X:?msg}` → a stand-in. */
function interpolate(value: string, required: Record<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|(:?\?)([^}]*))?\}/g, (_m, name: string, _d, def?: string, req?: string) => {
    if (def !== undefined) return def;
    if (req !== undefined) {
      assert.ok(name in required, `test needs a stand-in value for required variable ${name}`);
      return required[name]!;
    }
    return '';
  });
}

function dependsOnHealthy(service: Mapping): string[] {
  const deps = service.depends_on;
  if (!isMapping(deps)) return [];
  return Object.entries(deps)
    .filter(([, v]) => isMapping(v) && v.condition === 'service_healthy')
    .map(([k]) => k);
}

const root = projectRoot();
const composeText = fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');

describe('docker-compose.yml', () => {
  const doc = asMapping(parseYamlSubset(composeText), 'the document');
  const services = asMapping(doc.services, 'services');
  const service = (name: string) => asMapping(services[name], `service ${name}`);
  const REQUIRED = { ADMIN_API_KEY: 'a'.repeat(32), CLICKHOUSE_PASSWORD: 'secret' };

  it('has the services the deployment needs', () => {
    for (const name of ['clickhouse', 'redis', 'api', 'worker', 'migrate']) {
      assert.ok(isMapping(services[name]), `service ${name} is missing`);
    }
  });

  it('pins the ClickHouse and Redis images to a version', () => {
    const ch = String(service('clickhouse').image);
    assert.match(ch, /^clickhouse\/clickhouse-server:\d+\.\d+[\w.-]*$/, `clickhouse image ${ch} should carry a version tag`);
    assert.doesNotMatch(ch, /latest/);
    const redis = String(service('redis').image);
    assert.match(redis, /^redis:7(\.\d+)*[\w.-]*$/, `redis image ${redis} should be a pinned 7.x`);
  });

  it('gives every service a healthcheck or makes it wait for healthy dependencies', () => {
    for (const [name, value] of Object.entries(services)) {
      const s = asMapping(value, `service ${name}`);
      const health = s.healthcheck;
      const hasHealthcheck = isMapping(health) && Array.isArray(health.test) && health.test.length > 0;
      assert.ok(hasHealthcheck || dependsOnHealthy(s).length > 0, `service ${name} has neither a healthcheck nor depends_on … service_healthy`);
    }
    for (const name of ['clickhouse', 'redis', 'api']) {
      assert.ok(isMapping(service(name).healthcheck), `${name} should have its own healthcheck`);
    }
    const apiProbe = (asMapping(service('api').healthcheck, 'api healthcheck').test as string[]).join(' ');
    assert.match(apiProbe, /\/readyz/, 'the api healthcheck should probe /readyz');
  });

  it('starts api and worker after ClickHouse and Redis are healthy and the migration ran', () => {
    for (const name of ['api', 'worker']) {
      const s = service(name);
      assert.deepEqual(dependsOnHealthy(s).sort(), ['clickhouse', 'redis']);
      const deps = asMapping(s.depends_on, `${name}.depends_on`);
      assert.equal(asMapping(deps.migrate, `${name}.depends_on.migrate`).condition, 'service_completed_successfully');
    }
    assert.deepEqual(dependsOnHealthy(service('migrate')), ['clickhouse']);
  });

  it('runs the CLI commands api, worker and migrate', () => {
    assert.deepEqual(service('api').command, ['api']);
    assert.deepEqual(service('worker').command, ['worker']);
    assert.deepEqual(service('migrate').command, ['migrate']);
    const ports = service('api').ports;
    assert.ok(Array.isArray(ports) && ports.some((p) => typeof p === 'string' && p.endsWith(':4000')), 'api should publish container port 4000');
  });

  it('hands api and worker a valid configuration pointing at the compose ClickHouse and Redis', () => {
    const known = new Set(Object.keys(configSchema.shape));
    for (const name of ['api', 'worker', 'migrate']) {
      const env = environmentOf(service(name));
      for (const key of Object.keys(env)) assert.ok(known.has(key), `${name}: ${key} is not a variable the app reads`);
      assert.equal(env.CLICKHOUSE_URL, 'http://clickhouse:8123', `${name}: CLICKHOUSE_URL`);
      const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(v, REQUIRED)]));
      assert.doesNotThrow(() => parseConfig(resolved), `${name}: the environment should pass the config schema`);
    }
    for (const name of ['api', 'worker']) {
      const env = environmentOf(service(name));
      assert.equal(env.REDIS_URL, 'redis://redis:6379', `${name}: REDIS_URL`);
      assert.match(env.ADMIN_API_KEY ?? '', /^\$\{ADMIN_API_KEY:\?/, `${name}: ADMIN_API_KEY should be required from the environment`);
    }
    // The app's ClickHouse credentials are the ones the clickhouse service creates.
    const ch = environmentOf(service('clickhouse'));
    const api = environmentOf(service('api'));
    assert.equal(api.CLICKHOUSE_USER, ch.CLICKHOUSE_USER);
    assert.equal(api.CLICKHOUSE_PASSWORD, ch.CLICKHOUSE_PASSWORD);
  });

  it('keeps ClickHouse and Redis data on named volumes', () => {
    const volumes = asMapping(doc.volumes, 'top-level volumes');
    for (const [name, target] of [
      ['clickhouse', '/var/lib/clickhouse'],
      ['redis', '/data'],
    ] as const) {
      const mounts = service(name).volumes;
      assert.ok(Array.isArray(mounts), `${name} should mount a volume`);
      const mount = mounts.find((m) => typeof m === 'string' && m.endsWith(`:${target}`)) as string | undefined;
      assert.ok(mount, `${name} should mount something at ${target}`);
      const volume = mount.split(':')[0]!;
      assert.ok(volume in volumes, `${name}: ${volume} should be a named volume declared under volumes:`);
    }
    // api and worker share DATA_DIR (/data in the image).
    const dataMount = (name: string) => (service(name).volumes as Yaml[] | undefined)?.find((m) => typeof m === 'string' && m.endsWith(':/data'));
    assert.ok(dataMount('api'), 'api should mount a volume at /data (DATA_DIR)');
    assert.equal(dataMount('worker'), dataMount('api'), 'worker should share the api DATA_DIR volume');
    const ulimits = asMapping(service('clickhouse').ulimits, 'clickhouse ulimits');
    assert.ok(isMapping(ulimits.nofile), 'clickhouse should raise nofile');
  });

  it('the YAML reader refuses what it does not understand', () => {
    assert.throws(() => parseYamlSubset('a: &x\n  b: 1\nc: *x\n'), YamlSubsetError);
    assert.throws(() => parseYamlSubset('a: |\n  text\n'), YamlSubsetError);
    assert.deepEqual(parseYamlSubset('a:\n  - b: "x # y"\n    c: [1, \'two\']\n  - d\n'), { a: [{ b: 'x # y', c: ['1', 'two'] }, 'd'] });
  });
});

describe('Dockerfile', () => {
  const instructions = dockerfile
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');

  it('builds on node:20-bookworm-slim in stages and runs as the node user', () => {
    assert.match(instructions, /^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    assert.ok((instructions.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage build');
    assert.match(instructions, /npm ci --omit=dev/);
    assert.match(instructions, /npm run build/);
    assert.match(instructions, /^USER node$/m);
    assert.match(instructions, /^EXPOSE 4000$/m);
  });

  it('enters the CLI the build produces, api by default', () => {
    const entry = /^ENTRYPOINT (\[.*\])$/m.exec(instructions);
    assert.ok(entry, 'ENTRYPOINT in exec form');
    const argv = JSON.parse(entry[1]!) as string[];
    assert.deepEqual(argv, ['node', 'dist/src/cli/main.js']);
    assert.deepEqual(JSON.parse(/^CMD (\[.*\])$/m.exec(instructions)?.[1] ?? 'null'), ['api']);

    const script = argv[1]!;
    assert.ok(fs.existsSync(path.join(root, 'src', 'cli', 'main.ts')), 'src/cli/main.ts compiles to ' + script);
    if (fs.existsSync(path.join(root, 'dist', 'src', 'cli'))) {
      assert.ok(fs.existsSync(path.join(root, script)), `${script} should exist in the build output`);
    } else {
      const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
      assert.ok(pkg.scripts.start?.includes(script), `package.json's start script should run ${script}`);
    }
  });

  it('copies what the runtime reads: migrations and package.json', () => {
    assert.match(instructions, /^COPY clickhouse \.\/clickhouse$/m);
    assert.match(instructions, /^COPY package\.json \.\/$/m);
    const ignore = fs.readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.git', '.data']) assert.ok(ignore.includes(entry), `.dockerignore should list ${entry}`);
  });
});
